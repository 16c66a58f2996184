"""Reading the estate document fast, and finding the line of a place in it only when it is wrong.

A 10,000-tenant estate is some 28 MB. The pure-Python YAML loader needs about a minute and a gigabyte
for that, so the document is read by the fastest reader that gives the same values: JSON (which is
YAML) by the json module, YAML by libyaml's loader when PyYAML has it. Neither keeps line numbers in
the values, so when validation fails the text is composed again, once, to name the line.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml

# libyaml's loader builds the same values as the pure one, several times faster.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Build a large object graph without the cyclic garbage collector's pauses.

    Loading allocates millions of objects and no cycles worth collecting; with the collector on,
    each pass over the growing heap made a 10,000-tenant load take about twice the CPU."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_document(text: str) -> Any:
    """The values of an estate document. Raises `yaml.YAMLError` (with its line) when it is not YAML."""
    if text.lstrip()[:1] == "{":
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML flow style, not JSON: the YAML loader reads it (or names the syntax error)
    return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, C or pure


def line_of(text: str, where: str) -> int | None:
    """The 1-based line of the place `where` (`tenants[3].principals[0].app_id`) names in the
    document, or of the deepest enclosing place that exists (a missing key: its mapping)."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_YAML_LOADER)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    found = node
    for index, key in _STEP.findall(where):
        node = _child(node, int(index) if index else None, key)
        if node is None:
            break
        found = node
    return found.start_mark.line + 1


def _child(node: yaml.Node, index: int | None, key: str) -> yaml.Node | None:
    if index is not None:
        if isinstance(node, yaml.SequenceNode) and index < len(node.value):
            child: yaml.Node = node.value[index]
            return child
        return None
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and str(k.value) == key:
                # An unknown key is reported at the key; any other place at its value.
                value: yaml.Node = v
                return value
    return None
