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
    # Its PostgreSQL no longer accepts writes (fenced) and its proxy answers 57P03.
    wait_for("the lone node's PostgreSQL to stop accepting writes",
             lambda: last.psql("INSERT INTO t VALUES (2)", port=15432, host=last.state_dir, check=False, timeout=3) is None, 30)
    code, _ = last.api("/primary")
    assert code == 503, code
    assert last.psql("SELECT 1", check=False, timeout=25) is None, "proxy served without a primary"
    print("two nodes down: the last one reports no quorum and refuses writes")
sys.exit(0)
