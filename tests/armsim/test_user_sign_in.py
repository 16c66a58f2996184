"""People signing in to armsim: the device code flow (DeviceCodeCredential), the password grant
(UsernamePasswordCredential), refresh tokens that reach the tenants where the person is a guest,
tenants that demand MFA, `GET /tenants` for a user, and the estate's user fields."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DeviceCodeCredential, UsernamePasswordCredential
from azure.mgmt.resource.subscriptions import SubscriptionClient

from armsim import ArmSimServer, Cloud, EstateError, parse_estate
from armsim.tokens import b64url_decode, decode_unverified

CONTOSO = "c0000000-0000-0000-0000-000000000001"  # the partner: home of ana and cara
FABRIKAM = "c0000000-0000-0000-0000-000000000002"  # ana is a guest, linked
NORTHWIND = "c0000000-0000-0000-0000-000000000003"  # ana is a guest; MFA required
WOODGROVE = "c0000000-0000-0000-0000-000000000004"  # ben's home: he denies device codes
TAILSPIN = "c0000000-0000-0000-0000-000000000005"  # two users answer device codes
ANA = "a0000000-0000-0000-0000-00000000000a"
ANA_IN_FABRIKAM = "a0000000-0000-0000-0000-0000000000fa"
ANA_IN_NORTHWIND = "a0000000-0000-0000-0000-0000000000ab"
CARA = "a0000000-0000-0000-0000-00000000000c"
DAN = "a0000000-0000-0000-0000-00000000000d"  # disabled
BEN = "a0000000-0000-0000-0000-00000000000b"
SUB_CONTOSO = "5c000000-0000-0000-0000-000000000001"
SUB_FABRIKAM = "5c000000-0000-0000-0000-000000000002"
AZ_CLI_APP = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # the Azure CLI's public client id
SCOPE = "https://management.azure.com/.default"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def estate_data() -> dict[str, Any]:
    def tenant(tid: str, name: str, principals: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        return {"tenant_id": tid, "name": name, "principals": principals, **more}

    return {
        "partners": [{"partner_id": "1234567", "name": "Contoso"}],
        "tenants": [
            tenant(
                CONTOSO,
                "Contoso",
                [
                    {"object_id": ANA, "type": "User", "name": "Ana Lima",
                     "user_principal_name": "ana@contoso.example", "password": "ana-pw",
                     "device_code": "approve"},
                    {"object_id": CARA, "type": "User", "user_principal_name": "cara@contoso.example",
                     "password": "cara-pw"},
                    {"object_id": DAN, "type": "User", "user_principal_name": "dan@contoso.example",
                     "password": "dan-pw", "enabled": False},
                ],
                subscriptions=[{"subscription_id": SUB_CONTOSO, "name": "contoso-ops"}],
                role_assignments=[
                    {"principal": ANA, "role": "Reader", "scope": f"/subscriptions/{SUB_CONTOSO}"}
                ],
            ),
            tenant(
                FABRIKAM,
                "Fabrikam",
                [{"object_id": ANA_IN_FABRIKAM, "type": "User",
                  "guest_of": {"tenant_id": CONTOSO, "object_id": ANA},
                  "mfa_required": False, "pal": {"partner_id": "1234567"}}],
                subscriptions=[{"subscription_id": SUB_FABRIKAM, "name": "fabrikam-prod"}],
                role_assignments=[
                    {"principal": ANA_IN_FABRIKAM, "role": "Contributor",
                     "scope": f"/subscriptions/{SUB_FABRIKAM}"}
                ],
            ),
            tenant(
                NORTHWIND,
                "Northwind",
                [{"object_id": ANA_IN_NORTHWIND, "type": "User",
                  "guest_of": {"tenant_id": CONTOSO, "object_id": ANA}, "mfa_required": True}],
            ),
            tenant(
                WOODGROVE,
                "Woodgrove",
                [{"object_id": BEN, "type": "User", "user_principal_name": "ben@woodgrove.example",
                  "device_code": "deny"}],
            ),
            tenant(
                TAILSPIN,
                "Tailspin",
                [{"object_id": f"a0000000-0000-0000-0000-0000000005{i:02d}", "type": "User",
                  "user_principal_name": f"u{i}@tailspin.example", "device_code": "approve"} for i in (1, 2)],
            ),
        ],
    }  # fmt: skip


DEVICE_CODE_LIFETIME = 4  # seconds: long enough for a client's second poll, short enough to expire


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    with ArmSimServer(
        parse_estate(estate_data(), "users.yaml"), device_code_lifetime=DEVICE_CODE_LIFETIME
    ) as c:
        yield c


@pytest.fixture
def http(cloud: Cloud) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        s.verify = cloud.ca_bundle
        yield s


def identity_kwargs(cloud: Cloud) -> dict[str, Any]:
    return {
        "authority": cloud.authority,
        "disable_instance_discovery": True,
        "connection_verify": cloud.ca_bundle,
    }


def password_grant(
    http: requests.Session, cloud: Cloud, tenant: str, username: str, password: str
) -> requests.Response:
    return http.post(
        f"{cloud.authority}/{tenant}/oauth2/v2.0/token",
        data={"grant_type": "password", "client_id": AZ_CLI_APP, "username": username,
              "password": password, "scope": f"{SCOPE} offline_access openid profile", "client_info": "1"},
    )  # fmt: skip


def refresh_grant(http: requests.Session, cloud: Cloud, tenant: str, refresh_token: str) -> requests.Response:
    return http.post(
        f"{cloud.authority}/{tenant}/oauth2/v2.0/token",
        data={"grant_type": "refresh_token", "client_id": AZ_CLI_APP, "refresh_token": refresh_token,
              "scope": f"{SCOPE} offline_access openid profile"},
    )  # fmt: skip


def claims(token: str) -> dict[str, Any]:
    return decode_unverified(token)[1]


def tenants_seen(cloud: Cloud, access_token: str) -> list[dict[str, Any]]:
    with requests.Session() as s:
        s.trust_env = False
        r = s.get(
            f"{cloud.arm}/tenants",
            params={"api-version": "2022-12-01"},
            headers={"Authorization": f"Bearer {access_token}"},
            verify=cloud.ca_bundle,
        )
    assert r.status_code == 200, r.text
    return list(r.json()["value"])


# ---------------------------------------------------------------- device code


def test_device_code_credential_signs_in_the_tenant_s_approving_user(cloud: Cloud) -> None:
    prompts: list[tuple[str, str]] = []
    cred = DeviceCodeCredential(
        client_id=AZ_CLI_APP,
        tenant_id=CONTOSO,
        prompt_callback=lambda uri, code, _expires: prompts.append((uri, code)),
        **identity_kwargs(cloud),
    )
    token = cred.get_token(SCOPE).token
    c = claims(token)
    assert (c["tid"], c["oid"], c["idtyp"], c["scp"]) == (CONTOSO, ANA, "user", "user_impersonation")
    assert c["upn"] == "ana@contoso.example" and c["name"] == "Ana Lima" and "roles" not in c
    [(uri, code)] = prompts  # what a person would type in the browser
    assert uri.endswith("/devicelogin") and len(code) == 9
    # the user's token works on ARM: ana reads the subscription she holds Reader on
    subs = SubscriptionClient(
        cred, base_url=cloud.arm, credential_scopes=[SCOPE], connection_verify=cloud.ca_bundle
    )
    assert [s.subscription_id for s in subs.subscriptions.list()] == [SUB_CONTOSO]
    # ... and lists her home tenant and the tenants where she is a guest
    tenants = {t.tenant_id: t for t in subs.tenants.list()}
    assert list(tenants) == [CONTOSO, FABRIKAM, NORTHWIND]
    assert tenants[FABRIKAM].display_name == "Fabrikam"
    assert tenants[FABRIKAM].default_domain == "fabrikam.onmicrosoft.com"
    assert {t.tenant_category for t in tenants.values()} == {"Home"}


def test_a_user_who_denies_the_device_code_fails_the_sign_in(cloud: Cloud) -> None:
    cred = DeviceCodeCredential(
        client_id=AZ_CLI_APP, tenant_id=WOODGROVE, prompt_callback=lambda *_: None, **identity_kwargs(cloud)
    )
    with pytest.raises(ClientAuthenticationError, match=r"AADSTS70000: The user has declined"):
        cred.get_token(SCOPE)


def test_device_code_wire_pending_then_approved_then_redeemed_once(
    cloud: Cloud, http: requests.Session
) -> None:
    start = http.post(
        f"{cloud.authority}/{CONTOSO}/oauth2/v2.0/devicecode", data={"client_id": AZ_CLI_APP, "scope": SCOPE}
    )
    assert start.status_code == 200, start.text
    flow = start.json()
    assert set(flow) == {"device_code", "user_code", "verification_uri", "expires_in", "interval", "message"}
    assert flow["user_code"] in flow["message"] and flow["verification_uri"] in flow["message"]
    assert flow["expires_in"] == DEVICE_CODE_LIFETIME
    poll = {"grant_type": DEVICE_CODE_GRANT, "client_id": AZ_CLI_APP, "device_code": flow["device_code"]}
    url = f"{cloud.authority}/{CONTOSO}/oauth2/v2.0/token"
    first = http.post(url, data=poll)
    assert first.status_code == 400 and first.json()["error"] == "authorization_pending"
    assert first.json()["error_codes"] == [70016]
    second = http.post(url, data=poll)
    assert second.status_code == 200, second.text
    body = second.json()
    # what MSAL needs to cache an account: the ID token and client_info (the person's home ids)
    assert {"access_token", "refresh_token", "id_token", "client_info", "expires_in"} <= set(body)
    assert json.loads(b64url_decode(body["client_info"])) == {"uid": ANA, "utid": CONTOSO}
    id_claims = claims(body["id_token"])
    assert (id_claims["aud"], id_claims["tid"], id_claims["oid"]) == (AZ_CLI_APP, CONTOSO, ANA)
    assert id_claims["preferred_username"] == "ana@contoso.example"
    again = http.post(url, data=poll)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_device_code_nobody_answers_expires(cloud: Cloud, http: requests.Session) -> None:
    flow = http.post(
        f"{cloud.authority}/{CONTOSO}/oauth2/v2.0/devicecode",
        data={"client_id": AZ_CLI_APP, "scope": SCOPE, "login_hint": "cara@contoso.example"},
    ).json()
    poll = {"grant_type": DEVICE_CODE_GRANT, "client_id": AZ_CLI_APP, "device_code": flow["device_code"]}
    url = f"{cloud.authority}/{CONTOSO}/oauth2/v2.0/token"
    for _ in range(2):  # cara's estate entry has no device_code: she never answers
        pending = http.post(url, data=poll)
        assert pending.json()["error"] == "authorization_pending"
    time.sleep(DEVICE_CODE_LIFETIME + 0.2)
    expired = http.post(url, data=poll)
    assert expired.status_code == 400 and expired.json()["error"] == "expired_token"
    assert expired.json()["error_codes"] == [70020]


def test_device_code_rule_needs_a_login_hint_when_several_users_answer(
    cloud: Cloud, http: requests.Session
) -> None:
    url = f"{cloud.authority}/{TAILSPIN}/oauth2/v2.0/devicecode"
    ambiguous = http.post(url, data={"client_id": AZ_CLI_APP, "scope": SCOPE})
    assert ambiguous.status_code == 400 and "login_hint" in ambiguous.json()["error_description"]
    hinted = http.post(
        url, data={"client_id": AZ_CLI_APP, "scope": SCOPE, "login_hint": "u2@tailspin.example"}
    )
    assert hinted.status_code == 200
    unknown = http.post(
        url, data={"client_id": AZ_CLI_APP, "scope": SCOPE, "login_hint": "x@tailspin.example"}
    )
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [50034]


# ---------------------------------------------------------------- password grant and MFA


@pytest.fixture
def no_user_realm_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """MSAL's password grant first asks `https://<host>/common/userrealm/<user>` on port 443 (it
    drops the authority's port), which armsim on a random port cannot answer. MSAL remembers a
    host without realm discovery after a 404 there; this tells it so up front, as it would learn."""
    import msal.authority

    known = set(msal.authority.Authority._domains_without_user_realm_discovery) | {"127.0.0.1"}
    monkeypatch.setattr(msal.authority.Authority, "_domains_without_user_realm_discovery", known)


@pytest.mark.usefixtures("no_user_realm_lookup")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # ROPC is deprecated; tests only
def test_username_password_credential_signs_in(cloud: Cloud) -> None:
    cred = UsernamePasswordCredential(
        AZ_CLI_APP, "ana@contoso.example", "ana-pw", tenant_id=CONTOSO, **identity_kwargs(cloud)
    )
    c = claims(cred.get_token(SCOPE).token)
    assert (c["tid"], c["oid"], c["idtyp"], c["appid"]) == (CONTOSO, ANA, "user", AZ_CLI_APP)


@pytest.mark.parametrize(
    ("username", "password", "aadsts"),
    [("ana@contoso.example", "wrong", "AADSTS50126"), ("nobody@contoso.example", "x", "AADSTS50034")],
)
@pytest.mark.usefixtures("no_user_realm_lookup")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_password_sign_in_failures_carry_entra_error_codes(
    cloud: Cloud, username: str, password: str, aadsts: str
) -> None:
    cred = UsernamePasswordCredential(
        AZ_CLI_APP, username, password, tenant_id=CONTOSO, **identity_kwargs(cloud)
    )
    with pytest.raises(ClientAuthenticationError) as e:
        cred.get_token(SCOPE)
    assert aadsts in str(e.value) and "ana-pw" not in str(e.value)


def test_a_disabled_user_cannot_sign_in(cloud: Cloud, http: requests.Session) -> None:
    r = password_grant(http, cloud, CONTOSO, "dan@contoso.example", "dan-pw")
    assert r.status_code == 400 and r.json()["error_codes"] == [50057]


def test_a_tenant_that_demands_mfa_refuses_the_password_grant_with_aadsts50076(
    cloud: Cloud, http: requests.Session
) -> None:
    r = password_grant(http, cloud, NORTHWIND, "ana@contoso.example", "ana-pw")
    assert r.status_code == 400
    body = r.json()
    assert (body["error"], body["suberror"], body["error_codes"]) == (
        "invalid_grant",
        "basic_action",
        [50076],
    )
    assert body["error_description"].startswith(
        "AADSTS50076: Due to a configuration change made by your administrator, or because you moved "
        "to a new location, you must use multi-factor authentication to access"
    )


# ---------------------------------------------------------------- refresh tokens across tenants


def test_a_home_refresh_token_gets_a_guest_token_bound_to_the_guest_object_id(
    cloud: Cloud, http: requests.Session
) -> None:
    home = password_grant(http, cloud, CONTOSO, "ana@contoso.example", "ana-pw").json()
    guest = refresh_grant(http, cloud, FABRIKAM, home["refresh_token"])
    assert guest.status_code == 200, guest.text
    c = claims(guest.json()["access_token"])
    assert (c["tid"], c["oid"], c["idtyp"]) == (FABRIKAM, ANA_IN_FABRIKAM, "user")
    assert c["idp"].endswith(f"/{CONTOSO}/") and "upn" not in c  # a guest: vouched for by its home
    # client_info still names the person at home, so MSAL keeps one account across tenants
    assert json.loads(b64url_decode(guest.json()["client_info"])) == {"uid": ANA, "utid": CONTOSO}
    access = guest.json()["access_token"]
    link = http.get(
        f"{cloud.arm}/providers/Microsoft.ManagementPartner/partners",
        params={"api-version": "2018-02-01"},
        headers={"Authorization": f"Bearer {access}"},
    )
    assert link.status_code == 200 and link.json()["properties"]["partnerId"] == "1234567"
    assert link.json()["properties"]["objectId"] == ANA_IN_FABRIKAM
    # the guest token lists the same tenants as the home one
    assert [t["tenantId"] for t in tenants_seen(cloud, access)] == [CONTOSO, FABRIKAM, NORTHWIND]


def test_refresh_into_an_mfa_tenant_needs_an_interactive_sign_in_there(
    cloud: Cloud, http: requests.Session
) -> None:
    home = password_grant(http, cloud, CONTOSO, "ana@contoso.example", "ana-pw").json()
    refused = refresh_grant(http, cloud, NORTHWIND, home["refresh_token"])
    assert refused.status_code == 400
    assert (refused.json()["error_codes"], refused.json()["suberror"]) == ([50076], "basic_action")
    # a device code sign-in to Northwind itself (ana approves in the browser, doing MFA there) works,
    # and its refresh token keeps working for Northwind
    cred = DeviceCodeCredential(
        client_id=AZ_CLI_APP, tenant_id=NORTHWIND, prompt_callback=lambda *_: None, **identity_kwargs(cloud)
    )
    c = claims(cred.get_token(SCOPE).token)
    assert (c["tid"], c["oid"], c["amr"]) == (NORTHWIND, ANA_IN_NORTHWIND, ["pwd", "mfa"])


def test_refresh_into_a_tenant_where_the_person_is_no_guest_is_aadsts50020(
    cloud: Cloud, http: requests.Session
) -> None:
    home = password_grant(http, cloud, CONTOSO, "ana@contoso.example", "ana-pw").json()
    r = refresh_grant(http, cloud, WOODGROVE, home["refresh_token"])
    assert r.status_code == 400 and r.json()["error_codes"] == [50020]
    forged = refresh_grant(http, cloud, CONTOSO, home["access_token"])  # not a refresh token
    assert forged.status_code == 400 and forged.json()["error"] == "invalid_grant"


def test_a_refresh_token_is_not_a_bearer_token(cloud: Cloud, http: requests.Session) -> None:
    home = password_grant(http, cloud, CONTOSO, "ana@contoso.example", "ana-pw").json()
    r = http.get(
        f"{cloud.arm}/tenants",
        params={"api-version": "2022-12-01"},
        headers={"Authorization": f"Bearer {home['refresh_token']}"},
    )
    assert r.status_code == 401


def test_user_realm_lookup_says_managed_for_a_known_user(cloud: Cloud, http: requests.Session) -> None:
    known = http.get(f"{cloud.authority}/common/userrealm/ana@contoso.example", params={"api-version": "1.0"})
    assert known.status_code == 200 and known.json()["account_type"] == "Managed"
    unknown = http.get(f"{cloud.authority}/common/userrealm/x@nowhere.example", params={"api-version": "1.0"})
    assert unknown.json()["account_type"] == "Unknown"


# ---------------------------------------------------------------- estate validation


def _with(edit: dict[str, Any], tenant: int = 0, principal: int = 0) -> dict[str, Any]:
    data = estate_data()
    data["tenants"][tenant]["principals"][principal].update(edit)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with({"device_code": "maybe"}),
         r"tenants\[0\]\.principals\[0\]\.device_code: expected one of approve, deny"),
        (_with({"user_principal_name": "ana"}),
         r"principals\[0\]\.user_principal_name: expected a user principal name"),
        (_with({"password": "pw"}, tenant=1),
         r"tenants\[1\]\.principals\[0\]\.password: a guest signs in as"),
        (_with({"mfa_required": "yes"}, tenant=2), r"tenants\[2\]\.principals\[0\]\.mfa_required"),
        (_with({"guest_of": {"tenant_id": WOODGROVE, "object_id": ANA}}, tenant=1),
         r"tenants\[1\]\.principals\[0\]\.guest_of: .* is not a \(non-guest\) User of tenant"),
        (_with({"guest_of": {"tenant_id": FABRIKAM, "object_id": ANA_IN_FABRIKAM}}, tenant=2),
         r"tenants\[2\]\.principals\[0\]\.guest_of: .* is not a \(non-guest\) User"),
        (_with({"guest_of": {"tenant_id": CONTOSO}}, tenant=1),
         r"tenants\[1\]\.principals\[0\]\.guest_of\.object_id: required key is missing"),
        (_with({"user_principal_name": "ana@contoso.example"}, tenant=3),
         r"tenants\[3\]\.principals\[0\]\.user_principal_name: duplicate user principal name"),
    ],
)  # fmt: skip
def test_user_fields_are_validated_with_the_key_named(data: dict[str, Any], message: str) -> None:
    with pytest.raises(EstateError, match=message):
        parse_estate(data, "users.yaml")


def test_only_a_user_has_user_fields() -> None:
    data = estate_data()
    data["tenants"][0]["principals"].append(
        {"object_id": "a0000000-0000-0000-0000-0000000000ee", "type": "ServicePrincipal",
         "app_id": "a0000000-0000-0000-0000-0000000000ef", "password": "x"}
    )  # fmt: skip
    with pytest.raises(EstateError, match=r"principals\[3\]\.password: only a User has password"):
        parse_estate(data, "users.yaml")
