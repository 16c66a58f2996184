"""azure.yaml and the azd conventions main.bicep relies on."""

import json
import re

import yaml
from infra_support import INFRA, REPO


def test_azure_yaml_deploys_the_root_as_a_python_function_app():
    doc = yaml.safe_load((REPO / "azure.yaml").read_text())
    assert doc["name"] == "pal-audit"
    assert doc["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    infra = doc.get("infra", {})
    assert (infra.get("provider", "bicep"), infra.get("path", "infra"), infra.get("module", "main")) == \
        ("bicep", "infra", "main")
    assert (REPO / "requirements.txt").exists(), "azd/Oryx build the Python app from requirements.txt"
    assert (INFRA / "main.bicep").exists() and (INFRA / "main.parameters.json").exists()


def test_every_abbreviation_main_bicep_uses_exists():
    abbrs = json.loads((INFRA / "abbreviations.json").read_text())
    used = set(re.findall(r"\babbrs\.(\w+)", (INFRA / "main.bicep").read_text()))
    assert used, "main.bicep names resources with abbreviations.json"
    assert not used - set(abbrs), f"missing in abbreviations.json: {used - set(abbrs)}"


def test_the_azd_deploy_tag_names_the_service(bicep):
    doc = yaml.safe_load((REPO / "azure.yaml").read_text())
    sites = [r for r in bicep["api"]["resources"].values() if r["type"] == "Microsoft.Web/sites"]
    tag = sites[0]["config"]["tags"]["function"]["parameters"]["arg_2"]
    assert tag == {"'azd-service-name'": next(iter(doc["services"]))}
