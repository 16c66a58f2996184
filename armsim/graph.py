"""A minimal Microsoft Graph on armsim's host: what an auditor needs to resolve the groups named in
Lighthouse authorizations.

Routes (v1.0): `GET /v1.0/groups/{id}/transitiveMembers` (paged by `@odata.nextLink`; `$top`
sets the page size) and `GET /v1.0/directoryObjects/{id}` (what kind of object an id is).
Tokens are armsim's own, for the audience `https://graph.microsoft.com`; the caller needs an
application permission that reads group members (`graph_permissions:` of its tenant in the estate).
Errors use Graph's envelope `{"error": {"code", "message", "innerError": {...}}}`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from armsim.directory import TenantView
from armsim.estate.model import Principal
from armsim.state import SimulatorState
from armsim.tokens import TokenError
from armsim.wire import Reply, json_response, query_lower

GRAPH_AUDIENCE = "https://graph.microsoft.com"
# Entra writes the identifier URI in v1 tokens, Graph's app id in some v2 ones; both are Graph's.
GRAPH_AUDIENCES = frozenset({GRAPH_AUDIENCE, GRAPH_AUDIENCE + "/", "00000003-0000-0000-c000-000000000000"})
READ_MEMBERS = frozenset({"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"})
MAX_TOP = 999
_CONTEXT = f"{GRAPH_AUDIENCE}/v1.0/$metadata#directoryObjects"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def graph_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, client_request_id: str = ""
) -> Reply:
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()),
        "client-request-id": client_request_id or str(uuid.uuid4()),
    }
    return Reply(
        json_response(status, {"error": {"code": code, "message": message, "innerError": inner}}, headers)
    )


@dataclass(frozen=True)
class GraphCaller:
    tenant: TenantView
    oid: str
    app_id: str


GraphHandler = Callable[[SimulatorState, web.Request, GraphCaller], web.Response]


@dataclass(frozen=True)
class GraphRoute:
    operation: str  # e.g. graph.transitive_members; the key in /_armsim/stats
    handler: GraphHandler


def authenticate(sim: SimulatorState, request: web.Request) -> GraphCaller:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not token.strip():
        raise graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        claims = sim.tokens.verify(token.strip())
    except TokenError as e:
        message = (
            "Lifetime validation failed, the token is expired."
            if "expir" in str(e).lower()
            else ("Access token validation failure.")
        )
        raise graph_error(401, "InvalidAuthenticationToken", message) from None
    if claims.aud not in GRAPH_AUDIENCES:
        raise graph_error(
            401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience."
        )
    tv = sim.directory.tenants.get(claims.tid)
    if tv is None or claims.oid not in tv.principals:
        raise graph_error(401, "InvalidAuthenticationToken", "Access token validation failure.")
    return GraphCaller(tv, claims.oid, claims.appid)


def route(method: str, path: str) -> GraphRoute:
    parts = path.rstrip("/").split("/")
    low = [p.lower() for p in parts]
    found: GraphRoute | None = None
    if len(parts) == 5 and low[1:3] == ["v1.0", "groups"] and low[4] == "transitivemembers":
        found = GraphRoute("graph.transitive_members", partial(transitive_members, group_id=parts[3]))
    elif len(parts) == 4 and low[1:3] == ["v1.0", "directoryobjects"]:
        found = GraphRoute("graph.directory_objects.get", partial(get_directory_object, object_id=parts[3]))
    if found is None:
        segment = parts[2] if len(parts) > 2 else ""
        raise graph_error(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    if method != "GET":
        raise graph_error(
            405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
        )
    return found


def _require_read(caller: GraphCaller, request: web.Request) -> None:
    granted = set(caller.tenant.tenant.graph_permissions.get(caller.oid, ()))
    if not granted & READ_MEMBERS:
        raise graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            client_request_id=request.headers.get("client-request-id", ""),
        )


def _object(caller: GraphCaller, object_id: str, request: web.Request) -> Principal:
    if not _GUID.fullmatch(object_id):
        raise graph_error(400, "Request_BadRequest", f"Invalid object identifier '{object_id}'.")
    p = caller.tenant.principals.get(object_id.lower())
    if p is None:
        raise graph_error(
            404,
            "Request_ResourceNotFound",
            f"Resource '{object_id}' does not exist or one of its queried reference-property objects "
            "are not present.",
            client_request_id=request.headers.get("client-request-id", ""),
        )
    return p


def directory_object_json(tv: TenantView, p: Principal) -> dict[str, Any]:
    if p.type == "User":
        slug = re.sub(r"[^a-z0-9.]", "", p.name.lower().replace(" ", ".")) or p.object_id[:8]
        return {
            "@odata.type": "#microsoft.graph.user",
            "id": p.object_id,
            "displayName": p.name,
            "userPrincipalName": f"{slug}@{tv.tenant.default_domain}",
        }
    if p.type == "ServicePrincipal":
        return {
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": p.object_id,
            "displayName": p.name,
            "appId": p.app_id,
            "servicePrincipalType": "ManagedIdentity" if p.managed_identity else "Application",
            "accountEnabled": p.enabled,
        }
    return {
        "@odata.type": "#microsoft.graph.group",
        "id": p.object_id,
        "displayName": p.name,
        "securityEnabled": True,
        "mailEnabled": False,
    }


def transitive_members(
    sim: SimulatorState, request: web.Request, caller: GraphCaller, *, group_id: str
) -> web.Response:
    """Every user, service principal and group inside the group, through nested groups too."""
    _require_read(caller, request)
    group = _object(caller, group_id, request)
    if group.type != "Group":
        raise graph_error(
            404,
            "Request_ResourceNotFound",
            f"Resource '{group_id}' does not exist or one of its queried reference-property objects "
            "are not present.",
        )
    tv = caller.tenant
    members = [
        directory_object_json(tv, p)
        for p in tv.tenant.principals
        if p.object_id != group.object_id and group.object_id in tv.identities_of(p.object_id)
    ]
    return json_response(200, _page(sim, request, members))


def get_directory_object(
    sim: SimulatorState, request: web.Request, caller: GraphCaller, *, object_id: str
) -> web.Response:
    _require_read(caller, request)
    body = directory_object_json(caller.tenant, _object(caller, object_id, request))
    return json_response(200, {"@odata.context": f"{_CONTEXT}/$entity", **body})


def _page(sim: SimulatorState, request: web.Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    q = query_lower(request)
    top, token = q.get("$top", str(sim.page_size)), q.get("$skiptoken", "0")
    if not top.isdigit() or not 1 <= int(top) <= MAX_TOP:
        raise graph_error(
            400,
            "Request_BadRequest",
            f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.",
        )
    if not token.isdigit():
        raise graph_error(400, "Request_BadRequest", f"Invalid skip token '{token}'.")
    start, size = int(token), int(top)
    body: dict[str, Any] = {"@odata.context": _CONTEXT, "value": items[start : start + size]}
    if start + size < len(items):
        params = [(k, v) for k, v in request.query.items() if k.lower() != "$skiptoken"]
        params.append(("$skiptoken", str(start + size)))
        qs = urlencode(params, quote_via=quote, safe="$'()")
        body["@odata.nextLink"] = f"{sim.base_url}{request.rel_url.raw_path}?{qs}"
    return body
