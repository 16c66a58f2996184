"""Pass 1, reading: the file, YAML/JSON syntax, duplicate keys; keeps the YAML node tree for line numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from pal_audit.registry.errors import RegistryError


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (only true/false: `on:` stays a key, `no` stays a string) and no silent
    duplicate keys (a second `tenants:` would otherwise replace the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
            except TypeError:
                pass   # unhashable key: SafeConstructor reports it
        return super().construct_mapping(node, deep=deep)

    def construct_lenient_timestamp(self, node: yaml.ScalarNode) -> Any:
        # 2026-13-01 would raise a bare ValueError here; as a string it gets a proper "expected a date".
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_lenient_timestamp)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _parse_yaml(text: str) -> tuple[Any, Any]:
    """(data, node tree) of a YAML document."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def _no_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def read_document(path: Path, source: str) -> tuple[Any, Any]:
    """(data, node tree or None); raises RegistryError for an unreadable or unparseable file."""
    def fail(problem: str) -> RegistryError:
        return RegistryError([f"{source}: {problem}"])

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail("file not found") from None
    except IsADirectoryError:
        raise fail("is a directory, not a registry file") from None
    except PermissionError:
        raise fail("cannot read the file: permission denied") from None
    except UnicodeDecodeError:
        raise fail("cannot read the file: not UTF-8 text") from None
    except OSError as exc:
        raise fail(f"cannot read the file ({exc.strerror or exc.__class__.__name__})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicate_pairs)
        except json.JSONDecodeError as exc:
            raise fail(f"line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
        except ValueError as exc:   # a duplicate key, from _no_duplicate_pairs
            raise fail(f"invalid JSON: {exc}") from None
        try:
            return data, _parse_yaml(text)[1]   # JSON is YAML: reuse its node tree for line numbers
        except yaml.YAMLError:
            return data, None
    try:
        return _parse_yaml(text)
    except RecursionError:
        raise fail("invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not parseable"
        raise fail(f"{where}invalid YAML: {problem}") from None
