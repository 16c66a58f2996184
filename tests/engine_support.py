"""Builders for engine tests: an estate + registry pair served by armsim, audited by the real engine."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from armsim import ArmSimServer, parse_estate
from pal_audit.engine.auditor import Auditor, TenantResult
from pal_audit.registry import Registry, parse_registry
from pal_audit.registry.clouds import resolve_cloud

PARTNER = "1234567"
PREVIOUS = "1234560"
FOREIGN = "7654321"


def guid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "pal-audit-tests/" + "/".join(map(str, parts))))


class EstateBuilder:
    """A small estate and the registry that audits it, built side by side so they cannot disagree."""

    def __init__(self) -> None:
        self.tenants: list[dict[str, Any]] = []
        self.identities: dict[str, dict[str, Any]] = {}
        self.registry_tenants: list[dict[str, Any]] = []
        self.env: dict[str, str] = {}
        self.fail: list[dict[str, Any]] = []
        self.suppressions: list[dict[str, Any]] = []
        self.policy: dict[str, Any] | None = None

    def identity(self, name: str) -> str:
        """Define a registry identity (a multi-tenant app); returns its client id."""
        if name not in self.identities:
            env = name.upper().replace("-", "_") + "_SECRET"
            self.identities[name] = {"kind": "service_principal", "client_id": guid("app", name),
                                     "auth": {"method": "client_secret", "secret_env": env}}
            self.env[env] = f"sim-only-{name}"
        return self.identities[name]["client_id"]

    def tenant(self, name: str, *, subscriptions: int = 1, expect_link: bool = True,
               approval: bool = True, management_groups: list[dict[str, Any]] | None = None,
               **registry_extra: Any) -> dict[str, Any]:
        tid = guid("tenant", name)
        t = {"tenant_id": tid, "name": name, "management_groups": management_groups or [],
             "subscriptions": [{"subscription_id": guid("sub", name, i), "name": f"{name}-{i}",
                                "resource_groups": ["rg-a", "rg-b"]} for i in range(subscriptions)],
             "principals": [], "custom_roles": [], "role_assignments": [], "eligible_assignments": []}
        self.tenants.append(t)
        reg = {"tenant_id": tid, "name": name, "identities": [], "expect_link": expect_link, **registry_extra}
        if approval:
            reg["customer_approval"] = {"by": "it@customer.example", "on": "2026-01-01"}
        self.registry_tenants.append(reg)
        return t

    def sp(self, tenant: dict[str, Any], name: str, *, link: str | None = PARTNER, audited: bool = True,
           enabled: bool = True, member_of: tuple[str, ...] = ()) -> str:
        """A service principal of identity `name` in `tenant`; returns its object id."""
        oid = guid("sp", tenant["name"], name)
        p: dict[str, Any] = {"object_id": oid, "type": "ServicePrincipal", "app_id": self.identity(name),
                             "secret": f"sim-only-{name}", "enabled": enabled, "member_of": list(member_of)}
        if link:
            p["pal"] = {"partner_id": link}
        tenant["principals"].append(p)
        if audited:
            reg = next(r for r in self.registry_tenants if r["tenant_id"] == tenant["tenant_id"])
            reg["identities"].append(name)
        return oid

    def group(self, tenant: dict[str, Any], name: str) -> str:
        oid = guid("group", tenant["name"], name)
        tenant["principals"].append({"object_id": oid, "type": "Group", "name": name})
        return oid

    @staticmethod
    def sub(tenant: dict[str, Any], i: int = 0) -> str:
        return "/subscriptions/" + tenant["subscriptions"][i]["subscription_id"]

    @staticmethod
    def assign(tenant: dict[str, Any], principal: str, role: str, scope: str, *,
               eligible: bool = False) -> None:
        key = "eligible_assignments" if eligible else "role_assignments"
        tenant[key].append({"principal": principal, "role": role, "scope": scope})

    def estate(self) -> dict[str, Any]:
        faults: dict[str, Any] = {"throttle": False}
        if self.fail:
            faults["fail"] = self.fail
        return {"partners": [{"partner_id": PARTNER, "name": "Contoso"},
                             {"partner_id": PREVIOUS, "name": "Contoso (old)"},
                             {"partner_id": FOREIGN, "name": "Northwind Contractors"}],
                "tenants": self.tenants, "faults": faults}

    def registry(self, cloud: dict[str, Any], base_dir: Path) -> Registry:
        data: dict[str, Any] = {
            "partner": {"partner_id": PARTNER, "previous_partner_ids": [PREVIOUS]},
            "cloud": cloud, "identities": self.identities, "tenants": self.registry_tenants,
        }
        if self.suppressions:
            data["suppressions"] = self.suppressions
        if self.policy:
            data["policy"] = self.policy
        return parse_registry(data, env=self.env, base_dir=base_dir)


@contextmanager
def served(builder: EstateBuilder, tmp: Path, **server_kw: Any) -> Iterator[tuple[Registry, Any]]:
    """armsim serving the builder's estate, and the registry pointed at it; yields (registry, server)."""
    server = ArmSimServer(parse_estate(builder.estate()), ca_dir=tmp, **server_kw)
    with server as cloud:
        yield builder.registry(cloud.to_dict(), tmp), server


