"""Day two without a failover (issue 22), on real daemons and PostgreSQL:

1. `ctl restart PRIMARY` under a writer (a new connection per write through
   a replica's proxy): PostgreSQL restarts (a new postmaster), the primary
   keeps its lease and epoch, `ctl history` is unchanged, no write fails
   (held by the proxies, not refused).
2. A restart-only parameter changed on every member (ALTER SYSTEM +
   `ctl reload`) shows as pending restart in /cluster, `ctl list` and
   /metrics; `ctl restart --pending` restarts the replicas first, one at a
   time, then the primary in place; the setting is live everywhere, nothing
   is pending, the epoch and history are unchanged, no write failed.
3. `ctl switchover --scheduled` an hour ahead is kept in the state and shown
   by `ctl list`; `ctl flush switchover` cancels it. One scheduled a few
   seconds ahead runs at its time (the history's entry is not before it).
4. I2 after a restart in place: the primary restarts, then its daemon is
   frozen (SIGSTOP); the fencer kills the *new* postmaster before another
   member becomes a ready primary.
"""
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time

from cluster import PGWARDEN, Cluster, TestFailure, wait_for

BLOCK = 54


def ctl(node, *args, ok=True):
    r = subprocess.run([PGWARDEN, "ctl", "-c", node.ini] + list(args), capture_output=True, text=True, timeout=60)
    print(f"$ pgwarden ctl {' '.join(args)}  (on {node.name}) -> {r.returncode}\n{r.stdout}{r.stderr}", flush=True)
    if ok:
        assert r.returncode == 0, f"ctl {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}"
    return r


def alive(pid):
    """True while `pid` runs (a zombie does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def history(node):
    code, body = node.api("/history")
    assert code == 200, body
    return json.loads(body)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Writer:
    """INSERTs through `via`'s proxy, a new connection each, until stopped."""

    def __init__(self, via):
        self.via, self.ok, self.failures = via, 0, []
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self.run)

    def run(self):
        while not self.stop_ev.is_set():
            try:
                self.via.psql("INSERT INTO w(src) VALUES ('client')", timeout=20)
                self.ok += 1
            except (TestFailure, Exception) as e:
                self.failures.append(f"{time.monotonic():.3f} {e}")

    def __enter__(self):
        self.th.start()
        wait_for(f"writes through {self.via.name}", lambda: self.ok >= 5, 30)
        return self

    def more(self, n=5):
        before = self.ok
        wait_for("more writes", lambda: self.ok >= before + n, 30)

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.th.join()


def view(c):
    v = c.any_view()
    assert v is not None, "no API answered /cluster"
    return v


