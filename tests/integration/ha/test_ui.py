"""Issue 15: the status page at GET /ui, rendered by headless Chromium
(Debian's `chromium`) against a live cluster: it shows the primary's name,
the members and a clean diagnostics list, and after a switchover it shows
the new primary (the page polls /cluster itself). With PW_UI_SCREENSHOT set
it also saves a screenshot there (docs/ui.png is made that way).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from cluster import Cluster, wait_for

BLOCK = 38
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(args, url, profile):
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=4000"] + args + [url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, f"chromium failed: {r.stderr[-2000:]}"
    return r.stdout


def shown_primary(url, profile):
    dom = chromium(["--dump-dom"], url, profile)
    m = re.search(r'<b id="primary"[^>]*>([^<]*)</b>', dom)
    return (m.group(1) if m else None), dom


assert CHROMIUM, "chromium is not installed (scripts/install-deps.sh installs it)"
profile = tempfile.mkdtemp(prefix="pgwarden-ui-")
try:
    with Cluster(BLOCK) as c:
        c.start()
        p = c.wait_primary(timeout=90)
        c.wait_streaming(2)
        other = next(n for n in c.nodes if n.name != p)
        url = f"http://{other.host}:8008/ui"   # any node's page shows the whole cluster
        name, dom = shown_primary(url, profile)
        assert name == p, f"the page shows primary {name!r}, expected {p}"
        for n in c.nodes:
            assert f"<td>{n.name}</td>" in dom, f"member {n.name} missing from the page"
        assert "nothing blocks the cluster" in dom, "diagnostics not rendered"
        shot = os.environ.get("PW_UI_SCREENSHOT")
        if shot:
            chromium([f"--screenshot={shot}", "--window-size=1280,860", "--hide-scrollbars"], url, profile)
            print(f"screenshot: {shot}")
        code, body = c.node(p).api("/switchover", "POST", {"to": other.name})
        assert code == 200, (code, body)
        wait_for(f"{other.name} primary", lambda: c.primary() == other.name, 60)
        wait_for("the page to show the new primary", lambda: shown_primary(url, profile)[0] == other.name, 30,
                 interval=0.5)
        print(f"/ui showed {p}, then {other.name} after the switchover")
finally:
    shutil.rmtree(profile, ignore_errors=True)
sys.exit(0)
