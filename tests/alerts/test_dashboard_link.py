"""Alerts link to the coverage dashboard when PAL_AUDIT_DASHBOARD_URL is set: Teams cards through
an Action.OpenUrl, mails in both parts; the address is validated as https and escaped in HTML."""

from __future__ import annotations

import pytest
from alert_fixtures import T1, T2, change, env_for, finding

from pal_audit.alerts import cards, email_render
from pal_audit.alerts.messages import alert_message, with_dashboard
from pal_audit.alerts.present import item_from_change
from pal_audit.settings import SettingsError, load_settings

URL = "https://pal.contoso.example/api/dashboard?view=credit&x=<1>"
SAFE = "https://pal.contoso.example/api/dashboard?view=credit&tenant=1"


def dashboard_actions(card) -> list[str]:
    return [a["url"] for a in card.get("actions", []) if a["title"] == cards.DASHBOARD_TITLE]


def mail_parts(msg) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


@pytest.mark.azurite
def test_every_alert_links_to_the_dashboard_in_teams_and_mail(make_alerts, receiver, smtp, clock,
                                                               assert_valid_card):
    alerts = make_alerts(env_for(receiver, smtp, PAL_AUDIT_DASHBOARD_URL=SAFE))
    high, medium = finding("link_foreign_partner", T1, "ops-app"), finding("link_previous_partner_id", T2)
    alerts.on_changes([change(high, run_id="run-1"), change(medium, run_id="run-1")])
    alerts.on_run_completed("run-1")                        # the medium one goes in the digest
    alerts.check_stale(None, clock.now)
    assert alerts.check_stale(None, clock.advance(hours=37))   # and the "no successful run" alert
    sent = receiver.cards()
    assert len(sent) == 3 and len(smtp.box.messages) == 3
    for card in sent:
        assert dashboard_actions(card) == [SAFE]
        assert_valid_card(card)
    for msg in smtp.box.messages:
        text, html = mail_parts(msg)
        assert f"Coverage dashboard: {SAFE}" in text
        assert 'href="https://pal.contoso.example/api/dashboard?view=credit&amp;tenant=1"' in html


@pytest.mark.azurite
def test_without_the_setting_alerts_carry_no_dashboard_link(make_alerts, receiver, smtp):
    alerts = make_alerts(env_for(receiver, smtp))
    alerts.on_changes([change(finding("link_foreign_partner", T1, "ops-app"), run_id="run-1")])
    assert len(receiver.cards()) == 1 and dashboard_actions(receiver.cards()[0]) == []
    text, html = mail_parts(smtp.box.messages[0])
    assert "Coverage dashboard" not in text and "Coverage dashboard" not in html


def test_the_link_is_escaped_in_the_html_and_kept_whole_in_the_card_and_text():
    message = with_dashboard(alert_message("k", item_from_change(change(finding()), mask=False)), URL)
    assert dashboard_actions(message.card) == [URL]
    assert "x=<1>" not in message.mail.html and "x=&lt;1&gt;" in message.mail.html
    assert message.mail.html.endswith(email_render._FOOTER) and message.mail.text.endswith(f"{URL}\n")
    assert with_dashboard(message, None) is message


@pytest.mark.parametrize(("value", "says"), [
    ("http://pal.contoso.example/api/dashboard", "expected an https:// address"),
    ("javascript:alert(1)", "expected an https:// address"),
    ("https:///api/dashboard", "expected an https:// address with a host"),
    ("https://user:pw@pal.contoso.example/", "must not carry credentials"),
    ("https://pal.contoso.example/api/dashboard?code=abc123", "must not carry a function key"),
    ("https://pal.contoso.example/a b", "not a URL"),
    ('https://pal.contoso.example/"><script>', "not a URL"),
    ("https://pal.contoso.example:99999/", "not a valid URL"),
])
def test_a_bad_dashboard_url_is_refused_naming_the_setting_and_never_echoing_secrets(value, says):
    with pytest.raises(SettingsError) as caught:
        load_settings({"PAL_AUDIT_DASHBOARD_URL": value})
    assert str(caught.value).startswith("setting PAL_AUDIT_DASHBOARD_URL: ") and says in str(caught.value)
    assert "pw" not in str(caught.value) and "abc123" not in str(caught.value)


def test_a_good_dashboard_url_is_kept_and_an_empty_one_means_no_link():
    assert load_settings({"PAL_AUDIT_DASHBOARD_URL": f" {SAFE} "}).dashboard_url == SAFE
    assert load_settings({"PAL_AUDIT_DASHBOARD_URL": ""}).dashboard_url is None
