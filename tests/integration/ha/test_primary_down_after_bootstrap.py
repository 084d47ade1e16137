"""Issue 13: the primary holds the only copy of the data and is merely down
(the replicas' data directories are gone). The survivors must not call it
"no member has its data any more" and advise reset-cluster (that would
discard the data): they name the unreachable member (data_member_unreachable)
and say to bring it back. When it comes back, it is primary again and the
others clone from it; the row written before is still there.
"""
import os
import shutil
import sys

from cluster import Cluster, wait_for

BLOCK = 37

with Cluster(BLOCK) as c:
    c.start()
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    prim = c.node(p)
    prim.psql("CREATE TABLE keep(x int)")
    prim.psql("INSERT INTO keep VALUES (42)")
    others = [n for n in c.nodes if n.name != p]
    for n in others:  # the replicas lose their data while stopped
        n.kill()
        wait_for(f"{n.name}'s postgres to exit", lambda n=n: n.postmaster_pid() is None, 30)
        shutil.move(n.data_dir, n.data_dir + ".gone")
    prim.kill()
    wait_for(f"{p}'s postgres to exit", lambda: prim.postmaster_pid() is None, 30)
    for n in others:
        n.start()

    def named():
        for n in others:
            v = n.cluster_view()
            if v and any(d.get("code") == "data_member_unreachable" and p in d.get("message", "")
                         for d in v.get("diagnostics", [])):
                return True
        return False
    wait_for("the data_member_unreachable diagnostic naming the primary", named, 60)
    for n in others:
        v = n.cluster_view() or {}
        assert not any(d.get("code") == "init_done_no_data" for d in v.get("diagnostics", [])), v
        assert "reset-cluster --confirm" not in "".join(
            d.get("action", "") for d in v.get("diagnostics", []) if d.get("code") != "data_member_unreachable"), v
    prim.start()
    back = c.wait_primary(timeout=90)
    assert back == p, f"{back} became primary instead of {p}, the only member with data"
    c.wait_streaming(2, timeout=120)
    assert c.node(back).psql("SELECT x FROM keep") == "42"
    print(f"{p} down with the only copy: survivors named it; back as primary with its data, replicas re-cloned")
sys.exit(0)
