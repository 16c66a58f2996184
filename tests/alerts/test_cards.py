"""Adaptive Cards: what each card tells the reader, and that every card validates against the Adaptive Card
schema (pal-audit's own transcription of the 1.4-1.6 format, `data/adaptive-card.schema.json`)."""

import copy
import json
from datetime import UTC, datetime

import pytest
from alert_fixtures import DATA, T1, T2, change, finding

from pal_audit.alerts import cards, preview
from pal_audit.alerts.cards import MAX_CARD_BYTES, teams_payload
from pal_audit.alerts.policy import storm_summary
from pal_audit.alerts.present import WHAT_HAPPENED, item_from_change, mask_tenant_id, portal_url
from pal_audit.model import Transition


def facts(card) -> dict[str, str]:
    out = {}
    for block in card["body"]:
        for el in [block, *block.get("items", [])]:
            if el["type"] == "FactSet":
                out |= {f["title"]: f["value"] for f in el["facts"]}
    return out


def texts(card) -> str:
    return json.dumps(card)


# -- the schema itself: kept as data, with its source and licence, and it has teeth ------------------
MINIMAL_1_5 = {"type": "AdaptiveCard", "version": "1.5",
               "body": [{"type": "TextBlock", "text": "Hello"}]}


def schema_errors(validator, card) -> list[str]:
    return [e.message for e in validator.iter_errors(card)]


