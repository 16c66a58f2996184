"""`pal-audit demo`, the README's first command: it runs the whole product with nothing configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_demo_runs_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAL_", "AzureWebJobs"))}
    proc = subprocess.run([sys.executable, "-m", "pal_audit.cli", "demo", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, timeout=180, env=env)
    out = proc.stdout
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in out + proc.stderr
    # Run 1 finds the staged misconfigurations; `fix` applies the two safe link changes and holds
    # the three risky ones; run 2 shows the fixed findings RESOLVED and nothing else.
    assert "Transitions: NEW 16" in out
    assert "applied 2, unchanged 0, skipped 0, failed 0" in out
    assert out.count("not planned:") == 3 and "needs --overwrite-foreign" in out
    assert "Transitions: RESOLVED 4" in out
    assert "link_foreign_partner" in out and "Tailwind Traders" in out
    assert "credit_expires_soon" in out          # Tailwind: ops-app's only eligible role ends in 5 days
    cards = sorted((tmp_path / "alerts").glob("*.card.json"))
    mails = sorted((tmp_path / "alerts").glob("*.eml"))
    assert len(cards) == 12 and len(mails) == len(cards)
    last = json.loads(cards[-1].read_text())
    assert last["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "RESOLVED" in json.dumps(last)
    # Simulator secrets stay out of what a partner would receive.
    assert not any("sim-only-" in p.read_text() for p in cards + mails)
