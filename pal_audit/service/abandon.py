"""`abandon_tenants`: what a run that cannot go on does with the tenants it claimed but will not audit.

A run that claimed tenants and then failed (its queue messages could not all be sent, or the CLI's
`--store tables` scan stopped part-way) must neither hold those tenants until their claims expire
nor stay `running` forever. Each such tenant is recorded as failed in the run with a tenant-level
`audit_error` (reason `unexpected`), as the poison queue records a crash: the failure shows in the
findings, the tenant status, the run's counts and the alerts; it resolves nothing; it releases the
claim; and the run completes once its other tenants are done. A run that was never recorded (its
header is missing) only gives the claims back. When storage fails here too, the tenant stays held
until CLAIM_TTL (pal_audit/store/tenant_status.py), and the error log names it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pal_audit.service.hooks import NO_HOOKS, Hooks
from pal_audit.service.tenant import store_tenant_result
from pal_audit.store import Store

if TYPE_CHECKING:
    from pal_audit.registry import Registry

log = logging.getLogger("pal_audit.service")
_CONCURRENCY = 16


async def abandon_tenants(store: Store, registry: Registry, run_id: str, tenant_ids: Iterable[str], why: str,
                          *, hooks: Hooks = NO_HOOKS) -> list[str]:
    """Fail (or, without a run, release) each tenant; returns those still held because storage failed."""
    from pal_audit.audit import failed_tenant_result

    tenant_ids = list(tenant_ids)
    if not tenant_ids:
        return []
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def give_back(tid: str) -> str | None:
        async with limit:
            try:
                run, state = await store.runs.tenant_state(run_id, tid)
                if run is not None and state == "queued":
                    result = failed_tenant_result(registry, tid, "unexpected", why)
                    await store_tenant_result(store, run_id, result, hooks=hooks)   # releases the claim
                else:
                    await store.status.release(tid, run_id)
                return None
            except Exception:
                log.exception("run %s: could not give tenant %s back", run_id, tid)
            try:
                await store.status.release(tid, run_id)
            except Exception:
                return tid
            return None

    held = [t for t in await asyncio.gather(*(give_back(t) for t in tenant_ids)) if t]
    log.error("run %s: %d tenant(s) not audited (%s); given back%s", run_id, len(tenant_ids), why,
              f", except {held}: held until their claims expire" if held else "")
    return held
