"""An EstateBuilder's estate served by armsim and audited by the real engine; the demo estate."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from builders import EstateBuilder

from armsim import ArmSimServer, parse_estate
from pal_audit.engine.auditor import Auditor, TenantResult
from pal_audit.registry import Registry
from pal_audit.registry.clouds import resolve_cloud


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


__all__ = ["audit", "audit_demo", "checks_of", "demo_served", "resolve_cloud", "served"]
