"""Azure Resource Manager routes: tenants, subscriptions, resource groups, Microsoft.Authorization
(role assignments, role definitions, PIM eligibility) and Microsoft.ManagementPartner (PAL).

Shapes follow azure-wire.md §3–§5 and §7; paths are matched case-insensitively (§11).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from aiohttp import web

from armsim.directory import (
    READ_ASSIGNMENTS,
    READ_ELIGIBILITY,
    READ_RESOURCE_GROUPS,
    AssignmentFilter,
    FilterError,
    LinkRecord,
    Scope,
    TenantView,
    parse_assignment_filter,
    parse_role_definition_filter,
    parse_scope,
)
from armsim.estate import Assignment
from armsim.roles import BUILTIN_ROLES, Role
from armsim.tokens import TokenError
from armsim.wire import Reply, arm_error, iso, json_response, page, query_lower

if TYPE_CHECKING:
    from armsim.server import Simulator

AUTHZ = "/providers/microsoft.authorization/"
PAL = "/providers/microsoft.managementpartner/"
CREATED = "2026-01-01T00:00:00.0000000Z"  # estate objects carry one fixed, documented timestamp


@dataclass(frozen=True)
class Caller:
    tenant: TenantView
    oid: str
    app_id: str
    iss: str


@dataclass(frozen=True)
class Route:
    operation: str  # e.g. role_assignments.list; the key in /_armsim/stats
    kind: str  # read | write (deletes count as writes)
    subscription_id: str | None  # set when the path is inside a subscription
    handler: Callable[[Simulator, web.Request, Caller], web.Response]


def authenticate(sim: Simulator, request: web.Request) -> Caller:
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
    if claims.aud not in sim.arm_audiences:
        raise unauthorized(
            "InvalidAuthenticationToken",
            f"The access token has been obtained for wrong audience or resource '{claims.aud}'. "
            f"It should exactly match with one of the allowed audiences "
            f"'{', '.join(sorted(sim.arm_audiences))}'.",
        )
    tv = sim.directory.tenants.get(claims.tid)
    if tv is None or claims.oid not in tv.principals:
        raise unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
    return Caller(tv, claims.oid, claims.appid, claims.iss)


def route(method: str, path: str) -> Route:
    """Which operation a request is, or a 404/405 ARM error."""
    low = path.lower().rstrip("/")
    parts = low.split("/")
    found = _route_table(method, path, low, parts)
    if found is None:
        raise arm_error(404, "NotFound", f"armsim has no ARM route for {method} {path}.")
    return found


def _route_table(method: str, path: str, low: str, parts: list[str]) -> Route | None:
    sid = parts[2] if len(parts) > 2 and parts[1] == "subscriptions" else None
    if low == "/tenants":
        return _get(method, Route("tenants.list", "read", None, list_tenants))
    if low == "/subscriptions":
        return _get(method, Route("subscriptions.list", "read", None, list_subscriptions))
    if sid and len(parts) == 3:
        return _get(method, Route("subscriptions.get", "read", sid, get_subscription))
    if sid and len(parts) == 4 and parts[3] == "resourcegroups":
        return _get(method, Route("resource_groups.list", "read", sid, list_resource_groups))
    if low.startswith(PAL):
        return _pal_route(method, path, low)
    at = low.rfind(AUTHZ)
    if at < 0:
        return None
    scope = parse_scope(path[:at])
    rest = path[at + len(AUTHZ) :].rstrip("/").split("/")
    if scope is None or len(rest) > 2:
        return None
    collection = rest[0].lower()
    name = rest[1] if len(rest) == 2 else None
    table = {
        ("roleassignments", False): ("role_assignments.list", list_role_assignments),
        ("roleassignments", True): ("role_assignments.get", get_role_assignment),
        ("roledefinitions", False): ("role_definitions.list", list_role_definitions),
        ("roledefinitions", True): ("role_definitions.get", get_role_definition),
        ("roleeligibilityscheduleinstances", False): (
            "role_eligibility_schedule_instances.list",
            list_eligibility_instances,
        ),
    }
    hit = table.get((collection, name is not None))
    if hit is None:
        return None
    handler = partial(hit[1], scope=scope, name=name) if name else partial(hit[1], scope=scope)
    return _get(method, Route(hit[0], "read", scope.subscription_id, handler))


def _pal_route(method: str, path: str, low: str) -> Route | None:
    rest = low[len(PAL) :].split("/")
    if rest == ["operations"]:
        return _get(method, Route("operation.list", "read", None, list_pal_operations))
    if rest == ["partners"]:
        return _get(method, Route("partners.get", "read", None, get_own_link))
    if len(rest) == 2 and rest[0] == "partners" and rest[1]:
        partner_id = path.rstrip("/").split("/")[-1]
        ops = {
            "GET": ("partner.get", "read", get_link),
            "PUT": ("partner.create", "write", create_link),
            "PATCH": ("partner.update", "write", update_link),
            "DELETE": ("partner.delete", "write", delete_link),
        }
        if method not in ops:
            raise _method_not_allowed(method, path)
        op, kind, fn = ops[method]
        return Route(op, kind, None, partial(fn, partner_id=partner_id))
    return None


def _get(method: str, r: Route) -> Route:
    if method != "GET":
        raise _method_not_allowed(method, r.operation)
    return r


def _method_not_allowed(method: str, what: str) -> Reply:
    return arm_error(
        405, "MethodNotAllowed", f"The HTTP method '{method}' is not supported for '{what}' in armsim."
    )


# -- scope guards -------------------------------------------------------------------------------


def check_subscription_tenant(sim: Simulator, caller: Caller, sid: str) -> None:
    """A subscription-scoped call must carry a token of the subscription's own tenant."""
    owner = sim.directory.subscription_tenant.get(sid)
    if owner is None:
        raise arm_error(404, "SubscriptionNotFound", f"The subscription '{sid}' could not be found.")
    if owner != caller.tenant.tenant.tenant_id:
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