def audit(registry: Registry, env: dict[str, str], **auditor_kw: Any) -> dict[str, TenantResult]:
    """Run the real engine over every tenant; results by tenant name."""

    async def go() -> dict[str, TenantResult]:
        async with Auditor(registry, env=env, today=auditor_kw.pop("today", date(2026, 11, 27)),
                           **auditor_kw) as auditor:
            return {r.snapshot.name: r async for r in auditor.audit_tenants()}

    return asyncio.run(go())


def checks_of(result: TenantResult, identity: str | None = None) -> list[str]:
    return sorted(f.check_id for f in result.findings if identity is None or f.identity == identity)


# ---------------------------------------------------------------- the demo estate, with scripted faults

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ADATUM = "68b49734-b70d-403b-866b-3aa827a0018a"
WIDE_WORLD = "7ccaa901-c61f-462f-8422-0e931c962909"
PROSEWARE = "d2849169-0a6b-4001-b373-01c69980fbbc"


def demo_estate(fail: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """examples/estate.yaml as data, with `faults.fail` set to `fail`."""
    import yaml

    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "estate.yaml").read_text())
    if fail:
        data["faults"] = {**(data.get("faults") or {}), "fail": fail}
    return data


def demo_env() -> dict[str, str]:
    from pal_support import demo_secrets

    return demo_secrets()


@contextmanager
def demo_served(tmp: Path, fail: list[dict[str, Any]] | None = None) -> Iterator[tuple[Registry, Any]]:
    """armsim serving the demo estate (with `fail` rules); yields examples/registry.yaml and the
    cloud to audit it with."""
    from pal_audit.registry import load_registry

    server = ArmSimServer(parse_estate(demo_estate(fail)), ca_dir=tmp)
    with server as cloud:
        registry = load_registry(EXAMPLES / "registry.yaml", env=demo_env())
        yield registry, resolve_cloud(cloud.to_dict(), base_dir=tmp, where="cloud")


async def audit_demo(served_demo: tuple[Registry, Any], **auditor_kw: Any) -> list[TenantResult]:
    registry, cloud = served_demo
    # Today, not a fixed day: the estate's relative end dates (`end: +5d`) count from armsim's start.
    async with Auditor(registry, cloud=cloud, env=demo_env(), today=datetime.now(UTC).date(),
                       **auditor_kw) as auditor:
        return [r async for r in auditor.audit_tenants()]


__all__ = ["EstateBuilder", "audit", "audit_demo", "checks_of", "demo_served", "guid", "resolve_cloud",
           "served"]
