"""(tenant, identity) -> IdentitySnapshot, through the real async Azure SDK clients (docs/collection.md).

Per identity: its token (for oid/tid), its own link, the subscriptions it sees, then per
subscription its active assignments (assignedTo: transitive through groups, inherited from
management groups), its PIM eligibility and its assignment schedule instances (the end dates of
time-bound active assignments). Identities holding only resource-group roles are
refused at subscription scope; they are audited per visible resource group instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar, cast

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
    map_error,
)

from pal_audit.checks.role_rules import PEC_TABLE
from pal_audit.engine.budget import BudgetedRetryPolicy
from pal_audit.engine.credentials import token_claims
from pal_audit.engine.errors import AssignmentsUnreadable, WrongTenant
from pal_audit.engine.failures import classify
from pal_audit.engine.pipeline import client_policies
from pal_audit.engine.role_definitions import RoleDefinitionCache
from pal_audit.model import ErrorReason, IdentitySnapshot, Link, RoleAssignment, RoleDefinition, Unknown
from pal_audit.registry.clouds import Cloud

if TYPE_CHECKING:  # the SDK modules are imported when a client is first built (cold start stays light)
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.core.pipeline.policies import AsyncHTTPPolicy
    from azure.core.rest import AsyncHttpResponse, HttpRequest
    from azure.mgmt.authorization.aio import AuthorizationManagementClient
    from azure.mgmt.managementpartner.aio import ACEProvisioningManagementPartnerAPI
    from azure.mgmt.resource.resources.aio import ResourceManagementClient
    from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

    from pal_audit.engine.credentials import Transport
    from pal_audit.engine.pipeline import Policy

_T = TypeVar("_T")


class _Closable(Protocol):
    async def close(self) -> None: ...


_Client = TypeVar("_Client", bound=_Closable)


def _subscription_of(scope: str) -> str | None:
    parts = scope.split("/")
    return parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else None


def role_guid(role_definition_id: str) -> str:
    """Real roleDefinitionId values carry a subscription prefix; the trailing GUID is the key."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


# The api versions of the lists read as raw JSON (those the SDK clients' operations use).
ROLE_ASSIGNMENTS_API = "2022-04-01"
SUBSCRIPTIONS_API = "2022-12-01"    # azure-mgmt-resource-subscriptions 1.0.0's
PIM_API = "2020-10-01"

# What the generated operations map statuses to before raising HttpResponseError.
_ERROR_MAP: dict[int, type[HttpResponseError]] = {
    401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError,
    304: ResourceNotModifiedError}

JsonObject = dict[str, Any]


def _datetime(value: object) -> datetime | None:
    # What the SDK's model deserializer makes of an ISO 8601 date-time (microseconds at most).
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _props(item: JsonObject) -> JsonObject:
    props = item.get("properties")
    return props if isinstance(props, dict) else {}


def _assignment(item: JsonObject) -> RoleAssignment:
    # A role assignment or a PIM eligibility instance, as ARM's JSON.
    p = _props(item)
    return RoleAssignment(
        assignment_id=item["id"],
        scope=p.get("scope") or "",
        role_id=role_guid(p["roleDefinitionId"]),
        principal_id=(p.get("principalId") or "").lower(),
        principal_type=str(p.get("principalType") or ""),
        # Eligibility instances carry their end; role assignments never do (schedules say it).
        end=_datetime(p.get("endDateTime")),
    )


async def _collect(pager: AsyncIterable[_T]) -> list[_T]:
    return [item async for item in pager]


async def arm_list(session: ArmSession, path: str, params: dict[str, str]) -> list[JsonObject]:
    """Every item of an ARM list, as JSON: through the SDK pipeline of the session's
    SubscriptionClient (its public send_request: auth, retry, the unit's policies), following
    nextLink, without building an SDK model per item (most of a unit's CPU went there)."""
    from azure.core.rest import HttpRequest

    client = session.raw_lists()
    request = HttpRequest("GET", path, params=params)
    items: list[JsonObject] = []
    while True:
        response = await client.send_request(request)
        if response.status_code != 200:
            from azure.mgmt.core.exceptions import ARMErrorFormat

            map_error(status_code=response.status_code, response=response, error_map=_ERROR_MAP)
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        # The bytes straight to json (response.json() first decodes text, guessing the charset).
        page = json.loads(response.content)
        items += page.get("value") or []
        next_link = page.get("nextLink")
        if not next_link:
            return items
        request = HttpRequest("GET", next_link)   # ARM's nextLink carries the query, api-version included


def _provider_path(scope: str, collection: str) -> str:
    return f"{scope.rstrip('/')}/providers/Microsoft.Authorization/{collection}"


