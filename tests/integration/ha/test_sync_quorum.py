"""Issue 21 item 2: five members in synchronous mode with
`synchronous_node_count = 1` — one synchronous standby, three asynchronous.

1. kill -9 the primary (daemon and PostgreSQL) and an asynchronous standby at
   once: the synchronous standby becomes primary and every row a client saw
   committed through the proxies is there. (Old code waited for ANY 1 of all
   four standbys and needed to hear every one of them: no failover.)
2. The only up-to-date standby gone for good with the primary: no automatic
   failover (the decider names the member it waits for);
   `ctl failover --to X --accept-data-loss --confirm NAME` brings a primary
   back, refused without the cluster's name, and `ctl history` shows the
   accepted loss.
"""
import json
import signal
import subprocess
import sys

from cluster import PGWARDEN, Cluster, wait_for

BLOCK = 46
NAME = f"ha{BLOCK}"


def ctl(node, *args, ok=True):
    r = subprocess.run([PGWARDEN, "ctl", "-c", node.ini] + list(args), capture_output=True, text=True, timeout=60)
    print(f"$ pgwarden ctl {' '.join(args)}  (on {node.name}) -> {r.returncode}\n{r.stdout}{r.stderr}", flush=True)
    assert (r.returncode == 0) == ok, r
    return r


def kill_hard(node):
    """kill -9 of the daemon and of its PostgreSQL, the daemon first (a lost
    host: it never gets to release the lock)."""
    pm = node.postmaster_pid()
    node.kill(signal.SIGKILL)
    if pm:
        subprocess.run(["kill", "-9", str(pm)], capture_output=True)


def committed_sync(c):
    """The committed synchronous set once it has exactly one member and a
    primary is ready."""
    v = c.any_view() or {}
    s = v.get("synchronous", {})
    if v.get("primary") and v.get("ready_epoch") == v.get("epoch") and len(s.get("set", [])) == 1:
        return v
    return None


with Cluster(BLOCK, n=5, extra={"ha": {"synchronous_mode": "on", "synchronous_node_count": "1"}}) as c:
    c.start()
    p = c.wait_primary(timeout=120)
    c.wait_streaming(4, timeout=180)
    v = wait_for("one committed synchronous standby", lambda: committed_sync(c), 60)
    sync = v["synchronous"]["set"][0]
    assert v["synchronous"]["failover_needs"] == 1, v["synchronous"]
    roles = {m["name"]: m["role"] for m in v["members"]}
    assert roles[sync] == "sync_standby", roles
    asyncs = sorted(n for n, r in roles.items() if r == "async_standby")
    assert len(asyncs) == 3, roles
    # The health endpoints say the same.
    assert c.node(sync).api("/sync")[0] == 200 and c.node(sync).api("/async")[0] == 503
    assert c.node(asyncs[0]).api("/async")[0] == 200 and c.node(asyncs[0]).api("/sync")[0] == 503
    listing = ctl(c.node(asyncs[0]), "list").stdout
    assert "Sync Standby" in listing and "Async Standby" in listing and "ANY 1 of (" + sync + ")" in listing

    # ---- 1. the primary and an asynchronous standby at once ------------------
    c.node(p).psql("CREATE TABLE t(id int primary key)")
    # 30 commits through the five proxies, each acknowledged only once the
    # synchronous standby has it.
    n = 30
    for k in range(5):
        c.nodes[k].psql(" ".join(f"BEGIN; INSERT INTO t VALUES ({i}); COMMIT;" for i in range(k, n, 5)))
    lost_async = asyncs[0]
    kill_hard(c.node(p))
    kill_hard(c.node(lost_async))
    new = c.wait_primary(timeout=60, not_name=p)
    assert new == sync, f"{new} promoted, the synchronous standby was {sync}"
    rows = wait_for("the rows on the new primary",
                    lambda: c.node(new).psql("SELECT count(*), max(id) FROM t", check=False), 30)
    assert rows == f"{n}|{n - 1}", (rows, n)
    print(f"phase 1: killed {p} (primary) and {lost_async} (async standby): {new} promoted, {n} rows kept")

    # ---- 2. the only up-to-date standby gone for good -------------------------
    # The killed daemons come back (only for the raft quorum: 3 of 5 must
    # stay up once the next primary and its synchronous standby are gone).
    c.node(p).start()
    c.node(lost_async).start()
    def phase2():
        # A committed synchronous standby of the new primary, and an
        # asynchronous standby that streams from it (the restarted members
        # may still be rewinding; a standby may still be reconnecting).
        x = committed_sync(c)
        if not x or x["primary"] != new:
            return None
        s2 = x["synchronous"]["set"][0]
        roles = {m["name"]: m["role"] for m in x["members"]}
        t = [a for a in asyncs if a not in (lost_async, s2) and roles.get(a) == "async_standby"]
        return (s2, t[0]) if t else None
    sync2, target = wait_for("a committed synchronous standby of the new primary and an asynchronous one", phase2, 90)
    c.node(new).psql("INSERT INTO t VALUES (1000)")
    kill_hard(c.node(new))
    kill_hard(c.node(sync2))
    survivor = c.node(target)

    seen_diags = {}

    def blocked():
        x = survivor.cluster_view() or {}
        seen_diags["last"] = x.get("diagnostics", [])
        for d in x.get("diagnostics", []):
            if d["code"] == "no_failover_candidate" and sync2 in d["message"] and "--accept-data-loss" in d["action"]:
                return x
        return None
    try:
        x = wait_for(f"the decider to refuse a failover without {sync2}", blocked, 60)
    except Exception:
        print(f"diagnostics on {survivor.name}: {json.dumps(seen_diags.get('last'), indent=1)}", flush=True)
        raise
    assert x["primary"] in ("", new), x  # nobody else was made primary
    # The override needs the cluster's name.
    ctl(survivor, "failover", "--to", target, "--accept-data-loss", ok=False)
    r = ctl(survivor, "failover", "--to", target, "--accept-data-loss", "--confirm", "not-" + NAME, ok=False)
    assert NAME in r.stderr, r.stderr
    ctl(survivor, "failover", "--to", target, "--accept-data-loss", "--confirm", NAME)
    got = c.wait_primary(timeout=60, not_name=new)
    assert got == target, (got, target)
    survivor.psql("INSERT INTO t VALUES (2000)")  # writable again, through the proxy
    hist = ctl(survivor, "history").stdout
    assert "accepting the loss of acknowledged writes" in hist and target in hist, hist
    print(f"phase 2: {new} and its synchronous standby {sync2} lost: no automatic failover; "
          f"failover --accept-data-loss made {target} primary, recorded in the history")
sys.exit(0)
