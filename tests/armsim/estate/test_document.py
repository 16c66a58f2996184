"""Reading the estate document: the fast readers give the estate the pure YAML loader gives, and a
validation error names the line of the place that is wrong."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from armsim_support import ESTATE_FILE, estate_data

from armsim import EstateError, load_estate
from armsim.estate.document import read_document

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
EXAMPLE_ESTATE = Path(__file__).resolve().parents[3] / "examples" / "estate.yaml"

BAD_APP_ID = """\
tenants:
  - tenant_id: 11111111-1111-1111-1111-111111111111
    principals:
      - object_id: 22222222-2222-2222-2222-222222222222
        type: ServicePrincipal
        app_id: not-a-guid
"""


@pytest.mark.parametrize("path", [ESTATE_FILE, EXAMPLE_ESTATE], ids=["test-estate", "example-estate"])
def test_the_fast_reader_gives_what_the_pure_yaml_loader_gives(path: Path) -> None:
    text = path.read_text()
    assert read_document(text) == yaml.load(text, Loader=yaml.SafeLoader)


def test_an_estate_written_as_json_loads_as_the_same_estate(tmp_path: Path) -> None:
    as_json = tmp_path / "estate.yaml"  # JSON is YAML: the name need not say which
    as_json.write_text(json.dumps(estate_data(), indent=1, default=str))
    assert load_estate(as_json, now=NOW) == load_estate(ESTATE_FILE, now=NOW)


def test_a_validation_error_names_the_line_of_the_bad_value(tmp_path: Path) -> None:
    f = tmp_path / "estate.yaml"
    f.write_text(BAD_APP_ID)
    with pytest.raises(EstateError) as e:
        load_estate(f)
    assert str(e.value) == (f"{f}: tenants[0].principals[0].app_id: not a GUID: 'not-a-guid' (line 6)")


def test_an_unknown_key_is_named_at_its_line_and_a_missing_key_at_its_mapping(tmp_path: Path) -> None:
    f = tmp_path / "estate.yaml"
    f.write_text(
        BAD_APP_ID.replace(
            "app_id: not-a-guid", "app_id: 33333333-3333-3333-3333-333333333333\n        colour: red"
        )
    )
    with pytest.raises(EstateError, match=r"principals\[0\]\.colour: unknown key .*\(line 7\)$"):
        load_estate(f)
    f.write_text(BAD_APP_ID.replace("        type: ServicePrincipal\n", ""))
    with pytest.raises(EstateError, match=r"principals\[0\]\.type: required key is missing \(line 4\)$"):
        load_estate(f)


def test_a_json_estate_error_names_its_line_too(tmp_path: Path) -> None:
    f = tmp_path / "estate.json"
    data = yaml.safe_load(BAD_APP_ID)
    f.write_text(json.dumps(data, indent=1))
    line = 1 + json.dumps(data, indent=1).splitlines().index('     "app_id": "not-a-guid"')
    with pytest.raises(EstateError, match=rf"app_id: not a GUID: 'not-a-guid' \(line {line}\)$"):
        load_estate(f)


def test_validate_says_how_long_the_load_took_and_what_it_holds() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "armsim", "validate", "--estate", str(ESTATE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r": ok: 3 tenants, \d+ principals, \d+ partners \(loaded in \d+\.\d s", proc.stdout)
