"""The one HTTP pool: when it reads proxies and .netrc from the environment."""

from __future__ import annotations

from pal_audit.engine.http_pool import proxy_or_netrc_set


def test_the_session_reads_the_environment_only_when_a_proxy_or_netrc_is_set(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))       # no ~/.netrc there
    assert not proxy_or_netrc_set({"PATH": "/bin", "NO_PROXY": "localhost"})
    assert proxy_or_netrc_set({"HTTPS_PROXY": "http://proxy:3128"})
    assert proxy_or_netrc_set({"NETRC": "/etc/netrc"})
    (tmp_path / ".netrc").write_text("machine example.org login x password y\n")
    assert proxy_or_netrc_set({})
