"""Teams Workflows webhook delivery against a local HTTPS receiver."""

import pytest
from alert_fixtures import SIG, change, finding

from pal_audit.alerts import DeliveryError
from pal_audit.alerts.messages import alert_message
from pal_audit.alerts.present import item_from_change
from pal_audit.alerts.teams import TeamsWebhook, parse_retry_after


@pytest.fixture
def message():
    return alert_message("run-1/x|NEW", item_from_change(change(finding()), mask=False))


@pytest.fixture
def hook(receiver, ca_path, sleeps):
    return TeamsWebhook(receiver.webhook_url, allowed_hosts=["127.0.0.1"], ca_bundle=ca_path,
                        attempts=3, max_retry_after=0.5, backoff=0.01, sleep=sleeps.append)


def test_card_is_posted_as_json_to_the_workflow(hook, receiver, message, assert_valid_card):
    hook.send(message)
    [post] = receiver.posts
    assert post["headers"]["Content-Type"] == "application/json"
    assert post["query"].endswith(f"sig={SIG}")
    assert receiver.cards() == [message.card]
    assert_valid_card(receiver.cards()[0])


def test_429_waits_for_retry_after_then_succeeds(hook, receiver, message, sleeps):
    receiver.respond((429, {"Retry-After": "0.2"}), (429, {"Retry-After": "0"}))
    hook.send(message)
    assert [p["status"] for p in receiver.posts] == [429, 429, 202]
    assert sleeps == [0.2, 0.0]


def test_429_longer_than_the_cap_is_left_to_a_later_invocation(hook, receiver, message, sleeps):
    receiver.respond((429, {"Retry-After": "3600"}))
    with pytest.raises(DeliveryError) as e:
        hook.send(message)
    assert not e.value.permanent and e.value.retry_after == 3600
    assert len(receiver.posts) == 1 and sleeps == []


def test_5xx_is_retried_with_backoff(hook, receiver, message, sleeps):
    receiver.respond(500, 503)
    hook.send(message)
    assert [p["status"] for p in receiver.posts] == [500, 503, 202]
    assert sleeps == [0.01, 0.02]


def test_5xx_every_time_is_a_transient_failure(hook, receiver, message):
    receiver.respond(502, 502, 502)
    with pytest.raises(DeliveryError) as e:
        hook.send(message)
    assert not e.value.permanent and "HTTP 502" in e.value.reason and SIG not in e.value.reason


@pytest.mark.parametrize("status", [400, 401, 403, 404, 302])
def test_4xx_and_redirects_fail_permanently_without_retry(hook, receiver, message, status):
    receiver.respond((status, {"Location": "https://evil.example/"}) if status == 302 else status)
    with pytest.raises(DeliveryError) as e:
        hook.send(message)
    assert e.value.permanent and f"HTTP {status}" in e.value.reason
    assert len(receiver.posts) == 1


def test_production_verification_is_not_weakened(receiver, message):
    hook = TeamsWebhook(receiver.webhook_url, allowed_hosts=["127.0.0.1"])   # system CAs only
    with pytest.raises(DeliveryError) as e:
        hook.send(message)
    assert e.value.permanent and "not trusted" in e.value.reason
    assert receiver.posts == []


def test_repr_and_errors_never_show_the_signature(receiver, ca_path, message):
    hook = TeamsWebhook(receiver.webhook_url.replace(str(receiver.port), "1"), allowed_hosts=["127.0.0.1"],
                        ca_bundle=ca_path, attempts=1)
    assert SIG not in repr(hook)
    with pytest.raises(DeliveryError) as e:
        hook.send(message)
    assert SIG not in str(e.value) and "ConnectionRefusedError" in e.value.reason


def test_retry_after_accepts_seconds_and_http_dates():
    from datetime import UTC, datetime
    now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Mon, 02 Mar 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
