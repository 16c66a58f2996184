"""E-mail bodies: HTML with a plain-text alternative, escaped, single-line subjects."""

from alert_fixtures import T1, change, finding

from pal_audit.alerts.email_render import alert_mail, digest_mail, to_mime
from pal_audit.alerts.present import item_from_change
from pal_audit.model import Finding, Transition


def test_alert_mail_has_html_and_text_alternative_with_the_same_facts():
    mail = alert_mail(item_from_change(change(finding()), mask=False))
    assert mail.subject == ("[pal-audit] NEW high: Identity is linked to another partner's ID "
                            f"(misattribution) (ops-app in {T1})")
    for body in (mail.text, mail.html):
        for fact in ("What happened", T1, "ops-app", "9999999", "az managementpartner update",
                     "https://portal.azure.com/#@"):
            assert fact in body
    msg = to_mime(mail, "pal-audit@contoso.example", ["a@contoso.example", "b@contoso.example"])
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["To"] == "a@contoso.example, b@contoso.example"


def test_finding_text_is_escaped_and_subject_cannot_inject_headers():
    evil = Finding(check_id="link_foreign_partner", severity=finding().severity, tenant_id=T1,
                   principal_id="p", identity="x\r\nBcc: victim@example.com",
                   title="<script>alert(1)</script>", detail='<img src=x onerror="steal()">',
                   remediation="a & b")
    mail = alert_mail(item_from_change(change(evil), mask=False))
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "<img" not in mail.html and "a &amp; b" in mail.html
    assert "\n" not in mail.subject and "\r" not in mail.subject
    msg = to_mime(mail, "s@contoso.example", ["r@contoso.example"])
    assert msg["Bcc"] is None


def test_digest_mail_counts_and_lists_changes():
    items = [item_from_change(change(finding("link_previous_partner_id")), mask=False),
             item_from_change(change(finding("excessive_privilege"), Transition.RESOLVED), mask=False)]
    mail = digest_mail("run-7", items)
    assert mail.subject == "[pal-audit] Digest for run run-7: 1 NEW, 1 RESOLVED"
    assert mail.text.index("previous partner ID") < mail.text.index("Privileged role")
    assert "Fix (for reference)" in mail.html
