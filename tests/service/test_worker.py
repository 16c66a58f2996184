"""The queue trigger's per-worker state: credentials per (tenant, identity) for an hour at most
4,096 of them, built-in roles across runs for an hour, one pool per event loop."""

from __future__ import annotations

import asyncio

import pytest
from builders import T1, T2
from pal_support import EXAMPLES

from pal_audit.engine.credentials import CredentialConfigError
from pal_audit.model import RoleDefinition
from pal_audit.registry import load_registry
from pal_audit.service.worker import CredentialCache, SharedCredential, WorkerPool


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def registry():
    return load_registry(EXAMPLES / "registry.yaml", check_secrets=False)


def ask(cache: CredentialCache, registry, tenant: str, name: str = "ops-app", **env: str):
    identity = registry.identities[name]
    secret_env = identity.auth.secret_env
    return cache(tenant_id=tenant, identity_name=name, identity=identity, cloud=registry.cloud_config(),
                 env={secret_env: "s3cret", **env})


def inner(credential):
    assert isinstance(credential, SharedCredential)
    return credential._credential


async def test_one_credential_per_tenant_and_identity_until_its_hour_is_up(registry):
    clock = Clock()
    cache = CredentialCache(clock=clock)
    first = inner(ask(cache, registry, T1))
    assert inner(ask(cache, registry, T1.upper())) is first          # tenant ids are case-insensitive
    assert inner(ask(cache, registry, T2)) is not first
    assert inner(ask(cache, registry, T1, "monitor-app")) is not first
    assert cache.built == 3
    clock.now += 3_599
    assert inner(ask(cache, registry, T1)) is first
    clock.now += 2                                                   # past the hour: built afresh
    assert inner(ask(cache, registry, T1)) is not first and cache.built == 4
    await cache.close()


async def test_the_cache_is_bounded_least_recently_used_first_out(registry):
    cache = CredentialCache(capacity=2)
    a = inner(ask(cache, registry, T1))
    ask(cache, registry, T2)
    ask(cache, registry, T1)                                         # T1 used last: T2 goes first
    ask(cache, registry, T1, "monitor-app")
    assert cache.size == 2 and inner(ask(cache, registry, T1)) is a and cache.built == 3
    ask(cache, registry, T2)
    assert cache.built == 4
    await cache.close()


async def test_an_edited_identity_entry_never_signs_in_with_the_old_credential(registry):
    cache = CredentialCache()
    before = inner(ask(cache, registry, T1))
    edited = registry.identities["ops-app"].model_copy(
        update={"client_id": "00000000-0000-0000-0000-00000000beef"})
    after = cache(tenant_id=T1, identity_name="ops-app", identity=edited, cloud=registry.cloud_config(),
                  env={edited.auth.secret_env: "s3cret"})
    assert inner(after) is not before
    await cache.close()


async def test_a_failure_to_build_is_not_cached(registry):
    cache = CredentialCache()
    identity = registry.identities["ops-app"]
    with pytest.raises(CredentialConfigError, match="secret_env"):
        cache(tenant_id=T1, identity_name="ops-app", identity=identity, cloud=registry.cloud_config(), env={})
    assert cache.size == 0
    assert ask(cache, registry, T1) is not None and cache.built == 1
    await cache.close()


async def test_a_unit_closing_its_credential_leaves_the_cached_one_open(registry):
    cache = CredentialCache()
    lent = ask(cache, registry, T1)
    closed = []
    real = inner(lent)

    async def spy_close() -> None:
        closed.append(True)

    real.close = spy_close
    await lent.close()
    assert closed == []
    await cache.close()
    assert closed == [True]


def _role(role_id: str, custom: bool) -> RoleDefinition:
    return RoleDefinition(role_id=role_id, name=role_id, is_custom=custom, actions=(), not_actions=(),
                          data_actions=(), not_data_actions=())


async def test_built_in_roles_are_shared_by_runs_for_an_hour_and_custom_roles_stay_per_run():
    clock = Clock()
    pool = WorkerPool(clock=clock)
    fetches: list[str] = []

    def fetcher(role: RoleDefinition):
        async def fetch() -> RoleDefinition:
            fetches.append(role.role_id)
            return role
        return fetch

    builtin, custom = _role("reader", False), _role("vm-operator", True)
    for run in ("run-1", "run-2"):
        cache = pool.role_cache("https://arm", run)
        await cache.get(T1, "reader", fetcher(builtin))
        await cache.get(T1, "vm-operator", fetcher(custom))
    assert fetches == ["reader", "vm-operator", "vm-operator"]
    clock.now += 3_600
    await pool.role_cache("https://arm", "run-3").get(T1, "reader", fetcher(builtin))
    assert fetches[-1] == "reader" and len(fetches) == 4
    assert pool.role_cache("https://arm", "run-3") is pool.role_cache("https://arm", "run-3")


def test_a_new_event_loop_gets_a_new_pool_and_new_credentials(registry):
    pool = WorkerPool()
    cloud = registry.cloud_config()

    async def one_message():
        transport = pool.transport(cloud, limit=20)
        assert pool.transport(cloud, limit=20) is transport          # the same pool within a loop
        return transport, pool.credentials

    first, second = asyncio.run(one_message()), asyncio.run(one_message())
    assert first[0] is not second[0] and first[1] is not second[1]
    assert pool.pools_opened == 2
    asyncio.run(pool.aclose())


async def test_a_rotated_secret_gets_a_credential_of_its_own(registry):
    cache = CredentialCache()
    before = inner(ask(cache, registry, T1))
    secret_env = registry.identities["ops-app"].auth.secret_env
    assert inner(ask(cache, registry, T1, **{secret_env: "rotated"})) is not before
    assert inner(ask(cache, registry, T1)) is before
    await cache.close()
