"""Proxies hold new clients while the primary's PostgreSQL is not serving
(issue 12): with primary_restart_timeout the agent restarts a killed
postmaster in place; clients connecting meanwhile through every node's 5432
must be held and released to the restarted server, never answered
"FATAL: the database system is starting up / shutting down / in recovery".
(A statement running when the postmaster died still fails: that is the
crash, not the proxy.)
"""
import os
import signal
import subprocess
import sys
import threading
import time

import cluster as H
from cluster import Cluster, wait_for

BLOCK = 44
FORBIDDEN = "the database system is"


def attempt(node, sql):
    """One psql through node's proxy: (ok, stderr)."""
    env = dict(os.environ, PGCONNECT_TIMEOUT="30", PGPASSWORD=H.CLIENT_PASSWORD)
    cmd = [os.path.join(H.PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
           "-h", node.host, "-p", "5432", "-U", "postgres", "-d", "postgres", "-c", sql]
    if H.IS_ROOT:
        cmd = ["runuser", "-u", H.PG_USER, "--"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    return r.returncode == 0, r.stderr.strip()


with Cluster(BLOCK, extra={"ha": {"primary_restart_timeout": "30s"}}) as c:
    c.start()
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    c.node(p).psql("CREATE TABLE t(id serial, via text)")
    epoch = c.any_view()["epoch"]
    stop = threading.Event()
    oks, errors = [0], []

    def writer(node):
        while not stop.is_set():
            ok, err = attempt(node, f"INSERT INTO t(via) VALUES ('{node.name}')")
            if ok:
                oks[0] += 1
            else:
                errors.append((node.name, err))
            time.sleep(0.02)

    threads = [threading.Thread(target=writer, args=(n,)) for n in c.nodes]
    for th in threads:
        th.start()
    try:
        wait_for("writes through every proxy", lambda: oks[0] >= 6, 30)
        old_pid = c.node(p).postmaster_pid()
        before = oks[0]
        os.kill(old_pid, signal.SIGKILL)
        wait_for("a new postmaster on the same node", lambda: (c.node(p).postmaster_pid() or old_pid) != old_pid, 60)
        wait_for("the same primary ready again", lambda: c.primary() == p and c.any_view()["epoch"] == epoch, 60)
        wait_for("writes again through every proxy", lambda: oks[0] >= before + 9, 60)
    finally:
        stop.set()
        for th in threads:
            th.join()
    bad = [e for e in errors if FORBIDDEN in e[1]]
    assert not bad, f"{len(bad)} clients were handed a server that was not serving: {bad[:5]}"
    print(f"postmaster restarted in place on {p} (epoch {epoch} kept): {oks[0]} writes, "
          f"{len(errors)} failed with the crash itself ({[e[1][:60] for e in errors[:3]]}), "
          f"none handed 'FATAL: {FORBIDDEN} ...'")
sys.exit(0)
