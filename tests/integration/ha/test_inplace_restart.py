"""HA scenario: restarting pgwarden in place on the primary (SIGUSR2; the
daemon execve()s a new image of itself, docs/operations.md).

1. The new image takes over: the same postmaster (pid) keeps running, the
   epoch, the primary and the history do not change, and a client writing
   through another member's proxy (a new connection per write) sees no error
   — on a replica first (its PostgreSQL keeps streaming), then the primary.
2. The new image freezes before taking over (the daemon's program is
   replaced by a wrapper that stops itself): the fencer still holds the
   lease deadline the old image left, kills the postmaster at it — before a
   standby is promoted (I2) — and a standby takes over. Resumed, the new
   image finds its postmaster gone and the node rejoins as a standby.
"""
import json
import os
import signal
import sys
import threading
import time

from cluster import Cluster, TestFailure, wait_for

BLOCK = 53


def alive(pid):
    """True while `pid` runs (a zombie does not count: its parent here is stopped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def stopped(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2] == "T"
    except (OSError, ValueError, IndexError):
        return False


def history(node):
    code, body = node.api("/history")
    return json.loads(body) if code == 200 else None


with Cluster(BLOCK) as c:
    # The daemons run the binary through a link the test can later point at
    # something else: an upgrade in place replaces the file the same way.
    bindir = os.path.join(c.root, "bin")
    os.mkdir(bindir)
    os.chmod(bindir, 0o755)
    real = os.path.abspath(c.pgwarden)
    link = os.path.join(bindir, "pgwarden")
    os.symlink(real, link)
    c.pgwarden = link
    c.start()
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    prim = c.node(p)
    via = next(n for n in c.nodes if n.name != p)
    via.psql("CREATE TABLE w(id serial PRIMARY KEY, src text)")

    failures, ok = [], [0]
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            try:
                via.psql("INSERT INTO w(src) VALUES ('client')", timeout=10)
                ok[0] += 1
            except (TestFailure, Exception) as e:
                failures.append(f"{time.monotonic():.3f} {e}")

    # -- 1. the new image takes over ------------------------------------------
    # A replica first: same postmaster, streaming again.
    rep = next(n for n in c.nodes if n.name not in (p, via.name))
    rep_pm, mark = rep.postmaster_pid(), len(rep.log_text())
    os.kill(rep.proc.pid, signal.SIGUSR2)
    wait_for(f"{rep.name}'s new image to resume",
             lambda: "resumed after the restart in place" in rep.log_text()[mark:], 60)
    c.wait_streaming(2)
    assert rep.postmaster_pid() == rep_pm, f"{rep.name}'s postmaster changed: {rep_pm} -> {rep.postmaster_pid()}"
    assert "postmaster starting" not in rep.log_text()[mark:], f"{rep.name}'s PostgreSQL was started again"
    print(f"restart in place on replica {rep.name}: postmaster {rep_pm} kept, streaming")

    view = prim.cluster_view()
    epoch, hist = view["epoch"], history(prim)
    pm, daemon = prim.postmaster_pid(), prim.proc.pid
    th = threading.Thread(target=writer)
    th.start()
    try:
        wait_for("writes through " + via.name, lambda: ok[0] >= 5, 30)
        mark = len(prim.log_text())
        os.kill(daemon, signal.SIGUSR2)
        wait_for("the new image to resume",
                 lambda: "resumed after the restart in place" in prim.log_text()[mark:], 60)
        wait_for(f"{p} serving again through its own proxy",
                 lambda: prim.psql("SELECT 1", check=False, timeout=5) == "1", 30)
        before = ok[0]
        wait_for("more writes after the restart", lambda: ok[0] >= before + 5, 30)
    finally:
        stop.set()
        th.join()
    log = prim.log_text()[mark:]
    assert "restarted in place: pgwarden" in log, "the process did not execute a new image"
    assert prim.proc.poll() is None and prim.proc.pid == daemon, "the daemon's process must stay"
    assert prim.postmaster_pid() == pm, f"postmaster changed: {pm} -> {prim.postmaster_pid()}"
    assert "postmaster starting" not in log, "PostgreSQL was started again"
    view = prim.cluster_view()
    assert view["epoch"] == epoch and view["primary"] == p, f"epoch/primary changed: {epoch}/{p} -> {view['epoch']}/{view['primary']}"
    assert history(prim) == hist, "the history changed"
    assert not failures, f"{len(failures)} client writes failed during the restart: {failures[:3]}"
    print(f"restart in place on {p}: postmaster {pm} kept, epoch {epoch}, {ok[0]} writes, none failed")

    # -- 2. the new image freezes: the fencer fences --------------------------
    wrapper = os.path.join(bindir, "pgwarden.frozen")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n"
                "# A new image that stops itself before it runs (check-config still answers).\n"
                f'if [ "$1" = run ]; then kill -STOP $$; fi\nexec {real} "$@"\n')
    os.chmod(wrapper, 0o755)
    os.rename(wrapper, link)
    mark = len(prim.log_text())
    os.kill(daemon, signal.SIGUSR2)
    wait_for("the frozen new image", lambda: stopped(daemon), 60)
    others = [n for n in c.nodes if n.name != p]

    def new_primary():
        for n in others:
            try:
                v = n.cluster_view()
            except Exception:
                continue
            if v and v["primary"] not in ("", p) and v["ready_epoch"] == v["epoch"] > epoch:
                return v["primary"]
        return None

    deadline = time.monotonic() + 90
    new = None
    while new is None:
        assert time.monotonic() < deadline, "no standby took over"
        new = new_primary()
        # Read after the view: if the old postmaster still runs now, it ran
        # when the new primary was already ready.
        if new is not None:
            assert not alive(pm), f"{new} became primary while the old postmaster {pm} still ran (I2)"
        time.sleep(0.05)
    log = prim.log_text()[mark:]
    assert f"killed postmaster pid={pm}" in log, "the postmaster was not ended by the fencer's deadline"
    print(f"frozen new image on {p}: fencer killed postmaster {pm}; {new} took over")

    # Resumed, the new image finds its PostgreSQL gone and rejoins.
    os.kill(daemon, signal.SIGCONT)
    c.node(new).psql("INSERT INTO w(src) VALUES ('after')")
    wait_for(f"{p} back as a replica",
             lambda: c.node(new).local_psql(
                 f"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{p}'") == "1", 90)
    print(f"{p} resumed and rejoined as a replica of {new}")
sys.exit(0)
