"""HA scenario 1: cold bootstrap of three empty nodes.

Exactly one initdb runs, a write through the proxy succeeds, both replicas
stream (pg_stat_replication shows 2), and every node's 5432 reaches the
same primary.
"""
import sys

from cluster import Cluster, wait_for

BLOCK = 21

with Cluster(BLOCK) as c:
    c.start()
    primary = c.wait_primary(timeout=90)
    # Exactly one bootstrap: one node logged the initdb step, and it is the primary.
    initdb_nodes = [n.name for n in c.nodes if "child=initdb" in n.log_text()]
    assert initdb_nodes == [primary], f"initdb ran on {initdb_nodes}, primary is {primary}"
    c.nodes[0].psql("CREATE TABLE t(id int primary key, who text)")
    for i, n in enumerate(c.nodes):
        n.psql(f"INSERT INTO t VALUES ({i}, '{n.name}')")
        assert n.psql("SELECT pg_is_in_recovery()") == "f", f"{n.name}:5432 did not reach the primary"
    c.wait_streaming(2, timeout=90)
    rows = c.node(primary).psql("SELECT count(*) FROM t")
    assert rows == "3", rows
    # The replicas received the rows (read on their own PostgreSQL).
    for n in c.nodes:
        if n.name != primary:
            wait_for(f"rows on {n.name}", lambda n=n: n.local_psql("SELECT count(*) FROM t") == "3", 30)
    print(f"bootstrap ok: primary={primary}, one initdb, 2 streaming replicas")
sys.exit(0)