with Cluster(BLOCK) as c:
    c.start()
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    prim = c.node(p)
    replicas = [n for n in c.nodes if n.name != p]
    via = replicas[0]
    via.psql("CREATE TABLE w(id serial PRIMARY KEY, src text)")
    v0 = view(c)
    epoch, hist = v0["epoch"], history(prim)

    # -- 1. restart the primary in place -----------------------------------
    pm = prim.postmaster_pid()
    with Writer(via) as wr:
        mark = len(prim.log_text())
        ctl(via, "restart", p)
        wait_for(f"{p}'s PostgreSQL restarted and the restart done",
                 lambda: prim.postmaster_pid() not in (None, pm) and not view(c)["scheduled"]["restarts"], 60)
        wait_for(f"{p} serving again", lambda: prim.psql("SELECT 1", check=False, timeout=5) == "1", 30)
        wr.more()
    log = prim.log_text()[mark:]
    assert "restarting PostgreSQL on " + p + " (primary, in place" in log, log[-3000:]
    v = view(c)
    assert v["epoch"] == epoch and v["primary"] == p, f"epoch/primary changed: {epoch}/{p} -> {v['epoch']}/{v['primary']}"
    assert history(prim) == hist, "the history changed"
    assert not wr.failures, f"{len(wr.failures)} writes failed during the primary's restart: {wr.failures[:3]}"
    print(f"restart of primary {p} in place: postmaster {pm} -> {prim.postmaster_pid()}, epoch {epoch}, "
          f"{wr.ok} writes, none failed")
    c.wait_streaming(2)

    # -- 2. pending restart, then ctl restart --pending ----------------------
    for n in c.nodes:
        n.local_psql("ALTER SYSTEM SET shared_buffers = '24MB'")
    ctl(via, "reload")

    def all_pending():
        ms = view(c)["members"]
        return all(m["pending_restart"] == ["shared_buffers"] for m in ms)
    wait_for("every member to report shared_buffers pending restart", all_pending, 30)
    out = ctl(via, "list").stdout
    assert out.count("pending restart: shared_buffers") == 3, out
    code, metrics = prim.api("/metrics")
    assert code == 200
    for n in c.nodes:
        assert f'pgwarden_member_pending_restart{{member="{n.name}"}} 1' in metrics, metrics

    pms = {n.name: n.postmaster_pid() for n in c.nodes}
    order_seen = []
    with Writer(via) as wr:
        ctl(via, "restart", "--pending")
        plan = [x["member"] for x in view(c)["scheduled"]["restarts"]]
        assert plan[-1] == p and sorted(plan[:-1]) == sorted(r.name for r in replicas), plan

        def settled():
            v = view(c)
            front = v["scheduled"]["restarts"][0]["member"] if v["scheduled"]["restarts"] else None
            if front and (not order_seen or order_seen[-1] != front):
                order_seen.append(front)
            return not v["scheduled"]["restarts"] and all(m["pending_restart"] == [] for m in v["members"])
        wait_for("the rolling restart to finish with nothing pending", settled, 180, interval=0.05)
        wr.more()
    assert order_seen == [x for x in plan if x in order_seen], f"turns out of order: {order_seen} vs plan {plan}"
    for n in c.nodes:
        assert n.postmaster_pid() != pms[n.name], f"{n.name}'s PostgreSQL was not restarted"
        assert n.local_psql("SHOW shared_buffers") == "24MB", f"{n.name} does not run the new setting"
    v = view(c)
    assert v["epoch"] == epoch and v["primary"] == p, f"epoch/primary changed: {epoch}/{p} -> {v['epoch']}/{v['primary']}"
    assert history(prim) == hist, "the history changed"
    assert not wr.failures, f"{len(wr.failures)} writes failed during the rolling restart: {wr.failures[:3]}"
    # Each replica was streaming again before the next turn began (the agent
    # proposes restart_done only then; its log says so).
    for r in replicas:
        assert "streaming again; next turn" in r.log_text(), f"{r.name} did not report streaming before its turn ended"
    print(f"rolling restart --pending: plan {plan}, turns seen {order_seen}; epoch {epoch}, {wr.ok} writes, none failed")
    c.wait_streaming(2)

    # -- 3. scheduled switchover: flushed, then one that runs ---------------------
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    ctl(via, "switchover", "--scheduled", iso(later))
    sw = view(c)["scheduled"]["switchover"]
    assert sw and sw["from"] == p, sw
    assert "Scheduled switchover: " + p + " -> best standby at " in ctl(via, "list").stdout
    ctl(via, "flush", "switchover")
    assert view(c)["scheduled"]["switchover"] is None
    assert ctl(via, "flush", "switchover", ok=False).returncode == 1  # nothing left to cancel

    target = replicas[1].name
    at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=4)
    ctl(via, "switchover", "--to", target, "--scheduled", iso(at))
    assert view(c)["scheduled"]["switchover"]["to"] == target
    wait_for(f"the scheduled switchover to {target}", lambda: view(c)["primary"] == target, 60)
    h = history(c.node(target))
    entry = h[-1]
    assert entry["node"] == target and entry["reason"].startswith("switchover"), entry
    assert entry["time"] >= iso(at).replace("Z", ".000Z"), f"ran at {entry['time']}, before its time {iso(at)}"
    assert view(c)["scheduled"]["switchover"] is None
    print(f"scheduled switchover to {target} at {iso(at)} ran at {entry['time']}")

    # -- 4. I2 after a restart in place: the fencer guards the new postmaster ---
    # The primary restarts in place, then its daemon freezes: the fencer must
    # kill the postmaster started by the restart (not the one before it)
    # before any other member is a ready primary.
    c.wait_streaming(2)
    tp = c.node(target)
    old_pm = tp.postmaster_pid()
    ctl(via, "restart", target)
    wait_for(f"{target}'s restart in place done",
             lambda: tp.postmaster_pid() not in (None, old_pm) and not view(c)["scheduled"]["restarts"], 60)
    new_pm = tp.postmaster_pid()
    epoch = view(c)["epoch"]
    mark = len(tp.log_text())
    os.kill(tp.proc.pid, signal.SIGSTOP)
    try:
        others = [n for n in c.nodes if n.name != target]

        def new_primary():
            for n in others:
                try:
                    v = n.cluster_view()
                except Exception:
                    continue
                if v and v["primary"] not in ("", target) and v["ready_epoch"] == v["epoch"] > epoch:
                    return v["primary"]
            return None
        deadline = time.monotonic() + 90
        new = None
        while new is None:
            assert time.monotonic() < deadline, "no standby took over from the frozen primary"
            new = new_primary()
            # Read after the view: if the postmaster still runs now, it ran
            # when the new primary was already ready.
            if new is not None:
                assert not alive(new_pm), f"{new} became primary while {target}'s postmaster {new_pm} still ran (I2)"
            time.sleep(0.05)
        assert f"killed postmaster pid={new_pm}" in tp.log_text()[mark:], "the fencer did not end the new postmaster"
    finally:
        os.kill(tp.proc.pid, signal.SIGCONT)
    print(f"frozen {target} after its restart in place: the fencer killed postmaster {new_pm}; {new} took over")
sys.exit(0)
