"""Issue 14, membership through the log, on real daemons and PostgreSQL:
grow 3 -> 5 (`ctl member add`: a learner that becomes a voter once its
PostgreSQL streams), fail over inside the 5-node cluster, replace the dead
primary's host by a new member under a new name whose [cluster] members
does not give it its id (it learns id 6 from the cluster), then shrink back
to 3 (`ctl member remove`), writing through the proxies all along.
"""
import os
import subprocess
import sys

from cluster import PGWARDEN, Cluster, wait_for

BLOCK = 43


def host(i):
    return f"127.0.{BLOCK}.{10 + i}"


seed = ", ".join(f"n{i}={host(i)}" for i in (1, 2, 3))
node_extra = {f"n{i}": {"cluster": {"members": seed}} for i in (1, 2, 3)}
# n4, n5: the seed plus themselves (their place happens to match the id they get).
for i in (4, 5):
    node_extra[f"n{i}"] = {"cluster": {"members": seed + f", n{i}={host(i)}"}}
# n6 replaces a dead host: its file lists two survivors and itself, so its
# position (3) is not its id (6): it must learn the id from the cluster.
node_extra["n6"] = {"cluster": {"members": f"n2={host(2)}, n3={host(3)}, n6={host(6)}"}}


def ctl(node, *args, ok=True):
    r = subprocess.run([PGWARDEN, "ctl", "-c", node.ini] + list(args), capture_output=True, text=True, timeout=60)
    print(f"$ pgwarden ctl {' '.join(args)}  (on {node.name}) -> {r.returncode}\n{r.stdout}{r.stderr}", flush=True)
    if ok:
        assert r.returncode == 0, r.returncode
    return r


def members(node):
    code, body = node.api("/membership")
    assert code == 200, (code, body)
    import json
    return {m["name"]: m for m in json.loads(body)["members"]}