def _forbidden(caller: Caller, action: str, scope: str) -> Reply:
    return arm_error(
        403,
        "AuthorizationFailed",
        f"The client '{caller.oid}' with object id '{caller.oid}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
        "recently granted, please refresh your credentials.",
    )


def _require(caller: Caller, action: str, scope: Scope) -> None:
    if not caller.tenant.has_scope(scope):
        if scope.kind == "resource_group":
            raise arm_error(
                404, "ResourceGroupNotFound", f"Resource group '{scope.resource_group}' could not be found."
            )
        raise _forbidden(caller, action, scope.display)
    if not caller.tenant.can(caller.oid, action, scope.key):
        raise _forbidden(caller, action, scope.display)


def _filter(request: web.Request) -> AssignmentFilter:
    try:
        return parse_assignment_filter(query_lower(request).get("$filter"))
    except FilterError as e:
        raise arm_error(400, "InvalidFilterInQueryString", str(e)) from None


# -- tenants, subscriptions, resource groups ----------------------------------------------------


def list_tenants(sim: Simulator, request: web.Request, caller: Caller) -> web.Response:
    t = caller.tenant.tenant
    item = {
        "id": f"/tenants/{t.tenant_id}",
        "tenantId": t.tenant_id,
        "countryCode": "US",
        "displayName": t.name,
        "domains": [t.default_domain],
        "tenantCategory": "Home",
        "defaultDomain": t.default_domain,
        "tenantType": "AAD",
    }
    return json_response(200, page(request, sim.base_url, [item], sim.page_size))


def _subscription_json(tv: TenantView, sid: str) -> dict[str, Any]:
    s = tv.subscriptions[sid]
    return {
        "id": f"/subscriptions/{sid}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sid,
        "tenantId": tv.tenant.tenant_id,
        "displayName": s.name,
        "state": s.state,
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
        "tags": {},
    }


