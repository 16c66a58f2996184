"""Alerts over real FindingChange lists, the PalAlerts table in Azurite, a local HTTPS webhook receiver
and a local SMTP server: what users rely on — each change alerted exactly once, on time, never lost."""

import json
import logging
import threading
from dataclasses import replace
from datetime import timedelta
from functools import partial

import pytest
from alert_fixtures import ACS_KEY, SIG, SMTP_PASSWORD, T1, T2, change, env_for, finding

from pal_audit.alerts import FileSink
from pal_audit.alerts.outbox import TABLE
from pal_audit.model import Transition

pytestmark = pytest.mark.azurite
dump = partial(json.dumps, ensure_ascii=False, default=str)

HIGH_1 = finding("link_foreign_partner", T1, "ops-app")
HIGH_2 = finding("link_missing", T2, "ci-app", principal="55555555-5555-5555-5555-555555555555")
MED_1 = finding("link_previous_partner_id", T1, "ops-app")
MED_2 = finding("link_without_eligible_role", T2, "ci-app", principal="55555555-5555-5555-5555-555555555555")
LOW_1 = finding("excessive_privilege", T1, "ops-app",
                qualifier=f"/subscriptions/{T2}/providers/Microsoft.Authorization/roleAssignments/r1")


def run1(run_id="run-1"):
    """Two tenants' transitions of a first run: per tenant, as the queue trigger reports them."""
    return ([change(HIGH_1, run_id=run_id), change(MED_1, run_id=run_id), change(LOW_1, run_id=run_id)],
            [change(HIGH_2, run_id=run_id), change(MED_2, run_id=run_id)])


def rows(tables):
    return list(tables.get_table_client(TABLE).list_entities())


def kinds(receiver):
    return [c["body"][0]["text"] for c in receiver.cards()]


@pytest.fixture
def alerts(make_alerts, receiver, smtp):
    return make_alerts(env_for(receiver, smtp))


def test_new_findings_high_at_once_the_rest_in_one_digest(alerts, receiver, smtp, tables, assert_valid_card):
    t1, t2 = run1()
    alerts.on_changes(t1)
    assert kinds(receiver) == [f"NEW: {HIGH_1.title}"]
    alerts.on_changes(t2)
    assert kinds(receiver) == [f"NEW: {HIGH_1.title}", f"NEW: {HIGH_2.title}"]
    assert len(smtp.box.messages) == 2
    alerts.on_run_completed("run-1")
    cards = receiver.cards()
    assert [c["body"][0]["text"] for c in cards][2] == "pal-audit digest: 3 changes in run run-1"
    digest = dump(cards[2])
    assert MED_1.title in digest and MED_2.title in digest and LOW_1.title in digest
    assert HIGH_1.title not in digest                                   # not twice
    assert [m["Subject"] for m in smtp.box.messages][2] == \
        "[pal-audit] Digest for run run-1: 3 NEW"
    for card in cards:
        assert_valid_card(card)
    states = {r["RowKey"]: r["Status"] for r in rows(tables) if r.get("Kind") == "change"}
    assert sorted(states.values()) == ["digested"] * 3 + ["sent"] * 2


def test_an_identical_rerun_and_replayed_hooks_send_nothing(alerts, receiver, smtp):
    t1, t2 = run1()
    alerts.on_changes(t1), alerts.on_changes(t2), alerts.on_run_completed("run-1")
    sent = len(receiver.posts), len(smtp.box.messages)
    alerts.on_changes(t1), alerts.on_changes(t2), alerts.on_run_completed("run-1")   # replayed messages
    alerts.on_changes([]), alerts.on_run_completed("run-2")     # second run: the store saw no transitions
    assert (len(receiver.posts), len(smtp.box.messages)) == sent == (3, 3)


