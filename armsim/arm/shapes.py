"""The JSON bodies armsim's ARM returns: tenants, subscriptions, resource groups, role assignments,
role definitions, eligibility schedule instances, Partner Admin Links and PAL operations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from armsim.directory import LinkRecord, Scope, TenantView, parse_scope
from armsim.estate_model import Assignment, Tenant
from armsim.roles import Role
from armsim.wire import iso

if TYPE_CHECKING:
    from armsim.server import Simulator

CREATED = "2026-01-01T00:00:00.0000000Z"  # estate objects carry one fixed, documented timestamp


# -- tenants, subscriptions, resource groups ----------------------------------------------------


def tenant_json(t: Tenant) -> dict[str, Any]:
    return {
        "id": f"/tenants/{t.tenant_id}",
        "tenantId": t.tenant_id,
        "countryCode": "US",
        "displayName": t.name,
        "domains": [t.default_domain],
        "tenantCategory": "Home",
        "defaultDomain": t.default_domain,
        "tenantType": "AAD",
    }


def subscription_json(tv: TenantView, sid: str) -> dict[str, Any]:
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


def eligibility_json(tv: TenantView, a: Assignment, member: str, listing: Scope) -> dict[str, Any]:
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


# -- Microsoft.ManagementPartner (PAL) ----------------------------------------------------------


def link_json(sim: Simulator, link: LinkRecord) -> dict[str, Any]:
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
