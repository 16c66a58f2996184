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

from pal_audit.service.observer import NO_OBSERVER, RunObserver
from pal_audit.service.tenant import store_tenant_result
from pal_audit.store import Store, StoreUnavailable
from pal_audit.store.tables import is_transport_failure

if TYPE_CHECKING:
    from pal_audit.registry import Registry

log = logging.getLogger("pal_audit.service")
_CONCURRENCY = 16


async def abandon_tenants(store: Store, registry: Registry, run_id: str, tenant_ids: Iterable[str], why: str,
                          *, observer: RunObserver = NO_OBSERVER) -> list[str]:
    """Fail (or, without a run, release) each tenant; returns those still held because storage failed."""
    from pal_audit.engine.auditor import failed_tenant_result
    from pal_audit.service.lighthouse import failed_managing_result, managing_ids, store_lighthouse_results

    tenant_ids = list(tenant_ids)
    if not tenant_ids:
        return []
    limit = asyncio.Semaphore(_CONCURRENCY)
    down: list[BaseException] = []         # the first storage failure: no point trying the rest

    async def give_back(tid: str) -> str | None:
        async with limit:
            if down:
                return tid
            try:
                run, state = await store.runs.tenant_state(run_id, tid)
                if run is not None and state == "queued":
                    if tid in managing_ids(registry):
                        failed = failed_managing_result(registry, tid, "unexpected", why)
                        await store_lighthouse_results(store, run_id, tid, [failed], observer=observer)
                    else:
                        result = failed_tenant_result(registry, tid, "unexpected", why)
                        await store_tenant_result(store, run_id, result, observer=observer)  # releases claim
                else:
                    await store.status.release(tid, run_id)
                return None
            except Exception as exc:
                if _storage_down(exc):
                    down.append(exc)
                    return tid
                log.exception("run %s: could not give tenant %s back", run_id, tid)
            try:
                await store.status.release(tid, run_id)
            except Exception as exc:
                if _storage_down(exc):
                    down.append(exc)
                return tid
            return None

    held = sorted(t for t in await asyncio.gather(*(give_back(t) for t in tenant_ids)) if t)
    if down:
        log.error("run %s: storage unavailable (%s); %d of its %d unfinished tenant(s) stay claimed by it "
                  "until a later run finds it dead and takes them over", run_id, _first_line(down[0]),
                  len(held), len(tenant_ids))
    else:
        log.error("run %s: %d tenant(s) not audited (%s); given back%s", run_id, len(tenant_ids), why,
                  f", except {held}: held until their claims expire" if held else "")
    return held


def _storage_down(exc: BaseException) -> bool:
    return isinstance(exc, StoreUnavailable) or is_transport_failure(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
