"""HA scenario 6: kill -9 only the primary's postmaster. With the default
primary_restart_timeout = 0 the agent releases the lock at once and a
replica is promoted; with primary_restart_timeout = 30s on the primary it
restarts PostgreSQL in place and stays primary (same epoch).
"""
import os
import signal
import sys

from cluster import Cluster, wait_for

BLOCK = 26

# Default reaction: failover.
with Cluster(BLOCK) as c:
    c.start()
    old = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    c.node(old).psql("CREATE TABLE t(x int)")
    os.kill(c.node(old).postmaster_pid(), signal.SIGKILL)
    new = c.wait_primary(timeout=60, not_name=old)
    assert c.node(old).running(), "the daemon must survive its postmaster"
    c.node(new).psql("INSERT INTO t VALUES (1)")
    assert "released" in c.node(old).log_text() or "PostgreSQL is down on the primary" in c.node(old).log_text()
    wait_for(f"{old} back as a replica",
             lambda: c.node(new).local_psql(
                 f"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{old}'") == "1", 90)
    print(f"postmaster kill: failover {old} -> {new}, old node rejoined")

# Restart in place.
with Cluster(BLOCK, extra={"ha": {"primary_restart_timeout": "30s"}}) as c:
    c.start()
    p = c.wait_primary(timeout=90)
    epoch = c.any_view()["epoch"]
    old_pid = c.node(p).postmaster_pid()
    os.kill(old_pid, signal.SIGKILL)
    wait_for("a new postmaster on the same node",
             lambda: (c.node(p).postmaster_pid() or old_pid) != old_pid, 60)
    wait_for("the same primary ready again", lambda: c.primary() == p and c.any_view()["epoch"] == epoch, 60)
    c.node(p).psql("CREATE TABLE t(x int)")
    print(f"postmaster kill with primary_restart_timeout: restarted in place on {p}, epoch {epoch} kept")
sys.exit(0)
