"""HTTP API (docs/http-api.md) through the function objects: every bad input is a 4xx with a message."""

from __future__ import annotations

import base64
import json

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest
from pal_support import QueueHost, call, table_rows

pytestmark = pytest.mark.azurite
FABRIKAM = "d13c513a-42f8-4da1-97b1-165f0971b7c4"
INJECTION = "x' or PartitionKey ne '"


def request(method: str, route: str, *, body: bytes = b"", params=None, route_params=None):
    return func.HttpRequest(method, f"https://pal.example.net/api/{route}", params=params or {},
                            route_params=route_params or {}, body=body)


async def invoke(name: str, req) -> tuple[int, dict, dict]:
    resp = await call(name)(req)
    assert resp.mimetype == "application/json"
    return resp.status_code, json.loads(resp.get_body()), dict(resp.headers)


def assert_error(status: int, body: dict, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert body["error"]["code"] == code and body["error"]["message"]


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"{", 400, "invalid_json"),
    (b"\xff\xfe{}", 400, "invalid_json"),
    (b"[" * 60_000, 400, "invalid_json"),                      # nesting, within the size limit
    (b"[]", 400, "invalid_body"),
    (b'"tenant_ids"', 400, "invalid_body"),
    (b'{"tenant_ids": "22222222-2222-2222-2222-222222222222"}', 400, "invalid_body"),
    (b'{"tenant_ids": [1]}', 400, "invalid_body"),
    (b'{"tenant_ids": [null]}', 400, "invalid_body"),
    (b'{"tenant_ids": [], "force": true}', 400, "invalid_body"),
    (b'{"tenant_ids": ["not-a-guid"]}', 400, "invalid_tenant_id"),
    (b'{"tenant_ids": ["22222222-2222-2222-2222-222222222222x"]}', 400, "invalid_tenant_id"),
    (json.dumps({"tenant_ids": [INJECTION]}).encode(), 400, "invalid_tenant_id"),
    (b'{"tenant_ids": ["00000000-0000-0000-0000-000000000000"]}', 404, "unknown_tenant"),
    (b'{"tenant_ids": ["' + b"a" * 70_000 + b'"]}', 413, "payload_too_large"),
])
async def test_bad_scan_requests_are_refused(app_env, body, status, code):
    got, payload, _ = await invoke("post_scans", request("POST", "scans", body=body))
    assert_error(got, payload, status, code)
    assert table_rows(app_env, "PalRuns") == []                 # nothing started


async def test_unknown_tenants_are_named(app_env):
    unknown = "00000000-0000-0000-0000-00000000abcd"
    body = json.dumps({"tenant_ids": [FABRIKAM, unknown]}).encode()
    status, payload, _ = await invoke("post_scans", request("POST", "scans", body=body))
    message = payload["error"]["message"]
    assert status == 404 and unknown in message and FABRIKAM not in message


async def test_a_scan_is_accepted_and_its_status_can_be_followed(app_env):
    body = json.dumps({"tenant_ids": [FABRIKAM]}).encode()
    status, payload, headers = await invoke("post_scans", request("POST", "scans", body=body))
    assert status == 202 and payload["queued"] == 1
    run_id = payload["run_id"]
    assert payload["status_url"] == f"https://pal.example.net/api/scans/{run_id}" == headers["Location"]
    assert [json.loads(b)["trigger"] for b in QueueHost(app_env).bodies()] == ["http"]

    follow = request("GET", f"scans/{run_id}", route_params={"run_id": run_id})
    status, run, _ = await invoke("get_scan", follow)
    assert status == 200 and run["status"] == "running" and run["tenants"]["pending"] == 1

    await QueueHost(app_env).drain(call("audit_tenant"))
    status, run, _ = await invoke("get_scan", follow)
    assert (run["status"], run["tenants"]["done"], run["trigger"]) == ("completed", 1, "http")


