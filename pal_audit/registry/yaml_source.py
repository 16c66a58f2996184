"""Pass 1, reading: the file (bounded), YAML/JSON syntax, duplicate keys. Line numbers for messages
come from a `LineFinder`, which composes the YAML node tree only when a message needs one. The limits
and the strict parsing live in pal_audit.registry.documents."""

from __future__ import annotations

from pathlib import Path

import yaml

from pal_audit.registry.documents import (
    MAX_LINE_NUMBERED_JSON,
    DocumentError,
    parse_document,
    parse_json,
    parse_yaml,
    read_text,
)
from pal_audit.registry.errors import RegistryError


class LineFinder:
    """The YAML node tree of a document, composed on demand and never kept.

    A 10,000-tenant registry's tree is over 100 MiB and seconds of pure-Python parsing; a valid
    registry without warnings never needs it, so an audit should not hold it all night.
    """

    def __init__(self, text: str, *, json_syntax: bool) -> None:
        self._text = text
        self._json_syntax = json_syntax

    def tree(self) -> yaml.Node | None:
        """The node tree for one batch of messages, or None when there is none to be had cheaply."""
        if self._json_syntax and len(self._text) > MAX_LINE_NUMBERED_JSON:
            return None   # the pure-Python YAML parser is slow on big files
        try:
            return parse_yaml(self._text)[1]   # JSON is YAML: its node tree gives JSON's lines too
        except DocumentError:
            return None


def _looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] == "{"


def read_document(path: Path, source: str) -> tuple[object, LineFinder]:
    """(data, line finder); raises RegistryError for an unreadable or unparseable file.

    A `.json` file is JSON. Any other file is YAML, read by the JSON parser when it is a JSON object
    (JSON is YAML, and the same data either way) because that is 10-20 times faster on big files.
    """
    try:
        text = read_text(path, what="registry file")
        json_syntax = path.suffix.lower() == ".json"
        if not json_syntax and _looks_like_json(text):
            try:
                return parse_json(text), LineFinder(text, json_syntax=True)
            except DocumentError:
                pass   # flow-style YAML that is not JSON, or a real problem: YAML says which
        return parse_document(text, json_syntax=json_syntax), LineFinder(text, json_syntax=json_syntax)
    except DocumentError as exc:
        raise RegistryError([f"{source}: {exc.problem}"]) from None
