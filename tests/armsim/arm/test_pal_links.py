"""Microsoft.ManagementPartner through ACEProvisioningManagementPartnerAPI: the caller's own link."""

from __future__ import annotations

import pytest
from armsim_support import LINKER_APP, OPS_APP, OPS_OID, READER_APP, credential, mgmt_kwargs, token_for
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.managementpartner import ACEProvisioningManagementPartnerAPI
from azure.mgmt.managementpartner.aio import ACEProvisioningManagementPartnerAPI as AioPartnerAPI

from armsim import Cloud


def pal(cloud: Cloud, app: str) -> ACEProvisioningManagementPartnerAPI:
    return ACEProvisioningManagementPartnerAPI(credential(cloud, app), **mgmt_kwargs(cloud))


def test_link_lifecycle(cloud: Cloud) -> None:
    """get 404 -> create -> get -> update -> get -> delete -> get 404, all as the linking identity."""
    client = pal(cloud, LINKER_APP)
    with pytest.raises(ResourceNotFoundError) as e:
        client.partners.get()
    assert e.value.error.code == "NotFound"

    created = client.partner.create("1234567")
    assert (created.partner_id, created.partner_name, created.version, created.state) == (
        "1234567",
        "Contoso Managed Services",
        1,
        "Active",
    )
    assert client.partners.get().partner_id == "1234567"
    assert client.partner.get("1234567").object_id == created.object_id

    updated = client.partner.update("1234560")
    assert (updated.partner_id, updated.version, updated.etag) == ("1234560", 2, 2)
    assert updated.updated_time >= created.updated_time and updated.created_time == created.created_time
    assert client.partners.get().partner_id == "1234560"

    assert client.partner.delete("1234560") is None
    with pytest.raises(ResourceNotFoundError):
        client.partners.get()


def test_each_identity_sees_only_its_own_link(cloud: Cloud) -> None:
    ops = pal(cloud, OPS_APP).partners.get()
    assert (ops.partner_id, ops.object_id) == ("1234567", OPS_OID)
    assert ops.id == "/providers/microsoft.managementpartner/partners/1234567"
    assert pal(cloud, READER_APP).partners.get().partner_name == "Contractor Ltd"


def test_unknown_partner_id_is_400_and_double_link_is_409(cloud: Cloud) -> None:
    client = pal(cloud, OPS_APP)
    for call in (client.partner.create, client.partner.update):
        with pytest.raises(HttpResponseError) as e:
            call("9999999")
        assert (e.value.status_code, e.value.error.code) == (400, "BadRequest")
    with pytest.raises(ResourceExistsError) as e:
        client.partner.create("7654321")
    assert e.value.status_code == 409
    assert client.partners.get().partner_id == "1234567"  # nothing changed


def test_get_by_another_partner_id_is_404(cloud: Cloud) -> None:
    with pytest.raises(ResourceNotFoundError):
        pal(cloud, OPS_APP).partner.get("7654321")


def test_writes_accept_a_body_and_carry_write_headers(cloud: Cloud, http) -> None:
    """Hand-written clients send {"partnerId": ...}; the SDK sends none. Both work."""
    auth = {"Authorization": f"Bearer {token_for(http, cloud, OPS_APP)}"}
    url = f"{cloud.arm}/providers/Microsoft.ManagementPartner/partners/1234567?api-version=2018-02-01"
    r = http.patch(url, json={"partnerId": "1234567"}, headers=auth)
    assert r.status_code == 200 and int(r.json()["properties"]["version"]) >= 2
    r = http.get(url.lower(), headers=auth)  # real responses lower-case the path; both forms work
    assert r.status_code == 200


def test_operations_list(cloud: Cloud) -> None:
    names = [op.name for op in pal(cloud, OPS_APP).operation.list()]
    assert "Microsoft.ManagementPartner/partners/read" in names and len(names) == 4


async def test_async_partner_client(cloud: Cloud) -> None:
    async with (
        credential(cloud, READER_APP, aio=True) as cred,
        AioPartnerAPI(cred, **mgmt_kwargs(cloud)) as client,
    ):
        link = await client.partners.get()
        assert link.partner_id == "7654321"
        with pytest.raises(ResourceExistsError):
            await client.partner.create("1234567")
