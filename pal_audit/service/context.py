"""An invocation's context: `open_context` / `AppContext` (settings, store, registry, auditor, the
run observer it was given), the cached registry, the role-definition caches of the worker and
`tenants_unknown`. What observes the runs is passed in (see `composition.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pal_audit.service.observer import NO_OBSERVER, ObserverFactory, RunObserver, no_observer
from pal_audit.settings import Settings, load_settings
from pal_audit.store import StorageConfig, Store

if TYPE_CHECKING:
    from pal_audit.engine.auditor import Auditor
    from pal_audit.engine.role_definitions import RoleDefinitionCache
    from pal_audit.registry import Registry

# The app root: the folder of function_app.py, where the deployment puts pal_audit/ and the registry.
APP_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AppContext:
    settings: Settings
    store: Store
    observer: RunObserver = NO_OBSERVER     # told about runs (the alerts, when the caller passed them)
    _registry: Registry | None = None

    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = load_registry_cached(self.settings.registry_path)
        return self._registry

    def auditor(self, run_id: str | None = None) -> Auditor:
        """An Auditor for one queue message of `run_id`, or a standalone one (its own pool).

        A message's Auditor borrows the worker's pool, credentials and role caches (`worker.py`):
        call it on the event loop that runs the message.
        """
        # a LighthouseAuditor is an Auditor that can also audit a `lighthouse:` unit
        from pal_audit.engine.lighthouse import LighthouseAuditor as Auditor
        from pal_audit.registry.clouds import cloud_from_setting

        registry = self.registry()
        s = self.settings
        cloud = (cloud_from_setting(s.cloud, base_dir=registry.base_dir) if s.cloud
                 else registry.cloud_config())
        if run_id is None:
            return Auditor(registry, cloud=cloud, concurrency=s.concurrency,
                           unit_budget_seconds=s.unit_budget_seconds,
                           managed_identity_client_id=s.managed_identity_client_id)
        from pal_audit.service.worker import WORKER

        transport = WORKER.transport(cloud, limit=max(20, s.concurrency * 4))
        federated = any(i.auth.method == "federated" for i in registry.identities.values())
        return Auditor(registry, cloud=cloud, concurrency=s.concurrency,
                       unit_budget_seconds=s.unit_budget_seconds,
                       managed_identity_client_id=s.managed_identity_client_id,
                       roles=WORKER.role_cache(cloud.arm, run_id), transport=transport,
                       credential_factory=WORKER.credentials,
                       assertion=WORKER.assertion(cloud, s.managed_identity_client_id) if federated else None)


_registry_cache: dict[str, tuple[float, Registry]] = {}


def role_cache(arm: str, run_id: str) -> RoleDefinitionCache:
    """The role-definition cache every queue message of `run_id` shares in this worker process:
    custom roles per run, built-ins shared across runs for an hour (`worker.py` says why)."""
    from pal_audit.service.worker import WORKER

    return WORKER.role_cache(arm, run_id)


def load_registry_cached(path: str | Path, *, root: Path = APP_ROOT) -> Registry:
    """The registry, re-read only when the file changes (every invocation needs it).

    A relative path is taken from `root` (the app root, as PAL_AUDIT_REGISTRY is documented), not
    from the current directory, which the Functions host does not promise.
    """
    from pal_audit.registry import load_registry

    p = Path(path)
    p = p if p.is_absolute() else root / p
    key, mtime = str(p.resolve()), p.stat().st_mtime if p.exists() else -1.0
    hit = _registry_cache.get(key)
    if hit and hit[0] == mtime:
        return hit[1]
    # Secrets are checked per identity by the audit (a missing one is that unit's audit_error),
    # so one missing secret does not take down every tenant and the HTTP API.
    registry = load_registry(p, check_secrets=False)
    _registry_cache[key] = (mtime, registry)
    return registry


@asynccontextmanager
async def open_context(settings: Settings | None = None, *, observer: ObserverFactory = no_observer,
                       **client_options: Any) -> AsyncIterator[AppContext]:
    """Settings validated, storage clients open and tables created; the registry loads on first use.

    `observer(settings, store)` builds what observes this invocation's runs (default: nothing).
    """
    settings = settings or load_settings()
    config = StorageConfig.from_settings(settings)
    async with Store(config, **client_options) as store:
        await store.ensure_tables()
        yield AppContext(settings, store, observer(settings, store))


def tenants_unknown(registry: Registry, tenant_ids: Iterable[str]) -> list[str]:
    from pal_audit.service.lighthouse import unit_ids

    known = set(unit_ids(registry))     # a managing tenant id rescans its whole `lighthouse:` entry
    return [t for t in tenant_ids if t.lower() not in known]
