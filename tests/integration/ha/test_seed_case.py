"""HA scenario 2, the seed's case: the cluster is initialized (init Done),
then every data directory is wiped while the raft state stays. pgwarden
names the situation (diagnostic init_done_no_data, in the log and in
/cluster) instead of waiting silently; `pgwarden ctl reset-cluster
--confirm NAME` brings back a working cluster. A second round shows
bootstrap.reinit_when_all_empty = on recovering by itself.

A third round, on its own address block (issue 21, the seed's origin
avoided rather than repaired): one node keeps the raft state directory of
an earlier cluster with the same name and members, the other two start
empty. The empty pair must form a new cluster (new cluster id) and
bootstrap, not adopt the lone node's history (which says "bootstrapped",
with the data nowhere); the stale node is refused and says so with its own
diagnostic (stale_raft_state) naming the exact command, not no_quorum's
"start pgwarden on the unreachable members"; after that command it joins.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

from cluster import Cluster, PGWARDEN, chown_pg, wait_for

BLOCK = 24
STALE_BLOCK = 51


def wipe_all(c):
    for n in c.nodes:
        n.kill()
    for n in c.nodes:
        wait_for(f"{n.name}'s postgres to exit", lambda n=n: n.postmaster_pid() is None, 30)
        if os.path.exists(n.data_dir):  # a member still cloning has none yet
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


def view(n):
    try:
        return n.cluster_view()
    except Exception:
        return None


def diag(n, code):
    v = view(n)
    return v and next((d for d in v.get("diagnostics", []) if d.get("code") == code), None)


with Cluster(STALE_BLOCK) as c:
    # The earlier cluster: bootstrapped, so its raft log says init done.
    c.start()
    c.wait_primary(timeout=90)
    c.wait_streaming(2)
    old_system_id = c.any_view()["init"]["system_id"]
    stale = c.nodes[0]
    old_id = re.search(r"cluster_id=(0x[0-9a-f]{16}) recorded", stale.log_text()).group(1)
    wipe_all(c)
    for n in c.nodes[1:]:  # n2 and n3 start empty; n1 keeps its raft state only
        shutil.rmtree(n.state_dir)
        os.mkdir(n.state_dir, 0o700)
        chown_pg(n.state_dir)
    # n1 and n2 first: with the old code n2 voted for n1's longer log and
    # adopted its history (init done, no data anywhere).
    stale.start()
    wait_for("n1's API", lambda: view(stale), 30)
    fresh = c.nodes[1:]
    fresh[0].start()
    wait_for("n2's API", lambda: view(fresh[0]), 30)
    fresh[1].start()

    def new_primary():
        for n in fresh:
            v = view(n)
            if v and v["primary"] in ("n2", "n3") and v["ready_epoch"] == v["epoch"] and \
                    v["init"]["state"] == "done" and v["init"]["system_id"] != old_system_id:
                return v["primary"]
        return None
    p = wait_for("the empty pair to form a new cluster and bootstrap it", new_primary, 120)
    c.node(p).psql("CREATE TABLE after_stale(x int); INSERT INTO after_stale VALUES (42)",
                   port=15432, host=c.node(p).state_dir)
    print(f"the empty pair formed a new cluster and bootstrapped it: primary={p}")

    # The stale node is refused and says why, with the command to type.
    d = wait_for("the stale_raft_state diagnostic on n1", lambda: diag(stale, "stale_raft_state"), 60)
    print(f"n1: [{d['code']}] {d['message']}\n    action: {d['action']}")
    assert old_id in d["message"], d
    assert not diag(stale, "no_quorum"), "n1 still shows no_quorum's advice"
    cmd = re.search(r"`(systemctl stop pgwarden && mv (\S+) (\S+) && systemctl start pgwarden)`", d["action"])
    assert cmd, d["action"]
    assert cmd.group(2) == stale.state_dir, cmd.group(0)
    r = subprocess.run([PGWARDEN, "ctl", "-c", stale.ini, "list"], capture_output=True, text=True, timeout=30)
    assert "[stale_raft_state]" in r.stdout and cmd.group(1) in r.stdout, r.stdout + r.stderr
    assert any(diag(n, "member_refused") for n in fresh), "the new cluster does not name the refused member"
    assert "stale_raft_state" in stale.log_text()

    # Following the advice (without systemd here: kill, mv, start).
    stale.kill()
    subprocess.run(shlex.split(cmd.group(0).split(" && ")[1]), check=True)
    assert os.path.isdir(cmd.group(3)), "the old state directory was not kept"
    stale.start()
    wait_for("n1 to join the new cluster and stream from it",
             lambda: stale.local_psql("SELECT x FROM after_stale") == "42", 120)
    wait_for("n1's diagnostics to clear", lambda: not diag(stale, "stale_raft_state"), 30)
    print("n1 joined the new cluster after moving its state directory aside")
sys.exit(0)
