#!/usr/bin/env python3
"""bench/ha/run.py — HA timing and footprint of pgwarden (not a test).

Uses the integration harness (tests/integration/ha/cluster.py): three real
daemons with real PostgreSQL 15 on 127.0.60.11-13, default [ha] settings
(lease 3s, loop 250ms) unless --lease is given. Prints, with medians and
spread over the trials:

  * cold start: all three daemons started on empty directories -> first
    write accepted through a proxy, and -> both replicas streaming;
  * crash failover: kill -9 of the primary's daemon -> a write accepted
    again through a surviving node (client polling every 50 ms);
  * crashed node back: its daemon restarted -> streaming again;
  * switchover: `pgwarden ctl switchover` -> longest gap between two
    accepted writes of a client writing every 50 ms, and failed attempts;
  * idle footprint: RSS and thread count of each daemon, and the PSS and
    private memory (Private_Clean + Private_Dirty, /proc/PID/smaps_rollup)
    of the daemon and of its fencer child — RSS mostly counts shared
    library pages that every process mapping them shares.

Usage: bench/ha/run.py [--trials N] [--build DIR]   (as root or the postgres user)
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "ha"))

ap = argparse.ArgumentParser()
ap.add_argument("--trials", type=int, default=5)
ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
ap.add_argument("--block", type=int, default=60)
ap.add_argument("--switchovers", type=int, default=1, help="switchovers per trial (each measured)")
ap.add_argument("--trace", action="store_true", help="print the write attempts around each longest gap")
ap.add_argument("--skip-failover", action="store_true", help="no crash failover / rejoin (switchover work)")
args = ap.parse_args()
os.environ["PW_BINARY_DIR"] = os.path.abspath(args.build)

import cluster as H  # noqa: E402  (after PW_BINARY_DIR is set)

H.PGWARDEN = os.path.join(os.path.abspath(args.build), "pgwarden")


def summary(name, xs, unit="s"):
    if not xs:
        print(f"{name:44s} no data")
        return
    med = statistics.median(xs)
    print(f"{name:44s} median {med:6.2f}{unit}  min {min(xs):6.2f}{unit}  max {max(xs):6.2f}{unit}  (n={len(xs)})")


last_error = {}


def write_ok(node, sql="INSERT INTO bench DEFAULT VALUES", timeout=2):
    """One psql through node's proxy; a failure's message is kept in last_error."""
    env = dict(os.environ, PGCONNECT_TIMEOUT=str(int(timeout)), PGPASSWORD=H.CLIENT_PASSWORD)
    cmd = [os.path.join(H.PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
           "-h", node.host, "-p", "5432", "-U", "postgres", "-d", "postgres", "-c", sql]
    if H.IS_ROOT:
        cmd = ["runuser", "-u", H.PG_USER, "--"] + cmd
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5, env=env)
    except subprocess.TimeoutExpired:
        last_error[node.name] = "timeout"
        return False
    if r.returncode != 0:
        last_error[node.name] = r.stderr.strip().replace("\n", " | ")
    return r.returncode == 0


def poll_until_write(nodes, t0, timeout=60):
    while time.monotonic() - t0 < timeout:
        for n in nodes:
            if write_ok(n):
                return time.monotonic() - t0
        time.sleep(0.05)
    return None


def smaps_rollup_kb(pid):
    """{field: kB} from /proc/PID/smaps_rollup (Rss, Pss, Private_Clean, ...)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def fencer_pid(daemon_pid):
    """The daemon's fencer child (comm pgwarden-fencer), or None."""
    for task in os.listdir(f"/proc/{daemon_pid}/task"):
        try:
            with open(f"/proc/{daemon_pid}/task/{task}/children") as f:
                kids = f.read().split()
        except OSError:
            continue
        for k in kids:
            try:
                with open(f"/proc/{k}/comm") as f:
                    if f.read().strip() == "pgwarden-fencer":
                        return int(k)
            except OSError:
                pass
    return None


