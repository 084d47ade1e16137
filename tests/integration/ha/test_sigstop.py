"""HA scenario 8: SIGSTOP the primary's daemon for twice the lease, then
SIGCONT. A new primary is elected meanwhile, and the deposed node never
accepts a write after the new epoch became ready. A writer hammers the old
primary's own PostgreSQL (bypassing every proxy) and records the time of
each successful commit; none may be later than the moment the new primary
accepted its first write.
"""
import signal
import sys
import threading
import time

from cluster import Cluster, wait_for

BLOCK = 27
LEASE = 3.0

with Cluster(BLOCK) as c:
    c.start()
    old = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    o = c.node(old)
    o.psql("CREATE TABLE t(id serial, src text, at double precision)")
    ok_on_old = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            t = time.monotonic()
            out = o.psql("INSERT INTO t(src, at) VALUES ('old', 0) RETURNING id", port=15432, host=o.state_dir,
                         check=False, timeout=2)
            if out:
                ok_on_old.append(time.monotonic())
            time.sleep(0.02)

    th = threading.Thread(target=hammer)
    th.start()
    try:
        o.kill(signal.SIGSTOP)
        stopped_at = time.monotonic()
        others = [n for n in c.nodes if n.name != old]

        def new_primary_write():
            # Through the survivors' proxies; until the route moves, these
            # still reach the old primary (legitimately: its lease runs), so
            # only a write served by another server counts.
            for n in others:
                served_by = n.psql("INSERT INTO t(src, at) VALUES ('new', 0) RETURNING inet_server_addr()",
                                   check=False, timeout=3)
                if served_by and served_by.split("/")[0] != o.host:
                    return time.monotonic()
            return None
        first_new_write = wait_for("a write accepted by a new primary", new_primary_write, 60)
        remaining = 2 * LEASE - (time.monotonic() - stopped_at)
        if remaining > 0:
            time.sleep(remaining)
        o.kill(signal.SIGCONT)
        # Let the old node notice and settle; keep hammering it meanwhile.
        new = c.wait_primary(timeout=60, not_name=old)
        time.sleep(3)
    finally:
        stop.set()
        th.join()
    late = [t - first_new_write for t in ok_on_old if t >= first_new_write]
    assert not late, f"the deposed primary accepted {len(late)} writes after the new epoch was ready: {late[:5]}"
    print(f"SIGSTOP: {new} took over; {len(ok_on_old)} writes on {old} before, none after")
sys.exit(0)
