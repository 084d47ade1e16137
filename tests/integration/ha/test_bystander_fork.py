"""HA scenario: a bystander standby that replayed past the new primary's
fork point is rewound as soon as it sees the new timeline's history, not
after the not-streaming timeout.

Found by the fault harness (sync mode, oneway_out / oneway_in on the
primary): the standby that was not promoted had received WAL the promoted
one never got. PostgreSQL refuses the new timeline at once ("new timeline N
forked off current database system timeline M before current recovery
point"), but the agent waited for 10 s without streaming — and its
walreceiver, which streams the old timeline up to the fork after every
retry, showed "streaming" for a moment each time and reset that timer, so
the standby could stay diverged and unstreaming for 30 s or more.

Here: n3 is tagged nofailover (the bystander B). The primary P's walsender
to the other standby A is frozen (SIGSTOP), rows are written on P and
replayed by B only, P is killed: A is promoted onto timeline 2 without
those rows, and B is past the fork. B must say it stops to rewind because
of the fork (not because of the timeout), be rewound, stream from A and
hold A's new row but not the rows A never had.
"""
import os
import signal
import sys

from cluster import Cluster, wait_for

BLOCK = 58
ROWS = 50


with Cluster(BLOCK, node_extra={"n3": {"tags": {"nofailover": "true"}}}) as c:
    c.start()
    old = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    p = c.node(old)
    b = c.node("n3")
    a = next(n for n in c.nodes if n.name not in (old, "n3"))
    p.local_psql("CREATE TABLE t(id int primary key, note text)")
    p.local_psql("INSERT INTO t VALUES (0, 'before')")
    for n in (a, b):
        wait_for(f"the first row on {n.name}", lambda n=n: n.local_psql("SELECT count(*) FROM t") == "1", 30)

    # A stops receiving: its walsender on P is frozen (whatever P sends it
    # from now on stays in P's process, so A cannot get it later).
    ws = wait_for(f"P's walsender to {a.name}",
                  lambda: p.local_psql(f"SELECT pid FROM pg_stat_replication WHERE application_name = '{a.name}'"),
                  30)
    walsender = int(ws)
    os.kill(walsender, signal.SIGSTOP)
    try:
        p.local_psql(f"INSERT INTO t SELECT g, 'only on {old} and {b.name}' FROM generate_series(1, {ROWS}) g")
        wait_for(f"{b.name} to replay the rows A never gets",
                 lambda: b.local_psql("SELECT count(*) FROM t") == str(ROWS + 1), 30)
        assert a.local_psql("SELECT count(*) FROM t") == "1"
        p.kill(signal.SIGKILL)  # its PostgreSQL dies with it (PDEATHSIG), not the frozen walsender
    finally:
        try:
            os.kill(walsender, signal.SIGKILL)
        except OSError:
            pass
    print(f"{b.name} replayed {ROWS} rows that {a.name} never received; {old} killed")

    assert c.wait_primary(timeout=60, not_name=old) == a.name
    a.psql("INSERT INTO t VALUES (1000, 'timeline 2')")
    wait_for(f"{b.name} to stop for a rewind because of the fork",
             lambda: "fork from timeline 1" in b.log_text(), 60)
    wait_for(f"{b.name} to stream from {a.name} with its row",
             lambda: b.local_psql("SELECT count(*) FROM t WHERE id = 1000", timeout=3) == "1", 90)
    assert b.local_psql("SELECT received_tli FROM pg_stat_wal_receiver") == "2"
    # Rewound, not served diverged: the rows only the old primary had are gone.
    assert b.local_psql("SELECT count(*) FROM t") == "2", b.local_psql("SELECT count(*) FROM t")
    print(f"{b.name} rewound at the fork and follows {a.name} on timeline 2")
sys.exit(0)
