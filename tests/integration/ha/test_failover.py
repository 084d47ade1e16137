"""HA scenario 5: kill -9 of the primary's daemon (its PostgreSQL dies with
it, PDEATHSIG) → a replica is promoted and accepts writes through every
surviving node; the old node, restarted, rejoins as a replica (rewind) and
receives new rows. A second client writes with one libpq connection string
listing every node, the killed one first (docs/operations.md, "Connecting
applications"): the dead entry point is skipped and no write fails.
"""
import os
import signal
import subprocess
import sys
import threading
import time

from cluster import CLIENT_PASSWORD, IS_ROOT, PG_BIN, PG_USER, Cluster, wait_for

BLOCK = 22

with Cluster(BLOCK) as c:
    c.start()
    old = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    c.node(old).psql("CREATE TABLE t(id serial primary key, note text)")
    c.node(old).psql("INSERT INTO t(note) VALUES ('before')")
    pm = c.node(old).postmaster_pid()
    assert pm, "primary has no postmaster"
    # Clients keep connecting through the survivors' 5432 during the
    # failover: each must be held by the proxy and released to the new
    # primary, none refused (issue 6).
    survivors = [n for n in c.nodes if n.name != old]
    attempts, failures, kill_at = [0], [], [None]
    stop = threading.Event()

    def clients():
        i = 0
        while not stop.is_set():
            i += 1
            n = survivors[i % 2]
            started = time.monotonic()
            ok = n.psql("SELECT 1", check=False, timeout=30) == "1"
            # A session already talking to the primary when it is killed
            # dies with it; the claim is about connections made after.
            if kill_at[0] is not None and started > kill_at[0]:
                attempts[0] += 1
                if not ok:
                    failures.append((n.name, started))
            time.sleep(0.1)
    all_hosts = ",".join([c.node(old).host] + [n.host for n in survivors])
    multi = {"attempts": 0, "failures": []}

    def multi_host_writer():
        conninfo = (f"host={all_hosts} port=5432 dbname=postgres user=postgres "
                    "target_session_attrs=read-write connect_timeout=30")
        env = dict(os.environ, PGPASSWORD=CLIENT_PASSWORD)
        i = 0
        while not stop.is_set():
            i += 1
            cmd = [os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
                   "-c", f"INSERT INTO t(note) VALUES ('multi {i}')"]
            if IS_ROOT:
                cmd = ["runuser", "-u", PG_USER, "--"] + cmd
            started = time.monotonic()
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
            if kill_at[0] is not None and started > kill_at[0]:
                multi["attempts"] += 1
                if r.returncode != 0:
                    multi["failures"].append(r.stderr.strip())
            time.sleep(0.1)
    th = threading.Thread(target=clients)
    th.start()
    th2 = threading.Thread(target=multi_host_writer)
    th2.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    kill_at[0] = t0
    c.node(old).kill(signal.SIGKILL)
    wait_for("the old postmaster to die with its daemon (PDEATHSIG)",
             lambda: c.node(old).postmaster_pid() is None, 30)
    new = c.wait_primary(timeout=60, not_name=old)
    time.sleep(1)
    stop.set()
    th.join()
    th2.join()
    assert not failures, f"{len(failures)} of {attempts[0]} connections failed during the failover"
    print(f"{attempts[0]} client connections during the failover, none failed")
    assert multi["attempts"] > 0, "the multi-host writer made no attempt after the kill"
    assert not multi["failures"], f"multi-host writes failed: {multi['failures'][:3]}"
    print(f"{multi['attempts']} writes with host={all_hosts} target_session_attrs=read-write, none failed")
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
