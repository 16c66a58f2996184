"""checkov over infra/: no parse error, no failed check unless skipped in the Bicep with a reason.

checkov exits 0 when a Bicep file does not parse (the file is then simply not checked), so the gate
counts parsing errors itself; the broken-copy tests prove that the gate catches what checkov lets by.
"""

import shutil

import infra_support
import pytest
from infra_support import INFRA, checkov_gate, pycep_parse, require_tools, run_checkov, skip_comments

# The resources whose security properties matter most: each must really have been checked.
MUST_BE_SCANNED = {
    "Microsoft.Web/sites",
    "Microsoft.Web/serverfarms",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.KeyVault/vaults",
}


def test_infra_passes_the_checkov_gate(checkov_report):
    problems = checkov_gate(checkov_report, INFRA)
    assert not problems, "checkov gate:\n" + "\n".join(problems)
    assert checkov_report["returncode"] == 0
    assert checkov_report["summary"]["parsing_errors"] == 0


def test_checkov_really_scanned_the_key_resources(checkov_report):
    results = checkov_report["results"]
    seen = {c["resource"].rsplit(".", 1)[0] for c in results["passed_checks"] + results["skipped_checks"]}
    assert not MUST_BE_SCANNED - seen, f"not scanned: {MUST_BE_SCANNED - seen}"
    passed = {c["check_id"] for c in results["passed_checks"]}
    # HTTPS only, TLS 1.2 (app, storage), FTP off, managed identity, storage HTTPS, KV purge protection
    assert {"CKV_AZURE_70", "CKV_AZURE_145", "CKV_AZURE_78", "CKV_AZURE_71", "CKV_AZURE_44", "CKV_AZURE_3",
            "CKV_AZURE_110"} <= passed


def test_every_skipped_check_has_its_comment_in_the_bicep(checkov_report):
    comments = skip_comments(INFRA)
    for check in checkov_report["results"]["skipped_checks"]:
        key = (check["file_path"], check["check_id"])
        assert key in comments, f"{key} skipped without a checkov:skip comment in the Bicep"
        assert comments[key] == check["check_result"]["suppress_comment"].strip()


def _copy_infra(tmp_path):
    target = tmp_path / "infra"
    shutil.copytree(INFRA, target)
    return target


def test_gate_fails_a_bicep_parse_error_that_checkov_exits_0_on(tmp_path):
    require_tools()
    broken = _copy_infra(tmp_path)
    storage = broken / "app" / "storage.bicep"
    text = storage.read_text()
    storage.write_text(text[: text.index("  properties: {")] + "  properties: {\n    accessTier: 'Hot'\n")

    report = run_checkov(broken, tmp_path)

    assert report["returncode"] == 0, "checkov now fails on parse errors: the counting can stay, but check"
    assert report["summary"]["parsing_errors"] >= 1
    problems = checkov_gate(report, broken)
    assert any("did not parse" in p for p in problems), problems
    parsed = pycep_parse([storage])
    assert "error" in parsed[str(storage)], "pycep parsed a truncated file"


def test_gate_fails_unskipped_unjustified_and_misplaced_skips(tmp_path):
    require_tools()
    broken = _copy_infra(tmp_path)
    api = broken / "app" / "api.bicep"
    text = api.read_text()
    assert "    httpsOnly: true\n" in text
    text = text.replace("    httpsOnly: true\n", "    httpsOnly: false\n")      # CKV_AZURE_70 fails
    lines = text.splitlines()
    lines = [ln for ln in lines if "checkov:skip=CKV_AZURE_213:" not in ln]    # unskipped
    lines = [ln.split("checkov:skip=CKV_AZURE_17:")[0] + "checkov:skip=CKV_AZURE_17" if
             "checkov:skip=CKV_AZURE_17:" in ln else ln for ln in lines]                   # no reason
    text = "\n".join(lines) + "\n"
    api.write_text(text)
    identity = broken / "app" / "identity.bicep"                               # outside a body
    misplaced = "// checkov:skip=CKV_AZURE_999:a long and careful reason that sits in the wrong place\n"
    identity.write_text(misplaced + identity.read_text())

    report = run_checkov(broken, tmp_path)
    problems = checkov_gate(report, broken)

    assert report["returncode"] == 1
    assert any(p.startswith("CKV_AZURE_70 failed") for p in problems), problems
    assert any(p.startswith("CKV_AZURE_213 failed") for p in problems), problems
    assert any(p.startswith("CKV_AZURE_17 ") and "justification" in p for p in problems), problems
    assert any("misplaced skip comment for CKV_AZURE_999" in p for p in problems), problems


def test_missing_tools_fail_in_ci_and_skip_locally(monkeypatch, tmp_path):
    monkeypatch.setattr(infra_support, "CHECKOV", tmp_path / "no-such-venv" / "bin" / "checkov")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI=true and .*setup-infra-tools\.sh"):
        infra_support.require_tools()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"setup-infra-tools\.sh"):
        infra_support.require_tools()
