"""From findings to a plan of link changes: one action per (tenant, identity). Pure: no I/O.

The safe actions are planned by default (create where `link_missing`, move a previous partner id
to the current one); the risky ones only behind their flag, because the link they touch may be
legitimate (a foreign id can be the customer's other partner; a delete loses credit if the
registry is wrong). An action a flag would enable is kept as `held`, so the user sees what the
flag would do.

The plan is also a file (`--plan-out`), read back by `--apply PLAN.json`: `plan_to_json` and
`plan_from_json` are its only reader and writer, and a bad file is a `PlanFileError` naming the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, cast

from pal_audit.model import Finding, IdentitySnapshot, Status, TenantSnapshot

ActionKind = Literal["create", "update", "delete"]
Flag = Literal["--overwrite-foreign", "--delete-excluded", "--delete-stale"]
PLAN_VERSION = 1
KINDS: tuple[ActionKind, ...] = ("create", "update", "delete")


@dataclass(frozen=True)
class FixFlags:
    """The risky action kinds the user allowed."""

    overwrite_foreign: bool = False
    delete_excluded: bool = False
    delete_stale: bool = False

    def allows(self, flags: Iterable[str]) -> bool:
        given = {"--overwrite-foreign": self.overwrite_foreign, "--delete-excluded": self.delete_excluded,
                 "--delete-stale": self.delete_stale}
        return all(given[f] for f in flags)


@dataclass(frozen=True)
class LinkAction:
    """One change of one identity's own link in one tenant, and the finding that asks for it."""

    tenant_id: str
    tenant_name: str
    identity: str               # registry identity name
    principal_id: str           # its object id in that tenant, as the audit saw it
    kind: ActionKind
    before: str | None          # partner id linked when planned; None = no link
    after: str | None           # partner id wanted; None = no link (delete)
    check_id: str
    finding_id: str
    needs: tuple[Flag, ...] = ()   # flags that must be given for it to be applied

    @property
    def key(self) -> tuple[str, str]:
        return self.tenant_id, self.identity


@dataclass(frozen=True)
class Plan:
    partner_id: str
    actions: tuple[LinkAction, ...] = ()     # will be applied
    held: tuple[LinkAction, ...] = ()        # would be applied with the flags in `needs`
    flags: FixFlags = field(default_factory=FixFlags)


class PlanFileError(ValueError):
    """A plan file that cannot be applied; the message names the file and the key."""


def _candidate(tenant: TenantSnapshot, who: IdentitySnapshot, finding: Finding,
               partner_id: str) -> LinkAction | None:
    """The action a finding asks for, or None when it asks for no link change."""
    before = who.link.partner_id if who.link is not None else None
    kind: ActionKind
    after: str | None
    needs: tuple[Flag, ...]
    check = finding.check_id
    if check == "link_missing" and before is None:
        kind, after, needs = "create", partner_id, ()
    elif check == "link_previous_partner_id" and before is not None:
        kind, after, needs = "update", partner_id, ()
    elif check == "link_foreign_partner" and before is not None:
        if tenant.expect_link:
            kind, after, needs = "update", partner_id, ("--overwrite-foreign",)
        else:   # someone else's link on a tenant that must carry none: both risks at once
            kind, after, needs = "delete", None, ("--overwrite-foreign", "--delete-excluded")
    elif check == "link_on_excluded_tenant" and before is not None:
        kind, after, needs = "delete", None, ("--delete-excluded",)
    elif check == "link_without_access" and before is not None:
        kind, after, needs = "delete", None, ("--delete-stale",)
    else:
        return None
    return LinkAction(tenant_id=tenant.tenant_id, tenant_name=tenant.name, identity=who.identity,
                      principal_id=who.principal_id or finding.principal_id, kind=kind, before=before,
                      after=after, check_id=check, finding_id=finding.finding_id, needs=needs)


def plan_fixes(results: Iterable[tuple[TenantSnapshot, Sequence[Finding]]], partner_id: str,
               flags: FixFlags = FixFlags()) -> Plan:
    """One action per (tenant, identity) from the open findings of an audit.

    Only evidence plans an action: a unit that failed (or a finding that is suppressed) plans
    nothing. When two findings ask for different changes of one link (a previous id on an
    identity without access: update or delete), an allowed action wins over a held one, and
    among allowed ones the delete wins (see `_ORDER`).
    """
    actions: list[LinkAction] = []
    held: list[LinkAction] = []
    for tenant, findings in results:
        units = {i.identity: i for i in tenant.identities if i.ok and i.principal_id}
        per_unit: dict[str, list[LinkAction]] = {}
        for f in findings:
            who = units.get(f.identity)
            if f.status != Status.OPEN or who is None:
                continue
            action = _candidate(tenant, who, f, partner_id)
            if action is not None:
                per_unit.setdefault(who.identity, []).append(action)
        for identity in sorted(per_unit):
            candidates = sorted(per_unit[identity], key=lambda a: _ORDER.index(a.check_id))
            allowed = [a for a in candidates if flags.allows(a.needs)]
            if allowed:
                actions.append(allowed[0])
            else:
                held.append(candidates[0])
    order = lambda a: (a.tenant_name, a.tenant_id, a.identity)  # noqa: E731
    return Plan(partner_id, tuple(sorted(actions, key=order)), tuple(sorted(held, key=order)), flags)