class ClientOptions(TypedDict, total=False):
    """What every SDK client of a unit shares: the run's HTTP transport and the unit's retry policy."""

    transport: Transport
    retry_policy: BudgetedRetryPolicy
    per_retry_policies: list[AsyncHTTPPolicy[HttpRequest, AsyncHttpResponse]]


class _SdkClientOptions(ClientOptions, total=False):
    base_url: str
    credential_scopes: list[str]


class _ClientKwargs(_SdkClientOptions, total=False):
    policies: list[Policy]


class ArmSession:
    """The SDK clients of one signed-in identity, sharing the auditor's HTTP transport.

    Clients are built lazily (an identity that sees no subscription never builds the
    authorization client) and closed together when the unit ends.
    """

    def __init__(self, credential: AsyncTokenCredential, cloud: Cloud, client_kwargs: ClientOptions) -> None:
        self.credential = credential
        self.cloud = cloud
        self._kwargs: _SdkClientOptions = {"base_url": cloud.arm, "credential_scopes": [cloud.scope],
                                           **client_kwargs}
        self._clients: dict[str, _Closable] = {}

    async def close(self) -> None:
        """Close the clients and the credential (the shared transport stays open)."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        await self.credential.close()

    def _client(self, key: str, build: Callable[[], _Client]) -> _Client:
        if key not in self._clients:
            self._clients[key] = build()
        # Each key is only ever built by one getter, so the client under it has that getter's type.
        return cast("_Client", self._clients[key])

    def _options(self, *, decode: bool = True) -> _ClientKwargs:
        """The client keyword arguments, with a lean policy list of its own (engine/pipeline.py)."""
        policies = client_policies(self.credential, self._kwargs["credential_scopes"],
                                   self._kwargs.get("retry_policy"), decode=decode)
        return {**self._kwargs, "policies": policies}

    def partners(self) -> ACEProvisioningManagementPartnerAPI:
        from azure.mgmt.managementpartner.aio import ACEProvisioningManagementPartnerAPI

        return self._client("partner", lambda: ACEProvisioningManagementPartnerAPI(self.credential,
                                                                                   **self._options()))

    def subscriptions(self) -> SubscriptionClient:
        from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

        return self._client("subscriptions", lambda: SubscriptionClient(self.credential, **self._options()))

    def raw_lists(self) -> SubscriptionClient:
        """The client whose send_request reads ARM lists as JSON: no content decoder, since
        `arm_list` parses each page's bytes itself (decoding them twice cost a tenth of the CPU)."""
        from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

        return self._client("raw-lists", lambda: SubscriptionClient(self.credential,
                                                                    **self._options(decode=False)))

    def authorization(self) -> AuthorizationManagementClient:
        from azure.mgmt.authorization.aio import AuthorizationManagementClient

        # Scoped operations (list_for_scope, get_by_id) never use the client's subscription id.
        return self._client("authorization", lambda: AuthorizationManagementClient(
            self.credential, "00000000-0000-0000-0000-000000000000", **self._options()))

    def resources(self, subscription_id: str) -> ResourceManagementClient:
        from azure.mgmt.resource.resources.aio import ResourceManagementClient

        return self._client(f"resources/{subscription_id}", lambda: ResourceManagementClient(
            self.credential, subscription_id, **self._options()))


async def sign_in(session: ArmSession, tenant_id: str) -> str:
    """Get the identity's token (cached for all later calls) and return its object id.

    The token's `tid` must be the tenant we meant: a guest account or a mistyped authority would
    otherwise audit another directory without anyone noticing.
    """
    token = await session.credential.get_token(session.cloud.scope)
    claims = token_claims(token.token)
    oid, tid = claims.get("oid"), str(claims.get("tid", "")).lower()
    if not oid:
        raise ValueError("the access token carries no oid claim")
    if tid != tenant_id.lower():
        raise WrongTenant(tenant_id, tid)
    return str(oid).lower()


async def read_link(session: ArmSession) -> Link | None:
    try:
        partner = await session.partners().partners.get()
    except ResourceNotFoundError:
        return None  # 404 is how "this identity has no link" looks
    if not partner.partner_id:
        return None
    return Link(partner_id=str(partner.partner_id), partner_name=partner.partner_name,
                updated_time=partner.updated_time)


async def list_subscriptions(session: ArmSession) -> tuple[str, ...]:
    subs = await arm_list(session, "/subscriptions", {"api-version": SUBSCRIPTIONS_API})
    return tuple(sorted({str(s["subscriptionId"]).lower() for s in subs if s.get("subscriptionId")}))


