"""Throttling, scripted failures and latency, as the SDK's retry policy experiences them.

Each test runs its own small armsim, so its buckets and fault counters start fresh.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from armsim_support import (
    FABRIKAM,
    OPS_APP,
    OPS_OID,
    READER_APP,
    SUB_DEV,
    SUB_PROD,
    build_estate,
    credential,
    mgmt_kwargs,
)
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from armsim import ArmSimServer


@pytest.fixture
def start() -> Iterator:
    servers: list[ArmSimServer] = []

    def run(latency_ms: int = 0, **faults) -> ArmSimServer:
        srv = ArmSimServer(build_estate(**faults), latency_ms=latency_ms)
        srv.start()
        servers.append(srv)
        return srv

    yield run
    for srv in servers:
        srv.stop()


def stats(srv: ArmSimServer) -> dict:
    return srv.sim.stats.snapshot()


def session(srv: ArmSimServer) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = srv.cloud.ca_bundle
    return s


def test_throttled_reads_are_retried_after_retry_after(start) -> None:
    srv = start(throttle={"reads_burst": 1, "reads_per_second": 0.5})  # one token back every 2 s
    client = SubscriptionClient(credential(srv.cloud, OPS_APP), **mgmt_kwargs(srv.cloud))
    began = time.monotonic()
    results = [len(list(client.subscriptions.list())) for _ in range(2)]
    assert results == [3, 3]
    assert stats(srv)["by_status"]["429"] >= 1
    assert time.monotonic() - began >= 1.5  # the SDK waited out Retry-After: 2


def test_throttle_answer_on_the_wire(start) -> None:
    srv = start(throttle={"reads_burst": 2, "reads_per_second": 0.1})  # one token back every 10 s
    http = session(srv)
    token = credential(srv.cloud, OPS_APP).get_token("https://management.azure.com/.default").token
    url = f"{srv.cloud.arm}/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleAssignments"
    answers = [
        http.get(url, params={"api-version": "2022-04-01"}, headers={"Authorization": f"Bearer {token}"})
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["x-ms-ratelimit-remaining-subscription-reads"] for a in answers] == ["1", "0", "0"]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 10
    assert answers[2].json()["error"]["code"] == "SubscriptionRequestsThrottled"
    # another principal has its own bucket
    other = credential(srv.cloud, READER_APP).get_token("https://management.azure.com/.default").token
    assert (
        http.get(
            f"{srv.cloud.arm}/subscriptions",
            params={"api-version": "2022-12-01"},
            headers={"Authorization": f"Bearer {other}"},
        ).status_code
        == 200
    )


def test_throttling_surfaces_as_429_when_retries_are_off(start) -> None:
    srv = start(throttle={"reads_burst": 1, "reads_per_second": 0.2})
    client = SubscriptionClient(credential(srv.cloud, OPS_APP), **mgmt_kwargs(srv.cloud, retry_total=0))
    list(client.subscriptions.list())
    with pytest.raises(HttpResponseError) as e:
        list(client.subscriptions.list())
    assert (e.value.status_code, e.value.error.code) == (429, "TenantRequestsThrottled")
    assert 1 <= int(e.value.response.headers["Retry-After"]) <= 5


def test_injected_500s_are_retried_then_succeed(start) -> None:
    srv = start(fail=[{"match": "roleAssignments", "tenant_id": FABRIKAM, "status": 500, "times": 2}])
    client = AuthorizationManagementClient(
        credential(srv.cloud, OPS_APP), SUB_PROD, **mgmt_kwargs(srv.cloud, retry_backoff_factor=0.01)
    )
    listed = list(client.role_assignments.list_for_subscription(filter=f"assignedTo('{OPS_OID}')"))
    assert len(listed) == 3
    recorded = [r["status"] for r in srv.sim.stats.recent if r["operation"] == "role_assignments.list"]
    assert recorded == [500, 500, 200]


def test_injected_failure_without_retries(start) -> None:
    srv = start(
        fail=[
            {
                "match": "role_assignments.list",
                "status": 500,
                "code": "InternalServerError",
                "message": "boom",
            }
        ]
    )
    client = AuthorizationManagementClient(
        credential(srv.cloud, OPS_APP), SUB_PROD, **mgmt_kwargs(srv.cloud, retry_total=0)
    )
    with pytest.raises(HttpResponseError) as e:
        list(client.role_assignments.list_for_subscription())
    assert (e.value.status_code, e.value.error.code, e.value.error.message) == (
        500,
        "InternalServerError",
        "boom",
    )


def test_injected_403_for_one_principal_only(start) -> None:
    srv = start(fail=[{"match": "roleEligibilityScheduleInstances", "principal": OPS_OID, "status": 403}])
    scope = f"/subscriptions/{SUB_DEV}"

    def eligibility(app: str) -> list:
        client = AuthorizationManagementClient(credential(srv.cloud, app), SUB_DEV, **mgmt_kwargs(srv.cloud))
        return list(client.role_eligibility_schedule_instances.list_for_scope(scope, filter="asTarget()"))

    with pytest.raises(HttpResponseError) as e:
        eligibility(OPS_APP)
    assert (e.value.status_code, e.value.error.code) == (403, "AuthorizationFailed")
    assert len(eligibility(READER_APP)) == 1


def test_injected_retry_after_is_honoured(start) -> None:
    srv = start(fail=[{"match": "subscriptions", "status": 503, "retry_after": 1, "times": 1}])
    client = SubscriptionClient(credential(srv.cloud, OPS_APP), **mgmt_kwargs(srv.cloud))
    began = time.monotonic()
    assert len(list(client.subscriptions.list())) == 3
    assert time.monotonic() - began >= 0.9
    assert stats(srv)["by_status"] == {"200": 3, "503": 1}  # discovery, token, 503, then the list


def test_injected_delay_lets_a_client_time_out(start) -> None:
    srv = start(fail=[{"match": "subscriptions.list", "status": 503, "delay_ms": 3000, "times": 1}])
    client = SubscriptionClient(credential(srv.cloud, OPS_APP), **mgmt_kwargs(srv.cloud, retry_total=0))
    with pytest.raises(ServiceResponseError):
        list(client.subscriptions.list(read_timeout=0.5))


def test_latency_is_added_to_every_call(start) -> None:
    srv = start(latency_ms=300)
    http = session(srv)
    began = time.monotonic()
    r = http.get(f"{srv.cloud.authority}/{FABRIKAM}/v2.0/.well-known/openid-configuration")
    assert r.status_code == 200 and time.monotonic() - began >= 0.3
    assert http.get(f"{srv.cloud.arm}/_armsim/stats").json()["total"] == 1  # stats routes are not counted
