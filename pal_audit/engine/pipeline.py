"""The pipeline of a unit's SDK clients: the policies a read-only audit needs, nothing more.

The generated management clients run every request through fourteen policies; at thousands of
requests a second that chain was a large share of the audit's CPU (docs/performance.md). An audit
needs a request id (Azure support can trace a call by it), a user agent, the unit's retry policy,
ARM's bearer-token policy (with its claims challenges) and, for typed operations only, the content
decoder the SDK's deserializer reads. The clients take this list through their public `policies`
argument; the per-retry policies still go after the retry policy.

Left out, and why: headers (none set), proxy (aiohttp reads proxies from the environment), resource
provider auto-registration (a 409 on writes, never on reads), redirects (ARM reads do not redirect)
and the header clean-up that follows them, custom hooks (none), network-trace logging (it logs
bodies). Tracing and HTTP logging stay when they would do something: a tracer is configured, or
the SDK's HTTP logger is enabled for INFO.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pal_audit import __version__

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.core.pipeline.policies import AsyncHTTPPolicy, SansIOHTTPPolicy

    # The SDK's own policies are typed against its transport types loosely; a pipeline takes either kind.
    Policy = AsyncHTTPPolicy[Any, Any] | SansIOHTTPPolicy[Any, Any]

HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"
SDK_MONIKER = f"pal-audit/{__version__}"


def client_policies(credential: AsyncTokenCredential, scopes: list[str],
                    retry_policy: AsyncHTTPPolicy[Any, Any] | None, *, decode: bool) -> list[Policy]:
    """A fresh policy list for one client (a pipeline links its policies, so lists are not shared).
    `decode`: the client deserializes typed models (raw JSON lists parse the bytes themselves)."""
    from azure.core.pipeline.policies import (
        AsyncRetryPolicy,
        ContentDecodePolicy,
        DistributedTracingPolicy,
        RequestIdPolicy,
        UserAgentPolicy,
    )
    from azure.core.settings import settings
    from azure.mgmt.core.policies import ARMHttpLoggingPolicy, AsyncARMChallengeAuthenticationPolicy

    policies: list[Policy] = [RequestIdPolicy(), UserAgentPolicy(sdk_moniker=SDK_MONIKER)]
    if decode:
        policies.append(ContentDecodePolicy())
    policies += [retry_policy or AsyncRetryPolicy(),
                 AsyncARMChallengeAuthenticationPolicy(credential, *scopes)]
    if settings.tracing_implementation() is not None:
        policies.append(DistributedTracingPolicy())
    if logging.getLogger(HTTP_LOGGER).isEnabledFor(logging.INFO):
        policies.append(ARMHttpLoggingPolicy())
    return policies