def list_subscriptions(sim: Simulator, request: web.Request, caller: Caller) -> web.Response:
    tv = caller.tenant
    items = [_subscription_json(tv, sid) for sid in tv.subscriptions if tv.sees_subscription(caller.oid, sid)]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


def get_subscription(sim: Simulator, request: web.Request, caller: Caller) -> web.Response:
    sid = request.path.rstrip("/").split("/")[2].lower()
    if not caller.tenant.sees_subscription(caller.oid, sid):
        raise arm_error(404, "SubscriptionNotFound", f"The subscription '{sid}' could not be found.")
    return json_response(200, _subscription_json(caller.tenant, sid))


def list_resource_groups(sim: Simulator, request: web.Request, caller: Caller) -> web.Response:
    sid = request.path.split("/")[2].lower()
    tv = caller.tenant
    if not tv.sees_subscription(caller.oid, sid):
        raise _forbidden(caller, READ_RESOURCE_GROUPS, f"/subscriptions/{sid}")
    items = [
        {
            "id": f"/subscriptions/{sid}/resourceGroups/{rg}",
            "name": rg,
            "type": "Microsoft.Resources/resourceGroups",
            "location": "westeurope",
            "properties": {"provisioningState": "Succeeded"},
        }
        for rg in tv.visible_resource_groups(caller.oid, sid)
    ]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


# -- Microsoft.Authorization --------------------------------------------------------------------


def _scope_path(scope: str) -> str:
    return "" if scope == "/" else scope


def _role_definition_id(role_id: str, sid: str | None) -> str:
    prefix = f"/subscriptions/{sid}" if sid else ""
    return f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"


def _own_subscription(scope: str) -> str | None:
    parts = scope.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "subscriptions" else None


