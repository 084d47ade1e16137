"""HA scenarios 4 and 9.

Adopt: one node starts with an existing data directory holding rows; it
becomes primary, the rows survive, the others are cloned from it.
Foreign: a node whose data directory belongs to another cluster is refused
with the foreign_data_dir diagnostic and its directory is left in place;
with move_aside_foreign_data = on it is moved aside (not deleted) and the
node clones.
"""
import glob
import os
import subprocess
import sys

from cluster import Cluster, IS_ROOT, PG_BIN, PG_USER, wait_for


def as_pg(cmd):
    return (["runuser", "-u", PG_USER, "--"] + cmd) if IS_ROOT else cmd


def make_cluster_dir(path, port, rows):
    subprocess.run(as_pg([os.path.join(PG_BIN, "initdb"), "-D", path, "-A", "peer", "--data-checksums"]),
                   check=True, capture_output=True)
    sock = os.path.dirname(path)
    # -l: pg_ctl's postmaster must not inherit our pipes (run() would wait for them).
    subprocess.run(as_pg([os.path.join(PG_BIN, "pg_ctl"), "-D", path, "-w", "-l", os.path.join(os.path.dirname(path), "helper-pg.log"), "-o",
                          f"-p {port} -k {sock} -c listen_addresses=''", "start"]), check=True, capture_output=True)
    try:
        subprocess.run(as_pg([os.path.join(PG_BIN, "psql"), "-h", sock, "-p", str(port), "-d", "postgres", "-c",
                              f"CREATE TABLE kept AS SELECT generate_series(1, {rows}) AS x"]),
                       check=True, capture_output=True)
    finally:
        subprocess.run(as_pg([os.path.join(PG_BIN, "pg_ctl"), "-D", path, "-w", "-m", "fast", "stop"]),
                       check=True, capture_output=True)


with Cluster(28) as c:
    n2 = c.nodes[1]
    make_cluster_dir(n2.data_dir, 25432, 1234)
    c.start()
    p = c.wait_primary(timeout=90)
    assert p == n2.name, f"expected {n2.name} (the one with data) to be adopted, got {p}"
    assert n2.psql("SELECT count(*) FROM kept") == "1234"
    c.wait_streaming(2)
    for n in c.nodes:
        if n is not n2:
            wait_for(f"rows cloned to {n.name}", lambda n=n: n.local_psql("SELECT count(*) FROM kept") == "1234", 60)
    print("adopt: existing data kept, others cloned")

for move_aside in (False, True):
    with Cluster(29) as c:
        c.start()
        c.wait_primary(timeout=90)
        c.wait_streaming(2)
        victim = next(n for n in c.nodes if n.name != c.primary())
        victim.kill()
        wait_for("victim postgres down", lambda: victim.postmaster_pid() is None, 30)
        subprocess.run(as_pg(["rm", "-rf", victim.data_dir]), check=True)
        make_cluster_dir(victim.data_dir, 25433, 7)  # another cluster's data
        if move_aside:
            c.node_extra = {victim.name: {"postgresql": {"move_aside_foreign_data": "on"}}}
            c.write_config(victim)
        victim.start()
        if not move_aside:
            def refused():
                code, body = victim.api("/cluster")
                return code == 200 and "foreign_data_dir" in body
            wait_for("the foreign_data_dir diagnostic", refused, 60)
            assert os.path.exists(os.path.join(victim.data_dir, "PG_VERSION")), "foreign directory was touched"
            assert victim.postmaster_pid() is None, "PostgreSQL runs on a foreign directory"
            print("foreign data directory refused and left in place")
        else:
            wait_for(f"{victim.name} cloned after moving the foreign directory aside",
                     lambda: victim.local_psql("SELECT pg_is_in_recovery()") == "t", 90)
            moved = glob.glob(victim.data_dir + ".*")
            assert moved, "foreign directory not found moved aside"
            assert os.path.exists(os.path.join(moved[0], "PG_VERSION"))
            print(f"foreign data directory moved aside to {moved[0]} and the node cloned")
sys.exit(0)
