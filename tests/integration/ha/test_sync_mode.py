"""HA with [ha] synchronous_mode = on (I4): the primary waits for ANY 1 of
one chosen standby (synchronous_node_count = 1, the default), the committed
sync set always contains every name PostgreSQL waits for, and failover
picks a member of that set.
"""
import json
import os
import signal
import subprocess
import sys

from cluster import Cluster, wait_for

BLOCK = 33

with Cluster(BLOCK, extra={"ha": {"synchronous_mode": "on"}}) as c:
    c.start()
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    prim = c.node(p)
    others = sorted(n.name for n in c.nodes if n.name != p)
    # The committed set follows once the standby replayed past the switch
    # from asynchronous mode (docs/operations.md, synchronous mode).
    sync = wait_for("the committed synchronous set", lambda: c.any_view()["sync"], 30)
    assert len(sync) == 1 and sync[0] in others, sync
    expected = f'ANY 1 ("{sync[0]}")'
    wait_for("synchronous_standby_names on the primary",
             lambda: prim.local_psql("SHOW synchronous_standby_names") == expected, 60)
    prim.psql("CREATE TABLE t(x int)")
    # A commit has to wait for a standby: with both standbys' WAL receivers
    # stopped (SIGSTOP: still "streaming" to the primary, flushing nothing),
    # an INSERT stays in SyncRep until one of them goes on.
    receivers = []
    for n in (c.node(o) for o in others):
        pid = n.local_psql("SELECT pid FROM pg_stat_wal_receiver")
        assert pid, f"no WAL receiver on {n.name}"
        receivers.append(int(pid))
    try:
        for pid in receivers:
            os.kill(pid, signal.SIGSTOP)
        cmd, env = prim.psql_command("INSERT INTO t VALUES (1)", timeout=60)
        insert = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for("the INSERT waiting for a synchronous standby",
                 lambda: prim.local_psql("SELECT count(*) FROM pg_stat_activity "
                                         "WHERE wait_event = 'SyncRep' AND query LIKE 'INSERT INTO t%'") == "1", 30)
        assert insert.poll() is None, "the INSERT returned before any standby confirmed it"
    finally:
        for pid in receivers:
            os.kill(pid, signal.SIGCONT)
    out, err = insert.communicate(timeout=60)
    assert insert.returncode == 0, f"the waiting INSERT failed: {err.strip()}"
    prim.kill(signal.SIGKILL)
    new = c.wait_primary(timeout=60, not_name=p)
    assert new == sync[0], (new, sync)
    wait_for("the row on the new primary", lambda: c.node(new).psql("SELECT count(*) FROM t", check=False) == "1", 30)
    print(f"synchronous mode: {expected} on {p}; failover to {new} kept the acknowledged row")
sys.exit(0)
