"""Code, infra and local settings cannot drift apart.

`pal_audit/settings.py` declares every app setting the code reads (`SETTINGS`). Each must be set in
the Bicep app settings (secrets as Key Vault references) from a parameter whose default is the
code's default, mapped in main.parameters.json, and listed in local.settings.json.example. The code
itself is scanned for settings read around `SETTINGS`.
"""

import ast
import json
from pathlib import Path

import pytest
from infra_support import INFRA, REPO, identifiers_in, strings

from pal_audit.settings import SETTING_NAMES, SETTINGS, load_settings

BY_NAME = {s.name: s for s in SETTINGS}
LOCAL_EXAMPLE = REPO / "local.settings.json.example"

# Settings read by the code but set by the infra itself, not from a parameter.
FROM_THE_INFRA = {"PAL_AUDIT_MANAGED_IDENTITY_CLIENT_ID": "identityClientId"}

# Environment variables the app code reads that are NOT app settings (name -> why). Dev-only code
# (pal_audit/devstack) is not scanned. Add here only with a reason; anything else goes in SETTINGS.
NOT_APP_SETTINGS: dict[str, str] = {}


def api_app_settings(api):
    """(plain {name: value}, Key Vault-referenced names) of the function app, from the parsed Bicep."""
    plain = {}
    for var_name in ("hostStorageSettings", "platformSettings", "palAuditSettings"):
        for item in api["variables"][var_name]["value"]:
            plain[item["name"]] = item["value"]
    secret = set()
    for var_name in ("teamsSecret", "smtpSecret", "acsSecret"):
        secret |= {s for s in strings(api["variables"][var_name]["value"]) if s.startswith("PAL_AUDIT_")}
    return plain, secret


def covered(name, names):
    """A setting is set when present, or, for a connection, in its identity-based `name__*` form."""
    return name in names or any(n.startswith(name + "__") for n in names)


def as_setting_text(param):
    """The app-setting text a Bicep param default produces (int -> digits, bool -> true/false)."""
    default = param.get("default")
    if isinstance(default, bool):
        return "true" if default else "false"
    return "" if default is None else str(default)


# ---------------------------------------------------------------------------------- Bicep

def test_every_setting_the_code_reads_is_set_in_the_bicep(bicep):
    plain, secret = api_app_settings(bicep["api"])
    missing = sorted(n for n in SETTING_NAMES if not covered(n, set(plain) | secret))
    assert not missing, f"settings the code reads but the Bicep never sets: {missing}"


def test_azure_web_jobs_storage_is_covered_by_its_identity_based_form(bicep):
    plain, _ = api_app_settings(bicep["api"])
    assert "AzureWebJobsStorage" not in plain
    assert covered("AzureWebJobsStorage", set(plain))
    assert not covered("AzureWebJobsStorage", {"AzureWebJobsStorageX", "OtherStorage__blobServiceUri"})


def test_secret_settings_are_key_vault_references_and_only_they(bicep):
    plain, secret = api_app_settings(bicep["api"])
    declared_secret = {s.name for s in SETTINGS if s.secret}
    assert secret == declared_secret
    assert not declared_secret & set(plain), "a secret must not be a plain app setting"


def test_the_bicep_sets_no_pal_audit_setting_the_code_does_not_declare(bicep):
    plain, secret = api_app_settings(bicep["api"])
    stale = sorted(n for n in set(plain) | secret if n.startswith("PAL_AUDIT_") and n not in SETTING_NAMES)
    assert not stale, f"app settings no code reads (remove them, or declare them in settings.py): {stale}"


PARAMETERISED = sorted(s.name for s in SETTINGS
                       if s.name.startswith("PAL_AUDIT_") and not s.secret and s.name not in FROM_THE_INFRA)


@pytest.mark.parametrize("setting", PARAMETERISED)
def test_setting_comes_from_a_main_parameter_with_the_code_default(bicep, setting):
    api, main = bicep["api"], bicep["main"]
    plain, _ = api_app_settings(api)
    api_refs = identifiers_in(plain[setting], api["parameters"])
    assert len(api_refs) == 1, f"{setting} must come from one api.bicep param, got {api_refs}"
    api_param = api_refs.pop()
    passed = main["modules"]["api"]["config"]["params"].get(api_param)
    assert passed in main["parameters"], f"main.bicep must pass a param of its own to api {api_param}"
    main_param = main["parameters"][passed]

    expected = BY_NAME[setting].default or ""
    assert as_setting_text(main_param) == expected, f"main.bicep {passed} default vs settings.py"
    assert as_setting_text(api["parameters"][api_param]) == expected, f"api.bicep {api_param} default"
    description = next(d["argument"] for d in main_param["decorators"] if d["type"] == "description")
    assert description.startswith(setting + ":"), f"main.bicep {passed} description must name {setting}"

    mapping = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert mapping[passed]["value"] == f"${{{setting}={expected}}}", \
        f"main.parameters.json must map {passed} to the azd variable {setting} with the code default"


def test_settings_set_by_the_infra_use_the_identity(bicep):
    plain, _ = api_app_settings(bicep["api"])
    for setting, value in FROM_THE_INFRA.items():
        assert plain[setting] == value


# ------------------------------------------------------------------------ local.settings.json

def local_values():
    return json.loads(LOCAL_EXAMPLE.read_text())["Values"]


