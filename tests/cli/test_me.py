"""`pal-audit me` as a person: signed in with the real Azure CLI (`az login --use-device-code`, which
armsim approves for the estate's approving user), then every tenant the person reaches, read with
a token for that tenant. `az` comes from .venv-azure-cli; without it the az tests skip (and fail
with CI=true). The device code tests run azure-identity's DeviceCodeCredential, no `az` needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure_cli_support import ArmSimCloud, AzureCli, require_az
from typer.testing import CliRunner

from armsim import ArmSimServer, parse_estate
from pal_audit.cli.main import app

slow = pytest.mark.slow

CONTOSO = "c1000000-0000-0000-0000-000000000001"    # ana's home
FABRIKAM = "c1000000-0000-0000-0000-000000000002"   # guest, linked to us, Contributor: earns credit
NORTHWIND = "c1000000-0000-0000-0000-000000000003"  # guest, MFA required
TAILSPIN = "c1000000-0000-0000-0000-000000000004"   # guest, Contributor, not linked
LITWARE = "c1000000-0000-0000-0000-000000000005"    # guest, Contributor, linked to another partner
WOODGROVE = "c1000000-0000-0000-0000-000000000006"  # guest, Contributor PIM-eligible only, not linked
ANA = "a1000000-0000-0000-0000-00000000000a"
UPN = "ana@contoso.example"
PARTNER, FOREIGN = "1234567", "7654321"
SUB_PREFIX = "5c100000-0000-0000-0000-0000000000"   # + the tenant's last two digits


def guest(tenant: str, name: str, *, link: str | None = None, role: str | None = "Contributor",
          eligible: bool = False, mfa: bool = False) -> dict[str, Any]:
    oid = f"a1000000-0000-0000-0000-0000000000{tenant[-2:]}"
    sub = f"{SUB_PREFIX}{tenant[-2:]}"
    principal: dict[str, Any] = {"object_id": oid, "type": "User", "guest_of": {"tenant_id": CONTOSO,
                                                                                 "object_id": ANA}}
    if link:
        principal["pal"] = {"partner_id": link}
    if mfa:
        principal["mfa_required"] = True
    t: dict[str, Any] = {"tenant_id": tenant, "name": name, "principals": [principal],
                         "subscriptions": [{"subscription_id": sub, "name": f"{name.lower()}-prod"}]}
    if role:
        t["eligible_assignments" if eligible else "role_assignments"] = [
            {"principal": oid, "role": role, "scope": f"/subscriptions/{sub}"}]
    return t


ESTATE: dict[str, Any] = {
    "partners": [{"partner_id": PARTNER, "name": "Contoso"}, {"partner_id": FOREIGN, "name": "Northwind"}],
    "faults": {"throttle": False},
    "tenants": [
        {"tenant_id": CONTOSO, "name": "Contoso",
         "principals": [{"object_id": ANA, "type": "User", "name": "Ana Lima", "user_principal_name": UPN,
                         "password": "ana-pw", "device_code": "approve"}]},
        guest(FABRIKAM, "Fabrikam", link=PARTNER),
        guest(NORTHWIND, "Northwind", link=PARTNER, mfa=True),
        guest(TAILSPIN, "Tailspin"),
        guest(LITWARE, "Litware", link=FOREIGN),
        guest(WOODGROVE, "Woodgrove", eligible=True),
    ],
}


@pytest.fixture
def armsim(tmp_path: Path) -> Iterator[tuple[ArmSimCloud, Path]]:
    with ArmSimServer(parse_estate(ESTATE, "users.yaml"), ca_dir=tmp_path) as cloud:
        cloud_file = tmp_path / "cloud.json"
        cloud_file.write_text(json.dumps(cloud.to_dict()))
        yield ArmSimCloud(arm=cloud.arm, ca_bundle=cloud.ca_bundle), cloud_file


@pytest.fixture
def signed_in(tmp_path: Path, armsim: tuple[ArmSimCloud, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """`az login --use-device-code` as ana, and the environment AzureCliCredential runs az with."""
    require_az()
    cloud, cloud_file = armsim
    az = AzureCli(tmp_path / "azure-config", cloud)
    az.register_armsim()
    proc = az.run("login", "--use-device-code", "--tenant", CONTOSO, "--allow-no-subscriptions", "-o", "none")
    assert proc.returncode == 0, proc.stderr
    for key, value in az.env.items():
        monkeypatch.setenv(key, value)
    return cloud_file


def me(cloud_file: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["me", "--partner-id", PARTNER, "--cloud", str(cloud_file), *args],
                                input=input, env={"COLUMNS": "220"})   # one line per table row
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def by_name(stdout: str) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in json.loads(stdout)["tenants"]}


def links_written(cloud: ArmSimCloud) -> list[tuple[str, str | None]]:
    reply = requests.get(f"{cloud.arm}/_armsim/requests", verify=cloud.ca_bundle).json()["value"]
    return [(r["method"], r["tenant_id"]) for r in reply if r["operation"].startswith("partner.")
            and r["method"] != "GET"]


@slow
def test_me_through_the_azure_cli_across_tenants_one_needing_mfa(signed_in: Path) -> None:
    code, out, err = me(signed_in, "-f", "json")
    assert code == 3, err                     # one tenant could not be read: Northwind
    tenants = by_name(out)
    assert list(tenants) == ["Contoso", "Fabrikam", "Northwind", "Tailspin", "Litware", "Woodgrove"]
    assert json.loads(out)["user"] == UPN and tenants["Contoso"]["home"] is True
    fab = tenants["Fabrikam"]
    assert (fab["status"], fab["link"], fab["earns_credit"], fab["what_to_do"]) == (
        "ok", PARTNER, "yes", "nothing to do")
    assert fab["credit_roles_active"] == [f"Contributor at /subscriptions/{SUB_PREFIX}02"]
    nw = tenants["Northwind"]
    assert (nw["status"], nw["earns_credit"]) == ("sign_in_required", "unknown")
    assert nw["problem"] == "AADSTS50076 (requires multi-factor authentication)" and nw["resolve"] == \
        f"az login --tenant {NORTHWIND} --use-device-code"
    tail = tenants["Tailspin"]
    assert (tail["link"], tail["earns_credit"], tail["findings"]) == (None, "no", ["link_missing"])
    assert tail["what_to_do"] == "link: pal-audit me --link"
    lit = tenants["Litware"]
    assert (lit["link"], lit["earns_credit"]) == (FOREIGN, "no")
    assert "--overwrite-foreign" in lit["what_to_do"]
    wood = tenants["Woodgrove"]
    assert (wood["credit_roles_active"], wood["credit_roles_pim"]) == (
        [], [f"Contributor at /subscriptions/{SUB_PREFIX}06"])
    assert tenants["Contoso"]["what_to_do"] == "your home tenant: nothing to link"


@slow
def test_me_link_links_where_missing_and_leaves_the_foreign_link(signed_in: Path,
                                                                armsim: tuple[ArmSimCloud, Path]) -> None:
    code, out, err = me(signed_in, "--link", "--yes", "-f", "json")
    assert code == 3, err                     # Northwind still needs its MFA sign-in
    linked = {r["tenant_id"]: (r["kind"], r["result"]) for r in json.loads(out)["linked"]}
    assert linked == {TAILSPIN: ("create", "applied"), WOODGROVE: ("create", "applied")}
    assert sorted(links_written(armsim[0])) == [("PUT", TAILSPIN), ("PUT", WOODGROVE)]
    code, out, _ = me(signed_in, "-f", "json")
    tenants = by_name(out)
    assert (tenants["Tailspin"]["link"], tenants["Tailspin"]["earns_credit"]) == (PARTNER, "yes")
    assert tenants["Litware"]["link"] == FOREIGN          # never overwritten without its flag


@slow
def test_me_in_a_table_says_what_to_do_per_tenant(signed_in: Path) -> None:
    code, out, _ = me(signed_in)
    assert code == 3 and "Traceback" not in out
    rows: dict[str, list[str]] = {}
    for line in out.splitlines():
        if not line.startswith("│"):
            continue
        first, *cells = [c.strip() for c in line.split("│")[1:-1]]
        if first:
            rows[first.removesuffix(" (home)")] = cells
        else:   # a cell folded onto the next line
            last = list(rows)[-1]
            rows[last] = [" ".join(filter(None, (a, b))) for a, b in zip(rows[last], cells, strict=True)]
    assert rows["Fabrikam"][0] == PARTNER and rows["Fabrikam"][2:] == ["yes", "nothing to do"]
    assert rows["Tailspin"][2:] == ["no", "link: pal-audit me --link"]
    assert rows["Northwind"][0] == "? (not read)" and rows["Northwind"][2] == "unknown"
    assert rows["Northwind"][3] == ("AADSTS50076 (requires multi-factor authentication): "
                                    f"az login --tenant {NORTHWIND} --use-device-code"), out


def test_me_without_a_partner_id_or_with_a_bad_one_is_usage(armsim: tuple[ArmSimCloud, Path]) -> None:
    result = CliRunner().invoke(app, ["me", "--cloud", str(armsim[1])])
    assert result.exit_code == 2 and "--partner-id" in result.stderr
    code, _, err = me(armsim[1], "--partner-id", "abc")
    assert code == 2 and "--partner-id abc: a partner id is digits only" in err


def test_me_link_without_a_terminal_and_without_yes_is_refused(armsim: tuple[ArmSimCloud, Path]) -> None:
    code, _, err = me(armsim[1], "--link")
    assert code == 2 and "--yes" in err


def test_me_not_signed_in_to_the_azure_cli_is_exit_2_with_the_command(
        tmp_path: Path, armsim: tuple[ArmSimCloud, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    require_az()
    az = AzureCli(tmp_path / "empty-config", armsim[0])
    for key, value in az.env.items():
        monkeypatch.setenv(key, value)
    code, _, err = me(armsim[1])
    assert code == 2 and "az login" in err and "Traceback" not in err


ADATUM = "c1000000-0000-0000-0000-000000000007"     # delegates a subscription to Contoso (Lighthouse)
ADATUM_SUB = f"{SUB_PREFIX}07"
LIGHTHOUSE_ESTATE: dict[str, Any] = {
    "partners": ESTATE["partners"], "faults": {"throttle": False},
    "tenants": [
        ESTATE["tenants"][0],
        {"tenant_id": ADATUM, "name": "Adatum",
         "subscriptions": [{"subscription_id": ADATUM_SUB, "name": "adatum-prod"}],
         "delegations": [{"managed_by": CONTOSO, "scope": f"/subscriptions/{ADATUM_SUB}",
                          "name": "Contoso managed services",
                          "authorizations": [{"principal": ANA, "role": "Contributor"}]}]},
    ],
}


@slow
def test_me_through_lighthouse_credits_the_home_link_and_links_it(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    require_az()
    with ArmSimServer(parse_estate(LIGHTHOUSE_ESTATE, "lighthouse.yaml"), ca_dir=tmp_path) as served:
        cloud = ArmSimCloud(arm=served.arm, ca_bundle=served.ca_bundle)
        cloud_file = tmp_path / "cloud.json"
        cloud_file.write_text(json.dumps(served.to_dict()))
        az = AzureCli(tmp_path / "azure-config", cloud)
        az.register_armsim()
        proc = az.run("login", "--use-device-code", "--tenant", CONTOSO, "--allow-no-subscriptions",
                      "-o", "none")
        assert proc.returncode == 0, proc.stderr
        for key, value in az.env.items():
            monkeypatch.setenv(key, value)
        code, out, err = me(cloud_file, "-f", "json")
        assert code == 0, err
        tenants = by_name(out)
        adatum = tenants["Adatum"]
        assert (adatum["managed_from"], adatum["credit_roles_active"], adatum["earns_credit"]) == (
            CONTOSO, [f"Contributor at /subscriptions/{ADATUM_SUB}"], "no")
        assert "your link in your home tenant is missing" in adatum["what_to_do"]
        assert tenants["Contoso"]["what_to_do"] == \
            "link: pal-audit me --link (credits your Lighthouse work in 1 tenant(s))"
        code, out, err = me(cloud_file, "--link", "--yes", "-f", "json")
        assert code == 0, err
        assert [(r["tenant_id"], r["kind"], r["result"]) for r in json.loads(out)["linked"]] == [
            (CONTOSO, "create", "applied")]
        tenants = by_name(me(cloud_file, "-f", "json")[1])
        assert (tenants["Adatum"]["link"], tenants["Adatum"]["earns_credit"]) == (PARTNER, "yes")


def test_me_with_a_device_code_signs_in_again_where_mfa_is_required(armsim: tuple[ArmSimCloud, Path]) -> None:
    """No Azure CLI: azure-identity's DeviceCodeCredential (armsim approves as ana would in the
    browser). Northwind's MFA is satisfied by a second device code sign-in to that tenant."""
    code, out, err = me(armsim[1], "--auth", "device_code", "--tenant", CONTOSO, "-f", "json")
    assert code == 0, err
    assert err.count("To sign in, open ") == 2          # home, then Northwind (MFA)
    tenants = by_name(out)
    assert {n: t["status"] for n, t in tenants.items()} == dict.fromkeys(
        ("Contoso", "Fabrikam", "Northwind", "Tailspin", "Litware", "Woodgrove"), "ok")
    assert (tenants["Northwind"]["link"], tenants["Northwind"]["earns_credit"]) == (PARTNER, "yes")


def test_me_tenant_is_only_for_interactive_sign_in(armsim: tuple[ArmSimCloud, Path]) -> None:
    code, _, err = me(armsim[1], "--tenant", CONTOSO)
    assert code == 2 and "--tenant: only with --auth browser or device_code" in err
