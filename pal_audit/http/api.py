"""HTTP API of docs/http-api.md: validation, queries and JSON responses (no azure.functions here).

Every input is checked before it reaches storage: tenant ids must be GUIDs known to the registry,
filter values come from fixed lists, the continuation token must decode to a valid table key,
and values reach Table Storage only as query parameters. Bad input is a 4xx with
`{"error": {"code", "message"}}`; storage or configuration trouble is a 503.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pal_audit.checks import CHECK_IDS
from pal_audit.model import Severity, Status
from pal_audit.registry.documents import MAX_INT_DIGITS, DocumentError, NumberTooLong, parse_json

if TYPE_CHECKING:
    from pal_audit.service import AppContext

log = logging.getLogger("pal_audit.http")

MAX_BODY_BYTES = 64 * 1024
MAX_TENANT_IDS = 5000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Patterns are used with fullmatch: `$` would accept a trailing newline, and \d or str.isdigit()
# any Unicode digit ("²", "١٢"), which int() then rejects or reads differently.
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PAGE_SIZE = re.compile(r"[0-9]{1,4}")
_FILTERS: dict[str, tuple[str, ...] | None] = {   # None: validated separately (tenant_id)
    "tenant_id": None,
    "status": tuple(s.value for s in Status),
    "check_id": CHECK_IDS,
    "severity": tuple(s.value for s in Severity),
}
# `code` carries the function key when it is not sent as the x-functions-key header.
_FINDINGS_PARAMS = {*_FILTERS, "continuation", "page_size", "code"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    route_params: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    html: str | None = None         # an HTML page (the dashboard) instead of the JSON body

    def json(self) -> str:
        return json.dumps(self.body, separators=(",", ":"), default=str)


def error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}})


def _show(values: list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(v[:60]) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


# ---------------------------------------------------------------- parsing (pure)


def parse_scan_body(body: bytes) -> list[str] | None:
    """`{"tenant_ids": [...]}` -> lower-case ids (deduplicated); None = all tenants."""
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large",
                       f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    if not body.strip():
        return None
    try:
        data = parse_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not UTF-8 text") from None
    except NumberTooLong as exc:
        raise ApiError(400, "invalid_body", f"tenant_ids must be GUID strings; the body holds a number "
                       f"with more than {MAX_INT_DIGITS} digits ({exc.problem.split(': ')[0]})") from None
    except DocumentError as exc:   # syntax, nesting, or a duplicate key (which would hide a value)
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc.problem}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", 'the body must be a JSON object like {"tenant_ids": ["<guid>"]}')
    unknown = sorted(k for k in data if k != "tenant_ids")
    if unknown:
        raise ApiError(400, "invalid_body", f"unknown field(s) {_show(unknown)}; only tenant_ids is accepted")
    ids = data.get("tenant_ids")
    if ids is None:
        return None
    if not isinstance(ids, list):
        raise ApiError(400, "invalid_body",
                       f"tenant_ids must be a list of GUID strings, not {type(ids).__name__}")
    if len(ids) > MAX_TENANT_IDS:
        raise ApiError(400, "invalid_body",
                       f"tenant_ids has {len(ids)} entries; the limit is {MAX_TENANT_IDS}")
    not_str = [i for i in ids if not isinstance(i, str)]
    if not_str:
        shown = _show([json.dumps(v) for v in not_str])
        raise ApiError(400, "invalid_body", f"tenant_ids must be strings; got {shown}")
    bad = [i for i in ids if not _GUID.fullmatch(i.strip())]
    if bad:
        raise ApiError(400, "invalid_tenant_id", f"not a GUID: {_show(bad)}")
    return list(dict.fromkeys(i.strip().lower() for i in ids)) or None


def encode_continuation(token: Mapping[str, Any] | None) -> str | None:
    """The SDK's continuation (next PartitionKey/RowKey) as one opaque URL-safe string."""
    if not token:
        return None
    raw = json.dumps({"pk": token.get("PartitionKey"), "rk": token.get("RowKey")}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continuation(text: str) -> dict[str, str | None]:
    from pal_audit.store.entities import EntityLimitError, check_key

    bad = ApiError(400, "invalid_continuation", "the continuation token is not one this API issued")
    if len(text) > 4096:
        raise bad
    try:
        data = parse_json(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8"))
    except (binascii.Error, ValueError):   # DocumentError and UnicodeDecodeError are ValueErrors
        raise bad from None
    if not isinstance(data, dict) or set(data) != {"pk", "rk"}:
        raise bad
    for value in data.values():
        if value is not None:
            try:
                check_key("key", value)
                value.encode("utf-8")     # "\ud800" decodes to a lone surrogate the SDK cannot send
            except (EntityLimitError, AttributeError, UnicodeEncodeError):
                raise bad from None
    return {"PartitionKey": data["pk"], "RowKey": data["rk"]}


@dataclass(frozen=True)
class FindingsQuery:
    filters: dict[str, str]
    page_size: int
    continuation: dict[str, str | None] | None


def parse_findings_query(params: Mapping[str, str]) -> FindingsQuery:
    unknown = sorted(k for k in params if k not in _FINDINGS_PARAMS)
    if unknown:
        raise ApiError(400, "invalid_parameter", f"unknown query parameter(s) {_show(unknown)}; accepted: "
                       "tenant_id, status, check_id, severity, page_size, continuation")
    filters: dict[str, str] = {}
    for name, allowed in _FILTERS.items():
        value = params.get(name)
        if value is None or value == "":
            continue
        if allowed is None:
            if not _GUID.fullmatch(value):
                raise ApiError(400, "invalid_tenant_id", f"tenant_id must be a GUID, got {value[:60]!r}")
            value = value.lower()
        elif value not in allowed:
            raise ApiError(400, "invalid_parameter",
                           f"{name} must be one of {', '.join(allowed)}; got {value[:60]!r}")
        filters[name] = value
    size_text = params.get("page_size") or str(DEFAULT_PAGE_SIZE)
    if not _PAGE_SIZE.fullmatch(size_text) or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
        raise ApiError(400, "invalid_parameter",
                       f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}; got {size_text[:20]!r}")
    token = params.get("continuation")
    return FindingsQuery(filters, int(size_text), decode_continuation(token) if token else None)


def _absolute(url: str, path: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.scheme and parts.netloc else path


# ---------------------------------------------------------------- handlers

# Opens one request's context (the composition root's `APP.open`; tests pass `open_context` with
# their own observer).
ContextFactory = Callable[[], AbstractAsyncContextManager["AppContext"]]


async def post_scans(req: Request, open_ctx: ContextFactory) -> Response:
    from pal_audit.service import start_run, tenants_unknown

    tenant_ids = parse_scan_body(req.body)
    async with open_ctx() as ctx:
        registry = ctx.registry()
        unknown = tenants_unknown(registry, tenant_ids or [])
        if unknown:
            raise ApiError(404, "unknown_tenant", f"tenant(s) not in the registry: {_show(unknown)}")
        started = await start_run(ctx.store, registry, "http", tenant_ids, observer=ctx.observer)
    run_id = started.run_id or next(iter(started.skipped.values()))
    status_url = _absolute(req.url, f"/api/scans/{run_id}")
    return Response(202, {"run_id": run_id, "status_url": status_url, "queued": len(started.queued),
                          "already_queued": started.skipped}, {"Location": status_url})


async def get_scan(req: Request, open_ctx: ContextFactory) -> Response:
    from pal_audit.store.runs import RUN_ID

    run_id = req.route_params.get("run_id", "")
    if not RUN_ID.fullmatch(run_id):
        raise ApiError(400, "invalid_run_id", "run_id looks like 20260301T020000Z-1a2b3c4d")
    async with open_ctx() as ctx:
        run = await ctx.store.runs.get(run_id)
    if run is None:
        raise ApiError(404, "unknown_run", f"no run {run_id}")
    return Response(200, run.to_public())


async def get_findings(req: Request, open_ctx: ContextFactory) -> Response:
    query = parse_findings_query(req.params)
    async with open_ctx() as ctx:
        tid = query.filters.get("tenant_id")
        registry = ctx.registry()
        # a Lighthouse customer's partition holds its delegation findings
        if tid and tid not in registry.tenant_ids() and tid not in registry.lighthouse_tenants():
            raise ApiError(404, "unknown_tenant", f"tenant {tid} is not in the registry")
        items, token = await ctx.store.findings.query_page(query.filters, page_size=query.page_size,
                                                           continuation=query.continuation)
    return Response(200, {"findings": items, "count": len(items), "continuation": encode_continuation(token)})


async def get_health(req: Request, open_ctx: ContextFactory) -> Response:
    from pal_audit.service import health

    async with open_ctx() as ctx:
        healthy, body = await health(ctx.store, ctx.settings.stale_after_hours)
    return Response(200 if healthy else 503, body)


async def get_dashboard(req: Request, open_ctx: ContextFactory) -> Response:
    """The coverage dashboard (docs/dashboard.md): one self-contained HTML page, CSP in the header."""
    from pal_audit.dashboard import build, from_store, render

    unknown = sorted(k for k in req.params if k != "code")
    if unknown:
        raise ApiError(400, "invalid_parameter", f"unknown query parameter(s) {_show(unknown)}; "
                       "the dashboard takes none (its filters run in the page)")
    async with open_ctx() as ctx:
        inputs = await from_store(ctx.store, ctx.registry())
    page = render(build(inputs))
    return Response(200, {}, {"Content-Security-Policy": page.csp + "; frame-ancestors 'none'",
                              "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                              "Referrer-Policy": "no-referrer"}, html=page.html)


Handler = Callable[[Request, ContextFactory], Awaitable[Response]]
# The routes by handler name (function_app.py looks its handler up here, not with getattr).
HANDLERS: dict[str, Handler] = {h.__name__: h for h in (post_scans, get_scan, get_findings, get_health,
                                                                 get_dashboard)}


async def guarded(handler: Handler, req: Request, open_ctx: ContextFactory) -> Response:
    """Run a handler; map every failure to a JSON error (4xx input, 503 storage/configuration)."""
    from pal_audit.registry import RegistryError
    from pal_audit.settings import SettingsError
    from pal_audit.store.tables import StoreUnavailable, is_transport_failure

    try:
        return await handler(req, open_ctx)
    except ApiError as exc:
        return error(exc.status, exc.code, exc.message)
    except (SettingsError, RegistryError, OSError) as exc:
        log.error("configuration error: %s", exc)
        return error(503, "configuration_error", f"the app is misconfigured: {str(exc)[:500]}")
    except StoreUnavailable as exc:
        log.error("%s", exc)
        return error(503, "storage_unavailable", "table storage is unavailable; retry later")
    except Exception as exc:
        if is_transport_failure(exc):
            log.error("storage failure: %s", exc)
            return error(503, "storage_unavailable", "table storage is unavailable; retry later")
        log.exception("unexpected error in %s", getattr(handler, "__name__", "handler"))
        return error(500, "internal", "unexpected error; see the function logs")
