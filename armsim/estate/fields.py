"""Reading one field of the estate file: typed primitives that raise `EstateError` naming the file,
the path in it (`tenants[0].principals[2].app_id`) and what is wrong. Unknown keys are errors."""

from __future__ import annotations

import re
from typing import Any

from armsim.estate.model import EstateError

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class FieldReader:
    """The typed readers of one estate document; `source` (the file name) prefixes every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> EstateError:
        return EstateError(f"{self.source}: {path or '(top level)'}: {problem}")

    def mapping(self, v: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...]) -> dict:
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

    def seq(self, v: Any, path: str) -> list:
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.fail(path, f"expected a list, got {type(v).__name__}")
        return v

    def text(self, v: Any, path: str) -> str:
        if isinstance(v, bool) or not isinstance(v, str | int) or str(v).strip() == "":
            raise self.fail(path, f"expected a non-empty string, got {v!r}")
        return str(v)

    def strings(self, m: dict, key: str, path: str) -> tuple[str, ...]:
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

    def number(self, v: Any, path: str, *, integer: bool, low: float, high: float) -> Any:
        ok_type = isinstance(v, int) if integer else isinstance(v, int | float)
        if isinstance(v, bool) or not ok_type or not low <= v <= high:
            kind = "an integer" if integer else "a number"
            raise self.fail(path, f"expected {kind} from {low:g} to {high:g}, got {v!r}")
        return v

    def opt(self, m: dict, key: str, path: str, read: Any, **kw: Any) -> Any:
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
