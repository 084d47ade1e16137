"""Issue 14, "five nodes": a cluster *bootstrapped* with five members in
synchronous mode on real PostgreSQL — a nofailover voter (n5) and a
nofailover learner added later with `ctl member add --learner` (n6, a DR
replica) — writes through every member's proxy, a switchover and a
failover that keeps every acknowledged (synchronous) row, and neither
nofailover member ever becomes primary nor the learner a voter.
"""
import json
import subprocess
import sys
import time

from cluster import PGWARDEN, Cluster, wait_for

BLOCK = 45


def host(i):
    return f"127.0.{BLOCK}.{10 + i}"


seed = ", ".join(f"n{i}={host(i)}" for i in range(1, 6))
node_extra = {f"n{i}": {"cluster": {"members": seed}} for i in range(1, 6)}
node_extra["n5"]["tags"] = {"nofailover": "true"}
node_extra["n6"] = {"cluster": {"members": seed + f", n6={host(6)}"}, "tags": {"nofailover": "true"}}


def ctl(node, *args):
    r = subprocess.run([PGWARDEN, "ctl", "-c", node.ini] + list(args), capture_output=True, text=True, timeout=60)
    print(f"$ pgwarden ctl {' '.join(args)}  (on {node.name}) -> {r.returncode}\n{r.stdout}{r.stderr}", flush=True)
    assert r.returncode == 0, r.returncode
    return r


def members(node):
    code, body = node.api("/membership")
    assert code == 200, (code, body)
    return {m["name"]: m for m in json.loads(body)["members"]}


with Cluster(BLOCK, n=6, extra={"ha": {"synchronous_mode": "on"}}, node_extra=node_extra) as c:
    n = {x.name: x for x in c.nodes}
    for i in range(1, 6):
        n[f"n{i}"].start()
    p = c.wait_primary(timeout=120)
    assert p != "n5", "a nofailover member bootstrapped the cluster"
    c.wait_streaming(4, timeout=180)
    m = members(n["n1"])
    assert sorted(m) == ["n1", "n2", "n3", "n4", "n5"] and all(v["role"] == "voter" for v in m.values()), m
    wait_for("a committed synchronous set", lambda: (c.any_view() or {}).get("sync"), 60)
    prim = c.node(p)
    prim.psql("CREATE TABLE t(id int primary key, via text)")
    # Proxies on every member: each forwards to the primary.
    next_id = 1
    for x in sorted(n):
        if x == "n6":
            continue
        n[x].psql(f"INSERT INTO t VALUES ({next_id}, '{x}')")
        next_id += 1
    sync = c.any_view()["sync"]
    # A DR replica never counts as a synchronous standby: a commit it alone
    # acknowledged would leave failover without a candidate.
    assert "n5" not in sync, sync
    print(f"bootstrapped 5 members in synchronous mode, primary {p}, sync set {sync}")

    # ---- a nofailover learner (DR replica) ---------------------------------
    r = ctl(n["n2"], "member", "add", f"n6={host(6)}", "--learner")
    assert "learner" in r.stdout
    n["n6"].start()
    c.wait_streaming(5, timeout=180)
    time.sleep(3)  # time enough for a promotion to voter, were it to happen
    assert members(n["n1"])["n6"]["role"] == "learner", members(n["n1"])
    sync = c.any_view()["sync"]
    assert "n5" not in sync and "n6" not in sync and sync, sync
    n["n6"].psql(f"INSERT INTO t VALUES ({next_id}, 'n6')")  # its proxy works too
    next_id += 1

    # ---- a nofailover member is refused as a target, even with --force ----
    for args in (["switchover", "--to", "n5", "--force"], ["failover", "--to", "n6"]):
        r = subprocess.run([PGWARDEN, "ctl", "-c", n["n1"].ini] + args, capture_output=True, text=True, timeout=60)
        print(f"$ pgwarden ctl {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}", flush=True)
        assert r.returncode != 0 and "nofailover" in r.stderr, r

    # ---- switchover and failover among five voters --------------------------
    target = next(x for x in ("n1", "n2", "n3", "n4") if x != p)
    ctl(n["n1"], "switchover", "--to", target)
    wait_for(f"{target} to be the ready primary", lambda: c.primary() == target, 60)
    wait_for("a write through n6's proxy after the switchover",
             lambda: n["n6"].psql(f"INSERT INTO t VALUES ({next_id}, 'switched')", check=False, timeout=5) is not None, 30)
    next_id += 1
    wait_for("a committed synchronous set", lambda: (c.any_view() or {}).get("sync"), 60)
    c.node(target).psql(f"INSERT INTO t VALUES ({next_id}, 'last')")  # acknowledged: on a sync standby too
    acked = next_id
    c.node(target).kill()
    new = c.wait_primary(timeout=90, not_name=target)
    assert new not in ("n5", "n6"), f"nofailover member {new} was promoted"
    rows = wait_for("every acknowledged row on the new primary",
                    lambda: c.node(new).psql("SELECT count(*), max(id) FROM t", check=False), 30)
    count, top = (int(v) for v in rows.split("|"))
    assert count == acked and top == acked, (rows, acked)
    assert members(c.node(new))["n6"]["role"] == "learner"
    print(f"switchover {p} -> {target}, failover {target} -> {new}: {count} rows kept; n5, n6 never promoted")
sys.exit(0)
