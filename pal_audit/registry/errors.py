"""RegistryError and the one way a problem is written: "<file>: <path>: <problem> (line N)".

Messages never repeat a value that could be a secret.
"""

from __future__ import annotations

import json
import re

import yaml

Loc = tuple[str | int, ...]


class RegistryError(Exception):
    """The registry is unusable. `.errors` holds one "<file>: <path>: <problem>" line per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def dotted_path(loc: Loc) -> str:
    """tenants[0].identities, or ["odd key"] for keys that would not read as plain names."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def line_of(node: yaml.Node | None, loc: Loc) -> int | None:
    """1-based line of the deepest node of `loc` present in the YAML node tree."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)
                          and k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def format_problem(source: str, loc: Loc, problem: str, node: yaml.Node | None) -> str:
    line = line_of(node, loc)
    suffix = f" (line {line})" if line is not None else ""
    return f"{source}: {dotted_path(loc)}: {problem}{suffix}" if loc else f"{source}: {problem}{suffix}"
