"""The ARM routing table: which operation a method and path are, and the handler that serves it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol

from aiohttp import web

from armsim.arm import api_versions as av
from armsim.arm.access import Caller, acting_on
from armsim.arm.managed_services import (
    get_registration_assignment,
    get_registration_definition,
    list_registration_assignments,
    list_registration_definitions,
)
from armsim.arm.pal_links import (
    create_link,
    delete_link,
    get_link,
    get_own_link,
    list_pal_operations,
    update_link,
)
from armsim.arm.rbac import (
    get_role_assignment,
    get_role_definition,
    list_assignment_instances,
    list_eligibility_instances,
    list_role_assignments,
    list_role_definitions,
)
from armsim.arm.subscriptions import (
    get_subscription,
    list_resource_groups,
    list_subscriptions,
    list_tenants,
)
from armsim.directory import Scope, parse_scope
from armsim.state import SimulatorState
from armsim.wire import Reply, arm_error, query_lower

AUTHZ = "/providers/microsoft.authorization/"
PAL = "/providers/microsoft.managementpartner/"
MANAGED_SERVICES = "/providers/microsoft.managedservices/"

Handler = Callable[[SimulatorState, web.Request, Caller], web.Response]


@dataclass(frozen=True)
class Route:
    operation: str  # e.g. role_assignments.list; the key in /_armsim/stats
    kind: str  # read | write (deletes count as writes)
    subscription_id: str | None  # set when the path is inside a subscription
    handler: Handler
    api_versions: av.ApiVersions = av.RESOURCE_MANAGER


def _checking_api_version(r: Route) -> Route:
    """`r` whose handler first answers an unsupported api-version with ARM's 400, then acts for
    the caller in the subscription's own tenant (a Lighthouse-delegated one: the customer's)."""
    inner = r.handler

    def handler(sim: SimulatorState, request: web.Request, caller: Caller) -> web.Response:
        given = query_lower(request).get("api-version")
        if given is None:
            raise av.missing_api_version()
        r.api_versions.check(given)
        return inner(sim, request, acting_on(sim, caller, r.subscription_id))

    return replace(r, handler=handler)


def route(method: str, path: str) -> Route:
    """Which operation a request is, or a 404/405 ARM error."""
    low = path.lower().rstrip("/")
    parts = low.split("/")
    found = _route_table(method, path, low, parts)
    if found is None:
        raise arm_error(404, "NotFound", f"armsim has no ARM route for {method} {path}.")
    return _checking_api_version(found)


class _ListAtScope(Protocol):
    def __call__(
        self, sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope
    ) -> web.Response: ...


class _GetAtScope(Protocol):
    def __call__(
        self, sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope, name: str
    ) -> web.Response: ...


# Microsoft.Authorization collections at any scope: lower-case collection -> (operation, handler, versions)
_AUTHZ_LISTS: dict[str, tuple[str, _ListAtScope, av.ApiVersions]] = {
    "roleassignments": ("role_assignments.list", list_role_assignments, av.ROLE_ASSIGNMENTS),
    "roledefinitions": ("role_definitions.list", list_role_definitions, av.ROLE_DEFINITIONS),
    "roleeligibilityscheduleinstances": (
        "role_eligibility_schedule_instances.list",
        list_eligibility_instances,
        av.ELIGIBILITY_INSTANCES,
    ),
    "roleassignmentscheduleinstances": (
        "role_assignment_schedule_instances.list",
        list_assignment_instances,
        av.ASSIGNMENT_INSTANCES,
    ),
}
_AUTHZ_ITEMS: dict[str, tuple[str, _GetAtScope, av.ApiVersions]] = {
    "roleassignments": ("role_assignments.get", get_role_assignment, av.ROLE_ASSIGNMENTS),
    "roledefinitions": ("role_definitions.get", get_role_definition, av.ROLE_DEFINITIONS),
}

# Microsoft.ManagedServices (Lighthouse) collections at a subscription or resource group.
_MS_LISTS: dict[str, tuple[str, _ListAtScope, av.ApiVersions]] = {
    "registrationassignments": (
        "registration_assignments.list",
        list_registration_assignments,
        av.REGISTRATION_ASSIGNMENTS,
    ),
    "registrationdefinitions": (
        "registration_definitions.list",
        list_registration_definitions,
        av.REGISTRATION_DEFINITIONS,
    ),
}
_MS_ITEMS: dict[str, tuple[str, _GetAtScope, av.ApiVersions]] = {
    "registrationassignments": (
        "registration_assignments.get",
        get_registration_assignment,
        av.REGISTRATION_ASSIGNMENTS,
    ),
    "registrationdefinitions": (
        "registration_definitions.get",
        get_registration_definition,
        av.REGISTRATION_DEFINITIONS,
    ),
}


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
    provider, lists, items = AUTHZ, _AUTHZ_LISTS, _AUTHZ_ITEMS
    at = low.rfind(AUTHZ)
    if at < 0:
        provider, lists, items = MANAGED_SERVICES, _MS_LISTS, _MS_ITEMS
        at = low.rfind(MANAGED_SERVICES)
    if at < 0:
        return None
    scope = parse_scope(path[:at])
    rest = path[at + len(provider) :].rstrip("/").split("/")
    if scope is None or len(rest) > 2:
        return None
    collection = rest[0].lower()
    name = rest[1] if len(rest) == 2 else None
    if name is None:
        listing = lists.get(collection)
        if listing is None:
            return None
        op, list_fn, versions = listing
        handler: Handler = partial(list_fn, scope=scope)
    else:
        item = items.get(collection)
        if item is None:
            return None
        op, get_fn, versions = item
        handler = partial(get_fn, scope=scope, name=name)
    return _get(method, Route(op, "read", scope.subscription_id, handler, versions))


def _pal_route(method: str, path: str, low: str) -> Route | None:
    rest = low[len(PAL) :].split("/")
    if rest == ["operations"]:
        return _get(method, Route("operation.list", "read", None, list_pal_operations, av.PAL_OPERATIONS))
    if rest == ["partners"]:
        return _get(method, Route("partners.get", "read", None, get_own_link, av.PARTNERS))
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
        return Route(op, kind, None, partial(fn, partner_id=partner_id), av.PARTNERS)
    return None


def _get(method: str, r: Route) -> Route:
    if method != "GET":
        raise _method_not_allowed(method, r.operation)
    return r


def _method_not_allowed(method: str, what: str) -> Reply:
    return arm_error(
        405, "MethodNotAllowed", f"The HTTP method '{method}' is not supported for '{what}' in armsim."
    )
