"""StorageConfig and queue-message parsing: no key in a repr, no near-miss accepted."""

from __future__ import annotations

import json

import pytest

from pal_audit.store import BadMessage, StorageConfig, TenantMessage

KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONNECTION = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
              f"AccountKey={KEY};TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;")


def test_the_account_key_never_appears_in_a_repr_or_description():
    config = StorageConfig(connection_string=CONNECTION)
    for text in (repr(config), str(config), config.describe(), f"{config!r}"):
        assert KEY not in text and "AccountKey" not in text
    assert "127.0.0.1:10002" in config.describe()
    assert config == StorageConfig(connection_string=CONNECTION)    # still compared by value


GOOD = {"run_id": "20260301T020000Z-1a2b3c4d", "tenant_id": "22222222-2222-2222-2222-222222222222",
        "trigger": "timer"}


@pytest.mark.parametrize("change", [
    {"run_id": GOOD["run_id"] + "\n"}, {"tenant_id": GOOD["tenant_id"] + "\n"},
    {"run_id": "٢٠٢٦0301T020000Z-1a2b3c4d"},
])
def test_queue_messages_with_near_miss_ids_are_refused(change):
    with pytest.raises(BadMessage):
        TenantMessage.parse(json.dumps({**GOOD, **change}))
    assert TenantMessage.parse(json.dumps(GOOD)).tenant_id == GOOD["tenant_id"]