async def test_an_empty_body_scans_every_tenant(app_env):
    status, payload, _ = await invoke("post_scans", request("POST", "scans"))
    assert status == 202 and payload["queued"] == 11


@pytest.mark.parametrize(("run_id", "status", "code"), [
    ("nope", 400, "invalid_run_id"), (INJECTION, 400, "invalid_run_id"),
    ("20260301T020000Z-1a2b3c4d\n", 400, "invalid_run_id"),
    ("٢٠٢٦0301T020000Z-1a2b3c4d", 400, "invalid_run_id"),      # \d takes any Unicode digit
    ("20260301T020000Z-1a2b3c4d", 404, "unknown_run"),
])
async def test_bad_or_unknown_runs(app_env, run_id, status, code):
    got, payload, _ = await invoke("get_scan", request("GET", "scans/x", route_params={"run_id": run_id}))
    assert_error(got, payload, status, code)


def token(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"tenant_id": INJECTION}, 400, "invalid_tenant_id"),
    ({"tenant_id": FABRIKAM + "' or '1' eq '1"}, 400, "invalid_tenant_id"),
    ({"status": "open' or status ne 'x"}, 400, "invalid_parameter"),
    ({"check_id": "link_missing or true"}, 400, "invalid_parameter"),
    ({"severity": "HIGH"}, 400, "invalid_parameter"),
    ({"page_size": "0"}, 400, "invalid_parameter"),
    ({"page_size": "1001"}, 400, "invalid_parameter"),
    ({"page_size": "-1"}, 400, "invalid_parameter"),
    ({"page_size": "²"}, 400, "invalid_parameter"),            # str.isdigit() is True, int() raises
    ({"page_size": "١٢"}, 400, "invalid_parameter"),           # Arabic-Indic digits: int() reads 12
    ({"page_size": "10\n"}, 400, "invalid_parameter"),
    ({"page_size": " 10"}, 400, "invalid_parameter"),
    ({"tenant_id": FABRIKAM + "\n"}, 400, "invalid_tenant_id"),  # a $ anchor accepts a trailing newline
    ({"continuation": "not base64 !"}, 400, "invalid_continuation"),
    ({"continuation": token(["a"])}, 400, "invalid_continuation"),
    ({"continuation": token({"pk": "a/b", "rk": None})}, 400, "invalid_continuation"),
    ({"continuation": token({"pk": "a", "rk": "b", "filter": "x"})}, 400, "invalid_continuation"),
    ({"tenantid": FABRIKAM}, 400, "invalid_parameter"),         # a typo must not return everything
    ({"tenant_id": "00000000-0000-0000-0000-000000000000"}, 404, "unknown_tenant"),
])
async def test_bad_findings_queries_are_refused(app_env, params, status, code):
    got, payload, _ = await invoke("get_findings", request("GET", "findings", params=params))
    assert_error(got, payload, status, code)


async def test_findings_are_filtered_and_paged_with_parameterised_queries(app_env, monkeypatch):
    from azure.data.tables.aio import TableClient

    host = QueueHost(app_env)
    await call("nightly_audit")(TimerRequest(past_due=False))
    await host.drain(call("audit_tenant"))

    queries = []
    original = TableClient.query_entities

    def spy(self, query_filter, **kwargs):
        queries.append((self.table_name, query_filter, kwargs.get("parameters")))
        return original(self, query_filter, **kwargs)

    monkeypatch.setattr(TableClient, "query_entities", spy)
    seen, params = [], {"page_size": "4", "code": "function-key"}
    while True:
        status, page, _ = await invoke("get_findings", request("GET", "findings", params=params))
        assert status == 200 and page["count"] <= 4
        seen += page["findings"]
        if not page["continuation"]:
            break
        params = {"page_size": "4", "continuation": page["continuation"]}
    assert len(seen) == 22 == len({f["finding_id"] for f in seen})
    assert {"first_seen", "last_seen", "status", "reopened_count", "remediation"} <= set(seen[0])

    status, page, _ = await invoke("get_findings", request("GET", "findings", params={
        "tenant_id": "495A38D0-9CE6-481B-B615-4826B1548E26", "status": "suppressed", "severity": "low"}))
    assert [f["check_id"] for f in page["findings"]] == ["excessive_privilege"]
    finding_queries = [(f, p) for t, f, p in queries if t == "PalFindings"]
    assert finding_queries[-1] == (
        "PartitionKey eq @tenant_id and status eq @status and severity eq @severity",
        {"tenant_id": "495a38d0-9ce6-481b-b615-4826b1548e26", "status": "suppressed", "severity": "low"})


