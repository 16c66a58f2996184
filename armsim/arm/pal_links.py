"""ARM handlers for Microsoft.ManagementPartner: the caller's own Partner Admin Link (read, create,
update, delete) and the provider's operation list."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from armsim.arm.access import Caller
from armsim.arm.shapes import link_json, pal_operations_json
from armsim.directory import LinkRecord
from armsim.state import SimulatorState
from armsim.wire import Reply, arm_error, json_response, page


def _own_link(sim: SimulatorState, caller: Caller) -> tuple[tuple[str, str], LinkRecord | None]:
    key = (caller.tenant.tenant.tenant_id, caller.oid)
    return key, sim.directory.links.get(key)


def _no_link(caller: Caller) -> Reply:
    return arm_error(
        404,
        "NotFound",
        f"No Partner Admin Link exists for object id '{caller.oid}' in tenant "
        f"'{caller.tenant.tenant.tenant_id}'.",
    )


def _known_partner(sim: SimulatorState, partner_id: str) -> None:
    if not partner_id.isdigit() or partner_id not in sim.directory.estate.partners:
        raise arm_error(
            400,
            "BadRequest",
            f"Partner ID '{partner_id}' is not valid. We don't have a record for this partner ID.",
        )


def get_own_link(sim: SimulatorState, request: web.Request, caller: Caller) -> web.Response:
    _, link = _own_link(sim, caller)
    if link is None:
        raise _no_link(caller)
    return json_response(200, link_json(sim, link))


def get_link(sim: SimulatorState, request: web.Request, caller: Caller, *, partner_id: str) -> web.Response:
    _, link = _own_link(sim, caller)
    if link is None or link.partner_id != partner_id:
        raise (
            _no_link(caller)
            if link is None
            else arm_error(404, "NotFound", f"The caller is not linked to partner ID '{partner_id}'.")
        )
    return json_response(200, link_json(sim, link))


def create_link(
    sim: SimulatorState, request: web.Request, caller: Caller, *, partner_id: str
) -> web.Response:
    _known_partner(sim, partner_id)
    key, link = _own_link(sim, caller)
    if link is not None:
        raise arm_error(
            409,
            "Conflict",
            f"A Partner Admin Link to partner ID '{link.partner_id}' already exists "
            "for this principal; update or delete it instead.",
        )
    now = datetime.now(UTC)
    link = sim.directory.links[key] = LinkRecord(partner_id, key[0], key[1], now, now)
    return json_response(200, link_json(sim, link))


def update_link(
    sim: SimulatorState, request: web.Request, caller: Caller, *, partner_id: str
) -> web.Response:
    _known_partner(sim, partner_id)
    _, link = _own_link(sim, caller)
    if link is None:
        raise _no_link(caller)
    link.partner_id, link.updated, link.version = partner_id, datetime.now(UTC), link.version + 1
    return json_response(200, link_json(sim, link))


def delete_link(
    sim: SimulatorState, request: web.Request, caller: Caller, *, partner_id: str
) -> web.Response:
    key, link = _own_link(sim, caller)
    if link is None:
        raise _no_link(caller)
    del sim.directory.links[key]
    return json_response(200, None)


def list_pal_operations(sim: SimulatorState, request: web.Request, caller: Caller) -> web.Response:
    items = pal_operations_json()
    return json_response(200, page(request, sim.base_url, items, sim.page_size))
