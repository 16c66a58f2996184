"""Response shapes shared by the routes: JSON bodies, ARM and Entra error envelopes, nextLink paging."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web


class Reply(Exception):
    """Raised anywhere in a handler to answer with this response (errors, mostly)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    resp = web.Response(status=status, body=data, headers=headers)
    if body is not None:
        resp.content_type = "application/json"
        resp.charset = "utf-8"
    return resp


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """ARM's error envelope, which azure-mgmt-core's ARMErrorFormat parses."""
    return Reply(json_response(status, {"error": {"code": code, "message": message}}, headers))


def entra_error(
    status: int, error: str, aadsts: int, description: str, extra: dict[str, str] | None = None
) -> Reply:
    """Entra ID's OAuth error body: MSAL surfaces `error_description`; `extra` adds fields such
    as `suberror`."""
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    text = f"AADSTS{aadsts}: {description} Trace ID: {trace} Correlation ID: {corr} Timestamp: {now}"
    return Reply(
        json_response(
            status,
            {
                "error": error,
                "error_description": text,
                "error_codes": [aadsts],
                "timestamp": now,
                "trace_id": trace,
                "correlation_id": corr,
                "error_uri": f"https://login.microsoftonline.com/error?code={aadsts}",
                **(extra or {}),
            },
        )
    )


def query_lower(request: web.Request) -> dict[str, str]:
    """Query parameters with lower-case names (ARM accepts `$skipToken` and `$skiptoken` alike)."""
    return {k.lower(): v for k, v in request.query.items()}


def page(
    request: web.Request, base_url: str, items: list[Any], page_size: int, *, next_link_always: bool = False
) -> dict[str, Any]:
    """One page of a list result; `nextLink` is absolute, on this host, and carries `$skiptoken`.

    With `next_link_always` (lists whose schema requires it: tenants, subscriptions) the last page
    carries `"nextLink": null`; other lists leave it out there. Clients stop on either."""
    token = query_lower(request).get("$skiptoken", "0")
    if not token.isdigit():
        raise arm_error(400, "InvalidSkipToken", f"The skip token '{token}' is not valid.")
    start = int(token)
    body: dict[str, Any] = {"value": items[start : start + page_size]}
    if next_link_always:
        body["nextLink"] = None
    if start + page_size < len(items):
        params = [(k, v) for k, v in request.query.items() if k.lower() != "$skiptoken"]
        params.append(("$skiptoken", str(start + page_size)))
        qs = urlencode(params, quote_via=quote, safe="$'()")
        body["nextLink"] = f"{base_url}{request.rel_url.raw_path}?{qs}"
    return body


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
