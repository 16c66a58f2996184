"""armsim's minimal Microsoft Graph as an auditor resolving Lighthouse groups uses it: a token for
https://graph.microsoft.com from the real azure-identity credential, transitive members paged by
`@odata.nextLink`, and Graph's own error envelope for 401/403/404 and injected faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lighthouse_support import (
    ADMIN_USER,
    AUTOMATION_APP,
    GRAPH_SCOPE,
    GROUPED,
    GROUPED_APP,
    LH_ADMINS,
    LH_AUTOMATION,
    NOGRAPH_APP,
    OPS_USER,
    READER_APP,
    bearer,
    lh_data,
    lh_server,
)

from armsim import Cloud


@pytest.fixture(scope="module")
def lh_cloud() -> Iterator[Cloud]:
    with lh_server() as cloud:
        yield cloud


@pytest.fixture
def http(lh_cloud: Cloud) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        s.verify = lh_cloud.ca_bundle
        yield s


def members_url(cloud: Cloud, group: str) -> str:
    return f"{cloud.graph}/v1.0/groups/{group}/transitiveMembers"


def all_pages(http: requests.Session, url: str, headers: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    items, pages, next_url = [], 0, url
    while next_url:
        r = http.get(next_url, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["value"]
        pages += 1
        next_url = r.json().get("@odata.nextLink")
    return items, pages


def test_cloud_names_graph_and_its_audience(lh_cloud: Cloud) -> None:
    assert lh_cloud.graph == lh_cloud.arm
    assert lh_cloud.graph_audience == "https://graph.microsoft.com"


def test_transitive_members_through_nested_groups_paged(lh_cloud: Cloud, http: requests.Session) -> None:
    items, pages = all_pages(
        http, members_url(lh_cloud, LH_ADMINS), bearer(lh_cloud, READER_APP, GRAPH_SCOPE)
    )
    assert pages == 2  # three members, pages of 2
    by_id = {i["id"]: i for i in items}
    assert set(by_id) == {LH_AUTOMATION, GROUPED, ADMIN_USER}  # GROUPED only through LH Automation
    assert by_id[LH_AUTOMATION]["@odata.type"] == "#microsoft.graph.group"
    assert by_id[GROUPED]["@odata.type"] == "#microsoft.graph.servicePrincipal"
    assert by_id[GROUPED]["appId"] == GROUPED_APP and by_id[GROUPED]["displayName"] == "grouped-app"
    assert by_id[ADMIN_USER]["@odata.type"] == "#microsoft.graph.user"
    assert by_id[ADMIN_USER]["userPrincipalName"].endswith("@contosomanaged.onmicrosoft.com")


def test_top_sets_the_page_size(lh_cloud: Cloud, http: requests.Session) -> None:
    headers = bearer(lh_cloud, READER_APP, GRAPH_SCOPE)
    r = http.get(members_url(lh_cloud, LH_ADMINS), params={"$top": "999"}, headers=headers)
    assert len(r.json()["value"]) == 3 and "@odata.nextLink" not in r.json()
    bad = http.get(members_url(lh_cloud, LH_ADMINS), params={"$top": "0"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "Request_BadRequest"


def test_unknown_group_and_a_user_id_are_not_found(lh_cloud: Cloud, http: requests.Session) -> None:
    headers = bearer(lh_cloud, READER_APP, GRAPH_SCOPE)
    for missing in ("1f000000-0000-0000-0000-00000000ffff", OPS_USER):
        r = http.get(members_url(lh_cloud, missing), headers=headers)
        assert r.status_code == 404
        error = r.json()["error"]
        assert error["code"] == "Request_ResourceNotFound" and missing in error["message"]
        assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}


def test_directory_object_says_what_an_id_is(lh_cloud: Cloud, http: requests.Session) -> None:
    headers = bearer(lh_cloud, READER_APP, GRAPH_SCOPE)
    r = http.get(f"{lh_cloud.graph}/v1.0/directoryObjects/{OPS_USER}", headers=headers)
    assert r.status_code == 200 and r.json()["@odata.type"] == "#microsoft.graph.user"


def test_without_group_member_read_all_is_denied(lh_cloud: Cloud, http: requests.Session) -> None:
    for app in (NOGRAPH_APP, AUTOMATION_APP):
        r = http.get(members_url(lh_cloud, LH_ADMINS), headers=bearer(lh_cloud, app, GRAPH_SCOPE))
        assert r.status_code == 403 and r.json()["error"]["code"] == "Authorization_RequestDenied"


def test_arm_tokens_and_no_token_are_refused(lh_cloud: Cloud, http: requests.Session) -> None:
    arm_token = http.get(members_url(lh_cloud, LH_ADMINS), headers=bearer(lh_cloud, READER_APP))
    assert arm_token.status_code == 401
    assert arm_token.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "audience" in arm_token.json()["error"]["message"].lower()
    none = http.get(members_url(lh_cloud, LH_ADMINS))
    assert none.status_code == 401 and none.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_unknown_segment_and_method(lh_cloud: Cloud, http: requests.Session) -> None:
    headers = bearer(lh_cloud, READER_APP, GRAPH_SCOPE)
    assert http.get(f"{lh_cloud.graph}/v1.0/users", headers=headers).status_code == 400
    post = http.post(members_url(lh_cloud, LH_ADMINS), headers=headers)
    assert post.status_code == 405


def test_injected_fault_uses_graph_envelope_and_counts_in_stats(http: requests.Session) -> None:
    data = lh_data()
    data["faults"] = {
        "fail": [{"match": "graph.transitive_members", "status": 429, "times": 1, "retry_after": 2}]
    }
    with lh_server(data) as cloud:
        headers = bearer(cloud, READER_APP, GRAPH_SCOPE)
        url = members_url(cloud, LH_ADMINS)
        throttled = http.get(url, headers=headers, verify=cloud.ca_bundle)
        ok = http.get(url, headers=headers, verify=cloud.ca_bundle)
        stats = http.get(f"{cloud.arm}/_armsim/stats", verify=cloud.ca_bundle).json()
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    assert set(throttled.json()["error"]) == {"code", "message", "innerError"}
    assert ok.status_code == 200
    assert "graph.transitive_members" in str(stats)
