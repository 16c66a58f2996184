"""Role definitions cache: built-ins once per process, custom roles once per tenant.

Built-in definitions are identical in every tenant, so at 1,000 tenants they are fetched once,
not 1,000 times. Concurrent units asking for the same unknown id share one request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from azure.core.exceptions import ResourceNotFoundError

from pal_audit.model import RoleDefinition


class RoleDefinitionCache:
    def __init__(self) -> None:
        self._builtin: dict[str, RoleDefinition] = {}
        self._custom: dict[tuple[str, str], RoleDefinition | None] = {}
        self._inflight: dict[str, asyncio.Future[tuple[str, RoleDefinition | None]]] = {}

    @property
    def builtin_count(self) -> int:
        return len(self._builtin)

    def _known(self, tenant_id: str, role_id: str) -> tuple[bool, RoleDefinition | None]:
        if role_id in self._builtin:
            return True, self._builtin[role_id]
        if (tenant_id, role_id) in self._custom:
            return True, self._custom[(tenant_id, role_id)]
        return False, None

    async def get(self, tenant_id: str, role_id: str,
                  fetch: Callable[[], Awaitable[RoleDefinition]]) -> RoleDefinition | None:
        """The definition, or None when ARM says it does not exist (a deleted custom role)."""
        known, found = self._known(tenant_id, role_id)
        if known:
            return found
        pending = self._inflight.get(role_id)
        if pending is not None:
            await asyncio.shield(pending)
            known, found = self._known(tenant_id, role_id)
            if known:
                return found
        future: asyncio.Future[tuple[str, RoleDefinition | None]] = asyncio.get_running_loop().create_future()
        self._inflight[role_id] = future
        try:
            try:
                definition: RoleDefinition | None = await fetch()
            except ResourceNotFoundError:
                definition = None
            if definition is not None and not definition.is_custom:
                self._builtin[role_id] = definition
            else:
                self._custom[(tenant_id, role_id)] = definition
            return definition
        finally:
            future.set_result((tenant_id, None))
            if self._inflight.get(role_id) is future:
                del self._inflight[role_id]