async def list_active(session: ArmSession, subscription_id: str, principal_id: str) -> list[RoleAssignment]:
    """Active assignments of `principal_id` that apply to the subscription or anything in it."""
    scope = f"/subscriptions/{subscription_id}"
    params = {"$filter": f"assignedTo('{principal_id}')", "api-version": ROLE_ASSIGNMENTS_API}
    try:
        items = await arm_list(session, _provider_path(scope, "roleAssignments"), params)
    except HttpResponseError as exc:
        if exc.status_code != 403:
            raise
        # No read right at subscription scope: an identity with resource-group roles only.
        groups = await _collect(session.resources(subscription_id).resource_groups.list())
        items = []
        for group in groups:
            rg_scope = f"{scope}/resourceGroups/{group.name}"
            items += await arm_list(session, _provider_path(rg_scope, "roleAssignments"), params)
        if not items:
            # The subscription is visible, so the identity holds some role in it that we cannot
            # read: saying "no access" would be a false finding.
            raise AssignmentsUnreadable(subscription_id) from exc
    return [_assignment(i) for i in items]


async def list_eligible(session: ArmSession) -> list[RoleAssignment] | Unknown:
    """The caller's PIM-eligible assignments anywhere in the tenant; Unknown when PIM cannot be read.

    Listed once at the tenant root with asTarget(): eligibility alone does not make a
    subscription visible, so a per-subscription listing would miss a PIM-only identity.
    """
    try:
        items = await arm_list(session, _provider_path("/", "roleEligibilityScheduleInstances"),
                               {"$filter": "asTarget()", "api-version": PIM_API})
    except HttpResponseError as exc:
        if exc.status_code in (403, 404):  # unknown, not "none" (docs/collection.md)
            reason: ErrorReason = "forbidden" if exc.status_code == 403 else "not_found"
            return Unknown("pim", reason, f"listing PIM eligibility: HTTP {exc.status_code}")
        raise
    return [_assignment(i) for i in items]


class ScheduleEnd:
    """The end date of one active assignment schedule instance, with every key it can match by."""

    def __init__(self, item: JsonObject) -> None:
        p = _props(item)
        self.end: datetime | None = _datetime(p.get("endDateTime"))
        keys = (p.get("originRoleAssignmentId"), _name_of(p.get("roleAssignmentScheduleId")))
        self.keys = {k.lower() for k in keys if k}
        self.triple = ((p.get("scope") or "").lower(), role_guid(p.get("roleDefinitionId") or ""),
                       (p.get("principalId") or "").lower())


def _name_of(resource_id: str | None) -> str | None:
    return resource_id.rstrip("/").rsplit("/", 1)[-1] if resource_id else None


async def list_schedule_ends(session: ArmSession) -> list[ScheduleEnd] | Unknown:
    """The caller's active assignment schedule instances anywhere in the tenant (asTarget()).

    Any failure leaves the end dates unknown rather than failing the unit: the other checks do
    not need them, and unknown is never read as "permanent".
    """
    try:
        items = await arm_list(session, _provider_path("/", "roleAssignmentScheduleInstances"),
                               {"$filter": "asTarget()", "api-version": PIM_API})
    except AzureError as exc:
        error = classify(exc, step="listing role assignment schedules")
        return Unknown("assignment_schedules", error.reason, error.message)
    return [ScheduleEnd(i) for i in items]


def with_end_dates(active: Iterable[RoleAssignment], schedules: list[ScheduleEnd]) -> list[RoleAssignment]:
    """Each active assignment with the end date of its schedule instance.

    Matched by the instance's originRoleAssignmentId, then by the schedule's name (the same GUID
    as the assignment's in Azure), then by (scope, role, principal). Every assignment in effect
    has an instance and a time-bound one always has one with its end, so an assignment matching
    none is permanent.
    """
    by_key: dict[str, datetime | None] = {}
    by_triple: dict[tuple[str, str, str], datetime | None] = {}
    for s in schedules:
        for key in s.keys:
            by_key.setdefault(key, s.end)
        by_triple.setdefault(s.triple, s.end)
    out = []
    for a in active:
        for key in (a.assignment_id.lower(), (_name_of(a.assignment_id) or "").lower()):
            if key in by_key:
                end = by_key[key]
                break
        else:
            end = by_triple.get((a.scope.lower(), a.role_id, a.principal_id))
        out.append(replace(a, end=end))
    return out


