"""The HTTPS server: one host for Entra ID, the managed-identity endpoint, ARM and `/_armsim/*`.

`Simulator` decides every answer; `serve()` runs it in the current event loop (the CLI) and
`ArmSimServer` runs it on a background thread (tests, the demo, benchmarks).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from armsim import arm, entra, entra_users, graph, metadata
from armsim.directory import Directory
from armsim.estate import Estate
from armsim.faults import FaultPlan
from armsim.stats import Stats
from armsim.throttle import Buckets
from armsim.tokens import TokenService
from armsim.wire import Reply, arm_error, json_response, query_lower

log = logging.getLogger("armsim")

PUBLIC_AUDIENCE = "https://management.azure.com/"
DEFAULT_PAGE_SIZE = 20
_ENTRA = re.compile(
    r"^/([^/]+)/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token"
    r"|oauth2/v2\.0/authorize|oauth2/v2\.0/devicecode|discovery/v2\.0/keys)/?$",
    re.IGNORECASE,
)
# MSAL asks before a password grant whether the user's domain is federated
_USER_REALM = re.compile(r"^/common/userrealm/([^/]+)/?$", re.IGNORECASE)
# `az cloud register --endpoint-resource-manager https://host/` appends `/metadata/endpoints` to the
# URL as given, so the path may start with `//`.
_METADATA = re.compile(r"^/+metadata/endpoints/?$", re.IGNORECASE)


@dataclass(frozen=True)
class Cloud:
    """Where a running armsim is: the registry's `cloud:` mapping."""

    arm: str
    authority: str
    audience: str
    ca_bundle: str
    identity_header: str = ""

    @property
    def identity_endpoint(self) -> str:
        """IDENTITY_ENDPOINT for ManagedIdentityCredential (App Service style); IDENTITY_HEADER is
        `identity_header`."""
        return f"{self.arm}/msi/token"

    @property
    def graph(self) -> str:
        """Microsoft Graph's base URL (armsim serves `/v1.0/...` on its one host)."""
        return self.arm

    @property
    def graph_audience(self) -> str:
        return graph.GRAPH_AUDIENCE

    def to_dict(self) -> dict[str, str]:
        return {
            "arm": self.arm,
            "authority": self.authority,
            "audience": self.audience,
            "ca_bundle": self.ca_bundle,
            "graph": self.graph, "graph_audience": self.graph_audience,
        }


@dataclass
class _Ctx:
    """What is known about a request so far, for stats and fault matching."""

    operation: str = "unknown"
    tenant_id: str | None = None
    principal_id: str | None = None


