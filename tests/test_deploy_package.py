"""The Functions package holds only what runs: `.funcignore` is an allowlist, checked here.

The package is built the way the deployment tools build it: every file under the app root, minus
what `.funcignore` excludes under `.gitignore` rules (pathspec implements those rules).
"""

from __future__ import annotations

import os
from pathlib import Path

import pathspec
import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED_TOP_LEVEL = {"function_app.py", "host.json", "requirements.txt", "registry.yaml", "registry.json",
                     "pal_audit"}


def _spec() -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text().splitlines())


def _package(paths: list[str]) -> set[str]:
    spec = _spec()
    return {p for p in paths if not spec.match_file(p)}


def _tree() -> list[str]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d != ".git"]
        rel = Path(folder).relative_to(ROOT)
        found += [(rel / f).as_posix() for f in files]
    return found


def test_the_package_holds_the_app_and_its_runtime_package_only() -> None:
    package = _package(_tree())
    assert {p.split("/", 1)[0] for p in package} <= ALLOWED_TOP_LEVEL
    for needed in ("function_app.py", "host.json", "requirements.txt", "pal_audit/__init__.py",
                   "pal_audit/checks/link_missing.py", "pal_audit/store/findings.py"):
        assert needed in package
    assert not [p for p in package if "__pycache__" in p or p.endswith(".pyc")]


@pytest.mark.parametrize("path", [
    "tests/test_deploy_package.py", "bench/audit_bench.py", "armsim/server.py", "examples/estate.yaml",
    "node_modules/azurite/package.json", ".venv/bin/python", "docs/architecture.md", "infra/main.bicep",
    "local.settings.json", "a-new-folder/tool.py", "notes.txt", "pal_audit/__pycache__/model.cpython-311.pyc",
])
def test_anything_else_stays_out_even_a_folder_added_later(path: str) -> None:
    assert _package([path]) == set()
