"""Alert policy (what goes out when) and the webhook URL safety rules."""

import pytest
from alert_fixtures import change, finding

from pal_audit.alerts import WebhookUrlError, validate_webhook_url
from pal_audit.alerts.policy import Route, is_storm, opening_count, plan_run, route
from pal_audit.alerts.present import item_from_change
from pal_audit.model import Severity, Transition

NEW_WORKFLOWS = ("https://default0123456789abcdef0123456789ab.cd.environment.api.powerplatform.com:443/"
                 "powerautomate/automations/direct/workflows/0a1b/triggers/manual/paths/invoke"
                 "?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=abc")
LOGIC = ("https://prod-27.westeurope.logic.azure.com:443/workflows/0a1b/triggers/manual/paths/invoke"
         "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=abc")


def test_high_severity_goes_out_at_once_the_rest_waits_for_the_digest():
    assert route(Severity.HIGH) is Route.NOW
    assert route(Severity.MEDIUM) is route(Severity.LOW) is Route.DIGEST


def test_storm_counts_findings_that_open_not_those_that_resolve():
    ts = [Transition.NEW, Transition.REOPENED, Transition.UNSUPPRESSED, Transition.RESOLVED]
    assert opening_count(ts) == 3
    assert not is_storm(25, 25) and is_storm(26, 25)


def test_plan_of_a_quiet_run():
    items = [item_from_change(change(finding(c)), mask=False)
             for c in ("link_foreign_partner", "link_previous_partner_id", "excessive_privilege")]
    plan = plan_run("r", items, 25)
    assert [i.check_id for i in plan.immediate] == ["link_foreign_partner"]
    assert [i.check_id for i in plan.digest] == ["link_previous_partner_id", "excessive_privilege"]
    assert plan.storm is None


@pytest.mark.parametrize("url", [NEW_WORKFLOWS, LOGIC])
def test_workflows_urls_are_accepted(url):
    assert validate_webhook_url(url) == url


@pytest.mark.parametrize(("url", "why"), [
    (LOGIC.replace("https://", "http://"), "https"),
    ("https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def", "not a Teams Workflows"),
    ("https://outlook.office.com/webhook/abc", "not a Teams Workflows"),
    ("https://evil.example/?sig=abc", "not a Teams Workflows"),
    ("https://logic.azure.com.evil.example/workflows", "not a Teams Workflows"),
    ("https://evillogic.azure.com/workflows", "not a Teams Workflows"),
    ("https://prod-1.westeurope.logic.azure.com@evil.example/x", "credentials"),
    ("https://user:pw@prod-1.westeurope.logic.azure.com/x", "credentials"),
    ("https://prod-1.westeurope.logic.azure.com:8443/x", "port 443"),
    ("ftp://prod-1.westeurope.logic.azure.com/x", "https"),
    ("https://[::1/x", "malformed"),
])
def test_other_urls_are_refused_without_echoing_the_url(url, why):
    with pytest.raises(WebhookUrlError, match=why) as e:
        validate_webhook_url(url)
    assert "sig=" not in str(e.value) and "/x" not in str(e.value)


def test_allow_list_admits_extra_hosts_exactly_or_by_wildcard():
    assert validate_webhook_url("https://127.0.0.1:8443/hook", ["127.0.0.1"])
    assert validate_webhook_url("https://a.flows.contoso.example/hook", ["*.flows.contoso.example"])
    with pytest.raises(WebhookUrlError):
        validate_webhook_url("https://flows.contoso.example.evil/hook", ["*.flows.contoso.example"])
    with pytest.raises(WebhookUrlError):
        validate_webhook_url("http://127.0.0.1:8443/hook", ["127.0.0.1"])
