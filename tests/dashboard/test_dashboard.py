"""The coverage dashboard without a browser: what it derives, what it escapes, what it serves.

Pure tests use hand-made inputs; the store tests run the demo's two runs on real armsim + Azurite.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from dataclasses import replace
from datetime import timedelta
from html import unescape

import azure.functions as func
import pytest
from dashboard_support import MARGIE, NOW, demo_inputs, finding, inputs, run, tenant, two_demo_runs
from pal_support import EXAMPLES, call, functions
from typer.testing import CliRunner

from pal_audit.cli.main import app
from pal_audit.cli.report import ScanReport, to_json
from pal_audit.dashboard import build, csp, evidence, render
from pal_audit.dashboard.inputs import CreditInput
from pal_audit.model import Finding, Severity

A, B, C, D = ("aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002",
              "cccccccc-0000-0000-0000-000000000003", "dddddddd-0000-0000-0000-000000000004")


def four_customers():
    return (tenant(A, "Adatum"), tenant(B, "Bellows"), tenant(C, "Coho", ok=False),
            tenant(D, "Dunes", expect_link=False))


# ---------------------------------------------------------------- what the view derives (pure)


def test_credit_comes_from_the_last_audit_and_the_open_findings():
    view = build(inputs(four_customers(), (
        finding(B, "tenant_without_credited_link", identity="-"), finding(B, "link_missing"),
        finding(A, "excessive_privilege", severity="medium"))))
    credit = {c.name: (c.credit, c.via) for c in view.customers}
    assert credit == {"Adatum": ("credited", ("ops-app",)), "Bellows": ("not credited", ()),
                      "Coho": ("unknown", ()), "Dunes": ("excluded", ())}
    h = view.headline
    assert (h.expected, h.credited, h.not_credited, h.unknown, h.excluded) == (3, 1, 1, 1, 1)
    assert h.open_by_severity == {"high": 2, "medium": 1, "low": 0}
    assert h.identities_linked == 1 and h.last_success_age == "1 h ago"


def test_an_identity_denied_by_an_open_finding_does_not_carry_the_credit():
    t = tenant(A, "Adatum", identities=(("ops-app", True), ("mon-app", True), ("vm-app", False)))
    view = build(inputs((t,), (finding(A, "link_without_eligible_role", identity="ops-app"),)))
    assert view.customers[0].via == ("mon-app",)
    assert [(e.identity, e.object_id, e.partner_id) for e in view.evidence] == [
        ("mon-app", f"oid-mon-app-{A[:4]}", "1234567")]


def recorded(t, name: str, *entries: CreditInput, last_verified=NOW - timedelta(hours=1)):
    """Tenant `t` with identity `name` carrying the credit evidence its audit recorded."""
    idents = tuple(replace(i, credit=entries, last_verified=last_verified, link_partner_id="1234567")
                   if i.identity == name else i for i in t.identities)
    return replace(t, identities=idents)


def test_recorded_credit_names_identity_role_and_scope_with_its_own_first_verified():
    since = NOW - timedelta(days=40)
    t = recorded(tenant(A, "Adatum", identities=(("ops-app", True), ("mon-app", True))), "ops-app",
                 CreditInput("1234567", "Contributor", "b24988ac", "/subscriptions/s1", since),
                 CreditInput("1234567", "Support Request Contributor", "cfd33db0", "/",
                             NOW - timedelta(days=2)))
    # mon-app: recorded without credit. With no finding denying it, only the evidence says so.
    t = recorded(t, "mon-app")
    view = build(inputs((t,), (finding(A, "excessive_privilege", severity="medium"),)))
    row = view.customers[0]
    assert (row.credit, [w.text() for w in row.through]) == (
        "credited", ["ops-app (Contributor, Support Request Contributor)"])
    assert [(e.identity, e.role, e.scope, e.first_verified, e.last_verified) for e in view.evidence] == [
        ("ops-app", "Contributor", "/subscriptions/s1", since, NOW - timedelta(hours=1)),
        ("ops-app", "Support Request Contributor", "/", NOW - timedelta(days=2), NOW - timedelta(hours=1))]
    csv_rows = list(csv.DictReader(io.StringIO(evidence.to_csv(view))))
    assert [(r["role"], r["scope"], r["first_verified"]) for r in csv_rows] == [
        ("Contributor", "/subscriptions/s1", since.isoformat()),
        ("Support Request Contributor", "/", (NOW - timedelta(days=2)).isoformat())]


def test_recorded_credit_for_another_partner_id_or_a_failed_audit_is_no_credit():
    other = recorded(tenant(A, "Adatum"), "ops-app", CreditInput("7777777", "Owner", "8e3af657", "/", NOW))
    failed = recorded(tenant(B, "Bellows", identities=(("ops-app", False),)), "ops-app",
                      CreditInput("1234567", "Owner", "8e3af657", "/", NOW))
    view = build(inputs((other, failed)))
    assert [(c.name, c.credit, c.via) for c in view.customers] == [
        ("Adatum", "not credited", ()), ("Bellows", "not credited", ())]
    assert view.evidence == ()


def test_the_trend_takes_each_runs_own_credited_count_when_it_covered_every_customer():
    tenants = four_customers()
    whole, partial, old = (replace(run("r1", NOW - timedelta(days=2)), credited=2, total=4),
                           replace(run("r2", NOW - timedelta(days=1)), credited=1, total=1),
                           run("r3", NOW - timedelta(hours=2)))
    view = build(inputs(tenants, (), (whole, partial, old)))
    # r1: its own count. r2 audited one tenant: reconstructed (3 expected, none denied). r3: no count.
    assert [p.credited for p in view.trend] == [2, 3, 3]


def test_a_scan_without_a_known_partner_id_credits_only_identities_with_a_link():
    from pal_audit.dashboard.inputs import IdentityInput

    t = tenant(A, "Adatum")
    linked = t.__class__(**{**t.__dict__, "identities": (
        IdentityInput("ops-app", "o1", True, NOW, "7654321"), IdentityInput("mon-app", "o2", True, NOW, ""))})
    view = build(inputs((linked,), partner_id=""))
    assert view.customers[0].via == ("ops-app",) and view.evidence[0].partner_id == "7654321"


def test_the_trend_reconstructs_credit_and_open_findings_per_run():
    lost_credit = finding(B, "tenant_without_credited_link", identity="-", first_seen=NOW - timedelta(days=3),
                          resolved_at=NOW - timedelta(hours=36), status="resolved")
    later = finding(A, "excessive_privilege", severity="medium", first_seen=NOW - timedelta(hours=30))
    runs = (run("r1", NOW - timedelta(days=2)), run("r2", NOW - timedelta(days=1)), run("r3", NOW, failed=1))
    view = build(inputs(four_customers()[:2], (lost_credit, later), runs))
    assert [(p.run_id, p.credited, p.open_by_severity["high"], p.open_by_severity["medium"])
            for p in view.trend] == [("r1", 1, 1, 0), ("r2", 2, 0, 1), ("r3", 1, 0, 1)]


def test_changes_are_the_latest_runs_transitions_and_evidence_dates_follow_the_fix():
    fixed_at = NOW - timedelta(hours=2)
    resolved = finding(A, "link_missing", status="resolved", resolved_at=fixed_at, change="RESOLVED",
                       run="r2")
    older = finding(A, "excessive_privilege", severity="low", change="NEW", run="r1")
    runs = (run("r1", NOW - timedelta(days=1)), run("r2", NOW))
    view = build(inputs((tenant(A, "Adatum"),), (resolved, older), runs))
    assert [(c.transition, c.check_id) for c in view.changes] == [("RESOLVED", "link_missing")]
    assert (view.latest_run_id, view.previous_run_id) == ("r2", "r1")
    assert view.evidence[0].first_verified == fixed_at       # credit proven since the link was made


# ---------------------------------------------------------------- the page (pure)


HOSTILE = '<script>alert(1)</script>\x1b[2J"><img src=x onerror=alert(2)>'


def test_azure_and_registry_text_is_escaped_and_control_characters_shown():
    t = tenant(A, HOSTILE)
    f = finding(A, "link_missing", title=HOSTILE, detail="line1\nline2 \u202e",
                remediation="=cmd|' /C calc'!A0")
    html = render(build(inputs((t,), (f,)))).html
    assert "<script>alert" not in html and "<img src=x" not in html and "\x1b" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J&#34;&gt;&lt;img" in html
    assert "line1\nline2 \\u202e" in html


def test_the_page_is_self_contained_under_its_csp():
    page = render(build(inputs(four_customers(), (finding(B, "link_missing"),),
                               (run("r1", NOW - timedelta(days=1)), run("r2", NOW)))))
    html = page.html
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert meta and unescape(meta.group(1)) == csp(page.nonce)    # attribute-escaped quotes
    assert csp(page.nonce).startswith(f"default-src 'none'; style-src 'nonce-{page.nonce}'; "
                                      f"script-src 'nonce-{page.nonce}'; img-src data:")
    tags = re.findall(r"<(script|style)\b([^>]*)>", html)
    assert len(tags) == 3 and all(f'nonce="{page.nonce}"' in attrs for _, attrs in tags)
    assert not re.search(r"\s(style|on[a-z]+)=", html)                 # CSP would block them
    assert not re.search(r"""(src|href|action)=["']?(https?:|//)""", html)
    assert "<title id=\"trend-title\">" in html and "<desc id=\"trend-desc\">" in html
    assert render(build(inputs(four_customers()))).nonce != page.nonce


