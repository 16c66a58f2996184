"""The Lighthouse estate of the armsim tests (tests/armsim/lighthouse_estate.yaml) audited by the real
engine: a registry for its managing tenant, and helpers to serve, change and audit it."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from armsim import ArmSimServer, parse_estate
from pal_audit.engine.auditor import TenantResult
from pal_audit.engine.lighthouse import LighthouseAuditor
from pal_audit.registry import Registry
from pal_audit.registry.loading import parse_registry

ESTATE = Path(__file__).resolve().parents[1] / "armsim" / "lighthouse_estate.yaml"
PARTNER = "1234567"
CONTOSO = "1d000000-0000-0000-0000-000000000001"
FABRIKAM, TAILSPIN, WOODGROVE, LITWARE, NORTHWIND, ADATUM, PROSEWARE = (
    f"1c000000-0000-0000-0000-00000000000{i}" for i in range(1, 8))
FAB_PROD, FAB_DEV = "1e000000-0000-0000-0000-000000000011", "1e000000-0000-0000-0000-000000000012"
TAIL_PROD, WOOD_PROD, LIT_PROD = (f"1e000000-0000-0000-0000-0000000000{n}1" for n in (2, 3, 4))
ADATUM_PROD = "1e000000-0000-0000-0000-000000000061"
PROSE_PROD, PROSE_DEV = "1e000000-0000-0000-0000-000000000071", "1e000000-0000-0000-0000-000000000072"
AUTOMATION, READER, OPS_USER = (f"1f000000-0000-0000-0000-00000000000{i}" for i in (1, 2, 3))
LH_ADMINS, GROUPED = "1f000000-0000-0000-0000-000000000004", "1f000000-0000-0000-0000-000000000006"
ENV = {"LH_AUTOMATION_SECRET": "automation-secret", "LH_READER_SECRET": "reader-secret",
       "LH_GROUPED_SECRET": "grouped-secret"}


def estate_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ESTATE.read_text())
    return copy.deepcopy(data)


def tenant_of(data: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    return next(t for t in data["tenants"] if t["tenant_id"] == tenant_id)


def principal_of(data: dict[str, Any], object_id: str) -> dict[str, Any]:
    return next(p for p in tenant_of(data, CONTOSO)["principals"] if p["object_id"] == object_id)


def registry_data(cloud: dict[str, Any]) -> dict[str, Any]:
    def sp(app: str, env: str) -> dict[str, Any]:
        return {"kind": "service_principal", "client_id": app,
                "auth": {"method": "client_secret", "secret_env": env}}

    return {
        "partner": {"partner_id": PARTNER},
        "cloud": cloud,
        "identities": {
            "automation-sp": sp("1a000000-0000-0000-0000-000000000001", "LH_AUTOMATION_SECRET"),
            "lh-reader": sp("1a000000-0000-0000-0000-000000000002", "LH_READER_SECRET"),
            "grouped-app": sp("1a000000-0000-0000-0000-000000000006", "LH_GROUPED_SECRET"),
        },
        "lighthouse": [{
            "managing_tenant_id": CONTOSO, "name": "Contoso Managed",
            "identities": ["automation-sp", "grouped-app"], "reader": "lh-reader",
            "customers": [
                {"tenant_id": FABRIKAM, "name": "Fabrikam", "subscriptions": [FAB_PROD, FAB_DEV]},
                {"tenant_id": NORTHWIND, "name": "Northwind"},
                {"tenant_id": ADATUM, "name": "Adatum", "subscriptions": [ADATUM_PROD]},
                {"tenant_id": PROSEWARE, "name": "Proseware", "subscriptions": [PROSE_PROD, PROSE_DEV]},
            ],
        }],
    }


@contextmanager
def served(tmp: Path, data: dict[str, Any] | None = None, page_size: int = 2,
           registry: dict[str, Any] | None = None) -> Iterator[tuple[Registry, Any]]:
    """armsim serving the estate (pages of `page_size`) and the registry pointed at it: (registry, cloud)."""
    server = ArmSimServer(parse_estate(data or estate_data(), source=str(ESTATE)), ca_dir=tmp,
                          page_size=page_size)
    with server as cloud:
        reg = registry or registry_data(cloud.to_dict())
        reg["cloud"] = cloud.to_dict()
        yield parse_registry(reg, env=ENV, base_dir=tmp), cloud


def audit(registry: Registry, **kw: Any) -> dict[str, TenantResult]:
    """Every lighthouse entry through the real engine; results by tenant id."""
    async def go() -> list[TenantResult]:
        async with LighthouseAuditor(registry, env=ENV, today=date(2026, 11, 30), **kw) as auditor:
            return await auditor.audit_lighthouse()

    return {r.snapshot.tenant_id: r for r in asyncio.run(go())}


def found(result: TenantResult) -> list[tuple[str, str]]:
    return sorted((f.check_id, f.qualifier) for f in result.findings)
