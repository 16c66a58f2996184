"""Reading the dashboard's inputs: from the Pal* tables (with the registry), or from a scan's JSON.

The imperative shell of the dashboard: three table queries, or one file, reduced to `Inputs`.
A malformed scan file is a `SourceError` naming the file and the key, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pal_audit.dashboard.inputs import (
    CreditInput,
    FindingInput,
    IdentityInput,
    Inputs,
    RunInput,
    TenantInput,
)
from pal_audit.registry import Registry
from pal_audit.store import Store
from pal_audit.store.entities import decode
from pal_audit.store.tenant_status import parse_credit

# Enough history for the trend (the last 30 runs) with nightly runs and a few rescans.
HISTORY = timedelta(days=120)


class SourceError(ValueError):
    """The dashboard's source cannot be read; the message names the file or table and the key."""


def _ok(attempted: datetime | None, succeeded: datetime | None) -> bool:
    return attempted is not None and succeeded is not None and succeeded >= attempted


def _finding(e: Mapping[str, Any]) -> FindingInput:
    return FindingInput(
        finding_id=str(e.get("RowKey") or e.get("finding_id") or ""), check_id=str(e["check_id"]),
        severity=str(e["severity"]), tenant_id=str(e["tenant_id"]),
        principal_id=str(e.get("principal_id", "")),
        identity=str(e.get("identity", "")), title=str(e.get("title", "")), detail=str(e.get("detail", "")),
        remediation=str(e.get("remediation", "")), status=str(e["status"]), first_seen=e.get("first_seen"),
        resolved_at=e.get("resolved_at"), changed_in_run=str(e.get("changed_in_run") or ""),
        change=str(e.get("change") or ""))


def _identity(name: str, row: Mapping[str, Any]) -> IdentityInput:
    """An identity's status row; its credit evidence when the row holds it (rows from before do not)."""
    entries = parse_credit(row.get("credit"))
    link = row.get("link_partner_id")
    return IdentityInput(
        name, str(row.get("principal_id") or ""), _ok(row.get("last_attempted"), row.get("last_succeeded")),
        row.get("last_succeeded"), str(link) if link is not None else None,
        None if entries is None else tuple(
            CreditInput(e["partner_id"], e["role"], e["role_id"], e["scope"], e["since"]) for e in entries),
        row.get("last_verified"))


async def from_store(store: Store, registry: Registry, *, now: datetime | None = None) -> Inputs:
    """The registry's customers with their stored status, every stored finding, the recent runs."""
    now = now or datetime.now(UTC)
    status: dict[str, dict[str, dict[str, Any]]] = {}
    async for entity in store.status.client.list_entities():
        e = decode(entity)
        status.setdefault(e["PartitionKey"], {})[e["RowKey"]] = e
    findings = [_finding(decode(e)) async for e in store.findings.client.list_entities()]
    runs = await store.runs.recent(now - HISTORY)
    tenants = []
    for t in registry.tenants:
        rows = status.get(t.tenant_id, {})
        head = rows.get("-", {})
        identities = [_identity(name, rows.get(name, {})) for name in t.identities]
        tenants.append(TenantInput(t.tenant_id, str(head.get("name") or t.name), t.expect_link,
                                   head.get("last_attempted"), head.get("last_succeeded"),
                                   str(head.get("last_error") or ""), tuple(identities)))
    known = {t.tenant_id for t in registry.tenants}
    return Inputs(
        source="tables", partner_id=registry.partner.partner_id, tenants=tuple(tenants),
        findings=tuple(f for f in findings if f.tenant_id in known),
        runs=tuple(RunInput(r.run_id, r.started, r.finished, r.status, r.total, r.done, r.failed,
                            dict(r.transitions), r.credited)
                  for r in sorted(runs, key=lambda r: (r.started, r.run_id))),  # ids tie within a second
        generated_at=now)


# ---------------------------------------------------------------- a scan's JSON (pal-audit scan -f json)


def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise SourceError(f"{where}: missing key {key!r}")
    value = obj[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SourceError(f"{where}.{key}: expected {names}, got {type(value).__name__}")
    return value


def _time(text: Any, where: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        raise SourceError(f"{where}: not an ISO date and time: {str(text)[:40]!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_scan(body: Any, name: str, *, registry: Registry | None = None,
               now: datetime | None = None) -> Inputs:
    """A `pal-audit scan --format json` report as dashboard inputs (one scan: no trend, no changes)."""
    run = _need(body, "run", dict, name)
    finished = _time(run.get("finished"), f"{name}: run.finished") or _time(
        _need(run, "started", str, f"{name}: run"), f"{name}: run.started")
    expect = {t.tenant_id: t.expect_link for t in registry.tenants} if registry else {}
    tenants = []
    for i, t in enumerate(_need(body, "tenants", list, name)):
        where = f"{name}: tenants[{i}]"
        tid = _need(t, "tenant_id", str, where)
        tenant_ok = _need(t, "status", str, where) == "ok"
        identities = []
        for j, ident in enumerate(_need(t, "identities", list, where)):
            w = f"{where}.identities[{j}]"
            ok = _need(ident, "status", str, w) == "ok"
            link = ident.get("link")
            identities.append(IdentityInput(
                _need(ident, "identity", str, w), str(ident.get("principal_id") or ""), ok,
                finished if ok else None, str(link) if link else ""))
        tenants.append(TenantInput(
            tid, str(t.get("name") or tid), expect.get(tid, True), finished,
            finished if tenant_ok else None, str(t.get("error") or ""), tuple(identities)))
    findings = []
    for i, f in enumerate(_need(body, "findings", list, name)):
        where = f"{name}: findings[{i}]"
        for key in ("check_id", "severity", "tenant_id", "status"):
            _need(f, key, str, where)
        findings.append(_finding(f))
    return Inputs(source=name, partner_id=registry.partner.partner_id if registry else "",
                  tenants=tuple(tenants), findings=tuple(findings), runs=(),
                  generated_at=now or datetime.now(UTC))


def from_scan_file(path: str | Path, *, registry: Registry | None = None,
                   now: datetime | None = None) -> Inputs:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise SourceError(f"{p}: cannot be read ({reason})") from None
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise SourceError(f"{p}: not valid JSON ({exc})") from None
    return parse_scan(body, p.name, registry=registry, now=now)

