from pathlib import Path

import pytest
from infra_support import INFRA, bicep_files, pycep_parse, require_tools, run_checkov


@pytest.fixture(scope="session")
def checkov_report(tmp_path_factory):
    """checkov's JSON report over the real infra/ (one run per session, ~4 s)."""
    require_tools()
    return run_checkov(INFRA, tmp_path_factory.mktemp("checkov"))


@pytest.fixture(scope="session")
def bicep():
    """{'main': parsed main.bicep, 'api': parsed app/api.bicep, ...} parsed by pycep-parser."""
    require_tools()
    files = bicep_files(INFRA)
    parsed = pycep_parse(files)
    errors = {k: v["error"] for k, v in parsed.items() if "error" in v}
    assert not errors, f"Bicep files that pycep cannot parse: {errors}"
    by_stem = {Path(k).stem: v["ok"] for k, v in parsed.items()}
    assert len(by_stem) == len(parsed), "Bicep file names must be unique across infra/"
    return by_stem