async def resolve_roles(session: ArmSession, cache: RoleDefinitionCache, tenant_id: str,
                        seen_in: dict[str, str]) -> tuple[dict[str, RoleDefinition], tuple[Unknown, ...]]:
    """Definitions of the role ids seen (role id -> a subscription it was seen in), and the ones
    that could not be read.

    Built-ins come from the cross-tenant cache; only unseen ids cost a request. A definition that
    cannot be read (any status, 404 included: it may be transient) is an Unknown, except for roles
    in the PEC table, which the checks classify from the table: such a failure changes nothing.
    """
    async def fetch(role_id: str) -> RoleDefinition:
        # Read where it was assigned (custom roles are scoped); at the tenant root otherwise.
        where = f"/subscriptions/{seen_in[role_id]}" if seen_in[role_id] else ""
        definition_id = f"{where}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"
        d = await session.authorization().role_definitions.get_by_id(definition_id)
        perms = (d.permissions or [None])[0]
        return RoleDefinition(
            role_id=role_id, name=d.role_name or role_id, is_custom=(d.role_type or "") != "BuiltInRole",
            actions=tuple(getattr(perms, "actions", None) or ()),
            not_actions=tuple(getattr(perms, "not_actions", None) or ()),
            data_actions=tuple(getattr(perms, "data_actions", None) or ()),
            not_data_actions=tuple(getattr(perms, "not_data_actions", None) or ()),
        )

    roles: dict[str, RoleDefinition] = {}
    unknowns: list[Unknown] = []
    for role_id in sorted(seen_in):
        try:
            roles[role_id] = await cache.get(tenant_id, role_id, partial(fetch, role_id))
        except AzureError as exc:
            if role_id in PEC_TABLE:
                continue
            error = classify(exc, step=f"reading role definition {role_id}")
            unknowns.append(Unknown("role_definitions", error.reason, error.message, role_id))
    return roles, tuple(unknowns)


class Step:
    """What a unit is doing right now, so a failure can say where it happened."""

    def __init__(self) -> None:
        self.name = "sign-in"
        self.principal_id: str | None = None    # known once signed in, kept for an audit_error


async def collect_identity(tenant_id: str, identity: str, own: ArmSession, cache: RoleDefinitionCache,
                           *, reader: ArmSession | None = None, step: Step | None = None,
                           parallel: bool = True) -> IdentitySnapshot:
    """Everything the checks need about one identity in one tenant.

    The link is always read as the identity itself (nobody else can read it); assignments are
    listed by `reader` when the registry names one (`assignments_via`, docs/collection.md).
    `parallel=False` makes one call at a time (the `--concurrency 1` baseline).
    """
    step = step or Step()
    oid = step.principal_id = await sign_in(own, tenant_id)
    step.name = "reading its partner link"
    link = await read_link(own)
    lister = reader or own
    if reader is not None:
        step.name = "sign-in of the assignments_via reader"
        await sign_in(reader, tenant_id)
    step.name = "listing subscriptions"
    subscriptions = await list_subscriptions(lister)
    step.name = "listing role assignments, PIM eligibility and assignment schedules"
    if parallel:
        per_subscription, eligible, schedules = await asyncio.gather(
            asyncio.gather(*(list_active(lister, sub, oid) for sub in subscriptions)), list_eligible(own),
            list_schedule_ends(own))
    else:
        per_subscription = [await list_active(lister, sub, oid) for sub in subscriptions]
        eligible = await list_eligible(own)
        schedules = await list_schedule_ends(own)
    active: dict[str, RoleAssignment] = {}
    seen_in: dict[str, str] = {}
    for sub, sub_active in zip(subscriptions, per_subscription, strict=True):
        # An assignment inherited from a management group shows up under every subscription.
        for a in sub_active:
            active.setdefault(a.assignment_id.lower(), a)
            seen_in.setdefault(a.role_id, sub)
    unknowns: list[Unknown] = []
    if isinstance(schedules, Unknown):
        unknowns.append(schedules)
    else:
        active = dict(zip(active.keys(), with_end_dates(active.values(), schedules), strict=True))
    if isinstance(eligible, Unknown):
        unknowns.append(eligible)
    else:
        for a in eligible:
            seen_in.setdefault(a.role_id, _subscription_of(a.scope) or "")
    step.name = "reading role definitions"
    roles, unreadable = await resolve_roles(own if reader is None else reader, cache, tenant_id, seen_in)
    if reader is not None:
        subscriptions = tuple(s for s, found in zip(subscriptions, per_subscription, strict=True) if found)
    return IdentitySnapshot(
        tenant_id=tenant_id, identity=identity, principal_id=oid, link=link,
        subscriptions=subscriptions,
        active=tuple(active.values()),
        eligible=None if isinstance(eligible, Unknown) else tuple(eligible),
        roles=roles,
        unknowns=(*unknowns, *unreadable),
    )
