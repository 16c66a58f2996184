"""Change a link in armsim the way an engineer would: signed in as the identity, over the real API."""

from __future__ import annotations

import ssl

import aiohttp
import yaml
from pal_support import EXAMPLES, demo_secrets

API = "2018-02-01"


def _client_id(identity: str) -> tuple[str, str]:
    registry = yaml.safe_load((EXAMPLES / "registry.yaml").read_text())
    ident = registry["identities"][identity]
    return ident["client_id"], demo_secrets()[ident["auth"]["secret_env"]]


async def _call(cloud: dict, tenant_id: str, identity: str, method: str, partner_id: str) -> int:
    client_id, secret = _client_id(identity)
    tls = ssl.create_default_context(cafile=cloud["ca_bundle"])
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:
        token_url = f"{cloud['authority'].rstrip('/')}/{tenant_id}/oauth2/v2.0/token"
        async with http.post(token_url, data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "scope": "https://management.azure.com/.default"}) as resp:
            token = (await resp.json())["access_token"]
        url = f"{cloud['arm'].rstrip('/')}/providers/Microsoft.ManagementPartner/partners/{partner_id}"
        async with http.request(method, url, params={"api-version": API},
                                headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status < 300, await resp.text()
            return resp.status


async def put_link(cloud: dict, tenant_id: str, identity: str, partner_id: str) -> int:
    return await _call(cloud, tenant_id, identity, "PUT", partner_id)


async def delete_link(cloud: dict, tenant_id: str, identity: str, partner_id: str = "1234567") -> int:
    return await _call(cloud, tenant_id, identity, "DELETE", partner_id)
