"""`pal-audit fix` end to end: the real engine plans, the real SDK writes links in armsim.

One estate holds one tenant per action kind (create, move a previous id, a foreign link, a link on
an excluded tenant, a link without access), so every test sees every kind, applied or held.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from builders import FOREIGN, PARTNER, PREVIOUS, EstateBuilder
from engine_support import audit, checks_of, served
from typer.testing import CliRunner

from pal_audit.cli.main import app

KINDS = ("Create", "Previous", "Foreign", "Excluded", "Stale")


def build(*, forbidden: bool = False, fail: list[dict[str, Any]] | None = None) -> EstateBuilder:
    b = EstateBuilder()
    links = {"Create": None, "Previous": PREVIOUS, "Foreign": FOREIGN, "Excluded": PARTNER, "Stale": PARTNER}
    for name, link in links.items():
        t = b.tenant(name, expect_link=name != "Excluded")
        oid = b.sp(t, "ops-app", link=link)
        if name != "Stale":          # the stale identity holds no role at all
            b.assign(t, oid, "Contributor", b.sub(t))
    if forbidden:    # a second tenant missing its link, where the link write is refused
        t = b.tenant("Refused")
        b.assign(t, b.sp(t, "ops-app", link=None), "Contributor", b.sub(t))
        b.fail.append({"match": "partner.create", "status": 403, "tenant_id": t["tenant_id"],
                       "code": "AuthorizationFailed", "message": "not allowed to link"})
    b.fail.extend(fail or [])
    return b


class Estate:
    def __init__(self, builder: EstateBuilder, registry: Any, tmp: Path) -> None:
        self.builder, self.registry = builder, registry
        self.cloud = registry.cloud_config()
        self.file = tmp / "registry.yaml"
        data = {"partner": {"partner_id": PARTNER, "previous_partner_ids": [PREVIOUS]},
                "cloud": {"arm": self.cloud.arm, "authority": self.cloud.authority,
                          "audience": self.cloud.audience, "ca_bundle": str(self.cloud.ca_bundle)},
                "identities": builder.identities, "tenants": builder.registry_tenants}
        self.file.write_text(yaml.safe_dump(data))

    def tid(self, name: str) -> str:
        return next(t["tenant_id"] for t in self.builder.tenants if t["name"] == name)

    def stats(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.cloud.arm}/_armsim/stats", verify=str(self.cloud.ca_bundle)).json())

    def requests_made(self) -> list[dict[str, Any]]:
        reply = requests.get(f"{self.cloud.arm}/_armsim/requests", verify=str(self.cloud.ca_bundle))
        return list(reply.json()["value"])

    def reset_stats(self) -> None:
        requests.post(f"{self.cloud.arm}/_armsim/reset-stats", verify=str(self.cloud.ca_bundle))

    def findings(self) -> dict[str, list[str]]:
        return {name: checks_of(r) for name, r in audit(self.registry, self.builder.env).items()}

    def links(self) -> dict[str, str | None]:
        out = {}
        for name, r in audit(self.registry, self.builder.env).items():
            [unit] = r.snapshot.identities
            out[name] = unit.link.partner_id if unit.link else None
        return out


@pytest.fixture
def estate_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Serve an estate built by `build(**kw)`; the registry file and its secrets in the environment."""
    stack: list[Any] = []

    def make(**kw: Any) -> Estate:
        builder = build(**kw)
        ctx = served(builder, tmp_path)
        registry, _server = ctx.__enter__()
        stack.append(ctx)
        for name, value in builder.env.items():
            monkeypatch.setenv(name, value)
        return Estate(builder, registry, tmp_path)

    yield make
    for ctx in stack:
        ctx.__exit__(None, None, None)


def fix(estate: Estate, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["fix", "--registry", str(estate.file), *args], input=input)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.stdout, result.stderr


def results_by_tenant(stdout: str) -> dict[str, tuple[str, str]]:
    return {r["tenant_name"]: (r["kind"], r["result"]) for r in json.loads(stdout)["results"]}


ALL_FLAGS = ("--overwrite-foreign", "--delete-excluded", "--delete-stale")