def test_local_settings_example_lists_every_setting():
    values = local_values()
    missing = sorted(SETTING_NAMES - set(values))
    assert not missing, f"local.settings.json.example lacks {missing}"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    extra = sorted(set(values) - SETTING_NAMES - {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsFeatureFlags"})
    assert not extra, f"local.settings.json.example lists settings no code reads: {extra}"


def test_local_settings_example_holds_no_secret_and_loads():
    values = local_values()
    for s in SETTINGS:
        if s.secret:
            assert values[s.name] == "", f"{s.name} must stay empty in the committed example"
    settings = load_settings(values)          # a valid configuration as it stands
    assert settings.storage_connection == "UseDevelopmentStorage=true"


# ------------------------------------------------------------------------------- the code

def _receiver_name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_env(node):
    return _receiver_name(node).lstrip("_") in ("environ", "env")


def _literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def settings_read_by(source: str):
    """(env names read with a literal name, %binding% names, connection= names, AzureWebJobsStorage__*
    names mentioned) in one Python source."""
    env_reads, bindings, connections, storage_parts = set(), set(), set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            name = _literal(node.args[0])
            func = node.func
            if name and ((func.attr in ("get", "pop", "setdefault") and _is_env(func.value))
                         or (func.attr == "getenv" and _receiver_name(func.value) == "os")):
                env_reads.add(name)
        if isinstance(node, ast.Subscript) and _is_env(node.value) and _literal(node.slice):
            env_reads.add(_literal(node.slice))
        if isinstance(node, ast.keyword) and node.arg == "connection" and _literal(node.value):
            connections.add(_literal(node.value))
        text = _literal(node)
        if text:
            stripped = text.strip()
            if len(stripped) > 2 and stripped[0] == stripped[-1] == "%" and stripped[1:-1].isidentifier():
                bindings.add(stripped[1:-1])
            for word in text.replace("`", " ").replace(",", " ").split():
                word = word.strip(".;:()'\"")
                prefix, _, part = word.partition("__")
                if prefix == "AzureWebJobsStorage" and part.isidentifier():
                    storage_parts.add(word)
    return env_reads, bindings, connections, storage_parts


def app_sources():
    files = [REPO / "function_app.py"] if (REPO / "function_app.py").exists() else []
    files += [p for p in sorted((REPO / "pal_audit").rglob("*.py")) if "devstack" not in p.parts]
    return files


def test_the_scanner_finds_every_kind_of_read():
    source = '''
import os
a = os.environ.get("PAL_AUDIT_A")
b = os.environ["PAL_AUDIT_B"]
c = os.getenv("PAL_AUDIT_C")
d = self._env.get("PAL_AUDIT_D")
e = env["PAL_AUDIT_E"]
f = env.get(name)
@app.timer_trigger(schedule="%PAL_AUDIT_SCHEDULE%", arg_name="t")
@app.queue_trigger(arg_name="m", queue_name="q", connection="AzureWebJobsStorage")
def g(): "identity-based: `AzureWebJobsStorage__tableServiceUri` and AzureWebJobsStorage__clientId."
h = "100%"
'''
    env_reads, bindings, connections, parts = settings_read_by(source)
    assert env_reads == {"PAL_AUDIT_A", "PAL_AUDIT_B", "PAL_AUDIT_C", "PAL_AUDIT_D", "PAL_AUDIT_E"}
    assert bindings == {"PAL_AUDIT_SCHEDULE"}
    assert connections == {"AzureWebJobsStorage"}
    assert parts == {"AzureWebJobsStorage__tableServiceUri", "AzureWebJobsStorage__clientId"}


def test_the_code_reads_no_setting_outside_settings_py(bicep):
    plain, secret = api_app_settings(bicep["api"])
    in_bicep = set(plain) | secret
    problems = []
    for path in app_sources():
        env_reads, bindings, connections, parts = settings_read_by(path.read_text())
        where = path.relative_to(REPO)
        for name in sorted(env_reads - SETTING_NAMES - set(NOT_APP_SETTINGS)):
            problems.append(f"{where} reads {name}: declare it in pal_audit/settings.py SETTINGS")
        for name in sorted((bindings | connections) - SETTING_NAMES):
            problems.append(f"{where} binds %{name}% / connection {name}: declare it in SETTINGS")
        for name in sorted(parts - in_bicep):
            problems.append(f"{where} expects {name}, which infra/app/api.bicep does not set")
    assert not problems, "\n".join(problems)


def timer_schedules(source: str):
    """The `schedule=` argument of every timer trigger (None when it is not a literal)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _receiver_name(node.func) == "timer_trigger":
            for kw in node.keywords:
                if kw.arg == "schedule":
                    out.append(_literal(kw.value))
    return out


def test_timer_schedules_are_the_declared_setting():
    sample = '@app.timer_trigger(schedule="0 0 2 * * *", arg_name="t")\ndef f(t): pass\n'
    assert timer_schedules(sample) == ["0 0 2 * * *"]
    for path in app_sources():
        for schedule in timer_schedules(path.read_text()):
            assert schedule == "%PAL_AUDIT_SCHEDULE%", \
                f"{path.relative_to(REPO)}: timer schedule {schedule!r} must be '%PAL_AUDIT_SCHEDULE%'"


def test_app_sources_are_found():
    names = {Path(p).name for p in app_sources()}
    assert "settings.py" in names