def test_evidence_files_hold_the_fields_a_ticket_needs_and_no_formula():
    view = build(inputs((tenant(A, "=HYPERLINK(\"http://evil\")"),)))
    rows = list(csv.DictReader(io.StringIO(evidence.to_csv(view))))
    assert list(rows[0]) == list(evidence.FIELDS)
    assert rows[0]["customer"].startswith("'=") and rows[0]["partner_id"] == "1234567"
    body = json.loads(evidence.to_json(view))
    assert body["evidence"][0]["customer"] == '=HYPERLINK("http://evil")' and "role and scope" in body["note"]


# ---------------------------------------------------------------- from the demo's tables, CLI and HTTP


async def _stored_runs(storage):
    from pal_audit.store import Store

    async with Store.from_connection_string(storage) as store:
        runs = await store.runs.recent(NOW - timedelta(days=3650))
    return sorted(runs, key=lambda r: (r.started, r.run_id))


@pytest.mark.azurite
async def test_the_dashboard_tells_the_demo_story_from_its_tables(app_env_fresh, tmp_path):
    _cloud, storage = app_env_fresh
    first, second = await two_demo_runs(storage, tmp_path / "cloud.json")
    view = build(await demo_inputs(storage))
    h = view.headline
    assert (h.expected, h.credited, h.excluded) == (9, 6, 1)
    margie = next(c for c in view.customers if c.tenant_id == MARGIE)
    assert (margie.credit, margie.via, margie.open_total) == ("credited", ("ops-app",), 0)
    assert [p.run_id for p in view.trend] == [first, second]
    assert [p.credited for p in view.trend] == [5, 6]         # Margie's earned credit in run 2
    runs = await _stored_runs(storage)
    assert [r.credited for r in runs] == [5, 6]               # counted by the runs themselves
    assert (view.latest_run_id, view.previous_run_id) == (second, first)
    assert sorted((c.transition, c.check_id, c.customer) for c in view.changes) == [
        ("RESOLVED", "link_missing", "Margie's Travel"),
        ("RESOLVED", "tenant_without_credited_link", "Margie's Travel")]
    row = next(e for e in view.evidence if e.tenant_id == MARGIE)
    assert row.partner_id == "1234567" and re.fullmatch(r"[0-9a-f-]{36}", row.object_id)
    assert row.first_verified is not None and row.first_verified > view.trend[0].at
    # The audit recorded through which role and scope: every evidence row names both, and the
    # customer's row shows the identity with its role.
    assert all(e.role and e.scope.startswith(("/subscriptions/", "/providers/", "/")) for e in view.evidence)
    assert margie.through[0].roles == (row.role,) and f"ops-app ({row.role})" in render(view).html
    assert row.first_verified == row.last_verified == margie.last_audited   # credited since run 2 only

    out = tmp_path / "evidence.json"
    args = ["report", "--registry", str(EXAMPLES / "registry.yaml"), "--evidence", str(out),
            "--html", str(tmp_path / "d.html")]
    result = await asyncio.to_thread(CliRunner().invoke, app, args)   # the command runs its own loop
    assert result.exit_code == 0, result.output
    pack = json.loads(out.read_text())
    assert {r["tenant_id"] for r in pack["evidence"]} == {e.tenant_id for e in view.evidence}
    assert "Margie&#39;s Travel" in (tmp_path / "d.html").read_text()