def test_fix_without_apply_makes_no_write_call(estate_of: Any, tmp_path: Path) -> None:
    estate = estate_of()
    estate.reset_stats()
    code, out, err = fix(estate, *ALL_FLAGS, "--plan-out", str(tmp_path / "plan.json"), "-f", "json")
    assert code == 0, err
    plan = json.loads(out)["plan"]
    assert sorted((a["tenant_name"], a["kind"]) for a in plan["actions"]) == [
        ("Create", "create"), ("Excluded", "delete"), ("Foreign", "update"), ("Previous", "update"),
        ("Stale", "delete")]
    assert json.loads((tmp_path / "plan.json").read_text())["actions"] == plan["actions"]
    # armsim saw reads only: no partner write operation and no PUT/PATCH/DELETE at all
    ops = estate.stats()["by_operation"]
    assert ops.get("partners.get", 0) == 5     # each link read once, as its identity
    assert not {"partner.create", "partner.update", "partner.delete"} & set(ops)
    assert {r["method"] for r in estate.requests_made()} <= {"GET", "POST"}    # POST: token requests
    assert all(r["operation"] == "token" for r in estate.requests_made() if r["method"] == "POST")
    assert estate.links() == {"Create": None, "Previous": PREVIOUS, "Foreign": FOREIGN,
                              "Excluded": PARTNER, "Stale": PARTNER}


def test_default_applies_the_safe_actions_and_holds_the_risky_ones(estate_of: Any) -> None:
    estate = estate_of()
    code, out, err = fix(estate, "--apply", "--yes", "-f", "json")
    assert code == 0, err
    assert results_by_tenant(out) == {"Create": ("create", "applied"), "Previous": ("update", "applied")}
    held = {a["tenant_name"]: a["needs"] for a in json.loads(out)["plan"]["held"]}
    assert held == {"Foreign": ["--overwrite-foreign"], "Excluded": ["--delete-excluded"],
                    "Stale": ["--delete-stale"]}
    # the foreign link is left alone without its flag, and so are the deletes
    assert estate.links() == {"Create": PARTNER, "Previous": PARTNER, "Foreign": FOREIGN,
                              "Excluded": PARTNER, "Stale": PARTNER}


def test_every_kind_applied_with_its_flag_then_a_second_apply_changes_nothing(estate_of: Any) -> None:
    estate = estate_of()
    assert "link_foreign_partner" in estate.findings()["Foreign"]
    code, out, err = fix(estate, "--apply", "--yes", *ALL_FLAGS, "-f", "json")
    assert code == 0, err
    assert results_by_tenant(out) == {
        "Create": ("create", "applied"), "Previous": ("update", "applied"), "Foreign": ("update", "applied"),
        "Excluded": ("delete", "applied"), "Stale": ("delete", "applied")}
    assert estate.links() == {"Create": PARTNER, "Previous": PARTNER, "Foreign": PARTNER,
                              "Excluded": None, "Stale": None}
    link_checks = {"link_missing", "link_previous_partner_id", "link_foreign_partner",
                   "link_on_excluded_tenant", "link_without_access"}
    assert not link_checks & {c for checks in estate.findings().values() for c in checks}
    # a second audit-and-apply finds nothing to do; nothing is written
    estate.reset_stats()
    code, out, err = fix(estate, "--apply", "--yes", *ALL_FLAGS, "-f", "json")
    assert code == 0, err
    assert json.loads(out)["plan"]["actions"] == [] and "results" not in json.loads(out)
    assert not {"partner.create", "partner.update", "partner.delete"} & set(estate.stats()["by_operation"])


def test_reapplying_a_saved_plan_changes_nothing_the_second_time(estate_of: Any, tmp_path: Path) -> None:
    estate = estate_of()
    plan = str(tmp_path / "plan.json")
    assert fix(estate, *ALL_FLAGS, "--plan-out", plan)[0] == 0
    code, out, err = fix(estate, "--apply", plan, "--yes", "-f", "json")
    assert code == 0, err
    assert {v[1] for v in results_by_tenant(out).values()} == {"applied"}
    estate.reset_stats()
    code, out, err = fix(estate, "--apply", plan, "--yes", "-f", "json")
    assert code == 0, err
    assert {v[1] for v in results_by_tenant(out).values()} == {"unchanged"}
    assert not {"partner.create", "partner.update", "partner.delete"} & set(estate.stats()["by_operation"])


