"""Azure Resource Manager routes: tenants, subscriptions, resource groups, Microsoft.Authorization
(role assignments, role definitions, PIM eligibility) and Microsoft.ManagementPartner (PAL).

Shapes follow the example responses in Azure/azure-rest-api-specs and what the mgmt SDKs parse;
paths are matched case-insensitively, as ARM matches them.

The server uses three entry points: `authenticate` (who is calling), `route` (which operation the
request is) and `check_subscription_tenant` (the token's tenant owns the subscription). Modules:
`access` (callers and authorization), `routes` (the routing table), `subscriptions`, `rbac` and
`pal_links` (the handlers), `shapes` (the JSON bodies).
"""

from armsim.arm.access import Caller, authenticate, check_subscription_tenant
from armsim.arm.routes import Route, route

__all__ = ["Caller", "Route", "authenticate", "check_subscription_tenant", "route"]