async def test_health_tells_whether_a_run_finished_recently(app_env):
    status, body, _ = await invoke("get_health", request("GET", "health"))
    assert status == 503 and body["status"] == "stale" and body["last_success"] is None

    host = QueueHost(app_env)
    await call("nightly_audit")(TimerRequest(past_due=False))
    status, body, _ = await invoke("get_health", request("GET", "health"))
    assert status == 503 and body["last_run"]["status"] == "running"

    await host.drain(call("audit_tenant"))
    status, body, _ = await invoke("get_health", request("GET", "health"))
    assert status == 200 and body["status"] == "ok" and body["last_success"]["age_hours"] < 1
    assert body["last_run"]["tenants_failed"] == 1


async def test_storage_or_configuration_trouble_is_a_503_never_a_500(app_env, monkeypatch, azurite):
    import pal_audit.service as service

    dead = azurite.connection_string.replace(f":{azurite.table_port}/", ":9/").replace(
        f":{azurite.queue_port}/", ":9/")
    monkeypatch.setenv("AzureWebJobsStorage", dead)
    status, body, _ = await invoke("get_health", request("GET", "health"))
    assert_error(status, body, 503, "storage_unavailable")

    monkeypatch.setenv("AzureWebJobsStorage", app_env)
    monkeypatch.setenv("PAL_AUDIT_REGISTRY", "/nonexistent/registry.yaml")
    service._registry_cache.clear()
    status, body, _ = await invoke("post_scans", request("POST", "scans"))
    assert_error(status, body, 503, "configuration_error")

    monkeypatch.setenv("PAL_AUDIT_CONCURRENCY", "lots")
    status, body, _ = await invoke("get_findings", request("GET", "findings"))
    assert_error(status, body, 503, "configuration_error")
    assert "PAL_AUDIT_CONCURRENCY" in body["error"]["message"]


# ---------------------------------------------------------------- hostile input: a 4xx naming the place

LONE_SURROGATE_TOKEN = "eyJwayI6ICJcdWQ4MDAiLCAicmsiOiAieCJ9"     # {"pk": "\ud800", "rk": "x"}


def raw_token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


HOSTILE_SCAN_BODIES = [
    pytest.param(b'{"tenant_ids":[' + b"1" * 5000 + b"]}", 400, "invalid_body", "tenant_ids",
                 id="5000-digit-integer"),
    pytest.param(b'{"tenant_ids":[-' + b"9" * 200 + b"]}", 400, "invalid_body", "tenant_ids",
                 id="200-digit-negative-integer"),
    pytest.param(json.dumps({"x": 1}).replace('"x": 1', f'"tenant_ids": ["{FABRIKAM}"], "tenant_ids": []')
                 .encode(), 400, "invalid_json", "duplicate key 'tenant_ids'", id="duplicate-key-empty-last"),
    pytest.param(f'{{"tenant_ids": [], "tenant_ids": ["{FABRIKAM}"]}}'.encode(), 400, "invalid_json",
                 "duplicate key 'tenant_ids'", id="duplicate-key-empty-first"),
    pytest.param(b'{"tenant_ids": ["\\ud800"]}', 400, "invalid_tenant_id", "not a GUID", id="lone-surrogate"),
    pytest.param(b'{"tenant_ids": ["\\u001b[2J"]}', 400, "invalid_tenant_id", "not a GUID",
                 id="escape-sequence"),
    pytest.param(b'{"tenant_ids": [' + b"[" * 100 + b"]" * 100 + b"]}", 400, "invalid_json", "nested",
                 id="nested-lists"),
]


@pytest.mark.parametrize(("body", "status", "code", "named"), HOSTILE_SCAN_BODIES)
async def test_hostile_scan_bodies_are_a_4xx_naming_the_problem(app_env, body, status, code, named):
    got, payload, _ = await invoke("post_scans", request("POST", "scans", body=body))
    assert_error(got, payload, status, code)
    assert named in payload["error"]["message"]
    assert table_rows(app_env, "PalRuns") == []                 # nothing started, in particular not "all"


@pytest.mark.parametrize("continuation", [
    pytest.param(LONE_SURROGATE_TOKEN, id="lone-surrogate"),
    pytest.param(raw_token('{"pk": "a", "rk": "\\udfff"}'), id="lone-low-surrogate"),
    pytest.param(raw_token("[" * 3000), id="deep-nesting"),
    pytest.param(raw_token('{"pk": "a", "pk": "b", "rk": "x"}'), id="duplicate-key"),
    pytest.param(raw_token('{"pk": 1, "rk": "x"}'), id="number-key"),
    pytest.param(raw_token('{"pk": "a", "rk": ' + "1" * 2000 + "}"), id="2000-digit-key"),
    pytest.param(base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(), id="not-utf8"),
])
async def test_hostile_continuation_tokens_are_a_400(app_env, continuation):
    got, payload, _ = await invoke("get_findings", request("GET", "findings",
                                                           params={"continuation": continuation}))
    assert_error(got, payload, 400, "invalid_continuation")


@pytest.mark.parametrize(("name", "text"), [
    ("registry.yaml", 'partner:\n  partner_id: "1234567"\n  name: ' + "1" * 5000 + "\n"),
    ("registry.json", '{"partner": {"partner_id": ' + "1" * 5000 + "}}"),
    ("registry.json", '{"partner": ' + "[" * 3000 + "]" * 3000 + "}"),
])
async def test_a_hostile_registry_is_a_503_configuration_error(app_env, monkeypatch, tmp_path, name, text):
    import pal_audit.service as service

    (tmp_path / name).write_text(text)
    monkeypatch.setenv("PAL_AUDIT_REGISTRY", str(tmp_path / name))
    service._registry_cache.clear()
    for handler, req in (("post_scans", request("POST", "scans")),
                         ("get_findings", request("GET", "findings", params={"tenant_id": FABRIKAM}))):
        status, body, _ = await invoke(handler, req)
        assert_error(status, body, 503, "configuration_error")
        assert "line 1" in body["error"]["message"] or "line 3" in body["error"]["message"]


async def test_error_messages_echo_no_terminal_control(app_env):
    for hostile in ("open\x1b]8;;https://e/\x1b\\", "x\x1b[2J\u202e", "\x9b2J"):
        resp = await call("get_findings")(request("GET", "findings", params={"status": hostile}))
        body = resp.get_body()
        assert resp.status_code == 400 and json.loads(body)["error"]["code"] == "invalid_parameter"
        assert body.isascii() and b"\x1b" not in body           # JSON escapes them: \u001b


@pytest.mark.parametrize("value", ["9" * 5000, "١٢", "12\x1b[2J", "-1"])
async def test_a_hostile_setting_is_a_503_naming_it(app_env, monkeypatch, value):
    monkeypatch.setenv("PAL_AUDIT_CONCURRENCY", value)
    status, body, _ = await invoke("get_findings", request("GET", "findings"))
    assert_error(status, body, 503, "configuration_error")
    assert "PAL_AUDIT_CONCURRENCY" in body["error"]["message"] and len(body["error"]["message"]) < 300
