"""JSON containment with PostgreSQL's ``jsonb @>`` semantics, for SQLite.

Postgres answers ``task_metadata`` filters with ``@>``; SQLite has no such operator, so the
store registers this function on every SQLite connection and both databases give the same
answers: objects contain when every filter key is contained, arrays when every filter
element is contained in some element, scalars when equal (``1`` and ``1.0`` too, never
``true`` and ``1``). (jsonb's one oddity, a top-level array containing a bare scalar, cannot
arise: filters are objects.)
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from sqlalchemy import func

from agentkeep import errors
from agentkeep.domain import jsonlimits

SQLITE_FUNCTION = "agentkeep_json_contains"

#: A filter (``task_metadata``, ``filters``) is matched against every candidate row, so its
#: size bounds the work of a list request: at most this many bytes of JSON, nested at most
#: ``MAX_FILTER_DEPTH`` levels. Real filters are a few keys.
MAX_FILTER_BYTES = 4096
MAX_FILTER_DEPTH = 8


def load_filter(raw: str, what: str) -> Any:
    """Parse a JSON filter from a query string, refusing one too big or too deep (400)."""
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_FILTER_BYTES:
        raise errors.BadRequest(
            f"{what} is {size} bytes; a filter may have at most {MAX_FILTER_BYTES}."
        )
    return jsonlimits.loads_strict(raw, what, MAX_FILTER_DEPTH)


#: Keys ``sqlite_narrowing`` puts in a JSON path as they are (no quoting to get wrong).
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]{1,64}")
#: Integers SQLite's JSON reader and Python agree on exactly.
_EXACT_INT = 2**53


def sqlite_narrowing(column: Any, flt: dict[str, Any]) -> list[Any]:
    """Cheap necessary conditions for ``contains(column, flt)``, evaluated by SQLite in C
    (``json_extract``) ahead of the exact check, so that the Python function runs only on
    rows that can match instead of on every candidate row.

    Only top-level keys whose filter value is a string, an integer or a boolean: for those,
    containment implies ``json_extract(doc, '$."key"') = value`` (SQLite reads JSON true
    and false as 1 and 0, and a matching 1.0 as equal to 1). Floats (parsed by two different
    readers), nulls (json_extract cannot tell null from missing), objects and arrays are
    left to the exact check alone.
    """
    narrowing = []
    for key, value in flt.items():
        if not _PLAIN_KEY.fullmatch(key):
            continue
        if isinstance(value, bool):
            value = int(value)
        elif isinstance(value, int):
            if abs(value) > _EXACT_INT:
                continue
        elif not isinstance(value, str) or "\x00" in value:
            continue
        narrowing.append(func.json_extract(column, f'$."{key}"') == value)
    return narrowing


def contains(doc: Any, flt: Any) -> bool:
    if isinstance(flt, dict):
        return isinstance(doc, dict) and all(
            k in doc and contains(doc[k], v) for k, v in flt.items()
        )
    if isinstance(flt, list):
        return isinstance(doc, list) and _array_contains(doc, flt)
    return _scalar_eq(doc, flt)


def _array_contains(doc: list[Any], flt: list[Any]) -> bool:
    """Every filter element is contained in some document element.

    Scalars are looked up in a set of the document's scalars: comparing each filter
    element with each document element made a small filter against a 20,000-element array
    cost seconds of CPU per row. Only objects and arrays in the filter (few: the filter is
    bounded) still scan the document.
    """
    scalars = [f for f in flt if not isinstance(f, dict | list)]
    if scalars:
        have = {_scalar_key(d) for d in doc if not isinstance(d, dict | list)}
        if not all(_scalar_key(f) in have for f in scalars):
            return False
    nested = [f for f in flt if isinstance(f, dict | list)]
    return all(any(contains(d, f) for d in doc) for f in nested)


def _scalar_key(value: Any) -> tuple[str, Any]:
    """Equal keys for values ``_scalar_eq`` calls equal (``1`` and ``1.0``, never ``True``)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    return (type(value).__name__, value)


def _scalar_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def sqlite_contains(doc_text: str | None, flt_text: str | None) -> int:
    if doc_text is None or flt_text is None:
        return 0
    return int(contains(orjson.loads(doc_text), orjson.loads(flt_text)))
