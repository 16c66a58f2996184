"""E-mail delivery: SMTP with STARTTLS + login (aiosmtpd), and ACS Email (local fake endpoint)."""

import pytest
from aiosmtpd.controller import Controller
from alert_fixtures import ACS_KEY, SMTP_PASSWORD, SMTP_USER, MailBox, change, finding, free_port

from pal_audit.alerts import DeliveryError
from pal_audit.alerts.email import AcsMailer, SmtpMailer
from pal_audit.alerts.messages import alert_message
from pal_audit.alerts.present import item_from_change

RCPT = ("ops@contoso.example", "pal@contoso.example")


@pytest.fixture
def message():
    return alert_message("run-1/x|NEW", item_from_change(change(finding()), mask=False))


def mailer(smtp, ca_path, password=SMTP_PASSWORD, **kw):
    return SmtpMailer("127.0.0.1", smtp.port, sender="pal-audit@contoso.example", recipients=RCPT,
                      username=SMTP_USER, password=password, ca_bundle=ca_path, timeout=5, **kw)


def test_smtp_starttls_login_and_multipart_mail(smtp, ca_path, message):
    mailer(smtp, ca_path).send(message)
    [env] = smtp.box.envelopes
    assert env.mail_from == "pal-audit@contoso.example" and env.rcpt_tos == list(RCPT)
    [msg] = smtp.box.messages
    assert msg["Subject"] == message.mail.subject
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert "az managementpartner update" in msg.get_body(("plain",)).get_content()
    assert SMTP_PASSWORD.encode() not in smtp.box.raw[0]


def test_smtp_wrong_password_is_a_permanent_failure_that_does_not_leak_it(smtp, ca_path, message):
    with pytest.raises(DeliveryError) as e:
        mailer(smtp, ca_path, password="wrong-" + SMTP_PASSWORD).send(message)
    assert e.value.permanent and e.value.reason.startswith("SMTP 535")
    assert SMTP_PASSWORD not in e.value.reason and smtp.box.messages == []


def test_smtp_without_starttls_is_refused_not_sent_in_clear(ca_path, message):
    box = MailBox()
    ctl = Controller(box, hostname="127.0.0.1", port=free_port())   # no TLS offered
    ctl.start()
    try:
        with pytest.raises(DeliveryError, match="does not offer STARTTLS") as e:
            SmtpMailer("127.0.0.1", ctl.port, sender="s@contoso.example", recipients=RCPT,
                       username=SMTP_USER, password=SMTP_PASSWORD, ca_bundle=ca_path).send(message)
        assert e.value.permanent and box.messages == []
    finally:
        ctl.stop()


def test_smtp_unreachable_is_transient(ca_path, message):
    with pytest.raises(DeliveryError) as e:
        SmtpMailer("127.0.0.1", free_port(), sender="s@contoso.example", recipients=RCPT,
                   ca_bundle=ca_path, timeout=2).send(message)
    assert not e.value.permanent


def test_acs_email_sends_html_and_text_once_per_alert(receiver, ca_path, message):
    acs = AcsMailer(receiver.acs_connection_string, sender="DoNotReply@contoso.example", recipients=RCPT,
                    connection_verify=ca_path, polling_interval=0, timeout=10)
    acs.send(message)
    [body] = receiver.mails
    assert body["senderAddress"] == "DoNotReply@contoso.example"
    assert [r["address"] for r in body["recipients"]["to"]] == list(RCPT)
    assert body["content"] == {"subject": message.mail.subject, "plainText": message.mail.text,
                               "html": message.mail.html}
    [send] = [r for r in receiver.requests if r["path"] == "/emails:send"]
    assert send["headers"]["Operation-Id"]                     # idempotent retries
    assert ACS_KEY not in str(send["headers"])                 # HMAC-signed, key never sent
