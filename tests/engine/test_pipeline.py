"""The lean pipeline of a unit's SDK clients: what every request still carries, and what a user can
still turn on (tracing, the SDK's HTTP logging)."""

from __future__ import annotations

import logging
from pathlib import Path

from builders import PARTNER, EstateBuilder
from engine_support import served

from pal_audit.engine.pipeline import HTTP_LOGGER, client_policies


class _Recorder:
    """A per-retry policy: sees each attempt after the per-call policies have run."""

    def __init__(self) -> None:
        from azure.core.pipeline.policies import AsyncHTTPPolicy

        outer = self

        class Policy(AsyncHTTPPolicy):  # type: ignore[type-arg]
            async def send(self, request):  # type: ignore[no-untyped-def]
                outer.headers.append(dict(request.http_request.headers))
                return await self.next.send(request)

        self.headers: list[dict[str, str]] = []
        self.policy = Policy()


async def test_every_request_carries_a_request_id_and_our_user_agent_and_is_answered(tmp_path: Path) -> None:
    from azure.core.pipeline.transport import AioHttpTransport

    from pal_audit.engine.budget import BudgetedRetryPolicy, Deadline
    from pal_audit.engine.collect import ArmSession, list_subscriptions, read_link, sign_in
    from pal_audit.engine.credentials import make_credential

    b = EstateBuilder()
    t = b.tenant("Lean")
    oid = b.sp(t, "ops-app")
    b.assign(t, oid, "Reader", b.sub(t))
    recorder = _Recorder()
    with served(b, tmp_path) as (registry, _):
        transport = AioHttpTransport(connection_verify=str(registry.cloud.ca_bundle))
        credential = make_credential(tenant_id=t["tenant_id"], identity_name="ops-app",
                                     identity=registry.identity("ops-app"), cloud=registry.cloud,
                                     env=b.env, transport=transport)
        session = ArmSession(credential, registry.cloud, {
            "transport": transport, "retry_policy": BudgetedRetryPolicy(Deadline(60)),
            "per_retry_policies": [recorder.policy]})
        try:
            await sign_in(session, t["tenant_id"])
            link = await read_link(session)
            subscriptions = await list_subscriptions(session)
        finally:
            await session.close()
            await transport.close()
    assert link is not None and link.partner_id == PARTNER     # a typed operation: decoded
    assert list(subscriptions) == [t["subscriptions"][0]["subscription_id"]]   # a raw list
    assert len(recorder.headers) == 2
    ids = {h["x-ms-client-request-id"] for h in recorder.headers}
    assert len(ids) == 2                                  # one per request, for Azure support
    assert all("pal-audit/" in h["User-Agent"] for h in recorder.headers)


def _kinds(policies: list[object]) -> list[str]:
    return [type(p).__name__ for p in policies]


def test_typed_clients_decode_and_raw_lists_do_not() -> None:
    from pal_audit.engine.budget import BudgetedRetryPolicy, Deadline

    retry = BudgetedRetryPolicy(Deadline(60))
    typed = _kinds(client_policies(object(), ["scope/.default"], retry, decode=True))  # type: ignore[arg-type]
    raw = _kinds(client_policies(object(), ["scope/.default"], retry, decode=False))  # type: ignore[arg-type]
    assert typed == ["RequestIdPolicy", "UserAgentPolicy", "ContentDecodePolicy", "BudgetedRetryPolicy",
                     "AsyncARMChallengeAuthenticationPolicy"]
    assert raw == [k for k in typed if k != "ContentDecodePolicy"]


def test_the_sdk_http_log_and_tracing_come_back_when_a_user_turns_them_on() -> None:
    from azure.core.settings import settings

    logger = logging.getLogger(HTTP_LOGGER)
    level = logger.level
    logger.setLevel(logging.INFO)     # setLevel, not the attribute: it clears the logger's cache
    try:
        kinds = _kinds(client_policies(object(), ["s"], None, decode=True))  # type: ignore[arg-type]
    finally:
        logger.setLevel(level)
    assert "ARMHttpLoggingPolicy" in kinds and "DistributedTracingPolicy" not in kinds

    class Tracer:  # what azure-core-tracing-opentelemetry registers
        pass

    settings.tracing_implementation.set_value(Tracer)   # azure-core's own switch
    try:
        kinds = _kinds(client_policies(object(), ["s"], None, decode=True))  # type: ignore[arg-type]
    finally:
        settings.tracing_implementation.unset_value()
    assert "DistributedTracingPolicy" in kinds
