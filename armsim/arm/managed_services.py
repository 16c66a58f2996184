"""ARM handlers for Microsoft.ManagedServices (Azure Lighthouse): registration assignments and
registration definitions of a customer subscription or resource group.

At a subscription, the lists hold the subscription's delegations and those of its resource groups;
at a resource group, that group's. Reading needs `Microsoft.ManagedServices/.../read` at the scope:
the customer's own readers have it, and so has a managing-tenant principal whose permanent
authorization there includes it (Reader, Contributor; not Support Request Contributor alone).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aiohttp import web

from armsim.arm.access import Caller, require
from armsim.arm.shapes import registration_assignment_json, registration_definition_json
from armsim.directory import Scope
from armsim.estate.model import Delegation
from armsim.state import SimulatorState
from armsim.wire import arm_error, json_response, page, query_lower

READ_ASSIGNMENTS = "Microsoft.ManagedServices/registrationAssignments/read"
READ_DEFINITIONS = "Microsoft.ManagedServices/registrationDefinitions/read"
_GUID = r"'?([0-9a-fA-F-]{36})'?"
_EQ = re.compile(rf"^\s*managedByTenantId\s+eq\s+{_GUID}\s*$", re.IGNORECASE)
_IN = re.compile(r"^\s*managedByTenantId\s+in\s*\((.*)\)\s*$", re.IGNORECASE)


def managed_by_filter(request: web.Request) -> frozenset[str] | None:
    """The tenants of `$filter=managedByTenantId eq '{id}'` (or `in ({id}, ...)`), None without one."""
    text = query_lower(request).get("$filter")
    if text is None or not text.strip():
        return None
    m = _EQ.fullmatch(text)
    if m:
        return frozenset({m[1].lower()})
    m = _IN.fullmatch(text)
    if m:
        ids = [re.fullmatch(_GUID, x.strip()) for x in m[1].split(",")]
        if ids and all(ids):
            return frozenset(x[1].lower() for x in ids if x)
    raise arm_error(
        400,
        "InvalidFilterInQueryString",
        f"The filter '{text}' is not supported. Supported filters: managedByTenantId eq '{{tenantId}}', "
        "managedByTenantId in ({tenantId}, ...).",
    )


def _with_eligible(request: web.Request) -> bool:
    return query_lower(request).get("api-version", "") >= "2020-02-01-preview"


def _expand(request: web.Request) -> bool:
    return query_lower(request).get("$expandregistrationdefinition", "").lower() == "true"


def _at(caller: Caller, scope: Scope, *, assigned_only: bool) -> Iterator[Delegation]:
    for d in caller.tenant.tenant.delegations:
        if assigned_only and not d.assigned:
            continue
        here = (
            d.subscription_id == scope.subscription_id
            if scope.kind == "subscription"
            else (d.scope.lower() == scope.key)
        )
        if here:
            yield d


def _check_scope(scope: Scope, what: str) -> None:
    if scope.kind not in ("subscription", "resource_group"):
        raise arm_error(
            400,
            "InvalidScope",
            f"Registration {what} exist at a subscription or a resource group, not at '{scope.display}'.",
        )


def list_registration_assignments(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope
) -> web.Response:
    _check_scope(scope, "assignments")
    tenants = managed_by_filter(request)
    require(caller, READ_ASSIGNMENTS, scope)
    expand, eligible = _expand(request), _with_eligible(request)
    items = [
        registration_assignment_json(sim, caller.tenant, d, expand=expand, eligible=eligible)
        for d in _at(caller, scope, assigned_only=True)
        if tenants is None or d.managed_by in tenants
    ]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


def get_registration_assignment(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope, name: str
) -> web.Response:
    _check_scope(scope, "assignments")
    require(caller, READ_ASSIGNMENTS, scope)
    for d in _at(caller, scope, assigned_only=True):
        if d.assignment_id == name.lower() and d.scope.lower() == scope.key:
            body = registration_assignment_json(
                sim, caller.tenant, d, expand=_expand(request), eligible=_with_eligible(request)
            )
            return json_response(200, body)
    raise arm_error(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.ManagedServices/registrationAssignments/{name}' under scope "
        f"'{scope.display}' was not found.",
    )


def list_registration_definitions(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope
) -> web.Response:
    _check_scope(scope, "definitions")
    tenants = managed_by_filter(request)
    require(caller, READ_DEFINITIONS, scope)
    eligible = _with_eligible(request)
    items = [
        registration_definition_json(sim, caller.tenant, d, eligible=eligible)
        for d in _at(caller, scope, assigned_only=False)
        if tenants is None or d.managed_by in tenants
    ]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


def get_registration_definition(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope, name: str
) -> web.Response:
    _check_scope(scope, "definitions")
    require(caller, READ_DEFINITIONS, scope)
    for d in _at(caller, scope, assigned_only=False):
        if d.definition_id == name.lower():
            body = registration_definition_json(sim, caller.tenant, d, eligible=_with_eligible(request))
            return json_response(200, body)
    raise arm_error(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.ManagedServices/registrationDefinitions/{name}' under scope "
        f"'{scope.display}' was not found.",
    )
