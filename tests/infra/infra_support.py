"""Helpers of the infra tests: the checkov/pycep tools (own venv), the checkov gate, Bicep walkers.

checkov and pycep-parser live in `.venv-checkov` (scripts/setup-infra-tools.sh), not in the app's
venv, so they run as subprocesses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
TOOLS_VENV = REPO / ".venv-checkov"
CHECKOV = TOOLS_VENV / "bin" / "checkov"
TOOLS_PYTHON = TOOLS_VENV / "bin" / "python"

# A skip must say why in words, not just name the check.
MIN_JUSTIFICATION_CHARS = 40
SKIP_COMMENT = re.compile(r"checkov:skip=([A-Za-z0-9_]+)(?::(.*))?")


def require_tools() -> None:
    """Skip when the infra tools are missing locally; fail in CI, where nothing may be skipped."""
    if CHECKOV.exists() and TOOLS_PYTHON.exists():
        return
    message = (f"{TOOLS_VENV.name} is missing: run scripts/setup-infra-tools.sh "
               "(creates it with checkov and pycep-parser)")
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


# ---------------------------------------------------------------------------------------- pycep

_PYCEP_DUMP = r"""
import json, sys
from pathlib import Path
from pycep import BicepParser
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = {"ok": BicepParser().parse(file_path=Path(name))}
    except Exception as exc:  # lark raises UnexpectedToken / UnexpectedCharacters
        out[name] = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
print(json.dumps(out, default=str))
"""


def pycep_parse(files: list[Path]) -> dict[str, dict[str, Any]]:
    """{path: {"ok": parsed} | {"error": message}} for each Bicep file, parsed by pycep-parser."""
    proc = subprocess.run([str(TOOLS_PYTHON), "-c", _PYCEP_DUMP, *map(str, files)],
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"pycep run failed (rc={proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def bicep_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.bicep"))


# -------------------------------------------------------------------------------------- checkov

def run_checkov(directory: Path, workdir: Path) -> dict[str, Any]:
    """checkov over `directory` (Bicep only, offline), as JSON plus `returncode`. Run from `workdir`
    with an empty config file, so no `.checkov.yaml` anywhere can skip checks behind the Bicep's back.
    No --soft-fail: the return code is checkov's own verdict (1 = failed checks), kept to show that a
    parse error alone leaves it at 0."""
    config = workdir / "empty-checkov-config.yaml"
    config.write_text("{}\n")
    proc = subprocess.run(
        [str(CHECKOV), "-d", str(directory), "--framework", "bicep", "--skip-download",
         "--config-file", str(config), "-o", "json"],
        cwd=workdir, capture_output=True, text=True, timeout=180, check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov crashed (rc={proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    if isinstance(report, list):  # one entry per framework; only bicep was asked for
        report = next(r for r in report if r.get("check_type") == "bicep")
    report["returncode"] = proc.returncode
    return report


def skip_comments(directory: Path) -> dict[tuple[str, str], str]:
    """{(relative file, check id): justification} of every `checkov:skip=` comment in the Bicep."""
    found: dict[tuple[str, str], str] = {}
    for path in bicep_files(directory):
        for line in path.read_text().splitlines():
            m = SKIP_COMMENT.search(line)
            if m:
                found[("/" + path.relative_to(directory).as_posix(), m.group(1))] = (m.group(2) or "").strip()
    return found


def checkov_gate(report: dict[str, Any], directory: Path) -> list[str]:
    """Every reason the infra must not pass. checkov exits 0 on a parse error, so errors are counted
    here; a failed check is a problem unless skipped in the Bicep with a written justification."""
    problems: list[str] = []
    summary = report.get("summary", {})
    results = report.get("results", {})
    if summary.get("parsing_errors", 0):
        problems.append(f"{summary['parsing_errors']} Bicep file(s) did not parse: "
                        f"{results.get('parsing_errors')}")
    for check in results.get("failed_checks", []):
        problems.append(f"{check['check_id']} failed on {check['resource']} "
                        f"({check['file_path']}:{check.get('file_line_range')}): {check.get('check_name')}")
    for check in results.get("skipped_checks", []):
        reason = (check.get("check_result", {}).get("suppress_comment") or "").strip()
        if reason == "No comment provided" or len(reason) < MIN_JUSTIFICATION_CHARS:
            problems.append(f"{check['check_id']} on {check['resource']} ({check['file_path']}) is skipped "
                            f"without a written justification: {reason!r}")
    skipped = {(c["file_path"], c["check_id"]) for c in results.get("skipped_checks", [])}
    for (file, check_id) in skip_comments(directory):
        if (file, check_id) not in skipped:
            problems.append(f"misplaced skip comment for {check_id} in {file}: checkov did not skip it "
                            "(the comment must be inside the body of the resource it excuses)")
    if not summary.get("passed") and not problems:
        problems.append("checkov passed no check at all: it scanned nothing")
    return problems


# ------------------------------------------------------------------------------ Bicep walkers

def walk(value: Any) -> Iterator[Any]:
    """Every node of a pycep value (dicts, lists, scalars)."""
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def strings(value: Any) -> set[str]:
    return {v for v in walk(value) if isinstance(v, str)}


def identifiers_in(value: Any, names: set[str] | dict[str, Any]) -> set[str]:
    """Which of `names` (params, vars) a pycep value mentions (pycep renders references as bare
    strings; interpolations stay `${...}` text)."""
    found = set()
    for s in strings(value):
        for name in names:
            if s == name or re.search(r"\$\{[^}]*\b" + re.escape(name) + r"\b", s):
                found.add(name)
    return found


def is_param_ref(value: Any, name: str) -> bool:
    return value == name


def property_path(value: Any) -> list[str]:
    """`a.b.c` (pycep nested property_accessor) -> ['a', 'b', 'c']; [] when not an accessor."""
    if isinstance(value, str):
        return [value]
    op = value.get("operator", {}) if isinstance(value, dict) else {}
    if op.get("type") != "property_accessor":
        return []
    left = property_path(op["operands"]["operand_1"])
    right = property_path(op["operands"]["operand_2"])
    return left + right if left and right else []
