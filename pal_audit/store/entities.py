"""Table Storage limits, enforced here because Azurite does not (docs/storage.md).

Every entity the store writes goes through `encode`, and every batch through `chunk`: so a
finding with a huge `detail`, a key with a `/`, or a 101-operation batch fails (or is trimmed)
in our code with a clear message instead of in production with an opaque 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from azure.data.tables import EdmType, EntityProperty

MAX_BATCH_OPERATIONS = 100              # entity group transaction
MAX_BATCH_BYTES = 4 * 1024 * 1024       # ... and its payload
MAX_ENTITY_BYTES = 1024 * 1024          # all property data, measured as the service does (UTF-16)
MAX_STRING_UNITS = 32 * 1024            # 64 KiB of UTF-16
MAX_KEY_UNITS = 512                     # 1 KiB of UTF-16
MAX_CUSTOM_PROPERTIES = 252             # 255 minus PartitionKey, RowKey, Timestamp
_BAD_KEY_CHARS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
_PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_TRUNCATED = " … [truncated]"


class EntityLimitError(ValueError):
    """An entity or batch would break a Table Storage limit."""


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_key(what: str, value: str) -> str:
    if not isinstance(value, str):
        raise EntityLimitError(f"{what} must be a string, got {type(value).__name__}")
    if _BAD_KEY_CHARS.search(value):
        raise EntityLimitError(f"{what} {value[:80]!r} contains a character Table Storage forbids "
                               "(/ \\ # ? or a control character)")
    if utf16_units(value) > MAX_KEY_UNITS:
        raise EntityLimitError(f"{what} is longer than {MAX_KEY_UNITS} UTF-16 units")
    return value


def fit_text(text: str, max_units: int = MAX_STRING_UNITS) -> str:
    """Trim free text (a finding's detail) to the string limit, saying so at the end."""
    if utf16_units(text) <= max_units:
        return text
    budget = max_units - utf16_units(_TRUNCATED)
    out = text[:budget]
    while utf16_units(out) > budget:   # astral characters take two units
        out = out[:-1]
    return out + _TRUNCATED


def _value_size(value: Any) -> int:
    """Bytes a value takes in the service's size formula (learn.microsoft.com, table data model)."""
    if isinstance(value, EntityProperty):
        value = value.value
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float | datetime):
        return 8
    if isinstance(value, str):
        return 4 + 2 * utf16_units(value)
    if isinstance(value, bytes):
        return 4 + len(value)
    raise EntityLimitError(f"unsupported property type {type(value).__name__}")


def entity_size(entity: Mapping[str, Any]) -> int:
    size = 4 + 2 * (utf16_units(entity["PartitionKey"]) + utf16_units(entity["RowKey"]))
    for name, value in entity.items():
        if name not in ("PartitionKey", "RowKey") and value is not None:
            size += 8 + 2 * len(name) + _value_size(value)
    return size


def encode(entity: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an entity and give every int an explicit INT64 type.

    One int type for every integer property keeps a counter's type stable however large it grows
    (the SDK would send small ints as Int32 and refuse big ones). None values are left out.
    """
    out: dict[str, Any] = {}
    for name, value in entity.items():
        if value is None:
            continue
        if name in ("PartitionKey", "RowKey"):
            out[name] = check_key(name, value)
            continue
        if not _PROPERTY_NAME.match(name):
            raise EntityLimitError(f"property name {name!r} is not a valid Table Storage name")
        if isinstance(value, str) and utf16_units(value) > MAX_STRING_UNITS:
            raise EntityLimitError(f"property {name} is longer than 64 KiB (UTF-16)")
        if isinstance(value, bool | str | float | datetime | bytes | EntityProperty):
            out[name] = value
        elif isinstance(value, int):
            if not -(2**63) <= value < 2**63:
                raise EntityLimitError(f"property {name} does not fit in a 64-bit integer")
            out[name] = EntityProperty(value, EdmType.INT64)
        else:
            raise EntityLimitError(f"property {name}: type {type(value).__name__} is not storable "
                                   "(serialise lists and dicts to JSON text)")
    if "PartitionKey" not in out or "RowKey" not in out:
        raise EntityLimitError("an entity needs a PartitionKey and a RowKey")
    if len(out) - 2 > MAX_CUSTOM_PROPERTIES:
        raise EntityLimitError(f"entity has {len(out) - 2} properties; the limit is {MAX_CUSTOM_PROPERTIES}")
    size = entity_size(out)
    if size > MAX_ENTITY_BYTES:
        raise EntityLimitError(f"entity {out['PartitionKey']}/{out['RowKey']} is {size} bytes; "
                               f"the limit is {MAX_ENTITY_BYTES}")
    return out


def decode(entity: Mapping[str, Any]) -> dict[str, Any]:
    """Plain Python values: INT64 properties come back wrapped in EntityProperty."""
    return {k: (v.value if isinstance(v, EntityProperty) else v) for k, v in entity.items()}


# One operation of a table transaction, as azure-data-tables takes it: (kind, entity) or
# (kind, entity, keyword arguments such as mode / etag / match_condition).
Operation = tuple[str, Mapping[str, Any]] | tuple[str, Mapping[str, Any], Mapping[str, Any]]


def _payload_size(op: Operation) -> int:
    entity = op[1]
    return 512 + sum(len(str(k)) + len(json.dumps(v.value if isinstance(v, EntityProperty) else v,
                                                  default=str)) for k, v in entity.items())


def chunk(operations: Sequence[Operation]) -> Iterator[list[Operation]]:
    """Split one partition's operations into transactions within the count and payload limits."""
    seen: set[str] = set()
    pks = {op[1]["PartitionKey"] for op in operations}
    if len(pks) > 1:
        raise EntityLimitError("a transaction's entities must share one PartitionKey")
    batch: list[Operation] = []
    batch_bytes = 0
    for op in operations:
        rk = op[1]["RowKey"]
        if rk in seen:
            raise EntityLimitError(f"RowKey {rk!r} appears twice in one write")
        seen.add(rk)
        size = _payload_size(op)
        if batch and (len(batch) == MAX_BATCH_OPERATIONS or batch_bytes + size > MAX_BATCH_BYTES):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(op)
        batch_bytes += size
    if batch:
        yield batch
