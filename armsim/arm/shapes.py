"""The JSON bodies armsim's ARM returns: tenants, subscriptions, resource groups, role assignments,
role definitions, eligibility schedule instances, Partner Admin Links, PAL operations and
Lighthouse registration definitions and assignments."""

from __future__ import annotations

from typing import Any

from armsim.builtin_roles import Role
from armsim.directory import LinkRecord, Scope, TenantView, parse_scope
from armsim.estate.model import Assignment, Authorization, Delegation, Tenant
from armsim.state import SimulatorState
from armsim.wire import iso

CREATED = "2026-01-01T00:00:00.0000000Z"  # estate objects carry one fixed, documented timestamp


# -- tenants, subscriptions, resource groups ----------------------------------------------------


def tenant_json(t: Tenant, category: str = "Home") -> dict[str, Any]:
    """A tenant as `GET /tenants` lists it: the caller's own ("Home") or a Lighthouse customer
    projected into it ("ProjectedBy")."""
    return {
        "id": f"/tenants/{t.tenant_id}",
        "tenantId": t.tenant_id,
        "countryCode": "US",
        "displayName": t.name,
        "domains": [t.default_domain],
        "tenantCategory": category,
        "defaultDomain": t.default_domain,
        "tenantType": "AAD",
    }


def subscription_json(tv: TenantView, sid: str) -> dict[str, Any]:
    s = tv.subscriptions[sid]
    return {
        "id": f"/subscriptions/{sid}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [{"tenantId": t} for t in tv.managed_by_tenants(sid)],
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


def resource_group_json(sid: str, rg: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sid}/resourceGroups/{rg}",
        "name": rg,
        "type": "Microsoft.Resources/resourceGroups",
        "location": "westeurope",
        "properties": {"provisioningState": "Succeeded"},
    }


# -- Microsoft.Authorization --------------------------------------------------------------------


def _scope_path(scope: str) -> str:
    return "" if scope == "/" else scope


def _role_definition_id(role_id: str, sid: str | None) -> str:
    prefix = f"/subscriptions/{sid}" if sid else ""
    return f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"


def _own_subscription(scope: str) -> str | None:
    parts = scope.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "subscriptions" else None


def assignment_json(tv: TenantView, a: Assignment, listing: Scope) -> dict[str, Any]:
    # The optional strings (condition, conditionVersion, description, createdBy, updatedBy,
    # delegatedManagedIdentityResourceId) are left out: an estate assignment has none of them.
    sid = _own_subscription(a.scope) or listing.subscription_id
    return {
        "properties": {
            "roleDefinitionId": _role_definition_id(a.role_id, sid),
            "principalId": a.principal_id,
            "principalType": tv.principals[a.principal_id].type,
            "scope": a.scope,
            "createdOn": _started(a),
            "updatedOn": _started(a),
        },
        "id": f"{_scope_path(a.scope)}/providers/Microsoft.Authorization/roleAssignments/{a.assignment_id}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": a.assignment_id,
    }


def _started(a: Assignment) -> str:
    return iso(a.start) if a.start else CREATED


def definition_json(role: Role, sid: str | None) -> dict[str, Any]:
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


_SCOPE_TYPES = {
    "root": "root",
    "management_group": "managementgroup",
    "subscription": "subscription",
    "resource_group": "resourcegroup",
    "resource": "resource",
}


def _scope_display_name(tv: TenantView, scope: str) -> str:
    """What PIM shows for a scope: a subscription's or group's name, the tenant root group's title."""
    parsed = parse_scope(_scope_path(scope))
    if parsed is None or parsed.kind == "root":
        return "Root"
    if parsed.kind == "subscription" and parsed.subscription_id in tv.subscriptions:
        return tv.subscriptions[parsed.subscription_id].name
    if parsed.kind == "management_group" and (parsed.management_group or "").lower() == tv.tenant.tenant_id:
        return "Tenant Root Group"
    return scope.rsplit("/", 1)[-1]


def _schedule_properties(tv: TenantView, a: Assignment, member: str, rd_id: str) -> dict[str, Any]:
    """The properties PIM's eligibility and assignment schedule instances share."""
    role = tv.role(a.role_id)
    principal = tv.principals[a.principal_id]
    parsed = parse_scope(_scope_path(a.scope))
    who: dict[str, Any] = {"id": principal.object_id, "displayName": principal.name, "type": principal.type}
    props: dict[str, Any] = {
        "scope": a.scope,
        "roleDefinitionId": rd_id,
        "principalId": a.principal_id,
        "principalType": principal.type,
        "status": "Provisioned",
        "startDateTime": _started(a),
        "memberType": member,
        "createdOn": _started(a),
        "expandedProperties": {
            "scope": {
                "id": a.scope,
                "displayName": _scope_display_name(tv, a.scope),
                "type": _SCOPE_TYPES[parsed.kind if parsed else "root"],
            },
            "roleDefinition": {
                "id": rd_id,
                "displayName": role.name if role else a.role_id,
                "type": "BuiltInRole" if role and role.builtin else "CustomRole",
            },
            "principal": who,
        },
    }
    if a.end is not None:  # a permanent schedule has no end date
        props["endDateTime"] = iso(a.end)
    return props


