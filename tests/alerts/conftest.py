"""Fixtures for the alert tests: Azurite, a local HTTPS webhook receiver (+ a fake ACS Email endpoint),
a local SMTP server with STARTTLS and login, and the Adaptive Card schema."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest
import trustme
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from alert_fixtures import (
    ACS_KEY,
    DATA,
    SIG,
    SMTP_PASSWORD,
    SMTP_USER,
    Clock,
    MailBox,
    free_port,
)
from azure.data.tables import TableServiceClient

from pal_audit.alerts import AlertOptions, Alerts
from pal_audit.alerts.outbox import TABLE
from pal_audit.devstack.azurite import running_azurite
from pal_audit.settings import load_settings


# -- schema -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def card_validator() -> jsonschema.Draft7Validator:
    """pal-audit's own Adaptive Card schema (1.4-1.6); see data/adaptive-card.schema.md."""
    schema = json.loads((DATA / "adaptive-card.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


@pytest.fixture(scope="session")
def assert_valid_card(card_validator):
    def check(card: dict[str, Any]) -> None:
        errors = sorted(card_validator.iter_errors(card), key=lambda e: e.path)
        assert not errors, f"card does not validate: {errors[0].message[:300]}"
        assert card["type"] == "AdaptiveCard" and float(card["version"]) >= 1.4
    return check


# -- TLS --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_path(ca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def server_ssl(ca) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


# -- HTTPS receiver: Teams Workflows webhook + ACS Email ---------------------------------------------
@dataclass
class Receiver:
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    mails: list[dict[str, Any]] = field(default_factory=list)       # ACS send bodies accepted
    history: list[dict[str, Any]] = field(default_factory=list)     # every card posted (not reset)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def webhook_url(self) -> str:
        return (f"https://127.0.0.1:{self.port}/workflows/0123abcd/triggers/manual/paths/invoke"
                f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}")

    @property
    def acs_connection_string(self) -> str:
        return f"endpoint=https://127.0.0.1:{self.port}/;accesskey={ACS_KEY}"

    def respond(self, *responses: int | tuple[int, dict[str, str]]) -> None:
        """Answer the next webhook posts with these statuses (then 202 again)."""
        for r in responses:
            self.script.append(r if isinstance(r, tuple) else (r, {}))

    @property
    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith("/workflows/")]

    def cards(self) -> list[dict[str, Any]]:
        """Cards of the posts that were accepted (2xx)."""
        return [p["json"]["attachments"][0]["content"] for p in self.posts if 200 <= p["status"] < 300]

    def reset(self) -> None:
        self.requests.clear(), self.script.clear(), self.mails.clear()


def _receiver_app(rx: Receiver) -> web.Application:
    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        with rx.lock:
            status, headers = rx.script.popleft() if rx.script else (202, {})
            rx.requests.append({"path": request.path, "query": request.query_string, "status": status,
                                "headers": dict(request.headers), "body": body.decode(),
                                "json": json.loads(body) if body else None})
            rx.history.append(rx.requests[-1]["json"])
        return web.Response(status=status, headers=headers, text="" if status < 300 else '{"error": "x"}')

    async def acs_send(request: web.Request) -> web.Response:
        body = await request.json()
        op = request.headers.get("Operation-Id", "op")
        with rx.lock:
            rx.requests.append({"path": request.path, "query": request.query_string, "status": 202,
                                "headers": dict(request.headers), "json": body, "body": json.dumps(body)})
            rx.mails.append(body)
        loc = f"https://127.0.0.1:{rx.port}/emails/operations/{op}?api-version=2025-09-01"
        return web.json_response({"id": op, "status": "Running"}, status=202,
                                 headers={"Operation-Location": loc, "Retry-After": "0"})

    async def acs_status(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["op"], "status": "Succeeded"})

    app = web.Application()
    app.router.add_post("/workflows/{tail:.*}", webhook)
    app.router.add_post("/emails:send", acs_send)
    app.router.add_get("/emails/operations/{op}", acs_status)
    return app


@pytest.fixture(scope="session")
def _receiver_server(server_ssl) -> Iterator[Receiver]:
    rx, loop, ready = Receiver(), asyncio.new_event_loop(), threading.Event()
    runner = web.AppRunner(_receiver_app(rx), access_log=None)

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl)
        await site.start()
        rx.port = runner.addresses[0][1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield rx
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture
def receiver(_receiver_server, assert_valid_card) -> Iterator[Receiver]:
    _receiver_server.reset()
    _receiver_server.history.clear()
    yield _receiver_server
    for body in _receiver_server.history:    # every card any test posted validates against the schema
        assert_valid_card(body["attachments"][0]["content"])


# -- SMTP server (aiosmtpd): STARTTLS required, login required ----------------------------------------
def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER
          and auth_data.password.decode() == SMTP_PASSWORD)
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    box: MailBox


@pytest.fixture(scope="session")
def _smtp_server(server_ssl) -> Iterator[SmtpServer]:
    box = MailBox()
    ctl = Controller(box, hostname="127.0.0.1", port=free_port(), tls_context=server_ssl,
                     require_starttls=True, auth_required=True, auth_require_tls=True,
                     authenticator=_authenticator)
    ctl.start()
    yield SmtpServer(ctl.port, box)
    ctl.stop()


@pytest.fixture
def smtp(_smtp_server) -> SmtpServer:
    box = _smtp_server.box
    box.messages.clear(), box.envelopes.clear(), box.raw.clear()
    return _smtp_server


# -- Azurite ----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def alerts_storage() -> Iterator[str]:
    with running_azurite() as azurite:
        yield azurite.connection_string


@pytest.fixture
def tables(alerts_storage) -> TableServiceClient:
    """A fresh PalAlerts table per test."""
    svc = TableServiceClient.from_connection_string(alerts_storage)
    svc.delete_table(TABLE)
    return svc


# -- time, settings, alerts -------------------------------------------------------------------------
@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def options(sleeps) -> AlertOptions:
    return AlertOptions(backoff=0.01, max_retry_after=0.5, sleep=sleeps.append, webhook_timeout=5,
                        smtp_timeout=5, acs_polling_interval=0)


@pytest.fixture
def make_alerts(tables, ca_path, options, clock):
    def make(env: dict[str, str], **kw: Any) -> Alerts:
        return Alerts.from_settings(load_settings(env), tables, ca_bundle=ca_path,
                                    options=kw.pop("options", options), clock=kw.pop("clock", clock), **kw)
    return make


