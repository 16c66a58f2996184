"""ARM handlers for Microsoft.Authorization: role assignments, role definitions and PIM
eligibility schedule instances, each at any scope."""

from __future__ import annotations

from aiohttp import web

from armsim.arm.access import Caller, assignment_filter, forbidden, require
from armsim.arm.shapes import assignment_instance_json, assignment_json, definition_json, eligibility_json
from armsim.builtin_roles import ALL_BUILTIN_ROLES
from armsim.directory import (
    READ_ASSIGNMENT_INSTANCES,
    READ_ASSIGNMENTS,
    READ_ELIGIBILITY,
    AssignmentFilter,
    FilterError,
    Scope,
    parse_role_definition_filter,
)
from armsim.state import SimulatorState
from armsim.wire import arm_error, json_response, page, query_lower


def list_role_assignments(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope
) -> web.Response:
    f = assignment_filter(request)
    require(caller, READ_ASSIGNMENTS, scope)
    tv = caller.tenant
    found = tv.list_assignments(tv.active, scope.key, f, caller.oid)
    items = [assignment_json(tv, a, scope) for a, _member in found]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


def get_role_assignment(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope, name: str
) -> web.Response:
    require(caller, READ_ASSIGNMENTS, scope)
    tv = caller.tenant
    for p in tv.active:
        if p.assignment.assignment_id == name.lower() and p.key == scope.key:
            return json_response(200, assignment_json(tv, p.assignment, scope))
    raise arm_error(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")


def _definitions_scope_ok(caller: Caller, scope: Scope) -> None:
    # Every built-in role grants roleDefinitions/read; armsim lets any caller of the tenant read them.
    if not caller.tenant.has_scope(scope):
        raise forbidden(caller, "Microsoft.Authorization/roleDefinitions/read", scope.display)


def list_role_definitions(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope
) -> web.Response:
    try:
        f = parse_role_definition_filter(query_lower(request).get("$filter"))
    except FilterError as e:
        raise arm_error(400, "InvalidFilterInQueryString", str(e)) from None
    _definitions_scope_ok(caller, scope)
    roles = [*ALL_BUILTIN_ROLES, *caller.tenant.custom_roles.values()]
    items = [
        definition_json(r, scope.subscription_id)
        for r in roles
        if (f.role_type is None or (f.role_type == "BuiltInRole") == r.builtin)
        and (f.role_name is None or f.role_name == r.name)
    ]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


def get_role_definition(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope, name: str
) -> web.Response:
    _definitions_scope_ok(caller, scope)
    role = caller.tenant.role(name.lower())
    if role is None:
        raise arm_error(
            404,
            "RoleDefinitionDoesNotExist",
            f"The specified role definition with ID '{name}' does not exist.",
        )
    return json_response(200, definition_json(role, scope.subscription_id))


def list_eligibility_instances(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope
) -> web.Response:
    f = _schedule_filter(request, caller, READ_ELIGIBILITY, scope)
    tv = caller.tenant
    found = tv.list_assignments(tv.eligible, scope.key, f, caller.oid)
    items = [eligibility_json(tv, a, member, scope) for a, member in found]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


def list_assignment_instances(
    sim: SimulatorState, request: web.Request, caller: Caller, *, scope: Scope
) -> web.Response:
    """PIM's view of active role assignments: every one in effect, with its end date if time-bound."""
    f = _schedule_filter(request, caller, READ_ASSIGNMENT_INSTANCES, scope)
    tv = caller.tenant
    found = tv.list_assignments(tv.active, scope.key, f, caller.oid)
    items = [assignment_instance_json(tv, a, member, scope) for a, member in found]
    return json_response(200, page(request, sim.base_url, items, sim.page_size))


def _schedule_filter(request: web.Request, caller: Caller, action: str, scope: Scope) -> AssignmentFilter:
    f = assignment_filter(request)
    if f.as_target:
        if not caller.tenant.has_scope(scope):  # anyone may read their own PIM schedules
            raise forbidden(caller, action, scope.display)
    else:
        require(caller, action, scope)
    return f
