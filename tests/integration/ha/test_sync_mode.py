"""HA with [ha] synchronous_mode = on (I4): the primary waits for ANY 1 of
the streaming standbys, the committed sync set always contains every name
PostgreSQL waits for, and failover picks a member of that set.
"""
import json
import signal
import sys

from cluster import Cluster, wait_for

BLOCK = 33

with Cluster(BLOCK, extra={"ha": {"synchronous_mode": "on"}}) as c:
    c.start()
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    prim = c.node(p)
    others = sorted(n.name for n in c.nodes if n.name != p)
    expected = "ANY 1 (" + ",".join(f'"{n}"' for n in others) + ")"
    wait_for("synchronous_standby_names on the primary",
             lambda: prim.local_psql("SHOW synchronous_standby_names") == expected, 60)
    # The committed set follows once a standby replayed past the switch from
    # asynchronous mode (docs/operations.md, synchronous mode).
    wait_for("the committed synchronous set", lambda: sorted(c.any_view()["sync"]) == others, 30)
    prim.psql("CREATE TABLE t(x int)")
    prim.psql("INSERT INTO t VALUES (1)")  # committed only once a standby confirmed it
    prim.kill(signal.SIGKILL)
    new = c.wait_primary(timeout=60, not_name=p)
    assert new in others
    wait_for("the row on the new primary", lambda: c.node(new).psql("SELECT count(*) FROM t", check=False) == "1", 30)
    print(f"synchronous mode: {expected} on {p}; failover to {new} kept the acknowledged row")
sys.exit(0)