def test_a_fix_sends_resolved(alerts, receiver, smtp, assert_valid_card):
    t1, t2 = run1()
    alerts.on_changes(t1), alerts.on_changes(t2), alerts.on_run_completed("run-1")
    receiver.reset(), smtp.box.messages.clear()
    alerts.on_changes([change(HIGH_1, Transition.RESOLVED, "run-2"),
                       change(MED_1, Transition.RESOLVED, "run-2")])
    alerts.on_changes([])
    alerts.on_run_completed("run-2")
    assert kinds(receiver) == [f"RESOLVED: {HIGH_1.title}", "pal-audit digest: 1 change in run run-2"]
    assert "RESOLVED · medium" in dump(receiver.cards()[1])
    assert smtp.box.messages[0]["Subject"].startswith("[pal-audit] RESOLVED high:")
    for card in receiver.cards():
        assert_valid_card(card)


def test_concurrent_replays_and_completions_send_each_alert_once(make_alerts, receiver, smtp):
    env = env_for(receiver, smtp)
    workers = [make_alerts(env) for _ in range(4)]       # separate instances: separate invocations
    t1, t2 = run1()
    barrier = threading.Barrier(4)

    def invocation(a, batch):
        barrier.wait()
        a.on_changes(batch)

    threads = [threading.Thread(target=invocation, args=(a, b)) for a, b in zip(workers, [t1, t1, t2, t2],
                                                                                 strict=True)]
    [t.start() for t in threads], [t.join(30) for t in threads]
    barrier2 = threading.Barrier(4)

    def complete(a):
        barrier2.wait()
        a.on_run_completed("run-1")

    threads = [threading.Thread(target=complete, args=(a,)) for a in workers]
    [t.start() for t in threads], [t.join(30) for t in threads]
    assert sorted(kinds(receiver)) == sorted([f"NEW: {HIGH_1.title}", f"NEW: {HIGH_2.title}",
                                              "pal-audit digest: 3 changes in run run-1"])
    assert len(smtp.box.messages) == 3


def test_a_429_from_the_webhook_is_retried(alerts, receiver, tables, sleeps):
    receiver.respond((429, {"Retry-After": "0.3"}))
    alerts.on_changes([change(HIGH_1)])
    assert [p["status"] for p in receiver.posts] == [429, 202]
    assert sleeps == [0.3]
    [row] = [r for r in rows(tables) if r.get("Kind") == "change"]
    assert (row["Status"], row["Ch_teams"], row["Attempts"]) == ("sent", "sent", 1)


def test_a_failed_delivery_is_retried_later_then_recorded_never_dropped(make_alerts, receiver, smtp, tables,
                                                                        clock, options):
    alerts = make_alerts(env_for(receiver, smtp),
                         options=replace(options, webhook_attempts=1, max_delivery_attempts=3))
    receiver.respond(503)
    alerts.on_changes([change(HIGH_1)])
    [row] = [r for r in rows(tables) if r.get("Kind") == "change"]
    assert (row["Status"], row["Ch_teams"], row["Ch_email"]) == ("pending", "pending", "sent")
    assert row["LastError"] == "teams: HTTP 503 from 127.0.0.1"
    alerts.on_run_completed("run-1")                 # too early: the retry is not due yet
    assert len(receiver.posts) == 1
    clock.advance(minutes=3)
    receiver.respond(503)
    alerts.on_run_completed("run-1")                 # second attempt fails too
    clock.advance(minutes=10)
    receiver.respond(503)
    alerts.check_stale(clock.now, clock.now)         # the timer retries as well: third and last attempt
    [row] = [r for r in rows(tables) if r.get("Kind") == "change"]
    assert (row["Status"], row["Ch_teams"], row["Ch_email"]) == ("failed", "failed", "sent")
    assert row["Attempts"] == 3
    assert len(smtp.box.messages) == 1               # the mail that worked is not repeated
    clock.advance(hours=5)
    alerts.on_run_completed("run-1")
    assert len(receiver.posts) == 3


def test_a_transient_failure_then_success_on_the_next_invocation(alerts, receiver, tables, clock):
    receiver.respond(500, 500, 500)
    alerts.on_changes([change(HIGH_1)])
    assert receiver.cards() == []
    clock.advance(minutes=5)
    alerts.on_run_completed("run-1")
    assert kinds(receiver) == [f"NEW: {HIGH_1.title}"]
    [row] = [r for r in rows(tables) if r.get("Kind") == "change"]
    assert (row["Status"], row["Attempts"]) == ("sent", 2)


