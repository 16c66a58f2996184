"""ARM handlers for tenants, subscriptions and resource groups: what the caller can see, Lighthouse-
delegated customers included."""

from __future__ import annotations

from aiohttp import web

from armsim.arm.access import Caller, forbidden
from armsim.arm.shapes import resource_group_json, subscription_json, tenant_json
from armsim.directory import READ_RESOURCE_GROUPS, TenantView
from armsim.state import SimulatorState
from armsim.wire import arm_error, json_response, page


def list_tenants(sim: SimulatorState, request: web.Request, caller: Caller) -> web.Response:
    # a user sees its home tenant and the tenants where it is a guest; an app only its own tenant;
    # a managing tenant also sees the customers that delegated to it (Lighthouse: "ProjectedBy")
    reachable = sim.directory.tenants_of_user(caller.tenant.tenant.tenant_id, caller.oid)
    items = [tenant_json(tv.tenant) for tv in reachable or [caller.tenant]]
    items += [tenant_json(cv.tenant, "ProjectedBy") for cv, sids in _delegated(sim, caller) if sids]
    return json_response(200, page(request, sim.base_url, items, sim.page_size, next_link_always=True))


def list_subscriptions(sim: SimulatorState, request: web.Request, caller: Caller) -> web.Response:
    tv = caller.tenant
    items = [subscription_json(tv, sid) for sid in tv.subscriptions if tv.sees_subscription(caller.oid, sid)]
    items += [subscription_json(cv, sid) for cv, sids in _delegated(sim, caller) for sid in sids]
    return json_response(200, page(request, sim.base_url, items, sim.page_size, next_link_always=True))


def _delegated(sim: SimulatorState, caller: Caller) -> list[tuple[TenantView, list[str]]]:
    """Customer tenants delegating to the caller's tenant, each with the subscriptions the caller
    reaches through a permanent authorization (its own, or a group's it is in)."""
    return [
        (cv, [sid for sid in cv.subscriptions if cv.sees_subscription(caller.oid, sid)])
        for cv in sim.directory.customers_of(caller.tenant.tenant.tenant_id)
    ]


def get_subscription(sim: SimulatorState, request: web.Request, caller: Caller) -> web.Response:
    sid = request.path.rstrip("/").split("/")[2].lower()
    if not caller.tenant.sees_subscription(caller.oid, sid):
        raise arm_error(404, "SubscriptionNotFound", f"The subscription '{sid}' could not be found.")
    return json_response(200, subscription_json(caller.tenant, sid))


def list_resource_groups(sim: SimulatorState, request: web.Request, caller: Caller) -> web.Response:
    sid = request.path.split("/")[2].lower()
    tv = caller.tenant
    if not tv.sees_subscription(caller.oid, sid):
        raise forbidden(caller, READ_RESOURCE_GROUPS, f"/subscriptions/{sid}")
    items = [resource_group_json(sid, rg) for rg in tv.visible_resource_groups(caller.oid, sid)]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))
