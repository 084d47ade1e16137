"""Issue 15: the monitoring kit (packaging/monitoring/). `promtool check
rules` accepts the alert rules; every metric the rules and the Grafana
dashboard use is one a live node exports; and one rule is proven to fire on
series captured from a live cluster's /metrics: a replica's daemon is
killed, the primary's /metrics says pgwarden_member_up{member=...} 0, and
`promtool test rules` over those captured values fires
PgwardenMemberUnreachable for that member (and nothing for the others).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

from cluster import Cluster, wait_for

BLOCK = 39
KIT = os.path.join(os.environ.get("PW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..")),
                   "packaging", "monitoring")
RULES = os.path.join(KIT, "pgwarden.rules.yml")
DASHBOARD = os.path.join(KIT, "pgwarden-dashboard.json")
PROMTOOL = shutil.which("promtool")
assert PROMTOOL, "promtool is not installed (scripts/install-deps.sh installs prometheus)"

r = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True)
assert r.returncode == 0, r.stdout + r.stderr


def metrics(node):
    with urllib.request.urlopen(f"http://{node.host}:8008/metrics", timeout=5) as f:
        return f.read().decode()


def used_names(text):
    return set(re.findall(r"\b(pgwarden_[a-z_]+)", text))


tmp = tempfile.mkdtemp(prefix="pgwarden-prom-")
try:
    with Cluster(BLOCK) as c:
        c.start()
        p = c.wait_primary(timeout=90)
        c.wait_streaming(2)
        exported = used_names(metrics(c.node(p)))
        with open(RULES) as f:
            rules_text = f.read()
        with open(DASHBOARD) as f:
            dash = json.load(f)
        dash_text = " ".join(t["expr"] for pn in dash["panels"] for t in pn["targets"])
        missing = (used_names(rules_text) | used_names(dash_text)) - exported
        assert not missing, f"the kit uses metrics no node exports: {sorted(missing)}"

        victim = next(n for n in c.nodes if n.name != p)
        victim.kill()
        line = re.compile(r'^pgwarden_member_up\{member="([^"]+)"\} (\d+)$', re.M)
        want = {n.name: ("0" if n is victim else "1") for n in c.nodes}
        got = {}

        def victim_down_others_up():
            got.clear()
            got.update(line.findall(metrics(c.node(p))))
            return got == want
        wait_for(f"{victim.name} down and the others up in /metrics", victim_down_others_up, 60)
        captured = dict(got)
        print(f"captured from {p}'s /metrics: pgwarden_member_up {captured}")
        series = [{"series": f'pgwarden_member_up{{job="demo",instance="{c.node(p).host}:8008",member="{m}"}}',
                   "values": f"{v}x20"} for m, v in sorted(captured.items())]
        test = {"rule_files": [RULES], "evaluation_interval": "15s",
                "tests": [{"interval": "15s", "input_series": series,
                           "alert_rule_test": [{"eval_time": "2m", "alertname": "PgwardenMemberUnreachable",
                                                "exp_alerts": [{"exp_labels": {"severity": "warning", "job": "demo",
                                                                               "member": victim.name},
                                                                "exp_annotations": {
                                                                    "summary": f"member {victim.name} of demo is down or unreachable",
                                                                    "description": "Its status is stale or its PostgreSQL is not running; the cluster has one failover candidate less."}}]}]}]}
        path = os.path.join(tmp, "test.yml")
        with open(path, "w") as f:
            json.dump(test, f)  # JSON is YAML
        r = subprocess.run([PROMTOOL, "test", "rules", path], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        print(f"PgwardenMemberUnreachable fires for {victim.name} on the captured series")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0)