def test_schema_is_our_own_draft7_with_source_and_licence_noted():
    schema = json.loads((DATA / "adaptive-card.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    note = (DATA / "adaptive-card.schema.md").read_text(encoding="utf-8")
    assert "schema explorer" in note and "not a copy" in note and "Licence" in note
    assert not list(DATA.glob("adaptive-card-1.*"))                 # the copied file is gone


def test_schema_accepts_a_minimal_1_5_card(card_validator):
    assert schema_errors(card_validator, MINIMAL_1_5) == []
    assert schema_errors(card_validator, {**MINIMAL_1_5, "version": "1.4"}) == []
    assert schema_errors(card_validator, {**MINIMAL_1_5, "version": "1.6"}) == []


def test_schema_accepts_the_documented_elements_and_actions(card_validator):
    card = {
        "type": "AdaptiveCard", "version": "1.5", "$schema": cards.SCHEMA, "fallbackText": "f",
        "speak": "s", "lang": "en", "minHeight": "100px", "verticalContentAlignment": "center",
        "msteams": {"width": "Full"}, "selectAction": {"type": "Action.Submit", "data": {"x": 1}},
        "body": [
            {"type": "TextBlock", "text": "t", "size": "extraLarge", "weight": "lighter", "color": "dark",
             "spacing": "padding", "fontType": "monospace", "maxLines": 2, "style": "heading",
             "horizontalAlignment": "center", "isVisible": True, "id": "t1"},
            {"type": "RichTextBlock", "inlines": ["plain ", {"type": "TextRun", "text": "bold",
                                                             "weight": "bolder", "italic": True}]},
            {"type": "Image", "url": "https://example.com/a.png", "altText": "a", "size": "small",
             "style": "person", "width": "40px"},
            {"type": "Container", "style": "emphasis", "bleed": True, "items": [
                {"type": "ColumnSet", "columns": [
                    {"type": "Column", "width": "auto", "items": [{"type": "TextBlock", "text": "c1"}]},
                    {"width": 2, "items": [{"type": "TextBlock", "text": "c2"}]}]}]},
            {"type": "FactSet", "facts": [{"title": "k", "value": "v"}]},
            {"type": "Table", "firstRowAsHeader": True, "gridStyle": "accent",
             "columns": [{"width": 1}, {"width": "80px"}],
             "rows": [{"type": "TableRow", "cells": [
                 {"type": "TableCell", "items": [{"type": "TextBlock", "text": "a"}]},
                 {"type": "TableCell", "items": [{"type": "TextBlock", "text": "b"}]}]}]},
            {"type": "ActionSet", "actions": [
                {"type": "Action.ToggleVisibility", "title": "toggle",
                 "targetElements": ["t1", {"elementId": "t1", "isVisible": False}]},
                {"type": "Action.Execute", "verb": "ack", "style": "positive", "mode": "secondary"}]},
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": "open", "url": "https://example.com/x", "tooltip": "x"},
            {"type": "Action.ShowCard", "title": "more", "card": {
                "type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "nested"}]}},
        ],
    }
    assert schema_errors(card_validator, card) == []


def test_schema_accepts_every_card_pal_audit_builds(card_validator):
    items = [item_from_change(change(finding(identity=f"a{i}"), t), mask=m)
             for i, t in enumerate(Transition) for m in (False, True)]
    now = datetime(2026, 3, 3, tzinfo=UTC)
    built = [*(cards.alert_card(i) for i in items), cards.digest_card("run-1", items),
             cards.storm_card(storm_summary("run-9", items, 3, already_sent=1)),
             cards.stale_card(36, None, now), cards.stale_card(36, now, now)]
    for card in built:
        assert schema_errors(card_validator, card) == []


MESSAGE_CARD = {"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": "s",
                "themeColor": "0076D7", "sections": [{"activityTitle": "t", "text": "x"}]}


_DELETE = object()


def _with(path: tuple, value, card=MINIMAL_1_5):
    """A copy of `card` with the value at `path` replaced (or deleted)."""
    out = copy.deepcopy(card)
    *parents, last = path
    target = out
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return out


@pytest.mark.parametrize("card", [
    pytest.param(MESSAGE_CARD, id="retired-connector-MessageCard"),
    pytest.param(_with(("version",), "1.2"), id="version-1.2"),
    pytest.param(_with(("version",), "1.0"), id="version-1.0"),
    pytest.param(_with(("version",), 1.5), id="version-not-a-string"),
    pytest.param(_with(("version",), _DELETE), id="no-version"),
    pytest.param(_with(("body", 0, "type"), "Carousel"), id="unknown-element-type"),
    pytest.param(_with(("body", 0, "text"), _DELETE), id="TextBlock-without-text"),
    pytest.param(_with(("body", 0, "size"), "huge"), id="bad-size"),
    pytest.param(_with(("body", 0, "weight"), "heavy"), id="bad-weight"),
    pytest.param(_with(("body", 0, "color"), "red"), id="bad-color"),
    pytest.param(_with(("body", 0, "spacing"), "tiny"), id="bad-spacing"),
    pytest.param(_with(("body", 0), {"type": "Container", "style": "blue", "items": []}),
                 id="bad-container-style"),
    pytest.param(_with(("actions",), [{"type": "Action.OpenUrl", "title": "x"}]), id="OpenUrl-without-url"),
    pytest.param(_with(("actions",), [{"type": "Action.OpenUrl", "url": "not a url"}]), id="OpenUrl-bad-url"),
    pytest.param(_with(("actions",), [{"type": "Action.Http", "url": "https://x"}]), id="unknown-action"),
    pytest.param(_with(("body", 0), {"type": "FactSet", "facts": [{"title": "k"}]}), id="Fact-without-value"),
    pytest.param(_with(("body", 0), {"type": "Image"}), id="Image-without-url"),
    pytest.param(_with(("selectAction",), {"type": "Action.ShowCard", "card": MINIMAL_1_5}),
                 id="ShowCard-as-selectAction"),
    pytest.param(_with(("type",), "Card"), id="wrong-root-type"),
])
def test_schema_rejects_malformed_cards(card_validator, card):
    assert schema_errors(card_validator, card), "the schema accepted a malformed card"


def test_validator_rejects_what_teams_would_reject(assert_valid_card):
    good = cards.alert_card(item_from_change(change(finding()), mask=False))
    assert_valid_card(good)
    bad = json.loads(json.dumps(good))
    bad["body"][0]["colour"] = "Good"                   # unknown property
    with pytest.raises(AssertionError):
        assert_valid_card(bad)
    bad = json.loads(json.dumps(good))
    bad["body"][0]["type"] = "TextBlok"                 # unknown element
    with pytest.raises(AssertionError):
        assert_valid_card(bad)


@pytest.mark.parametrize("transition", list(Transition))
def test_alert_card_says_what_happened_where_and_how_to_fix(transition, assert_valid_card):
    item = item_from_change(change(finding(), transition), mask=False)
    card = cards.alert_card(item)
    assert_valid_card(card)
    assert card["body"][0]["text"].startswith(f"{transition.value}: ")
    f = facts(card)
    assert f["Tenant"] == T1 and f["Identity"].startswith("ops-app")
    assert f["Check"].startswith("Identity is linked to another partner's ID")
    assert f["Severity"] == "high" and f["What happened"] == WHAT_HAPPENED[transition]
    assert "9999999" in texts(card)                                  # what was seen
    assert "az managementpartner update" in texts(card)              # the fix
    assert card["actions"][0] == {"type": "Action.OpenUrl", "title": "Open in the Azure portal",
                                  "url": f"https://portal.azure.com/#@{T1}/blade/Microsoft_Azure_Billing/"
                                         "managementpartnerblade"}


def test_payload_is_an_adaptive_card_attachment_not_a_message_card(assert_valid_card):
    payload = teams_payload(cards.alert_card(item_from_change(change(finding()), mask=False)))
    assert_valid_card(payload["attachments"][0]["content"])
    assert payload["type"] == "message"
    assert payload["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "@type" not in json.dumps(payload) and "MessageCard" not in json.dumps(payload)


def test_masking_hides_tenant_ids_everywhere(assert_valid_card):
    item = item_from_change(change(finding()), mask=True)
    card = cards.alert_card(item)
    assert_valid_card(card)
    assert T1 not in json.dumps(card) and mask_tenant_id(T1) in json.dumps(card)
    assert card["actions"][0]["url"] == "https://portal.azure.com/#blade/Microsoft_Azure_Billing/managementpartnerblade"


def test_portal_link_of_a_privileged_assignment_opens_its_scope():
    aid = f"/subscriptions/{T2}/resourceGroups/rg1/providers/Microsoft.Authorization/roleAssignments/abc"
    assert portal_url("excessive_privilege", T1, aid) == \
        f"https://portal.azure.com/#@{T1}/resource/subscriptions/{T2}/resourceGroups/rg1/users"


def test_digest_card_lists_every_change_most_severe_first(assert_valid_card):
    changes = [change(finding("link_previous_partner_id")), change(finding("excessive_privilege")),
               change(finding("link_without_eligible_role", identity="ci-app"), Transition.RESOLVED)]
    card = cards.digest_card("run-1", [item_from_change(c, mask=False) for c in changes])
    assert_valid_card(card)
    assert card["body"][0]["text"] == "pal-audit digest: 3 changes in run run-1"
    heads = [b["items"][0]["text"] for b in card["body"] if b["type"] == "Container"]
    assert heads == ["NEW · medium · Identity is linked to a previous partner ID",
                     "RESOLVED · medium · Linked identity holds no PAL-eligible role",
                     "NEW · low · Privileged role assignment at a broad scope"]
    assert all(b["items"][-1]["type"] == "ActionSet" for b in card["body"] if b["type"] == "Container")


def test_a_huge_digest_stays_under_the_teams_size_limit(assert_valid_card):
    changes = [change(finding("link_previous_partner_id", identity=f"app-{i}")) for i in range(200)]
    card = cards.digest_card("run-1", [item_from_change(c, mask=False) for c in changes])
    assert_valid_card(card)
    assert len(json.dumps(teams_payload(card)).encode()) <= MAX_CARD_BYTES + 500
    assert "more change(s) not shown here" in card["body"][-1]["text"]


def test_storm_and_stale_cards_validate(assert_valid_card):
    items = [item_from_change(change(finding(identity=f"a{i}", tenant=t)), mask=False)
             for i in range(5) for t in (T1, T2)]
    card = cards.storm_card(storm_summary("run-9", items, 3, already_sent=2))
    assert_valid_card(card)
    assert "storm breaker" in card["body"][0]["text"] and "10 new findings" in card["body"][0]["text"]
    assert facts(card)["Tenants affected"] == "2"
    now = datetime(2026, 3, 3, tzinfo=UTC)
    assert_valid_card(cards.stale_card(36, None, now))
    assert_valid_card(cards.stale_card(36, datetime(2026, 3, 1, tzinfo=UTC), now))


def test_preview_shows_high_at_once_then_one_digest(assert_valid_card):
    msgs = preview([change(finding()), change(finding("link_missing", identity="b")),
                    change(finding("link_previous_partner_id")), change(finding("excessive_privilege"))])
    assert [m.kind for m in msgs] == ["alert", "alert", "digest"]
    for m in msgs:
        assert_valid_card(m.card)


def test_preview_of_a_storm_is_one_summary(assert_valid_card):
    msgs = preview([change(finding(identity=f"id{i}")) for i in range(30)], storm_threshold=25)
    assert [m.kind for m in msgs] == ["storm"]
    assert_valid_card(msgs[0].card)
