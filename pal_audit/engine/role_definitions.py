"""Role definitions cache: built-ins once per process, custom roles once per tenant.

Built-in definitions are identical in every tenant, so at 1,000 tenants they are fetched once,
not 1,000 times. Concurrent units asking for the same unknown id share one request. A failed
read is never cached: it is this unit's unknown, and the next unit (or run) asks again. A tenant's
custom roles are forgotten when its audit ends, so the cache does not grow with the estate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pal_audit.model import RoleDefinition


class RoleDefinitionCache:
    def __init__(self, builtin: dict[str, RoleDefinition] | None = None) -> None:
        # `builtin` may be shared by several caches (the Functions worker shares it between runs).
        self._builtin: dict[str, RoleDefinition] = {} if builtin is None else builtin
        self._custom: dict[str, dict[str, RoleDefinition]] = {}    # tenant -> role id -> definition
        self._inflight: dict[str, asyncio.Future[tuple[str, RoleDefinition | None]]] = {}

    @property
    def builtin_count(self) -> int:
        return len(self._builtin)

    def _known(self, tenant_id: str, role_id: str) -> RoleDefinition | None:
        return self._builtin.get(role_id) or self._custom.get(tenant_id, {}).get(role_id)

    @property
    def custom_count(self) -> int:
        return sum(len(roles) for roles in self._custom.values())

    def forget(self, tenant_id: str) -> None:
        """The tenant's audit ended: its custom roles are of no use to any other tenant."""
        self._custom.pop(tenant_id, None)

    async def get(self, tenant_id: str, role_id: str,
                  fetch: Callable[[], Awaitable[RoleDefinition]]) -> RoleDefinition:
        """The definition; whatever `fetch` raises (404 included) propagates and is not cached."""
        found = self._known(tenant_id, role_id)
        if found is not None:
            return found
        pending = self._inflight.get(role_id)
        if pending is not None:
            await asyncio.shield(pending)
            found = self._known(tenant_id, role_id)
            if found is not None:
                return found
        future: asyncio.Future[tuple[str, RoleDefinition | None]] = asyncio.get_running_loop().create_future()
        self._inflight[role_id] = future
        try:
            definition = await fetch()
            if not definition.is_custom:
                self._builtin[role_id] = definition
            else:
                self._custom.setdefault(tenant_id, {})[role_id] = definition
            return definition
        finally:
            future.set_result((tenant_id, None))
            if self._inflight.get(role_id) is future:
                del self._inflight[role_id]