def test_a_link_changed_since_the_plan_is_skipped_and_the_rest_applied(estate_of: Any,
                                                                      tmp_path: Path) -> None:
    estate = estate_of()
    plan = str(tmp_path / "plan.json")
    assert fix(estate, *ALL_FLAGS, "--plan-out", plan)[0] == 0
    # between plan and apply, someone links the Create identity to a foreign partner by hand
    link_as(estate, "Create", FOREIGN)
    code, out, err = fix(estate, "--apply", plan, "--yes", "-f", "json")
    assert code == 3, err
    results = {r["tenant_name"]: r for r in json.loads(out)["results"]}
    assert results["Create"]["result"] == "skipped"
    assert "changed since plan" in results["Create"]["detail"] and results["Create"]["found"] == FOREIGN
    assert {n: r["result"] for n, r in results.items() if n != "Create"} == dict.fromkeys(
        ("Excluded", "Foreign", "Previous", "Stale"), "applied")
    assert estate.links()["Create"] == FOREIGN      # the hand-made change is kept


def test_one_tenant_refusing_the_write_fails_alone_with_exit_3(estate_of: Any) -> None:
    estate = estate_of(forbidden=True)
    code, out, err = fix(estate, "--apply", "--yes", "-f", "json")
    assert code == 3, err
    results = {r["tenant_name"]: r for r in json.loads(out)["results"]}
    assert results["Refused"]["result"] == "failed"
    assert results["Refused"]["detail"].startswith("forbidden:") and "403" in results["Refused"]["detail"]
    assert (results["Create"]["result"], results["Previous"]["result"]) == ("applied", "applied")
    links = estate.links()
    assert (links["Refused"], links["Create"], links["Previous"]) == (None, PARTNER, PARTNER)


def test_table_output_names_each_action_and_its_result(estate_of: Any) -> None:
    estate = estate_of(forbidden=True)
    code, out, _ = fix(estate, "--apply", "--yes")
    assert code == 3
    assert "not planned: Foreign ops-app: update 7654321 -> 1234567 (link_foreign_partner) needs " \
           "--overwrite-foreign" in " ".join(out.split())
    assert "applied 2, unchanged 0, skipped 0, failed 1" in out


@pytest.mark.parametrize(("status", "extra", "reason", "says"), [
    (409, {"code": "Conflict"}, "unexpected", "HTTP 409 Conflict"),
    # Retry-After longer than an action's budget: reported at once, not waited out
    (429, {"code": "TooManyRequests", "retry_after": 600}, "throttled", "Retry-After 600s"),
])
def test_conflict_and_throttling_are_reported_per_action(estate_of: Any, status: int, extra: dict[str, Any],
                                                         reason: str, says: str) -> None:
    estate = estate_of(fail=[{"match": "partner.update", "status": status, "message": "refused", **extra}])
    code, out, err = fix(estate, "--apply", "--yes", "-f", "json")
    assert code == 3, err
    results = {r["tenant_name"]: r for r in json.loads(out)["results"]}
    assert results["Previous"]["result"] == "failed"
    assert results["Previous"]["detail"].startswith(f"{reason}:") and says in results["Previous"]["detail"]
    assert results["Create"]["result"] == "applied"


def test_an_unknown_partner_id_in_a_plan_is_that_action_failing(estate_of: Any, tmp_path: Path) -> None:
    estate = estate_of()
    plan_path = tmp_path / "plan.json"
    assert fix(estate, "--plan-out", str(plan_path))[0] == 0
    plan = json.loads(plan_path.read_text())
    for a in plan["actions"]:
        if a["tenant_name"] == "Create":
            a["after"] = "9999999"       # not a partner id Microsoft knows
    plan_path.write_text(json.dumps(plan))
    code, out, err = fix(estate, "--apply", str(plan_path), "--yes", "-f", "json")
    assert code == 3, err
    results = {r["tenant_name"]: r for r in json.loads(out)["results"]}
    assert results["Create"]["result"] == "failed" and "HTTP 400" in results["Create"]["detail"]
    assert results["Previous"]["result"] == "applied"


def test_apply_without_a_terminal_and_without_yes_is_refused(estate_of: Any) -> None:
    estate = estate_of()
    estate.reset_stats()
    code, _, err = fix(estate, "--apply")
    assert code == 2 and "--yes" in err and "not a terminal" in err
    assert estate.stats()["total"] == 0          # refused before signing in anywhere


