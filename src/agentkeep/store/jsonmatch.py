"""JSON containment with PostgreSQL's ``jsonb @>`` semantics, for SQLite.

Postgres answers ``task_metadata`` filters with ``@>``; SQLite has no such operator, so the
store registers this function on every SQLite connection and both databases give the same
answers: objects contain when every filter key is contained, arrays when every filter
element is contained in some element, scalars when equal (``1`` and ``1.0`` too, never
``true`` and ``1``). (jsonb's one oddity, a top-level array containing a bare scalar, cannot
arise: filters are objects.)
"""

from __future__ import annotations

from typing import Any

import orjson

SQLITE_FUNCTION = "agentkeep_json_contains"


def contains(doc: Any, flt: Any) -> bool:
    if isinstance(flt, dict):
        return isinstance(doc, dict) and all(
            k in doc and contains(doc[k], v) for k, v in flt.items()
        )
    if isinstance(flt, list):
        return isinstance(doc, list) and all(any(contains(d, f) for d in doc) for f in flt)
    return _scalar_eq(doc, flt)


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