with Cluster(BLOCK, n=6, node_extra=node_extra) as c:
    n = {x.name: x for x in c.nodes}
    for i in (1, 2, 3):
        n[f"n{i}"].start()
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    c.node(p).psql("CREATE TABLE t(id serial primary key, via text)")
    c.node(p).psql("INSERT INTO t(via) SELECT 'seed' FROM generate_series(1, 100)")
    r = ctl(n["n1"], "member", "list")
    assert "epoch 0" in r.stdout and r.stdout.count("voter") == 3

    # Refusals come with reasons, and change nothing.
    r = ctl(n["n1"], "member", "add", "n2=" + host(2), ok=False)
    assert r.returncode == 1 and "already a member" in r.stderr
    r = ctl(n["n1"], "member", "remove", p, ok=False)
    assert r.returncode == 1 and "switch over first" in r.stderr
    r = ctl(n["n1"], "member", "add", "bad", ok=False)
    assert r.returncode == 2

    # ---- grow 3 -> 5 -------------------------------------------------------
    for name in ("n4", "n5"):
        r = ctl(n["n2"], "member", "add", f"{name}={host(int(name[1]))}")
        assert "as a learner" in r.stdout
        assert members(n["n1"])[name]["role"] == "learner"
        n[name].start()
        wait_for(f"{name} to become a voter", lambda name=name: members(n["n1"])[name]["role"] == "voter", 120)
        wait_for(f"{name}'s write through its own proxy",
                 lambda name=name: n[name].psql(f"INSERT INTO t(via) VALUES ('{name}')", check=False, timeout=5) is not None, 60)
    c.wait_streaming(4, timeout=120)
    r = ctl(n["n5"], "member", "list")
    assert r.stdout.count("voter") == 5, r.stdout
    print("grown to 5 voters, all streaming")

    # ---- switchover to a grown member ---------------------------------------
    before = c.primary()
    ctl(n["n1"], "switchover", "--to", "n5")
    wait_for("n5 to be the ready primary", lambda: c.primary() == "n5", 60)
    wait_for("a write through n1's proxy to n5",
             lambda: n["n1"].psql("INSERT INTO t(via) VALUES ('switched')", check=False, timeout=5) is not None, 30)
    print(f"switchover inside 5: {before} -> n5")
    # Let the standbys follow n5 onto its new timeline before killing it. A
    # primary lost before any standby streamed from it leaves every standby
    # on the old timeline, and pgwarden does not promote one there (it would
    # lack what the dead primary wrote) — failover_blocked_timeline says so
    # (docs/operations.md, "Timelines"). Since the standbys reconnect within
    # 0.5 s, the kill could land in that window (CI).
    c.wait_streaming(4, timeout=120)

    # ---- failover inside the 5-node cluster --------------------------------
    old = c.primary()
    c.node(old).kill()
    new = c.wait_primary(timeout=90, not_name=old)
    survivor = next(x for x in c.nodes if x.running() and x.name != new)
    wait_for("a write through a survivor after the failover",
             lambda: survivor.psql("INSERT INTO t(via) VALUES ('after-failover')", check=False, timeout=5) is not None, 60)
    print(f"failover inside 5: {old} -> {new}")
    # n5 started knowing 5 members (more WAL senders than the older nodes):
    # once it was primary, every older standby had to raise its settings
    # before it could be promoted. A promotion that PostgreSQL aborted for
    # "insufficient parameter settings" (CI, before the fix) fails here.
    for x in c.nodes:
        if os.path.exists(x.log):
            assert "recovery aborted because of insufficient parameter settings" not in x.log_text(), x.name
    raised = [x.name for x in c.nodes if os.path.exists(x.log) and "restarting PostgreSQL to raise them" in x.log_text()]
    print(f"standbys that raised their settings to the new primary's: {raised}")

    # ---- replace the dead host under a new name -----------------------------
    ctl(survivor, "member", "remove", old)
    assert old not in members(survivor)
    r = ctl(survivor, "member", "add", f"n6={host(6)}")
    assert "id 6" in r.stdout, r.stdout
    n["n6"].start()
    wait_for("n6 to become a voter", lambda: members(survivor).get("n6", {}).get("role") == "voter", 120)
    assert "joining: " in n["n6"].log_text() and "id 6" in n["n6"].log_text()
    wait_for("a write through n6's proxy",
             lambda: n["n6"].psql("INSERT INTO t(via) VALUES ('n6')", check=False, timeout=5) is not None, 60)
    print(f"{old} replaced by n6")

    # ---- shrink to 3 --------------------------------------------------------
    keep_primary = c.primary()
    # The raft leader goes first when it is not the primary, removed through
    # another member: it hands leadership over before the change, so the
    # primary's lease renewals never stop (CI: a follower proposed the
    # leader's removal without a handover, the followers cut the leader off
    # before it could commit, and the primary fenced during the election).
    candidates = [x for x in ("n4", "n5", "n2", "n3") if x != keep_primary and x != old]
    leader = c.any_view().get("decider")
    if leader in candidates:
        candidates.remove(leader)
        candidates.insert(0, leader)
    to_remove = candidates[:2]
    via = next(x for x in ("n6", "n1", "n3") if x not in to_remove and x != leader)
    fences_before = n[keep_primary].log_text().count("fencing:")
    for name in to_remove:
        ctl(n[via], "member", "remove", name)
        n[name].stop()
    m = members(n["n6"])
    assert len(m) == 3 and all(v["role"] == "voter" for v in m.values()), m
    wait_for("a write through n6 after shrinking",
             lambda: n["n6"].psql("INSERT INTO t(via) VALUES ('shrunk')", check=False, timeout=5) is not None, 60)
    # A removed node that comes back with its state changes nothing.
    n[to_remove[0]].start()
    for i in range(10):
        n["n6"].psql(f"INSERT INTO t(via) VALUES ('r{i}')", timeout=5)  # raises with the error
    assert len(members(n["n6"])) == 3
    assert n[keep_primary].log_text().count("fencing:") == fences_before, \
        f"{keep_primary} fenced while members were removed (raft leader was {leader})"
    total = c.node(c.primary()).psql("SELECT count(*) FROM t")
    print(f"shrunk to 3 ({sorted(m)}); rows: {total}")
    assert int(total) >= 100 + 2 + 1 + 1 + 1 + 10
sys.exit(0)