class Simulator:
    def __init__(
        self,
        estate: Estate,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        latency_ms: int = 0,
        token_lifetime: int = 3599,
        device_code_lifetime: int = 900,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.directory = Directory(estate)
        self.page_size = page_size
        self.latency = latency_ms / 1000
        self.buckets = Buckets(estate.throttle)
        self.faults = FaultPlan(estate.fail)
        self.stats = Stats()
        self.token_lifetime = token_lifetime
        self.device_code_lifetime = device_code_lifetime
        self.bind("https://127.0.0.1")

    def bind(self, base_url: str) -> None:
        """Set the public URL once the port is known (token issuers and nextLinks use it)."""
        self.base_url = base_url.rstrip("/")
        self.tokens = TokenService(self.base_url, self.token_lifetime, self.device_code_lifetime)
        self.arm_audiences = frozenset(
            {
                PUBLIC_AUDIENCE,
                PUBLIC_AUDIENCE.rstrip("/"),
                "https://management.core.windows.net/",
                self.base_url,
                self.base_url + "/",
                # Entra issues Graph tokens too; ARM refuses them (arm.access), Graph takes only them.
                *graph.GRAPH_AUDIENCES,
            }
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/_armsim/"):
            return self._internal(request)
        ctx = _Ctx()
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            resp = await self._dispatch(request, ctx)
        except Reply as r:
            resp = r.response
        except Exception:  # a bug in armsim must still answer like ARM, and be visible in its log
            log.exception("armsim failed on %s %s", request.method, request.path)
            resp = arm_error(500, "InternalServerError", "armsim failed; see its log.").response
        resp.headers["x-ms-request-id"] = resp.headers["x-ms-correlation-request-id"] = str(uuid.uuid4())
        self.stats.record(
            ctx.operation,
            resp.status,
            method=request.method,
            path=request.path,
            query=dict(request.query),
            tenant_id=ctx.tenant_id,
            principal_id=ctx.principal_id,
        )
        return resp

    async def _dispatch(self, request: web.Request, ctx: _Ctx) -> web.Response:
        m = _ENTRA.match(request.path)
        if m:
            return await self._entra(request, ctx, m[1], m[2].lower())
        if request.path.lower().rstrip("/") == "/msi/token":
            ctx.operation = "managed_identity.token"
            await self._inject(request, ctx, "msi")
            resp, ctx.tenant_id, ctx.principal_id = entra.managed_identity_token(self, request)
            return resp
        realm = _USER_REALM.match(request.path)
        if realm:
            ctx.operation = "user_realm"
            await self._inject(request, ctx, "entra")
            return entra_users.user_realm(self, realm[1])
        if _METADATA.match(request.path):
            # served before authentication: clients read it to learn where to sign in
            ctx.operation = "metadata.endpoints"
            await self._inject(request, ctx, "arm")
            return metadata.endpoints(self.base_url, request.method, query_lower(request))
        if request.path.startswith("/v1.0/"):
            return await self._graph(request, ctx)
        return await self._arm(request, ctx)

    async def _graph(self, request: web.Request, ctx: _Ctx) -> web.Response:
        ctx.operation = "graph.unauthenticated"
        caller = graph.authenticate(self, request)
        ctx.tenant_id, ctx.principal_id = caller.tenant.tenant.tenant_id, caller.oid
        ctx.operation = "graph.unknown"
        found = graph.route(request.method, request.path)
        ctx.operation = found.operation
        await self._inject(request, ctx, "graph", (caller.oid, caller.app_id))
        return found.handler(self, request, caller)

    async def _entra(self, request: web.Request, ctx: _Ctx, segment: str, what: str) -> web.Response:
        tv = self.directory.tenant_by_name(segment)
        ctx.tenant_id = tv.tenant.tenant_id if tv else None
        ctx.operation = {
            "oauth2/v2.0/token": "token",
            "oauth2/v2.0/authorize": "authorize",
            "oauth2/v2.0/devicecode": "devicecode",
            "discovery/v2.0/keys": "jwks",
        }.get(what, "openid_configuration")
        await self._inject(request, ctx, "entra")
        if ctx.operation == "token":
            resp, _tid, ctx.principal_id = await entra.token(self, request, segment)
            return resp
        if ctx.operation == "devicecode":
            resp, ctx.principal_id = await entra.device_authorization(self, request, segment)
            return resp
        if ctx.operation == "jwks":
            return entra.jwks(self, segment)
        if ctx.operation == "authorize":
            raise Reply(
                json_response(
                    400,
                    {
                        "error": "invalid_request",
                        "error_description": "armsim serves no interactive sign-in.",
                    },
                )
            )
        if request.method != "GET":
            raise Reply(json_response(405, {"error": "invalid_request", "error_description": "Use GET."}))
        return entra.openid_configuration(self, segment)

    async def _arm(self, request: web.Request, ctx: _Ctx) -> web.Response:
        ctx.operation = "arm.unauthenticated"
        caller = arm.authenticate(self, request)
        ctx.tenant_id, ctx.principal_id = caller.tenant.tenant.tenant_id, caller.oid
        ctx.operation = "arm.unknown"
        route = arm.route(request.method, request.path)
        ctx.operation = route.operation
        if "api-version" not in query_lower(request):
            raise arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if route.subscription_id:
            arm.check_subscription_tenant(self, caller, route.subscription_id)
        await self._inject(request, ctx, "arm", (caller.oid, caller.app_id))
        decision = self.buckets.take(ctx.tenant_id, caller.oid, route.kind)
        level = "subscription" if route.subscription_id else "tenant"
        limit_header = f"x-ms-ratelimit-remaining-{level}-{'reads' if route.kind == 'read' else 'writes'}"
        if not decision.allowed:
            what = (
                f"subscription '{route.subscription_id}'"
                if route.subscription_id
                else f"tenant '{ctx.tenant_id}'"
            )
            raise arm_error(
                429,
                f"{level.capitalize()}RequestsThrottled",
                f"Number of '{route.kind}' requests for {what} actor '{caller.oid}' exceeded. "
                f"Please try again after '{decision.retry_after}' seconds after additional tokens "
                "are available. Refer to https://aka.ms/arm-throttling",
                {"Retry-After": str(decision.retry_after), limit_header: "0"},
            )
        resp = route.handler(self, request, caller)
        if self.buckets.limits is not None:
            resp.headers[limit_header] = str(decision.remaining)
        return resp

    async def _inject(
        self, request: web.Request, ctx: _Ctx, family: str, principal: tuple[str, ...] = ()
    ) -> None:
        hit = self.faults.pick(
            path=request.path,
            operation=ctx.operation,
            method=request.method,
            tenant_id=ctx.tenant_id,
            principal=principal,
        )
        if hit is None:
            return
        if hit.rule.delay_ms:
            await asyncio.sleep(hit.rule.delay_ms / 1000)
        headers = {"Retry-After": str(hit.rule.retry_after)} if hit.rule.retry_after is not None else None
        if family == "arm":
            raise arm_error(hit.rule.status, hit.code, hit.message, headers)
        if family == "graph":
            raise graph.graph_error(hit.rule.status, hit.code, hit.message, headers)
        body: dict[str, Any] = (
            {"statusCode": hit.rule.status, "message": hit.message}
            if family == "msi"
            else {"error": hit.code, "error_description": hit.message}
        )
        raise Reply(json_response(hit.rule.status, body, headers))

    def _internal(self, request: web.Request) -> web.Response:
        what = request.path[len("/_armsim/") :].rstrip("/")
        if what == "stats" and request.method == "GET":
            return json_response(200, self.stats.snapshot())
        if what == "reset-stats" and request.method == "POST":
            self.stats.reset()
            return json_response(200, self.stats.snapshot())
        if what == "requests" and request.method == "GET":
            op = request.query.get("operation")
            return json_response(
                200, {"value": [r for r in self.stats.recent if op is None or r["operation"] == op]}
            )
        return json_response(
            404,
            {
                "error": {
                    "code": "NotFound",
                    "message": "armsim serves GET /_armsim/stats, POST /_armsim/reset-stats "
                    "and GET /_armsim/requests",
                }
            },
        )


def make_tls(host: str, ca_dir: Path) -> tuple[ssl.SSLContext, Path]:
    """A fresh test CA (trustme), a server certificate for the loopback names, and the CA's PEM path."""
    import trustme

    ca = trustme.CA(organization_name="armsim local test CA")
    names = sorted({"127.0.0.1", "localhost", "::1", host})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(ctx)
    path = ca_dir / "armsim-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ctx, path


async def start(
    sim: Simulator, *, host: str = "127.0.0.1", port: int = 0, ca_dir: Path
) -> tuple[web.AppRunner, Cloud]:
    """Bind and start serving in the running loop; returns the runner (to clean up) and where it is."""
    tls, ca_path = make_tls(host, ca_dir)
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", sim.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls, backlog=1024)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    base = f"https://{shown}:{bound}"
    sim.bind(base)
    return runner, Cloud(
        base, base, PUBLIC_AUDIENCE, str(ca_path), sim.directory.estate.managed_identity_header
    )


class ArmSimServer:
    """armsim on a daemon thread with its own event loop: `with ArmSimServer(estate) as cloud: ...`."""

    def __init__(
        self,
        estate: Estate,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        token_lifetime: int = 3599,
        device_code_lifetime: int = 900,
        ca_dir: str | Path | None = None,
    ) -> None:
        self.sim = Simulator(
            estate,
            page_size=page_size,
            latency_ms=latency_ms,
            token_lifetime=token_lifetime,
            device_code_lifetime=device_code_lifetime,
        )
        self._host, self._port = host, port
        self._own_dir = ca_dir is None
        self._ca_dir = Path(tempfile.mkdtemp(prefix="armsim-")) if ca_dir is None else Path(ca_dir)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.cloud: Cloud | None = None

    def start(self) -> Cloud:
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="armsim", daemon=True)
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(
            start(self.sim, host=self._host, port=self._port, ca_dir=self._ca_dir), loop
        )
        try:
            self._runner, self.cloud = fut.result(timeout=30)
        except BaseException:
            self.stop()
            raise
        return self.cloud

    def stop(self) -> None:
        loop = self._loop
        if loop is not None:
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(timeout=30)
                self._runner = None
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=30)
            loop.close()
            self._loop = None
        if self._own_dir:
            shutil.rmtree(self._ca_dir, ignore_errors=True)

    def __enter__(self) -> Cloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
