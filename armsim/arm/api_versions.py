"""Which api-versions each ARM resource type accepts, and the 400 a client gets for any other.

ARM answers an unsupported version in one of two shapes. Resource Manager's own types
(tenants, subscriptions, resource groups) answer `InvalidApiVersionParameter`, listing its
versions newest first, comma-separated. A resource provider's types (Microsoft.Authorization,
Microsoft.ManagementPartner, Microsoft.ManagedServices) answer `NoRegisteredProviderFound`, naming
the type and listing the provider's registered versions oldest first, separated by ", ", followed
by the supported locations (empty for these global types). Every list holds each version the
SDKs, the Azure CLI and pal-audit send, plus the other published ones of the type.

One SDK quirk matters here: azure-mgmt-authorization's multi-API client keeps one api-version in
its configuration, set by the operation group used last, and sends it on every nextLink. A
role-assignment listing that pages while a PIM call is under way therefore asks for its next page
with 2020-10-01, a version Microsoft.Authorization publishes for role assignments too.
"""

from __future__ import annotations

from dataclasses import dataclass

from armsim.wire import Reply, arm_error

# Microsoft.Resources: one list for every Resource Manager route (newest first, as ARM prints it).
_RESOURCES = (
    "2025-04-01", "2025-03-01", "2024-11-01", "2024-08-01", "2024-07-01", "2024-03-01",
    "2023-07-01", "2023-07-01-preview", "2023-03-01-preview", "2022-12-01", "2022-11-01-preview",
    "2022-09-01", "2022-06-01", "2022-05-01", "2022-03-01-preview", "2022-01-01", "2021-04-01",
    "2021-01-01", "2020-10-01", "2020-09-01", "2020-08-01", "2020-07-01", "2020-06-01",
    "2020-05-01", "2020-01-01", "2019-11-01", "2019-10-01", "2019-09-01", "2019-08-01",
    "2019-07-01", "2019-06-01", "2019-05-10", "2019-05-01", "2019-03-01", "2018-11-01",
    "2018-09-01", "2018-08-01", "2018-07-01", "2018-06-01", "2018-05-01", "2018-02-01",
    "2018-01-01", "2017-12-01", "2017-08-01", "2017-06-01", "2017-05-10", "2017-05-01",
    "2017-03-01", "2016-09-01", "2016-07-01", "2016-06-01", "2016-02-01", "2015-11-01",
    "2015-01-01", "2014-04-01-preview", "2014-04-01", "2014-01-01", "2013-03-01", "2014-02-26",
    "2014-04",
)  # fmt: skip

# Microsoft.Authorization, per resource type (oldest first, as the provider registers them).
_ROLE_ASSIGNMENTS = (
    "2014-04-01-preview", "2014-07-01-preview", "2014-10-01-preview", "2015-05-01-preview",
    "2015-06-01", "2015-07-01", "2016-07-01", "2017-05-01", "2017-09-01", "2017-10-01-preview",
    "2018-01-01-preview", "2018-07-01", "2018-09-01-preview", "2018-12-01-preview",
    "2019-04-01-preview", "2020-03-01-preview", "2020-04-01-preview", "2020-08-01-preview",
    "2020-10-01-preview", "2020-10-01", "2021-04-01-preview", "2022-01-01-preview", "2022-04-01",
)  # fmt: skip
_ROLE_DEFINITIONS = (
    "2014-04-01-preview", "2014-07-01-preview", "2014-10-01-preview", "2015-05-01-preview",
    "2015-06-01", "2015-07-01", "2016-07-01", "2017-05-01", "2017-09-01", "2018-01-01-preview",
    "2018-07-01", "2022-04-01", "2022-05-01-preview",
)  # fmt: skip
_PIM_INSTANCES = (
    "2020-10-01-preview", "2020-10-01", "2022-04-01-preview", "2024-02-01-preview", "2024-09-01-preview",
)  # fmt: skip
_MANAGEMENT_PARTNER = ("2018-02-01",)
# Microsoft.ManagedServices (Azure Lighthouse); azure-mgmt-managedservices 6.0.1 defaults to the preview.
_MANAGED_SERVICES = (
    "2018-06-01-preview", "2019-04-01-preview", "2019-06-01", "2019-09-01", "2020-02-01-preview",
    "2022-01-01-preview", "2022-10-01",
)  # fmt: skip


@dataclass(frozen=True)
class ApiVersions:
    """The versions one route accepts; `resource_type` is None for Resource Manager's own routes."""

    versions: tuple[str, ...]
    resource_type: str | None = None

    def check(self, given: str) -> None:
        """Raise the 400 ARM answers when `given` is not a supported version (case-insensitive)."""
        if given.lower() in (v.lower() for v in self.versions):
            return
        if self.resource_type is None:
            raise arm_error(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{given}' is invalid. The supported versions are "
                f"'{','.join(self.versions)}'.",
            )
        raise arm_error(
            400,
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location 'global' and API version '{given}' "
            f"for type '{self.resource_type}'. The supported api-versions are "
            f"'{', '.join(self.versions)}'. The supported locations are ''.",
        )


RESOURCE_MANAGER = ApiVersions(_RESOURCES)
ROLE_ASSIGNMENTS = ApiVersions(_ROLE_ASSIGNMENTS, "roleAssignments")
ROLE_DEFINITIONS = ApiVersions(_ROLE_DEFINITIONS, "roleDefinitions")
ELIGIBILITY_INSTANCES = ApiVersions(_PIM_INSTANCES, "roleEligibilityScheduleInstances")
ASSIGNMENT_INSTANCES = ApiVersions(_PIM_INSTANCES, "roleAssignmentScheduleInstances")
PARTNERS = ApiVersions(_MANAGEMENT_PARTNER, "partners")
PAL_OPERATIONS = ApiVersions(_MANAGEMENT_PARTNER, "operations")
REGISTRATION_ASSIGNMENTS = ApiVersions(_MANAGED_SERVICES, "registrationAssignments")
REGISTRATION_DEFINITIONS = ApiVersions(_MANAGED_SERVICES, "registrationDefinitions")


def missing_api_version() -> Reply:
    return arm_error(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )
