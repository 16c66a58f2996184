"""Azure Functions entry points (Python v2 programming model), thin by design.

Each trigger hands its input to `pal_audit.service` / `pal_audit.http.api`, with its context
opened by the composition root (`pal_audit.service.composition.APP`, which puts the alerts in).
Those modules, and through them the Azure SDKs, are imported inside the functions, so indexing
this file at cold start loads only azure.functions (tests/test_function_app.py checks both).
"""

from __future__ import annotations

import logging

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger("pal_audit.functions")

TENANTS_QUEUE = "pal-audit-tenants"             # same names as pal_audit.store.queues (kept literal:
POISON_QUEUE = "pal-audit-tenants-poison"       # importing the store here would load the SDKs)


@app.timer_trigger(schedule="%PAL_AUDIT_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
# A run that could not be started (storage down while queuing) fails the invocation; the host
# retries it after the dead run's grace (pal_audit/service/liveness.py), and the retry takes over
# the tenants that run still claims.
@app.retry(strategy="fixed_delay", max_retry_count="3", delay_interval="00:02:00")
async def nightly_audit(timer: func.TimerRequest) -> None:
    """Create a run and queue one message per tenant; never audits inline. Fails (raises) when
    the run cannot be started, so the host records and retries it."""
    from pal_audit.service import run_nightly
    from pal_audit.service.composition import APP

    if timer.past_due:
        log.warning("nightly audit is past due (the host was down or busy at the scheduled time); "
                    "running now")
    async with APP.open() as ctx:
        started = await run_nightly(ctx)
    log.info("nightly audit: run %s, %d tenants queued, %d already queued by another run",
             started.run_id, len(started.queued), len(started.skipped))


@app.queue_trigger(arg_name="msg", queue_name=TENANTS_QUEUE, connection="AzureWebJobsStorage")
async def audit_tenant(msg: func.QueueMessage) -> None:
    """Audit one tenant of a run. An exception makes the host retry, then move it to the poison queue."""
    from pal_audit.service import handle_tenant_message
    from pal_audit.service.composition import APP

    log.info("tenant message %s (delivery %s)", msg.id, msg.dequeue_count)
    async with APP.open() as ctx:
        await handle_tenant_message(msg.get_body(), registry=ctx.registry(), store=ctx.store,
                                    auditor_factory=ctx.auditor, observer=ctx.observer)


@app.queue_trigger(arg_name="msg", queue_name=POISON_QUEUE, connection="AzureWebJobsStorage")
async def audit_tenant_poison(msg: func.QueueMessage) -> None:
    """A tenant whose audit kept failing: record `audit_error` so the failure is never silent."""
    from pal_audit.service import handle_poison_message
    from pal_audit.service.composition import APP

    async with APP.open() as ctx:
        await handle_poison_message(msg.get_body(), registry=ctx.registry(), store=ctx.store,
                                    observer=ctx.observer)


async def _http(handler_name: str, req: func.HttpRequest) -> func.HttpResponse:
    from pal_audit.http import api as http_api
    from pal_audit.service.composition import APP

    request = http_api.Request(method=req.method, url=req.url, params=dict(req.params),
                               route_params=dict(req.route_params), body=req.get_body() or b"")
    resp = await http_api.guarded(http_api.HANDLERS[handler_name], request, APP.open)
    if resp.html is not None:
        return func.HttpResponse(resp.html, status_code=resp.status, headers=resp.headers,
                                 mimetype="text/html", charset="utf-8")
    return func.HttpResponse(resp.json(), status_code=resp.status, headers=resp.headers,
                             mimetype="application/json", charset="utf-8")


@app.route(route="scans", methods=["POST"])
async def post_scans(req: func.HttpRequest) -> func.HttpResponse:
    return await _http("post_scans", req)


@app.route(route="scans/{run_id}", methods=["GET"])
async def get_scan(req: func.HttpRequest) -> func.HttpResponse:
    return await _http("get_scan", req)


@app.route(route="findings", methods=["GET"])
async def get_findings(req: func.HttpRequest) -> func.HttpResponse:
    return await _http("get_findings", req)


@app.route(route="dashboard", methods=["GET"])
async def get_dashboard(req: func.HttpRequest) -> func.HttpResponse:
    return await _http("get_dashboard", req)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def get_health(req: func.HttpRequest) -> func.HttpResponse:
    return await _http("get_health", req)
