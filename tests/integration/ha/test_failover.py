"""HA scenario 5: kill -9 of the primary's daemon (its PostgreSQL dies with
it, PDEATHSIG) → a replica is promoted and accepts writes through every
surviving node; the old node, restarted, rejoins as a replica (rewind) and
receives new rows.
"""
import signal
import sys
import time

from cluster import Cluster, wait_for

BLOCK = 22

with Cluster(BLOCK) as c:
    c.start()
    old = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    c.node(old).psql("CREATE TABLE t(id serial primary key, note text)")
    c.node(old).psql("INSERT INTO t(note) VALUES ('before')")
    pm = c.node(old).postmaster_pid()
    assert pm, "primary has no postmaster"
    t0 = time.monotonic()
    c.node(old).kill(signal.SIGKILL)
    wait_for("the old postmaster to die with its daemon (PDEATHSIG)",
             lambda: c.node(old).postmaster_pid() is None, 30)
    new = c.wait_primary(timeout=60, not_name=old)
    survivors = [n for n in c.nodes if n.name != old]
    for n in survivors:
        wait_for(f"a write through {n.name}:5432",
                 lambda n=n: n.psql(f"INSERT INTO t(note) VALUES ('after via {n.name}')", check=False) is not None, 30)
    print(f"failover {old} -> {new} in {time.monotonic() - t0:.1f}s")
    assert c.node(new).psql("SELECT count(*) FROM t WHERE note = 'before'") == "1"
    # The old primary comes back as a replica of the new one.
    c.node(old).start()
    wait_for(f"{old} to stream from {new}",
             lambda: c.node(new).local_psql(
                 f"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{old}' AND state = 'streaming'") == "1",
             90)
    c.node(new).psql("INSERT INTO t(note) VALUES ('after rejoin')")
    wait_for(f"the new row on {old}",
             lambda: c.node(old).local_psql("SELECT count(*) FROM t WHERE note = 'after rejoin'") == "1", 30)
    assert c.node(old).local_psql("SELECT pg_is_in_recovery()") == "t"
    print("old primary rejoined as a replica and receives new rows")
sys.exit(0)
