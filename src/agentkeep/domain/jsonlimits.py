"""What a client's JSON may hold: the one check every body, JSON query value and RPC call
passes before anything is stored, so a value no layer below can hold is bad input (4xx),
never a 500 from a serializer or a driver halfway through a write.

The limits, and the layer each protects (measured on this stack):

- **Depth at most** ``MAX_DEPTH`` (64). orjson, which writes every stored and sent JSON,
  refuses to serialize beyond 254 levels; Python's ``json`` (FastAPI's body parser) stops
  near 990, orjson's parser at 1024, SQLite's JSON functions at 1000-2000 by version,
  Postgres ``jsonb`` near 14,500 (``max_stack_depth``). 64 leaves room for the envelope
  around a value and is far beyond any real document.
- **Integers in** ``[-2**63, 2**63 - 1]``: orjson cannot serialize more than 64 bits, SQLite
  and Postgres ``bigint`` hold signed 64 bits, and orjson's parser silently turns larger
  ones into floats (a changed value).
- **No NaN or Infinity**: not JSON; orjson would write them as ``null``.
- **No NUL** (``\\u0000``) **and no lone surrogates** (``\\ud800``) in any string or key:
  Postgres refuses NUL in ``text`` and ``jsonb`` (SQLite would store it: the same request
  must get the same answer on both), and a lone surrogate cannot be encoded as UTF-8.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from agentkeep import errors

MAX_DEPTH = 64
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1

#: One scan finds both characters no database column can hold.
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")

NUL_MESSAGE = "strings must not contain NUL (\\u0000) characters"


def _string_problem(text: str) -> str | None:
    found = _BAD_CHARS.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return NUL_MESSAGE
    return "strings must not contain lone UTF-16 surrogates such as \\ud800"


def _where(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``value`` (parsed JSON) cannot be accepted, on one line; None when it can.

    Iterative, so a hostile depth costs no Python stack; it stops at the first problem.
    """
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        found = _problem_here(item, depth, max_depth)
        if found is not None:
            where = _where(path)
            return f"{where}: {found}" if where else found
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and (bad := _string_problem(key)) is not None:
                    return f"{_where(path) or 'a key'}: {bad}"
                stack.append((child, depth + 1, (*path, str(key))))
        elif isinstance(item, list):
            stack.extend((child, depth + 1, (*path, i)) for i, child in enumerate(item))
    return None


def _problem_here(item: Any, depth: int, max_depth: int) -> str | None:
    if isinstance(item, str):
        return _string_problem(item)
    if isinstance(item, bool) or item is None:
        return None
    if isinstance(item, int):
        if MIN_INT <= item <= MAX_INT:
            return None
        return "integers must fit in 64 bits (-9223372036854775808 to 9223372036854775807)"
    if isinstance(item, float):
        return None if math.isfinite(item) else "NaN and Infinity are not JSON numbers"
    if isinstance(item, dict | list) and depth >= max_depth:
        return f"JSON nests more than {max_depth} levels deep"
    return None


def check_json(value: Any, what: str = "JSON", max_depth: int = MAX_DEPTH) -> Any:
    """Return ``value`` unchanged, or raise ``errors.BadRequest`` saying what is wrong."""
    found = problem(value, max_depth)
    if found is not None:
        raise errors.BadRequest(f"{what} refused: {found}.")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_strict(raw: bytes | str, what: str = "JSON", max_depth: int = MAX_DEPTH) -> Any:
    """Parse untrusted JSON exactly (big integers stay integers, so they can be refused)
    and ``check_json`` it; malformed or refused input raises ``errors.BadRequest``.

    The standard parser on purpose: orjson turns integers beyond 64 bits into floats, a
    silent change that no later check can see.
    """
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError, UnicodeDecodeError):
        # ValueError covers JSONDecodeError, NaN/Infinity and integers over Python's
        # 4300-digit conversion limit; RecursionError a depth beyond the parser's reach.
        raise errors.BadRequest(
            f"{what} is not valid JSON, or nests more than {max_depth} levels deep."
        ) from None
    return check_json(value, what, max_depth)
