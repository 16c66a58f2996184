"""The server itself: many concurrent keep-alive connections, and a request log free of secrets."""

from __future__ import annotations

import asyncio
import json
import ssl

import aiohttp
from armsim_support import FABRIKAM, OPS_APP, SECRETS, SUB_PROD, token_for

from armsim import Cloud


async def test_many_concurrent_keep_alive_connections(cloud: Cloud, http) -> None:
    token = token_for(http, cloud, OPS_APP)
    url = (
        f"{cloud.arm}/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleAssignments"
        "?api-version=2022-04-01&$filter=atScope()"
    )
    tls = ssl.create_default_context(cafile=cloud.ca_bundle)
    connector = aiohttp.TCPConnector(limit=100, ssl=tls)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def worker() -> list[int]:
            statuses = []
            for _ in range(3):  # each connection is reused: keep-alive
                async with client.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
                    await r.read()
                    statuses.append(r.status)
            return statuses

        results = await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(100))), timeout=60)
    assert [s for batch in results for s in batch] == [200] * 300


def test_request_log_never_holds_secrets_or_tokens(cloud: Cloud, http) -> None:
    token = token_for(http, cloud, OPS_APP)
    http.get(
        f"{cloud.arm}/subscriptions?api-version=2022-12-01", headers={"Authorization": f"Bearer {token}"}
    )
    log = json.dumps(http.get(f"{cloud.arm}/_armsim/requests").json())
    assert FABRIKAM in log
    assert SECRETS[OPS_APP] not in log and token not in log and "Bearer" not in log


def test_internal_routes(cloud: Cloud, http) -> None:
    assert http.get(f"{cloud.arm}/_armsim/nothing").status_code == 404
    assert http.get(f"{cloud.arm}/_armsim/stats").json()["total"] > 0
