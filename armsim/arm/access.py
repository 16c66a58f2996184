"""Who is calling ARM and what they may do: bearer-token authentication, the subscription's tenant
check, and the 403/404 answers of a missing permission."""

from __future__ import annotations

from dataclasses import dataclass, replace

from aiohttp import web

from armsim.directory import AssignmentFilter, FilterError, Scope, TenantView, parse_assignment_filter
from armsim.graph import GRAPH_AUDIENCES
from armsim.state import SimulatorState
from armsim.tokens import TokenError
from armsim.wire import Reply, arm_error, query_lower


@dataclass(frozen=True)
class Caller:
    tenant: TenantView
    oid: str
    app_id: str
    iss: str


def authenticate(sim: SimulatorState, request: web.Request) -> Caller:
    """The caller behind the bearer token, or a 401 with ARM's envelope and WWW-Authenticate."""
    header = request.headers.get("Authorization", "")

    def unauthorized(code: str, message: str) -> Reply:
        challenge = (
            f'Bearer authorization_uri="{sim.base_url}/common", error="invalid_token", '
            f'error_description="{message}"'
        )
        return arm_error(401, code, message, {"WWW-Authenticate": challenge})

    if not header:
        raise unauthorized(
            "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(
            "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )
    try:
        claims = sim.tokens.verify(token.strip())
    except TokenError as e:
        raise unauthorized(e.code, str(e)) from None
    if claims.aud not in sim.arm_audiences or claims.aud in GRAPH_AUDIENCES:
        raise unauthorized(
            "InvalidAuthenticationToken",
            f"The access token has been obtained for wrong audience or resource '{claims.aud}'. "
            f"It should exactly match with one of the allowed audiences "
            f"'{', '.join(sorted(sim.arm_audiences - GRAPH_AUDIENCES))}'.",
        )
    tv = sim.directory.tenants.get(claims.tid)
    if tv is None or claims.oid not in tv.principals:
        raise unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
    return Caller(tv, claims.oid, claims.appid, claims.iss)


def check_subscription_tenant(sim: SimulatorState, caller: Caller, sid: str) -> None:
    """A subscription-scoped call must carry a token of the subscription's own tenant, or of a
    tenant it is delegated to through Lighthouse (then the delegation's authorizations decide)."""
    owner = sim.directory.subscription_tenant.get(sid)
    if owner is None:
        raise arm_error(404, "SubscriptionNotFound", f"The subscription '{sid}' could not be found.")
    home = caller.tenant.tenant.tenant_id
    if owner != home and home not in sim.directory.tenants[owner].managed_by_tenants(sid):
        raise arm_error(
            401,
            "InvalidAuthenticationTokenTenant",
            f"The access token is from the wrong issuer '{caller.iss}'. It must match the tenant "
            f"'{sim.base_url}/{owner}/' associated with this subscription. Please use the authority "
            f"(URL) '{sim.base_url}/{owner}' to get the token.",
            {
                "WWW-Authenticate": f'Bearer authorization_uri="{sim.base_url}/{owner}", '
                'error="invalid_token", error_description="The access token is '
                'from the wrong issuer."'
            },
        )


def acting_on(sim: SimulatorState, caller: Caller, sid: str | None) -> Caller:
    """The caller as seen by the tenant that owns `sid`: a managing-tenant principal acting on a
    delegated subscription is checked against the customer tenant (and its delegations)."""
    owner = sim.directory.subscription_tenant.get(sid) if sid else None
    if owner is None or owner == caller.tenant.tenant.tenant_id:
        return caller
    return replace(caller, tenant=sim.directory.tenants[owner])


def forbidden(caller: Caller, action: str, scope: str) -> Reply:
    """ARM's 403 AuthorizationFailed for `action` over `scope`."""
    return arm_error(
        403,
        "AuthorizationFailed",
        f"The client '{caller.oid}' with object id '{caller.oid}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
        "recently granted, please refresh your credentials.",
    )


def require(caller: Caller, action: str, scope: Scope) -> None:
    """Raise unless the caller may perform `action` at `scope` (an unknown resource group is a 404)."""
    if not caller.tenant.has_scope(scope):
        if scope.kind == "resource_group":
            raise arm_error(
                404, "ResourceGroupNotFound", f"Resource group '{scope.resource_group}' could not be found."
            )
        raise forbidden(caller, action, scope.display)
    if not caller.tenant.can(caller.oid, action, scope.key):
        raise forbidden(caller, action, scope.display)


def assignment_filter(request: web.Request) -> AssignmentFilter:
    """The request's `$filter` on role assignments or eligibility, or a 400."""
    try:
        return parse_assignment_filter(query_lower(request).get("$filter"))
    except FilterError as e:
        raise arm_error(400, "InvalidFilterInQueryString", str(e)) from None
