"""An invocation's context: `open_context` / `AppContext` (settings, store, registry, auditor, the
run observer it was given), the cached registry, the per-run role-definition caches and
`tenants_unknown`. What observes the runs is passed in (see `composition.py`)."""

from __future__ import annotations

from collections import OrderedDict
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
        """An Auditor for one message of `run_id` (sharing the run's role cache), or a standalone one."""
        from pal_audit.engine.auditor import Auditor
        from pal_audit.registry.clouds import cloud_from_setting

        registry = self.registry()
        s = self.settings
        cloud = (cloud_from_setting(s.cloud, base_dir=registry.base_dir) if s.cloud
                 else registry.cloud_config())
        return Auditor(registry, cloud=cloud, concurrency=s.concurrency,
                       unit_budget_seconds=s.unit_budget_seconds,
                       managed_identity_client_id=s.managed_identity_client_id,
                       roles=role_cache(cloud.arm, run_id) if run_id else None)


_registry_cache: dict[str, tuple[float, Registry]] = {}
_role_caches: OrderedDict[tuple[str, str], RoleDefinitionCache] = OrderedDict()
_ROLE_CACHE_RUNS = 8        # runs whose messages may interleave on one worker (timer, rescans)


def role_cache(arm: str, run_id: str) -> RoleDefinitionCache:
    """The role-definition cache every queue message of `run_id` shares in this process.

    Built-in definitions are then fetched once per worker and run, not once per tenant. It is
    scoped to the run rather than the process so that a custom role edited since (they are cached
    per tenant) is read afresh by the next run, an HTTP rescan included.
    """
    from pal_audit.engine.role_definitions import RoleDefinitionCache

    cache = _role_caches.get((arm, run_id))
    if cache is None:
        cache = _role_caches[(arm, run_id)] = RoleDefinitionCache()
        while len(_role_caches) > _ROLE_CACHE_RUNS:
            _role_caches.popitem(last=False)
    return cache


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
    known = set(registry.tenant_ids())
    return [t for t in tenant_ids if t.lower() not in known]
