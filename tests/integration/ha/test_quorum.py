"""HA scenario 10: stopping one replica leaves a working cluster; stopping
two nodes leaves the last one reporting "no quorum", and it does not accept
writes as a primary.
"""
import sys
import time

from cluster import Cluster, wait_for

BLOCK = 25

with Cluster(BLOCK) as c:
    c.start()
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    c.node(p).psql("CREATE TABLE t(x int)")
    replicas = [n for n in c.nodes if n.name != p]
    replicas[0].stop()
    for n in (c.node(p), replicas[1]):
        wait_for(f"a write through {n.name}", lambda n=n: n.psql("INSERT INTO t VALUES (1)", check=False) is not None, 30)
    print("one replica down: writes still succeed")
    replicas[1].stop()
    last = c.node(p)

    def no_quorum():
        code, body = last.api("/cluster")
        return code == 200 and "no_quorum" in body
    wait_for("the no_quorum diagnostic on the last node", no_quorum, 30)
    assert "no quorum" in last.log_text()
    # Its PostgreSQL no longer accepts writes (fenced): the server is gone or
    # read-only. Any other failure (psql crashing, a bad password) is not proof.
    fenced = ("No such file or directory", "Connection refused", "read-only transaction",
              "the database system is shutting down", "the database system is starting up")

    def write_refused():
        r = last.psql_run("INSERT INTO t VALUES (2)", port=15432, host=last.state_dir, timeout=3)
        if r.returncode == 0:
            return False
        if not any(f in r.stderr for f in fenced):
            raise AssertionError(f"the lone node's PostgreSQL failed a write for another reason: {r.stderr.strip()}")
        return True
    wait_for("the lone node's PostgreSQL to stop accepting writes", write_refused, 30)
    code, _ = last.api("/primary")
    assert code == 503, code
    # Its proxy holds the client for hold_timeout (15 s here), then refuses it
    # as PostgreSQL would: 57P03 with the reason.
    r = last.psql_run("SELECT 1", timeout=25)
    assert r.returncode != 0, f"proxy served without a primary: {r.stdout!r}"
    assert "pgwarden: no quorum" in r.stderr, f"proxy refusal without the reason: {r.stderr.strip()}"
    print("two nodes down: the last one reports no quorum and refuses writes")
sys.exit(0)
