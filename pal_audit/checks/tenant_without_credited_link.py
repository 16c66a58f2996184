"""tenant_without_credited_link: nothing in the tenant earns the partner credit today."""

from __future__ import annotations

from pal_audit.checks.base import (
    CheckMeta,
    Evidence,
    TenantCheck,
    TenantEvidence,
    Undecided,
    access_of,
    link_text,
    tenant_finding,
)
from pal_audit.checks.remediation import (
    ANY_SUBSCRIPTION,
    ELIGIBLE_ROLE,
    LinkVerb,
    grant_eligible_role,
    link_command,
    link_fix,
)
from pal_audit.model import Finding, PartnerPolicy, Severity

META = CheckMeta(
    check_id="tenant_without_credited_link",
    title="No identity earns PAL credit in the tenant",
    severity=Severity.HIGH,
    scope="tenant",
    description="The tenant expects a link, every identity was audited, and none is linked to the current "
                "partner ID while holding an active PAL-eligible role (one finding per tenant). Not "
                "decided while a linked identity's roles or any identity's audit are unknown.",
    remediation="Make at least one identity linked to the current partner ID hold an active eligible role.",
    needs=frozenset({"link", "active", "role_definitions"}),
)


def _judge(tenant: TenantEvidence, policy: PartnerPolicy) -> list[Finding]:
    if not tenant.expect_link:
        return []
    audited = tenant.audited()
    # One credited identity settles it, whatever else is unknown.
    unsure = False
    for who in audited:
        if who.link is None or who.link.partner_id != policy.partner_id:
            continue
        try:
            if access_of(who, policy).active_eligible:
                return []
        except Undecided:
            unsure = True   # might be the credited one
    if unsure:
        raise Undecided("role_definitions", "a linked identity's roles could not all be classified")
    tenant.require_every_identity()  # an identity we could not audit might be the credited one
    seen = [f"{who.identity}: {link_text(who)}, {_active_text(who, policy)}" for who in audited]
    return [tenant_finding(
        META, tenant,
        detail=f"No identity is linked to {policy.partner_id} with an active PAL-eligible role. Seen: "
               + ("; ".join(seen) if seen else "no identities registered") + ".",
        remediation=_remediation(audited, policy),
    )]


def _active_text(who: Evidence, policy: PartnerPolicy) -> str:
    try:
        held = access_of(who, policy).active_eligible
    except Undecided:
        return "active roles not all classified (a role definition could not be read)"
    return "an active PAL-eligible role" if held else "no active PAL-eligible role"


def _has_active_eligible(who: Evidence, policy: PartnerPolicy) -> bool:
    try:
        return bool(access_of(who, policy).active_eligible)
    except Undecided:
        return False    # only picks the advice; the finding itself never rests on it


def _remediation(audited: list[Evidence], policy: PartnerPolicy) -> str:
    # Prefer the cheapest fix: link an identity that already holds an active eligible role.
    for who in audited:
        if _has_active_eligible(who, policy):
            verb: LinkVerb = "create" if who.link is None else "update"
            return link_fix(who, verb, policy.partner_id) + \
                f": {who.identity} already holds an active PAL-eligible role."
    linked = next((w for w in audited if w.link is not None and policy.is_ours(w.link.partner_id)), None)
    if linked is not None:
        return (f"Ask the customer to grant {linked.identity} an active PAL-eligible role, e.g. "
                f"{grant_eligible_role(linked.principal_id, ANY_SUBSCRIPTION)}, and link it to "
                f"{policy.partner_id} if it is linked to a previous ID.")
    return ("Ask the customer to grant one of the partner's identities an active PAL-eligible role (e.g. "
            f'"{ELIGIBLE_ROLE}" on the managed subscriptions), then run '
            f"`{link_command('create', policy.partner_id)}` signed in as that identity.")


evaluate = TenantCheck(META, _judge)