@pytest.mark.azurite
async def test_get_dashboard_serves_the_page_with_its_csp_header(app_env):
    def req(**params):
        return func.HttpRequest("GET", "https://pal.example.net/api/dashboard", params=params, body=b"")

    binding = json.loads(functions()["get_dashboard"].get_function_json())["bindings"][0]
    assert (binding["route"], binding["methods"], binding["authLevel"]) == ("dashboard", ["GET"], "FUNCTION")
    resp = await call("get_dashboard")(req(code="the-function-key"))
    html = resp.get_body().decode()
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    nonce = re.search(r'<script nonce="([^"]+)">', html).group(1)
    assert resp.headers["Content-Security-Policy"] == csp(nonce) + "; frame-ancestors 'none'"
    assert "No completed run is stored yet" in html and "0 / 9" in html
    bad = await call("get_dashboard")(req(tenant_id="x"))
    assert bad.status_code == 400 and json.loads(bad.get_body())["error"]["code"] == "invalid_parameter"


def _scan_json(tmp_path):
    report = ScanReport(run_id="r", started=NOW, finished=NOW)
    report.tenants = [{"tenant_id": A, "name": "Adatum", "status": "ok", "identities": [
        {"identity": "ops-app", "principal_id": "oid-1", "status": "ok", "error": None, "link": "1234567"}]},
                      {"tenant_id": B, "name": "Bellows", "status": "ok", "identities": [
        {"identity": "ops-app", "principal_id": "oid-2", "status": "ok", "error": None, "link": None}]}]
    report.findings = [Finding("link_missing", Severity.HIGH, B, "oid-2", "ops-app", "t", "d", "fix it")]
    path = tmp_path / "scan.json"
    path.write_text(to_json(report))
    return path