def _assignment_json(tv: TenantView, a: Assignment, listing: Scope) -> dict[str, Any]:
    sid = _own_subscription(a.scope) or listing.subscription_id
    return {
        "properties": {
            "roleDefinitionId": _role_definition_id(a.role_id, sid),
            "principalId": a.principal_id,
            "principalType": tv.principals[a.principal_id].type,
            "scope": a.scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": CREATED,
            "updatedOn": CREATED,
            "createdBy": None,
            "updatedBy": None,
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
        "id": f"{_scope_path(a.scope)}/providers/Microsoft.Authorization/roleAssignments/{a.assignment_id}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": a.assignment_id,
    }


def list_role_assignments(
    sim: Simulator, request: web.Request, caller: Caller, *, scope: Scope
) -> web.Response:
    f = _filter(request)
    _require(caller, READ_ASSIGNMENTS, scope)
    tv = caller.tenant
    found = tv.list_assignments(tv.active, scope.key, f, caller.oid)
    items = [_assignment_json(tv, a, scope) for a, _member in found]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


def get_role_assignment(
    sim: Simulator, request: web.Request, caller: Caller, *, scope: Scope, name: str
) -> web.Response:
    _require(caller, READ_ASSIGNMENTS, scope)
    tv = caller.tenant
    for p in tv.active:
        if p.assignment.assignment_id == name.lower() and p.key == scope.key:
            return json_response(200, _assignment_json(tv, p.assignment, scope))
    raise arm_error(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")


def _definition_json(role: Role, sid: str | None) -> dict[str, Any]:
    return {
        "properties": {
            "roleName": role.name,
            "type": "BuiltInRole" if role.builtin else "CustomRole",
            "description": role.description,
            "assignableScopes": list(role.assignable_scopes),
            "permissions": [
                {
                    "actions": list(role.actions),
                    "notActions": list(role.not_actions),
                    "dataActions": list(role.data_actions),
                    "notDataActions": list(role.not_data_actions),
                }
            ],
            "createdOn": CREATED,
            "updatedOn": CREATED,
            "createdBy": None,
            "updatedBy": None,
        },
        "id": _role_definition_id(role.role_id, sid),
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": role.role_id,
    }


def _definitions_scope_ok(caller: Caller, scope: Scope) -> None:
    # Every built-in role grants roleDefinitions/read; armsim lets any caller of the tenant read them.
    if not caller.tenant.has_scope(scope):
        raise _forbidden(caller, "Microsoft.Authorization/roleDefinitions/read", scope.display)


def list_role_definitions(
    sim: Simulator, request: web.Request, caller: Caller, *, scope: Scope
) -> web.Response:
    try:
        f = parse_role_definition_filter(query_lower(request).get("$filter"))
    except FilterError as e:
        raise arm_error(400, "InvalidFilterInQueryString", str(e)) from None
    _definitions_scope_ok(caller, scope)
    roles = [*BUILTIN_ROLES, *caller.tenant.custom_roles.values()]
    items = [
        _definition_json(r, scope.subscription_id)
        for r in roles
        if (f.role_type is None or (f.role_type == "BuiltInRole") == r.builtin)
        and (f.role_name is None or f.role_name == r.name)
    ]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


def get_role_definition(
    sim: Simulator, request: web.Request, caller: Caller, *, scope: Scope, name: str
) -> web.Response:
    _definitions_scope_ok(caller, scope)
    role = caller.tenant.role(name.lower())
    if role is None:
        raise arm_error(
            404,
            "RoleDefinitionDoesNotExist",
            f"The specified role definition with ID '{name}' does not exist.",
        )
    return json_response(200, _definition_json(role, scope.subscription_id))


_SCOPE_TYPES = {
    "root": "root",
    "management_group": "managementgroup",
    "subscription": "subscription",
    "resource_group": "resourcegroup",
    "resource": "resource",
}


def _eligibility_json(tv: TenantView, a: Assignment, member: str, listing: Scope) -> dict[str, Any]:
    role = tv.role(a.role_id)
    principal = tv.principals[a.principal_id]
    parsed = parse_scope(_scope_path(a.scope))
    rd_id = _role_definition_id(a.role_id, _own_subscription(a.scope) or listing.subscription_id)
    base = f"{_scope_path(a.scope)}/providers/Microsoft.Authorization"
    return {
        "properties": {
            "scope": a.scope,
            "roleDefinitionId": rd_id,
            "principalId": a.principal_id,
            "principalType": principal.type,
            "status": "Provisioned",
            "roleEligibilityScheduleId": f"{base}/roleEligibilitySchedules/{a.assignment_id}",
            "startDateTime": CREATED,
            "endDateTime": None,
            "memberType": member,
            "createdOn": CREATED,
            "condition": None,
            "conditionVersion": None,
            "expandedProperties": {
                "scope": {
                    "id": a.scope,
                    "displayName": a.scope.rsplit("/", 1)[-1] or "Root",
                    "type": _SCOPE_TYPES[parsed.kind if parsed else "root"],
                },
                "roleDefinition": {
                    "id": rd_id,
                    "displayName": role.name if role else a.role_id,
                    "type": "BuiltInRole" if role and role.builtin else "CustomRole",
                },
                "principal": {
                    "id": principal.object_id,
                    "displayName": principal.name,
                    "email": None,
                    "type": principal.type,
                },
            },
        },
        "name": a.assignment_id,
        "id": f"{base}/roleEligibilityScheduleInstances/{a.assignment_id}",
        "type": "Microsoft.Authorization/roleEligibilityScheduleInstances",
    }


def list_eligibility_instances(
    sim: Simulator, request: web.Request, caller: Caller, *, scope: Scope
) -> web.Response:
    f = _filter(request)
    if f.as_target:
        if not caller.tenant.has_scope(scope):  # anyone may read their own eligibility
            raise _forbidden(caller, READ_ELIGIBILITY, scope.display)
    else:
        _require(caller, READ_ELIGIBILITY, scope)
    tv = caller.tenant
    found = tv.list_assignments(tv.eligible, scope.key, f, caller.oid)
    items = [_eligibility_json(tv, a, member, scope) for a, member in found]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


# -- Microsoft.ManagementPartner (PAL) ----------------------------------------------------------


def _link_json(sim: Simulator, link: LinkRecord) -> dict[str, Any]:
    pid = link.partner_id
    return {
        "id": f"/providers/microsoft.managementpartner/partners/{pid}",
        "name": pid,
        "type": "Microsoft.ManagementPartner/partners",
        "etag": link.version,
        "properties": {
            "partnerId": pid,
            "partnerName": sim.directory.partner_name(pid),
            "tenantId": link.tenant_id,
            "objectId": link.object_id,
            "version": link.version,
            "updatedTime": iso(link.updated),
            "createdTime": iso(link.created),
            "state": "Active",
        },
    }


def _own(sim: Simulator, caller: Caller) -> tuple[tuple[str, str], LinkRecord | None]:
    key = (caller.tenant.tenant.tenant_id, caller.oid)
    return key, sim.directory.links.get(key)


def _no_link(caller: Caller) -> Reply:
    return arm_error(
        404,
        "NotFound",
        f"No Partner Admin Link exists for object id '{caller.oid}' in tenant "
        f"'{caller.tenant.tenant.tenant_id}'.",
    )


def _known_partner(sim: Simulator, partner_id: str) -> None:
    if not partner_id.isdigit() or partner_id not in sim.directory.estate.partners:
        raise arm_error(
            400,
            "BadRequest",
            f"Partner ID '{partner_id}' is not valid. We don't have a record for this partner ID.",
        )


def get_own_link(sim: Simulator, request: web.Request, caller: Caller) -> web.Response:
    _, link = _own(sim, caller)
    if link is None:
        raise _no_link(caller)
    return json_response(200, _link_json(sim, link))


def get_link(sim: Simulator, request: web.Request, caller: Caller, *, partner_id: str) -> web.Response:
    _, link = _own(sim, caller)
    if link is None or link.partner_id != partner_id:
        raise (
            _no_link(caller)
            if link is None
            else arm_error(404, "NotFound", f"The caller is not linked to partner ID '{partner_id}'.")
        )
    return json_response(200, _link_json(sim, link))


def create_link(sim: Simulator, request: web.Request, caller: Caller, *, partner_id: str) -> web.Response:
    _known_partner(sim, partner_id)
    key, link = _own(sim, caller)
    if link is not None:
        raise arm_error(
            409,
            "Conflict",
            f"A Partner Admin Link to partner ID '{link.partner_id}' already exists "
            "for this principal; update or delete it instead.",
        )
    now = datetime.now(UTC)
    link = sim.directory.links[key] = LinkRecord(partner_id, key[0], key[1], now, now)
    return json_response(200, _link_json(sim, link))


def update_link(sim: Simulator, request: web.Request, caller: Caller, *, partner_id: str) -> web.Response:
    _known_partner(sim, partner_id)
    _, link = _own(sim, caller)
    if link is None:
        raise _no_link(caller)
    link.partner_id, link.updated, link.version = partner_id, datetime.now(UTC), link.version + 1
    return json_response(200, _link_json(sim, link))


def delete_link(sim: Simulator, request: web.Request, caller: Caller, *, partner_id: str) -> web.Response:
    key, link = _own(sim, caller)
    if link is None:
        raise _no_link(caller)
    del sim.directory.links[key]
    return json_response(200, None)


_PAL_OPERATIONS = [
    ("Microsoft.ManagementPartner/partners/read", "Read All ManagementPartner"),
    ("Microsoft.ManagementPartner/partners/write", "Create any ManagementPartner"),
    ("Microsoft.ManagementPartner/partners/action", "Update any ManagementPartner"),
    ("Microsoft.ManagementPartner/partners/delete", "Delete any ManagementPartner"),
]


def list_pal_operations(sim: Simulator, request: web.Request, caller: Caller) -> web.Response:
    items = [
        {
            "name": n,
            "display": {
                "provider": "Microsoft ManagementPartner",
                "resource": "ManagementPartner",
                "operation": d,
                "description": d,
            },
            "origin": None,
        }
        for n, d in _PAL_OPERATIONS
    ]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))
