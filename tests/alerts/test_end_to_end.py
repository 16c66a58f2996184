"""Real runs of the Functions app (timer -> queue -> audit on armsim -> PalFindings on Azurite) with the
real alerts wired in by the service: cards to a local HTTPS Workflows receiver, mails to a local SMTP.

Production code builds its own TLS contexts from the platform defaults; the test CA is trusted the
standard way (`SSL_CERT_FILE`), not by any switch in the code.
"""

import json

import pytest
from alert_fixtures import env_for
from armsim_client import put_link
from azure.functions.timer import TimerRequest
from pal_support import QueueHost, call, table_rows

pytestmark = pytest.mark.azurite
MARGIE = "778369f3-4c6f-4737-af07-241b89fcc0e7"     # example tenant where ops-app has no link


async def nightly(host: QueueHost) -> str:
    await call("nightly_audit")(TimerRequest(past_due=False))
    run_id = json.loads(host.bodies()[0])["run_id"]
    await host.drain(call("audit_tenant"))
    assert host.failures == []
    return run_id


def heads(cards) -> list[str]:
    return [c["body"][0]["text"] for c in cards]


@pytest.fixture
def alert_env(app_env_fresh, monkeypatch, receiver, smtp, ca_path):
    def apply(**extra: str):
        for k, v in env_for(receiver, smtp, **extra).items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("SSL_CERT_FILE", ca_path)
        return app_env_fresh
    return apply


async def test_real_runs_alert_each_change_once(alert_env, receiver, smtp, assert_valid_card):
    cloud, storage = alert_env()
    host = QueueHost(storage)
    run1 = await nightly(host)
    findings = [r for r in table_rows(storage, "PalFindings") if r["status"] == "open"]
    high = [r for r in findings if r["severity"] == "high"]
    rest = len(findings) - len(high)
    titles = heads(receiver.cards())
    assert sorted(titles[:-1]) == sorted(f"NEW: {r['title']}" for r in high)      # at once, one each
    assert titles[-1] == f"pal-audit digest: {rest} changes in run {run1}"        # then one digest
    assert len(smtp.box.messages) == len(high) + 1
    for card in receiver.cards():
        assert_valid_card(card)

    before = len(receiver.posts), len(smtp.box.messages)
    for body in [json.dumps({"run_id": run1, "tenant_id": r["PartitionKey"], "trigger": "timer"})
                 for r in high]:
        host.send(body)                                                     # replayed queue messages
    await host.drain(call("audit_tenant"))
    await nightly(host)                                                     # an identical second run
    assert (len(receiver.posts), len(smtp.box.messages)) == before

    await put_link(cloud, MARGIE, "ops-app", "1234567")                     # the engineer fixes it
    receiver.reset()
    await nightly(host)
    assert sorted(heads(receiver.cards())) == [
        "RESOLVED: Identity with a PAL-eligible role is not linked to the partner ID",
        "RESOLVED: No identity earns PAL credit in the tenant"]
    for card in receiver.cards():
        assert_valid_card(card)


async def test_a_storm_in_a_real_run_becomes_one_summary(alert_env, receiver, smtp, assert_valid_card):
    _, storage = alert_env(PAL_AUDIT_ALERT_STORM_THRESHOLD="5")
    run1 = await nightly(QueueHost(storage))
    titles = heads(receiver.cards())
    storms = [t for t in titles if t.startswith("pal-audit storm breaker")]
    singles = [t for t in titles if t.startswith("NEW: ")]
    assert len(storms) == 1 and storms[0].endswith(f"new findings in run {run1}")
    assert len(singles) <= 5 and len(titles) == len(singles) + 1           # no digest, nothing else
    summary = receiver.cards()[-1]
    assert_valid_card(summary)
    facts = {f["title"]: f["value"] for b in summary["body"] if b["type"] == "FactSet" for f in b["facts"]}
    assert facts["Already alerted individually"] == str(len(singles))
    assert len(smtp.box.messages) == len(titles)