def streaming_count(c, p):
    count = 0
    for n in c.nodes:
        if n.name != p and n.running():
            if n.psql("SELECT status FROM pg_stat_wal_receiver", port=15432, host=n.state_dir,
                      check=False, timeout=2) == "streaming":
                count += 1
    return count


def switchover(c):
    """One switchover to another member under a 50 ms writer: records the
    longest gap between accepted writes and the failed attempts."""
    c.wait_streaming(2, timeout=60)
    p = c.primary()
    target = next(n.name for n in c.nodes if n.name != p)
    times, fails, attempts = [], [0], []
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            # A connect timeout longer than the switchover: a held
            # connection is a pause, not a failure (psql's default is none).
            t_start = time.time()
            ok = write_ok(c.nodes[i % 3], timeout=10)
            attempts.append((t_start, time.time(), c.nodes[i % 3].name, ok))
            if ok:
                times.append((time.monotonic(), time.time()))
            else:
                fails[0] += 1
                print(f"    FAILED write via {c.nodes[i % 3].name} at "
                      f"{time.strftime('%H:%M:%S', time.gmtime(t_start))}.{int(t_start * 1000) % 1000:03d}Z: "
                      f"{last_error.get(c.nodes[i % 3].name, '?')}", flush=True)
            time.sleep(0.05)
    th = threading.Thread(target=writer)
    th.start()
    time.sleep(1)
    print(f"  switchover {p} -> {target} at {time.strftime('%H:%M:%S', time.gmtime())}Z", flush=True)
    subprocess.run([H.PGWARDEN, "ctl", "-c", c.node(p).ini, "switchover", "--to", target, "--force"],
                   capture_output=True, text=True, timeout=60)
    H.wait_for("switchover", lambda: c.primary() == target, 60)
    time.sleep(2)
    stop.set()
    th.join()
    gaps = [(b[0] - a[0], a[1], b[1]) for a, b in zip(times, times[1:])]
    g = max(gaps) if gaps else (float("nan"), 0, 0)
    # Wall-clock ends of the longest gap, to read beside the daemons' logs.
    print(f"  longest gap {g[0]:.3f}s from {time.strftime('%H:%M:%S', time.gmtime(g[1]))}.{int(g[1] * 1000) % 1000:03d}Z"
          f" to {time.strftime('%H:%M:%S', time.gmtime(g[2]))}.{int(g[2] * 1000) % 1000:03d}Z, {fails[0]} failed",
          flush=True)
    if args.trace:
        def hms(t):
            return time.strftime('%H:%M:%S', time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"
        for a in attempts:
            if a[1] >= g[1] - 0.2 and a[0] <= g[2] + 0.2:
                print(f"    attempt via {a[2]} {hms(a[0])} -> {hms(a[1])} {'ok' if a[3] else 'FAILED'}")
    so_gap.append(g[0])
    so_failed.append(fails[0])


cold_write, cold_stream, failover, back, so_gap, so_failed, rss, threads = [], [], [], [], [], [], [], []
mem = {k: [] for k in ("daemon_pss", "daemon_private", "fencer_rss", "fencer_pss", "fencer_private", "total_pss")}

for trial in range(args.trials):
    with H.Cluster(args.block) as c:
        t0 = time.monotonic()
        c.start()
        # First write through any proxy. The client password is set over the
        # primary's socket as soon as it is primary (what an operator's
        # bootstrap SQL would do); then the proxy accepts the write.
        first = None
        while time.monotonic() - t0 < 90 and first is None:
            p = c.primary()
            if p:
                node = c.node(p)
                node.psql(f"ALTER ROLE postgres PASSWORD '{H.CLIENT_PASSWORD}'; "
                          "CREATE TABLE IF NOT EXISTS bench(id serial, at timestamptz default now())",
                          port=15432, host=node.state_dir, check=False, timeout=2)
                if any(write_ok(n) for n in c.nodes):
                    first = time.monotonic() - t0
            time.sleep(0.05)
        cold_write.append(first)
        while time.monotonic() - t0 < 120 and streaming_count(c, c.primary() or "") < 2:
            time.sleep(0.05)
        cold_stream.append(time.monotonic() - t0)

        # Idle footprint (after things settle).
        time.sleep(3)
        for n in c.nodes:
            with open(f"/proc/{n.proc.pid}/status") as f:
                st = dict(line.split(":", 1) for line in f if ":" in line)
            rss.append(int(st["VmRSS"].split()[0]) / 1024.0)
            threads.append(int(st["Threads"]))
            d = smaps_rollup_kb(n.proc.pid)
            mem["daemon_pss"].append(d["Pss"] / 1024.0)
            mem["daemon_private"].append((d["Private_Clean"] + d["Private_Dirty"]) / 1024.0)
            fp = fencer_pid(n.proc.pid)
            if fp:
                f = smaps_rollup_kb(fp)
                mem["fencer_rss"].append(f["Rss"] / 1024.0)
                mem["fencer_pss"].append(f["Pss"] / 1024.0)
                mem["fencer_private"].append((f["Private_Clean"] + f["Private_Dirty"]) / 1024.0)
                mem["total_pss"].append((d["Pss"] + f["Pss"]) / 1024.0)

        for _ in range(args.switchovers):
            switchover(c)
        if args.skip_failover:
            failover.append(None)
            back.append(float("nan"))
            print(f"trial {trial + 1}: cold write {cold_write[-1]:.2f}s, streaming {cold_stream[-1]:.2f}s, "
                  f"switchover gaps {', '.join(f'{g:.2f}s' for g in so_gap[-args.switchovers:])} "
                  f"({sum(so_failed[-args.switchovers:])} failed)", flush=True)
            continue

        # Crash failover, then the crashed node back.
        c.wait_streaming(2, timeout=60)
        p = c.primary()
        victim = c.node(p)
        survivors = [n for n in c.nodes if n is not victim]
        t0 = time.monotonic()
        victim.kill(signal.SIGKILL)
        failover.append(poll_until_write(survivors, t0))
        new = c.wait_primary(timeout=60, not_name=p)
        t1 = time.monotonic()
        victim.start()
        while time.monotonic() - t1 < 60:
            if victim.psql("SELECT status FROM pg_stat_wal_receiver", port=15432, host=victim.state_dir,
                           check=False, timeout=2) == "streaming":
                break
            time.sleep(0.05)
        back.append(time.monotonic() - t1)
    print(f"trial {trial + 1}: cold write {cold_write[-1]:.2f}s, streaming {cold_stream[-1]:.2f}s, "
          f"switchover gap {so_gap[-1]:.2f}s ({so_failed[-1]} failed), crash failover {failover[-1]:.2f}s, "
          f"back {back[-1]:.2f}s", flush=True)

print()
print("pgwarden HA benchmark — default settings (lease 3s, loop 250ms, election timeout 1s), 3 nodes on loopback")
summary("cold start -> first write through the proxy", [x for x in cold_write if x])
summary("cold start -> both replicas streaming", cold_stream)
summary("crash failover (kill -9 daemon) -> write ok", [x for x in failover if x])
summary("crashed node restarted -> streaming again", [x for x in back if x == x])
summary("switchover: longest write gap (50 ms client)", so_gap)
print(f"{'switchover: failed write attempts':44s} total {sum(so_failed)} over {len(so_failed)} switchovers")
summary("daemon RSS at idle", rss, " MB")
summary("daemon PSS at idle", mem["daemon_pss"], " MB")
summary("daemon private (clean+dirty) at idle", mem["daemon_private"], " MB")
summary("fencer RSS at idle", mem["fencer_rss"], " MB")
summary("fencer PSS at idle", mem["fencer_pss"], " MB")
summary("fencer private (clean+dirty) at idle", mem["fencer_private"], " MB")
summary("daemon + fencer PSS at idle", mem["total_pss"], " MB")
print(f"{'daemon threads at idle':44s} max {max(threads)}")