def eligibility_json(tv: TenantView, a: Assignment, member: str, listing: Scope) -> dict[str, Any]:
    # Casing of the id segments and type as in the service's own example responses.
    rd_id = _role_definition_id(a.role_id, _own_subscription(a.scope) or listing.subscription_id)
    base = f"{_scope_path(a.scope)}/providers/Microsoft.Authorization"
    props = _schedule_properties(tv, a, member, rd_id)
    props["roleEligibilityScheduleId"] = f"{base}/RoleEligibilitySchedules/{a.assignment_id}"
    return {
        "properties": props,
        "name": a.assignment_id,
        "id": f"{base}/RoleEligibilityScheduleInstances/{a.assignment_id}",
        "type": "Microsoft.Authorization/RoleEligibilityScheduleInstances",
    }


def assignment_instance_json(tv: TenantView, a: Assignment, member: str, listing: Scope) -> dict[str, Any]:
    """An active role assignment as a PIM assignment schedule instance (permanent or time-bound)."""
    rd_id = _role_definition_id(a.role_id, _own_subscription(a.scope) or listing.subscription_id)
    base = f"{_scope_path(a.scope)}/providers/Microsoft.Authorization"
    props = _schedule_properties(tv, a, member, rd_id)
    props["roleAssignmentScheduleId"] = f"{base}/RoleAssignmentSchedules/{a.assignment_id}"
    props["originRoleAssignmentId"] = f"{base}/roleAssignments/{a.assignment_id}"
    props["assignmentType"] = "Assigned"
    return {
        "properties": props,
        "name": a.assignment_id,
        "id": f"{base}/RoleAssignmentScheduleInstances/{a.assignment_id}",
        "type": "Microsoft.Authorization/RoleAssignmentScheduleInstances",
    }


# -- Microsoft.ManagementPartner (PAL) ----------------------------------------------------------


def link_json(sim: SimulatorState, link: LinkRecord) -> dict[str, Any]:
    # As the provider's example responses show it: lower-case id, the singular type
    # `Microsoft.ManagementPartner/partner`, an integer etag and the version as a string.
    pid = link.partner_id
    props: dict[str, Any] = {"partnerId": pid}
    name = sim.directory.partner_name(pid)
    if name is not None:
        props["partnerName"] = name
    return {
        "id": f"/providers/microsoft.managementpartner/partners/{pid}",
        "type": "Microsoft.ManagementPartner/partner",
        "name": pid,
        "etag": link.version,
        "properties": {
            **props,
            "tenantId": link.tenant_id,
            "objectId": link.object_id,
            "version": str(link.version),
            "updatedTime": iso(link.updated),
            "createdTime": iso(link.created),
            "state": "Active",
        },
    }


_PAL_OPERATIONS = [
    ("Microsoft.ManagementPartner/partners/read", "Read All ManagementPartner"),
    ("Microsoft.ManagementPartner/partners/write", "Create any ManagementPartner"),
    ("Microsoft.ManagementPartner/partners/action", "Update any ManagementPartner"),
    ("Microsoft.ManagementPartner/partners/delete", "Delete any ManagementPartner"),
]


def pal_operations_json() -> list[dict[str, Any]]:
    return [
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


# -- Microsoft.ManagedServices (Azure Lighthouse) -----------------------------------------------

_MS = "providers/Microsoft.ManagedServices"


def registration_definition_json(
    sim: SimulatorState, tv: TenantView, d: Delegation, *, eligible: bool = True
) -> dict[str, Any]:
    """A delegation's registration definition; it lives at subscription level even when its
    assignment is at a resource group. `roleDefinitionId` is a bare role GUID, as Azure returns it."""
    managing = sim.directory.tenants[d.managed_by]

    def who(a: Authorization) -> dict[str, Any]:
        p = managing.principals.get(a.principal_id)
        shown = a.display_name or (p.name if p else a.principal_id)
        return {"principalId": a.principal_id, "principalIdDisplayName": shown, "roleDefinitionId": a.role_id}

    props: dict[str, Any] = {
        "description": d.name,
        "authorizations": [who(a) for a in d.authorizations],
    }
    if eligible:  # api-versions before 2020-02-01-preview have no just-in-time authorizations
        props["eligibleAuthorizations"] = [
            {
                **who(a),
                "justInTimeAccessPolicy": {
                    "multiFactorAuthProvider": "None",
                    "maximumActivationDuration": a.max_activation or "PT8H",
                    "managedByTenantApprovers": [],
                },
            }
            for a in d.eligible_authorizations
        ]
    props |= {
        "registrationDefinitionName": d.name,
        "provisioningState": "Succeeded",
        "manageeTenantId": tv.tenant.tenant_id,
        "manageeTenantName": tv.tenant.name,
        "managedByTenantId": d.managed_by,
        "managedByTenantName": managing.tenant.name,
    }
    return {
        "properties": props,
        "id": registration_definition_id(d),
        "type": "Microsoft.ManagedServices/registrationDefinitions",
        "name": d.definition_id,
    }


def registration_definition_id(d: Delegation) -> str:
    return f"/subscriptions/{d.subscription_id}/{_MS}/registrationDefinitions/{d.definition_id}"


def registration_assignment_json(
    sim: SimulatorState, tv: TenantView, d: Delegation, *, expand: bool, eligible: bool = True
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "registrationDefinitionId": registration_definition_id(d),
        "provisioningState": d.state,
    }
    if expand:
        props["registrationDefinition"] = registration_definition_json(sim, tv, d, eligible=eligible)
    return {
        "properties": props,
        "id": f"{d.scope}/{_MS}/registrationAssignments/{d.assignment_id}",
        "type": "Microsoft.ManagedServices/registrationAssignments",
        "name": d.assignment_id,
    }