def test_a_storm_becomes_one_summary(make_alerts, receiver, smtp, tables, assert_valid_card):
    alerts = make_alerts(env_for(receiver, smtp, PAL_AUDIT_ALERT_STORM_THRESHOLD="3"))
    alerts.on_changes([change(HIGH_1), change(MED_1)])                     # 2 opened: below the threshold
    many = [change(finding("link_missing", T2, f"app-{i}", principal=f"p{i}")) for i in range(6)]
    alerts.on_changes([*many, change(MED_2)])                              # 9 opened: a storm
    alerts.on_run_completed("run-1")
    assert kinds(receiver) == [f"NEW: {HIGH_1.title}", "pal-audit storm breaker: 9 new findings in run run-1"]
    summary = receiver.cards()[1]
    assert_valid_card(summary)
    facts = {f["title"]: f["value"] for b in summary["body"] if b["type"] == "FactSet" for f in b["facts"]}
    assert facts["NEW"] == "8" and facts["Already alerted individually"] == "1"
    assert [m["Subject"] for m in smtp.box.messages] == [
        f"[pal-audit] NEW high: {HIGH_1.title} (ops-app in {T1})",
        "[pal-audit] Storm: 9 new findings in run run-1"]
    states = sorted(r["Status"] for r in rows(tables) if r.get("Kind") == "change")
    assert states == ["sent"] + ["summarized"] * 8


def test_a_run_that_never_completes_still_sends_its_digest(alerts, receiver, clock):
    alerts.on_changes([change(MED_1)])
    alerts.check_stale(clock.now, clock.now)
    assert receiver.cards() == []
    clock.advance(hours=13)
    alerts.check_stale(clock.now, clock.now)        # the timer finds the orphan
    assert kinds(receiver) == ["pal-audit digest: 1 change in run run-1"]


def test_no_successful_run_alerts_once_per_quiet_period(alerts, receiver, smtp, clock, assert_valid_card):
    last = clock.now
    assert alerts.check_stale(last, clock.advance(hours=20)) is False
    assert alerts.check_stale(last, clock.advance(hours=20)) is True
    assert alerts.check_stale(last, clock.advance(hours=6)) is True
    assert kinds(receiver) == ["pal-audit: no successful run for 36 hours or more"]
    assert smtp.box.messages[0]["Subject"] == "[pal-audit] No successful run for 36 hours"
    assert_valid_card(receiver.cards()[0])
    assert alerts.check_stale(None, clock.advance(hours=40)) is True   # caller's look-back lost it
    assert len(receiver.cards()) == 1
    new_last = clock.advance(hours=1)                # a run succeeds, then goes quiet again
    assert alerts.check_stale(new_last, clock.advance(hours=37)) is True
    assert len(receiver.cards()) == 2


def test_never_a_successful_run_counts_from_the_first_check(alerts, receiver, clock):
    assert alerts.check_stale(None, clock.now) is False
    assert alerts.check_stale(None, clock.advance(hours=37)) is True
    assert alerts.check_stale(None, clock.advance(hours=37)) is True
    assert len(receiver.cards()) == 1


def test_no_secret_ever_appears_in_cards_mails_logs_or_the_table(receiver, smtp, tables, caplog, make_alerts,
                                                                  clock):
    caplog.set_level(logging.DEBUG)
    alerts = make_alerts(env_for(receiver, smtp))
    receiver.respond(500, 500, 500, 400)
    alerts.on_changes([change(HIGH_1)])                   # fails transiently
    clock.advance(minutes=5)
    alerts.on_run_completed("run-1")                      # fails for good (400)
    bad = make_alerts(env_for(receiver, smtp, PAL_AUDIT_SMTP_PASSWORD="wrong-" + SMTP_PASSWORD))
    bad.on_changes([change(HIGH_2)])                      # SMTP 535
    acs = make_alerts(env_for(receiver, None, PAL_AUDIT_ACS_CONNECTION_STRING=receiver.acs_connection_string))
    acs.on_changes([change(HIGH_2, run_id="run-3")])
    everything = "\n".join([dump([p["json"] for p in receiver.posts]), dump(receiver.mails),
                            *(raw.decode(errors="replace") for raw in smtp.box.raw), caplog.text,
                            dump(rows(tables))])
    assert "HTTP 400" in everything and "SMTP 535" in everything    # the failures are recorded...
    for secret in (SIG, SMTP_PASSWORD, ACS_KEY, "sig="):             # ...without any secret
        assert secret not in everything


