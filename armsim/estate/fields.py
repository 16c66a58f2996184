"""Reading one field of the estate file: typed primitives that raise `EstateError` naming the file,
the path in it (`tenants[0].principals[2].app_id`) and what is wrong. Unknown keys are errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal, TypeVar, overload

from armsim.estate.model import EstateError

T = TypeVar("T")

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class FieldReader:
    """The typed readers of one estate document; `source` (the file name) prefixes every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> EstateError:
        return EstateError(f"{self.source}: {path or '(top level)'}: {problem}", where=path)

    # Values are `Any`: they are what YAML (or JSON) gave, checked only by these readers.

    def mapping(
        self, v: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(path, f"expected a mapping, got {type(v).__name__}")
        unknown = [k for k in v if k not in required and k not in optional]
        if unknown:
            allowed = ", ".join((*required, *optional))
            raise self.fail(join_path(path, str(unknown[0])), f"unknown key (allowed: {allowed})")
        for k in required:
            if k not in v:
                raise self.fail(join_path(path, k), "required key is missing")
        return v

    def seq(self, v: Any, path: str) -> list[Any]:
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.fail(path, f"expected a list, got {type(v).__name__}")
        return v

    def text(self, v: Any, path: str) -> str:
        if isinstance(v, bool) or not isinstance(v, str | int) or str(v).strip() == "":
            raise self.fail(path, f"expected a non-empty string, got {v!r}")
        return str(v)

    def strings(self, m: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
        p = join_path(path, key)
        return tuple(self.text(x, f"{p}[{i}]") for i, x in enumerate(self.seq(m.get(key), p)))

    def guid(self, v: Any, path: str) -> str:
        if not isinstance(v, str) or not GUID.fullmatch(v):
            raise self.fail(path, f"not a GUID: {v!r}")
        return v.lower()

    def boolean(self, v: Any, path: str) -> bool:
        if not isinstance(v, bool):
            raise self.fail(path, f"expected true or false, got {v!r}")
        return v

    @overload
    def number(self, v: Any, path: str, *, integer: Literal[True], low: float, high: float) -> int: ...
    @overload
    def number(self, v: Any, path: str, *, integer: Literal[False], low: float, high: float) -> float: ...
    def number(self, v: Any, path: str, *, integer: bool, low: float, high: float) -> float:
        """`v` itself (an int stays an int) when it is a number of the kind asked for, in range."""
        # bool is an int in Python, but YAML's `true` is no number
        right_kind = isinstance(v, int) if integer else isinstance(v, int | float)
        if right_kind and isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high:
            return v
        kind = "an integer" if integer else "a number"
        raise self.fail(path, f"expected {kind} from {low:g} to {high:g}, got {v!r}")

    def opt(self, m: dict[str, Any], key: str, path: str, read: Callable[..., T], **kw: Any) -> T | None:
        """`read(m[key])` with the key's path, or None when the optional key is absent."""
        return read(m[key], join_path(path, key), **kw) if key in m else None

    def partner_id(self, v: Any, path: str) -> str:
        s = self.text(v, path)
        if not s.isdigit():
            raise self.fail(path, f"a partner id is digits only, got {s!r}")
        return s


def join_path(path: str, key: str) -> str:
    """The path of `key` inside the mapping at `path` (the top level has the empty path)."""
    return f"{path}.{key}" if path else key