def test_report_from_a_scan_json_writes_the_page_and_the_evidence(tmp_path):
    scan = _scan_json(tmp_path)
    result = CliRunner().invoke(app, ["report", "--from", str(scan), "--html", str(tmp_path / "p.html"),
                                      "--evidence", str(tmp_path / "e.csv")], env={"PAL_AUDIT_REGISTRY": ""})
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "e.csv").open()))
    assert [(r["customer"], r["object_id"], r["partner_id"]) for r in rows] == [
        ("Adatum", "oid-1", "1234567")]
    html = (tmp_path / "p.html").read_text()
    assert "1 / 2" in html and "single scan" in html


@pytest.mark.parametrize(("args", "message"), [
    ([], "nothing to write: give --html FILE and/or --evidence"),
    (["--evidence", "{tmp}/e.txt"], "--evidence {tmp}/e.txt: the file name must end in .csv or .json"),
    (["--html", "{tmp}/nope/p.html", "--from", "{scan}"],
     "--html {tmp}/nope/p.html: folder {tmp}/nope does not exist"),
    (["--html", "{tmp}/p.html", "--from", "{tmp}/missing.json"], "missing.json: no such file"),
    (["--html", "{tmp}/p.html", "--from", "{tmp}/bad.json"], "bad.json: tenants[0]: missing key 'tenant_id'"),
    (["--html", "{tmp}/p.html", "--from", "{scan}", "--store", "tables"],
     "either --from SCAN.json or --store"),
    (["--html", "{tmp}/p.html"], "give --registry FILE"),
])
def test_report_refuses_bad_input_naming_the_option_or_key(tmp_path, args, message):
    scan = _scan_json(tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"run": {"started": NOW.isoformat()}, "tenants": [{}],
                                                   "findings": []}))
    fill = {"tmp": str(tmp_path), "scan": str(scan)}
    result = CliRunner().invoke(app, ["report", *[a.format(**fill) for a in args]],
                                env={"PAL_AUDIT_REGISTRY": ""})
    assert result.exit_code == 2, result.output
    assert message.format(**fill) in result.output and "Traceback" not in result.output


def test_report_from_unreachable_storage_is_exit_2_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + "A" * 86 + "==;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"))
    result = CliRunner().invoke(app, ["report", "--registry", str(EXAMPLES / "registry.yaml"),
                                      "--html", str(tmp_path / "p.html")])
    assert result.exit_code == 2, result.output
    assert "--store tables: Table storage failed" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "p.html").exists()


def test_shared_ends_are_cut_at_words_and_give_every_text_back_whole():
    from pal_audit.dashboard.factoring import MIN_SHARED, Ends, shared_ends

    texts = ["Grant a role to oid-1 at /subscriptions/a, then wait for the next audit.",
             "Grant a role to oid-22 at /subscriptions/b, then wait for the next audit.",
             "Grant a role to oid-3 at /subscriptions/c, then wait for the next audit."]
    ends = shared_ends(texts)
    assert ends == Ends("Grant a role to ", " then wait for the next audit.")
    assert [ends.prefix + ends.middle(t) + ends.suffix for t in texts] == texts
    assert shared_ends(texts[:1]) == Ends()                      # one text: nothing shared
    assert shared_ends(["same text here", "same text here"]) == Ends()   # too short to be worth it
    same = "x" * MIN_SHARED
    assert shared_ends([same, same]) == Ends(same, "")          # identical texts: all shared
    short = shared_ends(["ab cd " + "y" * 30, "ab cd " + "z" * 30])
    assert short == Ends()                                       # 6 shared characters only
