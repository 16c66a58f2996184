"""The one way pal-audit opens an HTTP connection pool for the Azure SDK clients and credentials.

Every client and credential of an audit, a `fix`, a `me` or a Functions worker shares one aiohttp
session, so TLS handshakes happen per connection, not per client. Built like azure-core's own
session (no cookies, no transparent decompression), except that it reads proxies and `.netrc`
from the environment only when there is something to find: with `trust_env` aiohttp looks both up
again on a worker thread for every request, a tenth of the audit's CPU at 200 tenants.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pal_audit.registry.clouds import Cloud

if TYPE_CHECKING:
    import aiohttp
    from azure.core.pipeline.transport import AioHttpTransport

DEFAULT_CONNECTIONS = 100    # aiohttp's own default


def proxy_or_netrc_set(env: Mapping[str, str]) -> bool:
    """Whether aiohttp must read proxies and .netrc from the environment."""
    names = {k.lower() for k in env}
    proxies_or_netrc = {n for n in names if n.endswith("_proxy") and n != "no_proxy"} | (names & {"netrc"})
    return bool(proxies_or_netrc) or os.path.exists(os.path.expanduser("~/.netrc"))


def open_pool(cloud: Cloud, *, limit: int = DEFAULT_CONNECTIONS, env: Mapping[str, str] | None = None,
              trace_configs: Sequence[aiohttp.TraceConfig] = ()
              ) -> tuple[aiohttp.ClientSession, AioHttpTransport]:
    """(session, transport) trusting `cloud`'s CA bundle; the caller closes the session."""
    import aiohttp
    from azure.core.pipeline.transport import AioHttpTransport

    tls = ssl.create_default_context(cafile=str(cloud.ca_bundle) if cloud.ca_bundle else None)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=tls, limit=limit), cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False, trust_env=proxy_or_netrc_set(os.environ if env is None else env),
        trace_configs=list(trace_configs) or None)
    return session, AioHttpTransport(session=session, session_owner=False)