def test_a_terminal_is_asked_and_no_means_nothing_changes(estate_of: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import pal_audit.cli.fix as fix_module

    monkeypatch.setattr(fix_module, "stdin_is_terminal", lambda: True)
    estate = estate_of()
    code, _, err = fix(estate, "--apply", input="n\n")
    assert code == 3 and "Change 2 link(s) as planned above?" in err and "nothing changed" in err
    assert estate.links()["Create"] is None
    code, _, err = fix(estate, "--apply", input="y\n")
    assert code == 0, err
    assert estate.links()["Create"] == PARTNER


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "plan.json: not a JSON plan file"),
    ('{"version": 1, "partner_id": "1234567", "actions": [{"tenant_id": "t"}]}',
     "plan.json: actions[0].tenant_name: missing or not a string"),
    ('{"version": 1, "partner_id": "1234567", "actions": [{"tenant_id": "t", "tenant_name": "n", '
     '"identity": "ops-app", "principal_id": "p", "check_id": "c", "finding_id": "f", "kind": "move"}]}',
     "plan.json: actions[0].kind: one of create, update, delete, got 'move'"),
    ('{"version": 1, "partner_id": "7654321", "actions": []}',
     "plan.json: partner_id: 7654321 is not the registry's partner id (1234567)"),
])
def test_a_bad_plan_file_is_exit_2_naming_the_key(estate_of: Any, tmp_path: Path, content: str,
                                                   message: str) -> None:
    estate = estate_of()
    path = tmp_path / "plan.json"
    path.write_text(content)
    code, _, err = fix(estate, "--apply", str(path), "--yes")
    assert code == 2 and message in err and "Traceback" not in err


def test_a_plan_file_without_apply_and_an_unknown_tenant_are_usage_errors(estate_of: Any) -> None:
    estate = estate_of()
    code, _, err = fix(estate, "plan.json")
    assert code == 2 and "only read with --apply" in err
    code, _, err = fix(estate, "--tenant", "00000000-0000-0000-0000-00000000dead")
    assert code == 2 and "--tenant 00000000-0000-0000-0000-00000000dead: not a tenant of" in err


def test_store_tables_records_every_action_in_pal_actions(estate_of: Any, storage: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from pal_support import table_rows

    monkeypatch.setenv("AzureWebJobsStorage", storage)
    estate = estate_of(forbidden=True)
    code, _, err = fix(estate, "--apply", "--yes", "--store", "tables", "-f", "json")
    assert code == 3, err
    rows = {r["TenantName"]: r for r in table_rows(storage, "PalActions")}
    assert set(rows) == {"Create", "Previous", "Refused"}
    create = rows["Create"]
    assert (create["PartitionKey"], create["Identity"], create["Kind"], create["Before"], create["After"],
            create["Result"], create["CheckId"]) == (estate.tid("Create"), "ops-app", "create", "", PARTNER,
                                                     "applied", "link_missing")
    assert create["By"] and create["At"] and create["FindingId"]
    assert rows["Refused"]["Result"] == "failed"


def link_as(estate: Estate, tenant: str, partner_id: str) -> None:
    """Change a link by hand, signed in as the identity (what an engineer does in the portal)."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.managementpartner import ACEProvisioningManagementPartnerAPI

    ident = estate.builder.identities["ops-app"]
    cloud = estate.cloud
    credential = ClientSecretCredential(estate.tid(tenant), ident["client_id"],
                                        estate.builder.env[ident["auth"]["secret_env"]],
                                        authority=cloud.authority, disable_instance_discovery=True,
                                        connection_verify=str(cloud.ca_bundle))
    client = ACEProvisioningManagementPartnerAPI(credential, base_url=cloud.arm,
                                                 credential_scopes=[cloud.scope],
                                                 connection_verify=str(cloud.ca_bundle))
    client.partner.create(partner_id)


def test_tenant_limits_the_audit_and_the_plan(estate_of: Any) -> None:
    estate = estate_of()
    estate.reset_stats()
    code, out, err = fix(estate, "--tenant", estate.tid("Create"), *ALL_FLAGS, "-f", "json")
    assert code == 0, err
    actions = json.loads(out)["plan"]["actions"]
    assert [(a["tenant_name"], a["kind"]) for a in actions] == [("Create", "create")]
    assert estate.stats()["by_operation"]["partners.get"] == 1     # the other tenants were not audited
