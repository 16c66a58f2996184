"""Pass 1, reading: the file (bounded), YAML/JSON syntax, duplicate keys; keeps the YAML node tree for
line numbers. The limits and the strict parsing live in pal_audit.registry.documents."""

from __future__ import annotations

from pathlib import Path

import yaml

from pal_audit.registry.documents import DocumentError, parse_document, read_text
from pal_audit.registry.errors import RegistryError


def read_document(path: Path, source: str) -> tuple[object, yaml.Node | None]:
    """(data, node tree or None); raises RegistryError for an unreadable or unparseable file."""
    try:
        text = read_text(path, what="registry file")
        return parse_document(text, json_syntax=path.suffix.lower() == ".json")
    except DocumentError as exc:
        raise RegistryError([f"{source}: {exc.problem}"]) from None
