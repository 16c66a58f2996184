"""Reading a configuration document (registry, cloud file) from disk, bounded and strict.

Bounded: only regular files (a FIFO would hang, /dev/zero never ends), at most MAX_DOCUMENT_BYTES,
nesting at most MAX_DEPTH levels, integers at most MAX_INT_DIGITS digits, YAML aliases expanding to
at most MAX_NODES values. Strict: duplicate keys are an error in JSON and YAML; YAML 1.2 booleans
only (`on:` stays a key); a YAML date is only YYYY-MM-DD. Every problem is a DocumentError with the
line where one is known, never a RecursionError or a bare ValueError.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Hashable
from datetime import date
from pathlib import Path
from typing import Any

import yaml

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_INT_DIGITS = 100
MAX_NODES = 2_000_000
MAX_LINE_NUMBERED_JSON = 4 * 1024 * 1024     # larger JSON documents get messages without line numbers


class DocumentError(ValueError):
    """The document is unreadable or unparseable; `problem` is one line (with the line number if known)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


def read_text(path: Path, *, what: str = "file", limit: int = MAX_DOCUMENT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes; DocumentError otherwise."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DocumentError("file not found") from None
    except IsADirectoryError:
        raise DocumentError(f"is a directory, not a {what}") from None
    except PermissionError:
        raise DocumentError("cannot read the file: permission denied") from None
    except OSError as exc:
        raise DocumentError(f"cannot read the file ({exc.strerror or type(exc).__name__})") from None
    except ValueError:   # a NUL byte in the path
        raise DocumentError("not a usable file name") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise DocumentError(f"is a directory, not a {what}")
        raise DocumentError(f"not a regular file (a device, pipe or socket); give the path of a {what}")
    with os.fdopen(fd, "rb") as fh:
        try:
            raw = fh.read(limit + 1)
        except OSError as exc:
            raise DocumentError(f"cannot read the file ({exc.strerror or type(exc).__name__})") from None
    if len(raw) > limit:
        raise DocumentError(f"the file is larger than {limit // (1024 * 1024)} MiB; a {what} is far smaller")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError("cannot read the file: not UTF-8 text") from None


# ---------------------------------------------------------------- JSON

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|-?[0-9]{' + str(MAX_INT_DIGITS + 1) + ",}", re.DOTALL)


class NumberTooLong(DocumentError):
    """A JSON number with more than MAX_INT_DIGITS digits (Python refuses past 4,300 anyway)."""


def _place(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _json_limits(text: str) -> None:
    """Nesting and integer size, checked before parsing so the message can name the line."""
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        token = m.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise DocumentError(f"{_place(text, m.start())}: invalid JSON: nested more than "
                                    f"{MAX_DEPTH} levels deep")
        elif token in ("]", "}"):
            depth -= 1
        elif not token.startswith('"'):
            raise NumberTooLong(f"{_place(text, m.start())}: invalid JSON: a number with more "
                                f"than {MAX_INT_DIGITS} digits")


def _no_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_json(text: str) -> Any:
    """json.loads, refusing duplicate keys, deep nesting and huge integers (DocumentError)."""
    _json_limits(text)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_pairs)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
    except _DuplicateKey as exc:
        raise DocumentError(f"invalid JSON: duplicate key {exc.key!r}") from None
    except (ValueError, RecursionError) as exc:   # limits are checked above; a last line of defence
        raise DocumentError(f"invalid JSON: {type(exc).__name__}") from None


# ---------------------------------------------------------------- YAML

_STRICT_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class StrictLoader(yaml.SafeLoader):
    """YAML 1.2 booleans (only true/false: `on:` stays a key, `no` stays a string), no silent
    duplicate keys (a second `tenants:` would otherwise replace the first), bounded nesting and
    integers, and dates only as YYYY-MM-DD (anything else stays a string and fails validation)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                # The PyYAML stubs leave Parser.peek_event unannotated; it returns the next Event.
                event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
                # SafeLoader is the pure-Python parser: its marks are yaml.error.Mark, never libyaml's.
                mark = event.start_mark if isinstance(event.start_mark, yaml.error.Mark) else None
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[object, int] = {}
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

    def construct_bounded_int(self, node: yaml.ScalarNode) -> int:
        if len(str(node.value)) > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number with more than {MAX_INT_DIGITS} digits", node.start_mark)
        return self.construct_yaml_int(node)

    def construct_strict_timestamp(self, node: yaml.ScalarNode) -> date | str:
        # 2099-3-1 or 2026-13-01 stay strings, and then fail as "expected a date YYYY-MM-DD".
        value = str(node.value)
        if len(value) > 10 and value[:10].count("-") == 2:
            try:
                return self.construct_yaml_timestamp(node)   # a date and time: refused with its own message
            except ValueError:
                return self.construct_scalar(node)
        if not _STRICT_DATE.fullmatch(value):
            return self.construct_scalar(node)
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_bounded_int)
StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_strict_timestamp)
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _expanded_size(node: yaml.Node) -> int:
    """How many values the node tree holds once aliases are expanded (shared nodes counted per use)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if id(current) in sizes:
            continue
        if isinstance(current, yaml.ScalarNode):
            sizes[id(current)] = 1
            continue
        children: list[yaml.Node] = ([c for pair in current.value for c in pair]
                                     if isinstance(current, yaml.MappingNode) else list(current.value))
        if children_done:
            sizes[id(current)] = min(MAX_NODES + 1, 1 + sum(sizes[id(c)] for c in children))
        else:
            stack.append((current, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(node)]


def parse_yaml(text: str) -> tuple[object, yaml.Node | None]:
    """(data, node tree or None) of one YAML document, the data as untyped as the file; DocumentError
    with the line otherwise."""
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        if _expanded_size(node) > MAX_NODES:
            raise DocumentError(f"invalid YAML: aliases expand to more than {MAX_NODES:,} values")
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not parseable"
        raise DocumentError(f"{where}invalid YAML: {problem}") from None
    except RecursionError:   # MAX_DEPTH is far below the interpreter's limit; a last line of defence
        raise DocumentError("invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def parse_document(text: str, *, json_syntax: bool) -> object:
    """The data of a document: JSON when `json_syntax`, else YAML (the registry's reader also
    offers line numbers: registry/yaml_source.py)."""
    return parse_json(text) if json_syntax else parse_yaml(text)[0]