def test_masked_tenant_ids_never_reach_teams_or_mail(make_alerts, receiver, smtp):
    alerts = make_alerts(env_for(receiver, smtp, PAL_AUDIT_MASK_TENANT_IDS="true"))
    alerts.on_changes([change(HIGH_1), change(MED_1)])
    alerts.on_run_completed("run-1")
    assert len(receiver.cards()) == 2 and len(smtp.box.messages) == 2
    sent = dump(receiver.cards()) + "".join(r.decode() for r in smtp.box.raw)
    assert T1 not in sent and "****2222" in sent


def test_a_refused_webhook_url_is_recorded_and_mail_still_goes(make_alerts, smtp, tables, caplog):
    alerts = make_alerts(env_for(None, smtp, PAL_AUDIT_TEAMS_WEBHOOK_URL=f"https://evil.example/x?sig={SIG}"))
    alerts.on_changes([change(HIGH_1)])
    [row] = [r for r in rows(tables) if r.get("Kind") == "change"]
    assert (row["Status"], row["Ch_teams"], row["Ch_email"]) == ("failed", "failed", "sent")
    assert "webhook host evil.example is not a Teams Workflows" in row["LastError"]
    assert SIG not in caplog.text and SIG not in row["LastError"]


def test_acs_is_used_when_its_connection_is_configured(make_alerts, receiver, smtp):
    env = env_for(None, smtp, PAL_AUDIT_ACS_CONNECTION_STRING=receiver.acs_connection_string)
    make_alerts(env).on_changes([change(HIGH_1)])
    assert len(receiver.mails) == 1 and smtp.box.messages == []
    assert receiver.mails[0]["content"]["subject"].startswith("[pal-audit] NEW high:")


def test_file_sink_writes_what_would_be_sent(make_alerts, tmp_path, assert_valid_card):
    sink = FileSink(tmp_path / "alerts")
    alerts = make_alerts({}, sink=sink)                   # nothing configured but the folder
    t1, t2 = run1()
    alerts.on_changes(t1), alerts.on_changes(t2), alerts.on_run_completed("run-1")
    cards = sorted((tmp_path / "alerts").glob("*.card.json"))
    assert [c.name.split("-")[1] for c in cards] == ["alert", "alert", "digest"]
    for c in cards:
        assert_valid_card(json.loads(c.read_text())["attachments"][0]["content"])
    assert len(list((tmp_path / "alerts").glob("*.eml"))) == 3


def test_without_any_channel_alerts_are_recorded_as_unrouted(make_alerts, tables):
    make_alerts({}).on_changes([change(HIGH_1)])
    [row] = [r for r in rows(tables) if r.get("Kind") == "change"]
    assert row["Status"] == "unrouted"


def test_retry_backoff_respects_a_long_retry_after(alerts, receiver, tables, clock):
    receiver.respond((429, {"Retry-After": "600"}))
    alerts.on_changes([change(HIGH_1)])
    [row] = [r for r in rows(tables) if r.get("Kind") == "change"]
    assert row["Status"] == "pending" and row["NextAttemptAt"] >= clock.now + timedelta(seconds=600)
    clock.advance(minutes=5)
    alerts.on_run_completed("run-1")
    assert receiver.cards() == []
    clock.advance(minutes=6)
    alerts.on_run_completed("run-1")
    assert kinds(receiver) == [f"NEW: {HIGH_1.title}"]
