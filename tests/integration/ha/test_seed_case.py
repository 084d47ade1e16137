"""HA scenario 2, the seed's case: the cluster is initialized (init Done),
then every data directory is wiped while the raft state stays. pgwarden
names the situation (diagnostic init_done_no_data, in the log and in
/cluster) instead of waiting silently; `pgwarden ctl reset-cluster
--confirm NAME` brings back a working cluster. A second round shows
bootstrap.reinit_when_all_empty = on recovering by itself.
"""
import json
import os
import shutil
import subprocess
import sys

from cluster import Cluster, PGWARDEN, wait_for

BLOCK = 24


def wipe_all(c):
    for n in c.nodes:
        n.kill()
    for n in c.nodes:
        wait_for(f"{n.name}'s postgres to exit", lambda n=n: n.postmaster_pid() is None, 30)
        shutil.rmtree(n.data_dir)


with Cluster(BLOCK) as c:
    c.start()
    c.wait_primary(timeout=90)
    c.wait_streaming(2)
    wipe_all(c)
    c.start()

    def diag_present():
        v = c.any_view()
        return v and any(d.get("code") == "init_done_no_data" for d in v.get("diagnostics", []))
    wait_for("the init_done_no_data diagnostic in /cluster", diag_present, 60)
    assert any("init_done_no_data" in n.log_text() for n in c.nodes), "diagnostic not logged"
    assert any("reset-cluster --confirm" in n.log_text() for n in c.nodes), "the fix is not in the log"
    r = subprocess.run([PGWARDEN, "ctl", "-c", c.nodes[1].ini, "reset-cluster", "--confirm", "wrong-name"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0, "reset-cluster accepted a wrong confirmation"
    r = subprocess.run([PGWARDEN, "ctl", "-c", c.nodes[1].ini, "reset-cluster", "--confirm", f"ha{BLOCK}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    c.node(p).psql("CREATE TABLE after_reset(x int)")
    print(f"reset-cluster recovered the cluster, primary={p}")

    # Second round: reinit_when_all_empty recovers without an operator.
    wipe_all(c)
    c.extra = {"bootstrap": {"reinit_when_all_empty": "on"}}
    for n in c.nodes:
        c.write_config(n)
    c.start()
    p = c.wait_primary(timeout=120)
    c.wait_streaming(2)
    print(f"reinit_when_all_empty recovered the cluster, primary={p}")
sys.exit(0)
