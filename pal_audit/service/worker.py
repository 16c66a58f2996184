"""What a Functions worker process keeps between queue messages: one HTTP connection pool, one
credential per (identity, tenant) and the built-in role definitions.

Each tenant is its own queue message. Built per message, an audit would open a new pool (a TLS
handshake per connection per tenant) and new credentials (a token request per identity and
tenant, even for a message redelivered minutes later). Kept here instead:

- the pool belongs to the event loop it was opened on. The Python worker runs every async function
  on one loop, so in practice it lives as long as the process; should the loop change (tests do
  that), the pool and everything built on it are dropped and opened again on the new loop;
- a credential is kept while the tokens it caches can still be valid (an hour, about an access
  token's lifetime) and at most `credential_capacity` of them, least recently used first out. A
  credential refreshes its own token, so reusing the object costs nothing; a changed secret (or
  registry entry) gets a credential of its own, and after an hour it is rebuilt anyway;
- built-in role definitions are the same in every tenant and change only when Azure ships a
  release, so the worker keeps them for an hour across runs; custom roles stay per run (a custom
  role fixed by the customer is read afresh by the next run, an HTTP rescan included).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pal_audit.engine.credentials import ManagedIdentityAssertion, make_credential
from pal_audit.engine.http_pool import open_pool

if TYPE_CHECKING:
    import aiohttp
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.core.pipeline.transport import AioHttpTransport

    from pal_audit.engine.credentials import Transport
    from pal_audit.engine.role_definitions import RoleDefinitionCache
    from pal_audit.model import RoleDefinition
    from pal_audit.registry.clouds import Cloud
    from pal_audit.registry.schema import IdentityConfig

CREDENTIAL_TTL_SECONDS = 3600.0
CREDENTIAL_CAPACITY = 4096
BUILTIN_ROLES_TTL_SECONDS = 3600.0
RUN_ROLE_CACHES = 8         # runs whose messages may interleave on one worker (timer, rescans)


class SharedCredential:
    """A cached credential lent to one audit unit: the unit's `close()` must not close it."""

    def __init__(self, credential: AsyncTokenCredential) -> None:
        self._credential = credential

    async def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                        enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        return await self._credential.get_token(*scopes, claims=claims, tenant_id=tenant_id,
                                                enable_cae=enable_cae, **kwargs)

    async def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None
                             ) -> AccessTokenInfo:
        # azure-core's bearer policy prefers get_token_info; every azure-identity credential has it.
        info: AccessTokenInfo = await self._credential.get_token_info(  # type: ignore[attr-defined]
            *scopes, options=options)
        return info

    async def close(self) -> None:
        """Kept open: the worker's cache closes it when it drops it."""

    async def __aenter__(self) -> SharedCredential:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None = None,
                        exc_value: BaseException | None = None,
                        traceback: TracebackType | None = None) -> None:
        return None


@dataclass
class _Cached:
    credential: AsyncTokenCredential
    built: float