# Which change wins when two findings ask about one link: a delete the user allowed (a previous id
# on an identity without access) before the update that would keep a link earning nothing.
_ORDER = ("link_missing", "link_without_access", "link_on_excluded_tenant", "link_foreign_partner",
          "link_previous_partner_id")


# ---------------------------------------------------------------- the plan file


def plan_to_json(plan: Plan) -> str:
    return json.dumps({
        "version": PLAN_VERSION, "partner_id": plan.partner_id, "flags": asdict(plan.flags),
        "actions": [_action_dict(a) for a in plan.actions],
        "held": [_action_dict(a) for a in plan.held],
    }, indent=2) + "\n"


def _action_dict(a: LinkAction) -> dict[str, object]:
    d = asdict(a)
    d["needs"] = list(a.needs)
    return d


_TEXT_FIELDS = ("tenant_id", "tenant_name", "identity", "principal_id", "check_id", "finding_id")


def plan_from_json(text: str, source: str) -> Plan:
    """Read a plan file written by `plan_to_json`; PlanFileError names the file and the key."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PlanFileError(f"{source}: not a JSON plan file ({exc})") from None
    if not isinstance(data, dict):
        raise PlanFileError(f"{source}: a plan file is a JSON object")
    if data.get("version") != PLAN_VERSION:
        raise PlanFileError(f"{source}: version: expected {PLAN_VERSION}, got {data.get('version')!r}")
    partner_id = data.get("partner_id")
    if not isinstance(partner_id, str) or not partner_id:
        raise PlanFileError(f"{source}: partner_id: missing or not a string")
    flags_raw = data.get("flags", {})
    if not isinstance(flags_raw, dict) or not all(isinstance(v, bool) for v in flags_raw.values()):
        raise PlanFileError(f"{source}: flags: an object of true/false values")
    try:
        flags = FixFlags(**flags_raw)
    except TypeError:
        raise PlanFileError(f"{source}: flags: unknown key (known: overwrite_foreign, delete_excluded, "
                            "delete_stale)") from None
    return Plan(partner_id, _actions(data, "actions", source), _actions(data, "held", source), flags)


def _actions(data: dict[str, object], key: str, source: str) -> tuple[LinkAction, ...]:
    items = data.get(key, [])
    if not isinstance(items, list):
        raise PlanFileError(f"{source}: {key}: a list of actions")
    out = []
    for i, item in enumerate(items):
        where = f"{source}: {key}[{i}]"
        if not isinstance(item, dict):
            raise PlanFileError(f"{where}: an object")
        for name in _TEXT_FIELDS:
            if not isinstance(item.get(name), str) or not item[name]:
                raise PlanFileError(f"{where}.{name}: missing or not a string")
        kind = item.get("kind")
        if kind not in KINDS:
            raise PlanFileError(f"{where}.kind: one of {', '.join(KINDS)}, got {kind!r}")
        for name in ("before", "after"):
            if item.get(name) is not None and not isinstance(item.get(name), str):
                raise PlanFileError(f"{where}.{name}: a partner id string or null")
        before, after = item.get("before"), item.get("after")
        if (kind == "create") != (before is None) or (kind == "delete") != (after is None):
            raise PlanFileError(f"{where}: a {kind} needs "
                                + {"create": "before null and after set", "update": "before and after set",
                                   "delete": "before set and after null"}[kind])
        needs = item.get("needs", [])
        if not isinstance(needs, list) or any(n not in _FLAGS for n in needs):
            raise PlanFileError(f"{where}.needs: a list of {', '.join(_FLAGS)}")
        out.append(LinkAction(
            **{n: item[n] for n in _TEXT_FIELDS}, kind=cast("ActionKind", kind),
            before=cast("str | None", before), after=cast("str | None", after),
            needs=tuple(cast("list[Flag]", needs))))
    return tuple(out)


_FLAGS: tuple[Flag, ...] = ("--overwrite-foreign", "--delete-excluded", "--delete-stale")
