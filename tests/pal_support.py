"""Builders for snapshots and findings, and helpers that read Azurite back (tests only)."""

from __future__ import annotations

from typing import Any

from pal_audit.model import AuditError, Finding, IdentitySnapshot, Severity, Status, TenantSnapshot

T1 = "22222222-2222-2222-2222-222222222222"
T2 = "33333333-3333-3333-3333-333333333333"


def snapshot(tenant_id: str = T1, *, ok: dict[str, bool] | None = None,
             tenant_error: bool = False) -> TenantSnapshot:
    """A tenant with identities ops-app and mon-app (both succeeded unless `ok` says otherwise)."""
    ok = {"ops-app": True, "mon-app": True, **(ok or {})}
    idents = tuple(
        IdentitySnapshot(tenant_id, name, principal_id=f"oid-{name}",
                         error=None if good else AuditError("forbidden", f"{name} was refused"))
        for name, good in ok.items())
    return TenantSnapshot(tenant_id, "Fabrikam", True, False, idents,
                          error=AuditError("unexpected", "crashed") if tenant_error else None)


def finding(check_id: str = "link_missing", identity: str = "ops-app", *, tenant_id: str = T1,
            qualifier: str = "", status: Status = Status.OPEN, severity: Severity = Severity.HIGH,
            detail: str = "seen") -> Finding:
    principal = "-" if identity == "-" else f"oid-{identity}"
    return Finding(check_id, severity, tenant_id, principal, identity, f"{check_id} title", detail,
                   "do this", qualifier=qualifier, status=status,
                   suppression="reason (owner, until 2030-01-01)" if status == Status.SUPPRESSED else None)


def table_rows(connection_string: str, table: str) -> list[dict[str, Any]]:
    """Every entity of a table, sorted, without the service's Timestamp/etag (for equality checks)."""
    from azure.data.tables import TableServiceClient

    client = TableServiceClient.from_connection_string(connection_string).get_table_client(table)
    rows = [{k: v for k, v in e.items()} for e in client.list_entities()]
    return sorted(rows, key=lambda r: (r["PartitionKey"], r["RowKey"]))


def all_tables(connection_string: str) -> dict[str, list[dict[str, Any]]]:
    return {t: table_rows(connection_string, t) for t in ("PalFindings", "PalRuns", "PalTenantStatus")}
