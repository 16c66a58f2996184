"""Alerts carry names from Azure and the registry: no terminal control reaches a mail or a card."""

import json

import pytest
from alert_fixtures import T1, change, finding

from pal_audit.alerts.cards import alert_card
from pal_audit.alerts.email_render import alert_mail, digest_mail
from pal_audit.alerts.present import item_from_change
from pal_audit.model import Finding

HOSTILE = ["\x1b[2J\x1b[H", "\x1b]8;;https://evil.example/\x1b\\x\x1b]8;;\x1b\\", "\x9b2J", "\u202eevil",
           "\x07"]
UNSAFE = ("\x1b", "\x9b", "\u202e", "\x07")


@pytest.mark.parametrize("text", HOSTILE)
def test_no_control_characters_in_mails_or_cards(text):
    evil = Finding(check_id="excessive_privilege", severity=finding().severity, tenant_id=T1,
                   principal_id="p", identity=f"ops{text}", title=f"Excessive {text}",
                   detail=f"role 'VM{text} Operator'", remediation=f"remove 'VM{text} Operator'")
    item = item_from_change(change(evil), mask=False)
    mail = alert_mail(item)
    digest = digest_mail("run-1", [item])
    card = json.dumps(alert_card(item), ensure_ascii=False)
    for rendered in (mail.subject, mail.text, mail.html, digest.text, digest.html, card):
        assert not [c for c in UNSAFE if c in rendered], repr(rendered)
        assert "Operator" in rendered or rendered == mail.subject    # shown escaped, not dropped