class CredentialCache:
    """One credential per (cloud, tenant, identity as configured), LRU-bounded, for `ttl` seconds."""

    def __init__(self, *, capacity: int = CREDENTIAL_CAPACITY, ttl: float = CREDENTIAL_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.ttl, self._clock = capacity, ttl, clock
        self._entries: OrderedDict[tuple[str, str, str, str], _Cached] = OrderedDict()
        self.built = 0          # credentials built (a miss): what the cache saves is counted from it

    @property
    def size(self) -> int:
        return len(self._entries)

    def __call__(self, *, tenant_id: str, identity_name: str, identity: IdentityConfig, cloud: Cloud,
                 env: Mapping[str, str], transport: Transport | None = None,
                 assertion: ManagedIdentityAssertion | None = None) -> AsyncTokenCredential:
        """The `CredentialFactory` the Auditor calls per unit."""
        # The whole identity entry and a digest of its secret are in the key: an edited registry
        # (another client id or secret variable) or a rotated secret never signs in with the old one.
        key = (cloud.authority, tenant_id.lower(), identity_name,
               identity.model_dump_json() + _secret_digest(identity, env))
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and now - hit.built < self.ttl:
            self._entries.move_to_end(key)
            return SharedCredential(hit.credential)
        if hit is not None:
            del self._entries[key]
        # Failures (a missing secret) raise here and are never cached: the unit reports them.
        credential = make_credential(tenant_id=tenant_id, identity_name=identity_name, identity=identity,
                                     cloud=cloud, env=env, transport=transport, assertion=assertion)
        self.built += 1
        self._entries[key] = _Cached(credential, now)
        # A dropped credential is left to the garbage collector, not closed: a unit of another
        # message may still be signing in with it, and it owns no connection (the pool is shared).
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return SharedCredential(credential)

    async def close(self) -> None:
        entries, self._entries = list(self._entries.values()), OrderedDict()
        for entry in entries:
            with contextlib.suppress(Exception):
                await entry.credential.close()


def _secret_digest(identity: IdentityConfig, env: Mapping[str, str]) -> str:
    """A digest of the environment values the identity signs in with (never the values themselves)."""
    fields = ("secret_env", "certificate_env", "password_env")
    names = [getattr(identity.auth, field, None) for field in fields]
    material = "\0".join(f"{name}={env.get(name, '')}" for name in names if isinstance(name, str))
    return hashlib.sha256(material.encode()).hexdigest()


class BuiltinRoles:
    """Built-in role definitions per ARM endpoint, shared by every run's cache for `ttl` seconds."""

    def __init__(self, *, ttl: float = BUILTIN_ROLES_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self._clock = ttl, clock
        self._maps: dict[str, tuple[float, dict[str, RoleDefinition]]] = {}

    def for_arm(self, arm: str) -> dict[str, RoleDefinition]:
        now = self._clock()
        hit = self._maps.get(arm)
        if hit is None or now - hit[0] >= self.ttl:
            # A fresh map for runs starting from now; a run already holding the old one keeps it.
            hit = self._maps[arm] = (now, {})
        return hit[1]


class WorkerPool:
    """The per-process state of the queue trigger. `auditor_kwargs` opens it on first use."""

    def __init__(self, *, credential_capacity: int = CREDENTIAL_CAPACITY,
                 credential_ttl: float = CREDENTIAL_TTL_SECONDS,
                 builtin_roles_ttl: float = BUILTIN_ROLES_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._credential_capacity, self._credential_ttl = credential_capacity, credential_ttl
        self._clock = clock
        self.builtin_roles = BuiltinRoles(ttl=builtin_roles_ttl, clock=clock)
        self._role_caches: OrderedDict[tuple[str, str], RoleDefinitionCache] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sessions: dict[str | None, aiohttp.ClientSession] = {}
        self._transports: dict[str | None, AioHttpTransport] = {}
        self._assertions: dict[str | None, ManagedIdentityAssertion] = {}
        self.credentials = CredentialCache(capacity=credential_capacity, ttl=credential_ttl, clock=clock)
        self.pools_opened = 0
        self.connections_made = 0      # TCP (and TLS) connections opened: what the pool saves

    def role_cache(self, arm: str, run_id: str) -> RoleDefinitionCache:
        """The role-definition cache of `run_id`'s messages: custom roles per run, built-ins shared."""
        from pal_audit.engine.role_definitions import RoleDefinitionCache

        cache = self._role_caches.get((arm, run_id))
        if cache is None:
            cache = self._role_caches[(arm, run_id)] = RoleDefinitionCache(self.builtin_roles.for_arm(arm))
            while len(self._role_caches) > RUN_ROLE_CACHES:
                self._role_caches.popitem(last=False)
        return cache

    def _on_this_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # Sessions, connections and the credentials built on them belong to the old loop: let
            # go of them (that loop is gone or no longer ours) and start again on this one.
            self._let_go()
            self._loop = loop

    def _let_go(self) -> None:
        for session in self._sessions.values():
            with contextlib.suppress(Exception):
                session.detach()        # closed already, or on a loop that cannot close it now
        self._sessions, self._transports, self._assertions = {}, {}, {}
        self.credentials = CredentialCache(capacity=self._credential_capacity, ttl=self._credential_ttl,
                                           clock=self._clock)
        self._loop = None

    def transport(self, cloud: Cloud, *, limit: int) -> AioHttpTransport:
        """The pool for `cloud`'s CA bundle on the running loop, opened on first use."""
        import aiohttp

        self._on_this_loop()
        key = str(cloud.ca_bundle) if cloud.ca_bundle else None
        found = self._transports.get(key)
        if found is not None:
            return found
        # The Auditor's kind of pool (engine/http_pool.py), kept for the process.
        trace = aiohttp.TraceConfig()
        trace.on_connection_create_end.append(self._connection_made)
        self._sessions[key], self._transports[key] = open_pool(cloud, limit=limit, trace_configs=[trace])
        self.pools_opened += 1
        return self._transports[key]

    async def _connection_made(self, *_: object) -> None:
        self.connections_made += 1

    def assertion(self, cloud: Cloud, client_id: str | None) -> ManagedIdentityAssertion:
        """The managed identity's assertion for federated identities (its token is refreshed as needed)."""
        key = str(cloud.ca_bundle) if cloud.ca_bundle else None
        found = self._assertions.get(key)
        if found is None:
            found = ManagedIdentityAssertion(client_id, transport=self._transports[key])
            self._assertions[key] = found
        return found

    async def aclose(self) -> None:
        """Close everything (tests, and a worker shutting down cleanly); what belongs to another,
        finished loop is let go of instead."""
        if self._loop is asyncio.get_running_loop():
            await self.credentials.close()
            for assertion in self._assertions.values():
                with contextlib.suppress(Exception):
                    await assertion.close()
            for session in self._sessions.values():
                await session.close()
        self._let_go()
        self._role_caches.clear()


# The one per process: the queue trigger's messages all go through it.
WORKER = WorkerPool()
