"""Table Storage limits that Azurite does not enforce, enforced by the store (docs/storage.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.data.tables import EdmType, EntityProperty
from builders import T1, finding, snapshot
from pal_support import table_rows

from pal_audit.store import entities
from pal_audit.store.entities import EntityLimitError

pytestmark = pytest.mark.azurite


@pytest.mark.parametrize("key", ["a/b", "a\\b", "a#b", "a?b", "a\tb", "a\x7fb", "x" * 513])
def test_bad_keys_are_refused_with_a_message(key):
    with pytest.raises(EntityLimitError, match="RowKey"):
        entities.encode({"PartitionKey": "p", "RowKey": key})


def test_ints_are_int64_and_big_ones_round_trip(storage):
    from azure.data.tables import TableServiceClient

    client = TableServiceClient.from_connection_string(storage).create_table("Ints")
    client.create_entity(entities.encode({"PartitionKey": "p", "RowKey": "r", "small": 3, "big": 2**40,
                                          "flag": True}))
    back = entities.decode(client.get_entity("p", "r"))
    assert (back["small"], back["big"], back["flag"]) == (3, 2**40, True)
    one = entities.encode({"PartitionKey": "p", "RowKey": "r", "n": 1})["n"]
    assert one == EntityProperty(1, EdmType.INT64)
    with pytest.raises(EntityLimitError, match="64-bit"):
        entities.encode({"PartitionKey": "p", "RowKey": "r", "n": 2**63})


def test_strings_entities_and_property_counts_are_bounded():
    with pytest.raises(EntityLimitError, match="64 KiB"):
        entities.encode({"PartitionKey": "p", "RowKey": "r", "s": "x" * 40_000})
    # 20 strings of 30,000 characters: 1.2 MB in UTF-16. Azurite accepts it; Azure would not.
    with pytest.raises(EntityLimitError, match="1048576"):
        entities.encode({"PartitionKey": "p", "RowKey": "r", **{f"s{i}": "x" * 30_000 for i in range(20)}})
    with pytest.raises(EntityLimitError, match="253 properties"):
        entities.encode({"PartitionKey": "p", "RowKey": "r", **{f"p{i}": 1 for i in range(253)}})
    with pytest.raises(EntityLimitError, match="not storable"):
        entities.encode({"PartitionKey": "p", "RowKey": "r", "l": [1]})


def test_astral_characters_count_twice():
    text = "😀" * 20_000                  # 40,000 UTF-16 units
    trimmed = entities.fit_text(text)
    assert entities.utf16_units(trimmed) <= entities.MAX_STRING_UNITS and trimmed.endswith("[truncated]")


def test_batches_hold_at_most_100_operations():
    ops = [("upsert", {"PartitionKey": "p", "RowKey": str(i)}) for i in range(250)]
    assert [len(b) for b in entities.chunk(ops)] == [100, 100, 50]
    with pytest.raises(EntityLimitError, match="twice"):
        list(entities.chunk(ops + ops[:1]))
    with pytest.raises(EntityLimitError, match="PartitionKey"):
        list(entities.chunk([*ops, ("upsert", {"PartitionKey": "q", "RowKey": "x"})]))


def test_batches_stay_under_4_mib():
    big = [("upsert", {"PartitionKey": "p", "RowKey": str(i), "s": "x" * 60_000}) for i in range(200)]
    sizes = [len(b) for b in entities.chunk(big)]
    assert sum(sizes) == 200 and max(sizes) < 100


async def test_a_huge_detail_is_trimmed_not_lost(store, storage):
    f = finding(detail="role assignment " * 5000)        # 80,000 characters
    await store.findings.write_tenant(snapshot(), [f], "run1", at=datetime.now(UTC))
    [row] = table_rows(storage, "PalFindings")
    assert row["RowKey"] == f.finding_id and row["detail"].endswith("[truncated]")
    assert entities.utf16_units(row["detail"]) <= entities.MAX_STRING_UNITS


async def test_250_findings_are_written_in_three_transactions(store, storage):
    calls = []
    original = store.findings.client.submit_transaction

    async def counting(batch, **kw):
        calls.append(len(batch))
        return await original(batch, **kw)

    store.findings.client.submit_transaction = counting
    fs = [finding("excessive_privilege", qualifier=str(i)) for i in range(250)]
    changes = await store.findings.write_tenant(snapshot(), fs, "run1",
                                                at=datetime.now(UTC))
    assert calls == [100, 100, 50] and len(changes) == 250
    assert {r["PartitionKey"] for r in table_rows(storage, "PalFindings")} == {T1}
