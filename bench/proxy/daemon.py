#!/usr/bin/env python3
"""bench/proxy/daemon.py — the proxy users run: pgbench through a real
3-node pgwarden cluster, beside direct PostgreSQL and HAProxy (not a test).

Starts three `pgwarden run` daemons (tests/integration/ha/cluster.py) on
127.0.50.11-13 (a block no test uses), loads a pgbench database (scale 20)
on the primary, starts HAProxy 2.6 (mode tcp, default threads) on
127.0.50.20 in front of the same primary, and runs, interleaved so that the
machine's noise hits every target alike (one round = every target once):

  direct  — the primary's PostgreSQL port (15432)
  local   — the primary node's own proxy (5432)
  remote  — a replica node's proxy (5432), which forwards to the primary
  haproxy — HAProxy to the primary's PostgreSQL port

for pgbench -S at 1/8/32/128 clients, pgbench -S -C (a connection per
transaction, SCRAM included) at 8 clients, and COPY out. Prints medians,
ratios to direct, and the serving daemon's CPU per transaction
(utime+stime of the pgwarden process, both threads). Every daemon,
postgres and HAProxy started here is stopped at the end, even on error.

Usage (as root or the postgres user):
  bench/proxy/run.sh --daemon [--rounds 3] [--duration 4] [--threads N] [--ab-threads A,B]
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "integration", "ha"))

ap = argparse.ArgumentParser()
ap.add_argument("--build", default=os.path.join(SRC, "build"))
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--duration", type=int, default=4, help="seconds per pgbench run")
ap.add_argument("--scale", type=int, default=20)
ap.add_argument("--tx-per-second", type=int, default=4000,
                help="pgbench -S runs do duration x this many transactions (split among the clients)")
ap.add_argument("--copy-mb", type=int, default=500)
ap.add_argument("--threads", default=None, help="[proxy] threads (default: pgwarden's default)")
ap.add_argument("--clients", default="1,8,32,128")
ap.add_argument("--tests", default="S,C,copy", help="which parts: S (pgbench -S), C (-C), copy")
ap.add_argument("--ab-threads", default=None, metavar="A,B",
                help="compare [proxy] threads A (on n1) and B (on n2), both as remote proxies to n3 "
                     "(made the primary), interleaved with the other targets")
args = ap.parse_args()
os.environ["PW_BINARY_DIR"] = os.path.abspath(args.build)

import cluster as H  # noqa: E402  (after PW_BINARY_DIR is set)

H.PGWARDEN = os.path.join(os.path.abspath(args.build), "pgwarden")
PG_BIN = H.PG_BIN
BLOCK = 50
HA_IP, HA_PORT = f"127.0.{BLOCK}.20", 6432
TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    if not pid:
        return 0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def load():
    return "%.1f %.1f %.1f" % os.getloadavg()


def run_pgbench(host, port, clients, extra):
    env = dict(os.environ, PGPASSWORD=H.CLIENT_PASSWORD)
    j = 2 if clients > 1 else 1
    if "-C" in extra:
        # A connection per transaction: connecting is what is measured.
        length = ["-T", str(args.duration)]
    else:
        # A fixed number of transactions, not -T: pgbench's -T clock starts
        # before its clients have connected, and SCRAM costs 50-80 ms of CPU
        # per connection here (128 clients on a loaded machine connected for
        # longer than a 12 s run). tps is reported without connection time.
        length = ["-t", str(max(50, args.tx_per_second * args.duration // clients))]
    cmd = [os.path.join(PG_BIN, "pgbench"), "-n", "-S", *length, "-c", str(clients), "-j", str(j),
           *extra, "-h", host, "-p", str(port), "-U", "postgres", "postgres"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    m = re.search(r"^tps = ([0-9.]+)", r.stdout, re.M)
    n = re.search(r"number of transactions actually processed: (\d+)", r.stdout)
    if not m or not n:
        raise RuntimeError(f"pgbench against {host}:{port} failed: {r.stderr.strip()[-500:]} {r.stdout.strip()}")
    return float(m.group(1)), int(n.group(1))


def run_copy(host, port):
    env = dict(os.environ, PGPASSWORD=H.CLIENT_PASSWORD)
    rows = args.copy_mb * 1000
    cmd = [os.path.join(PG_BIN, "psql"), "-X", "-q", "-h", host, "-p", str(port), "-U", "postgres", "-d", "postgres",
           "-c", f"COPY (SELECT repeat('x', 999) FROM generate_series(1, {rows})) TO STDOUT"]
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        r = subprocess.run(cmd, stdout=null, stderr=subprocess.PIPE, env=env, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"COPY through {host}:{port} failed: {r.stderr.decode(errors='replace')[-500:]}")
    return args.copy_mb / (time.monotonic() - t0)


def main():
    proxy = {"hold_timeout": "15s", "max_client_connections": "1000"}
    if args.threads is not None:
        proxy["threads"] = args.threads
    extra = {"postgresql.parameters": {"max_connections": "300", "shared_buffers": "128MB",
                                       "synchronous_commit": "off"},
             "proxy": proxy}
    haproxy = None
    cfg_dir = tempfile.mkdtemp(prefix="pw-daemon-bench-")
    node_extra = {}
    if args.ab_threads:
        a, b = args.ab_threads.split(",")
        node_extra = {"n1": {"proxy": {"threads": a}}, "n2": {"proxy": {"threads": b}}}
    with H.Cluster(BLOCK, extra=extra, node_extra=node_extra) as c:
        try:
            print(f"pgwarden daemon proxy benchmark: {os.cpu_count()} cores, load average at start {load()}, "
                  f"pgbench scale {args.scale}, {args.rounds} rounds x {args.duration}s, "
                  f"[proxy] threads={args.threads or 'default'}", flush=True)
            c.start()
            p = c.wait_primary(timeout=120)
            c.wait_streaming(2, timeout=120)
            if args.ab_threads and p != "n3":
                subprocess.run([H.PGWARDEN, "ctl", "-c", c.node(p).ini, "switchover", "--to", "n3", "--force"],
                               capture_output=True, text=True, timeout=60)
                p = c.wait_primary(timeout=60, not_name=p)
                assert p == "n3", f"switchover to n3 failed (primary {p})"
                c.wait_streaming(2, timeout=120)
            primary = c.node(p)
            replica = next(n for n in c.nodes if n.name != p)
            init = [os.path.join(PG_BIN, "pgbench"), "-i", "-q", "-s", str(args.scale), "-h", primary.state_dir,
                    "-p", "15432", "postgres"]
            if H.IS_ROOT:
                init = ["runuser", "-u", H.PG_USER, "--"] + init
            subprocess.run(init, check=True, capture_output=True, timeout=900)
            cfg = os.path.join(cfg_dir, "haproxy.cfg")
            with open(cfg, "w") as f:
                f.write("global\n  maxconn 2000\ndefaults\n  mode tcp\n  timeout connect 5s\n"
                        "  timeout client 1h\n  timeout server 1h\n"
                        f"listen pg\n  bind {HA_IP}:{HA_PORT}\n  server pg {primary.host}:15432\n")
            haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
            targets = {
                "direct": (primary.host, 15432, None),
                "local": (primary.host, 5432, primary.proc.pid),
                "remote": (replica.host, 5432, replica.proc.pid),
                "haproxy": (HA_IP, HA_PORT, haproxy.pid),
            }
            if args.ab_threads:
                a, b = args.ab_threads.split(",")
                del targets["remote"]
                targets[f"remote_t{a}"] = (c.node("n1").host, 5432, c.node("n1").proc.pid)
                targets[f"remote_t{b}"] = (c.node("n2").host, 5432, c.node("n2").proc.pid)
            H.wait_for("haproxy", lambda: subprocess.run(
                [os.path.join(PG_BIN, "pg_isready"), "-q", "-h", HA_IP, "-p", str(HA_PORT)]).returncode == 0, 30)
            print(f"primary {p} ({primary.host}), remote via {replica.name} ({replica.host})", flush=True)
            results = measure(targets)
            print_table(results)
            print(f"load average at end {load()}")
        finally:
            if haproxy and haproxy.poll() is None:
                haproxy.send_signal(signal.SIGTERM)
                try:
                    haproxy.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    haproxy.kill()
                    haproxy.wait()
            shutil.rmtree(cfg_dir, ignore_errors=True)


def measure(targets):
    vals, cpu, txs = {}, {}, {}
    tests = []
    if "S" in args.tests:
        tests += [(f"S{n}", int(n), []) for n in args.clients.split(",")]
    if "C" in args.tests:
        tests.append(("C8", 8, ["-C"]))
    for name, clients, extra in tests:
        for rnd in range(args.rounds):
            for t, (host, port, pid) in targets.items():
                c0 = cpu_ticks(pid)
                tps, n = run_pgbench(host, port, clients, extra)
                cpu[t, name] = cpu.get((t, name), 0) + cpu_ticks(pid) - c0
                txs[t, name] = txs.get((t, name), 0) + n
                vals.setdefault((t, name), []).append(tps)
                print(f"  {name:5s} round {rnd + 1} {t:8s} tps={tps:10.1f}  (load {load()})", flush=True)
    if "copy" in args.tests:
        for rnd in range(max(1, (args.rounds + 1) // 2)):
            for t, (host, port, pid) in targets.items():
                c0 = cpu_ticks(pid)
                mbs = run_copy(host, port)
                cpu[t, "copy"] = cpu.get((t, "copy"), 0) + cpu_ticks(pid) - c0
                txs[t, "copy"] = txs.get((t, "copy"), 0) + args.copy_mb
                vals.setdefault((t, "copy"), []).append(mbs)
                print(f"  copy  round {rnd + 1} {t:8s} MB/s={mbs:8.1f}  (load {load()})", flush=True)
    return vals, cpu, txs


def print_table(results):
    vals, cpu, txs = results
    med = {k: statistics.median(v) for k, v in vals.items()}
    names = sorted({k[1] for k in vals}, key=lambda n: ({"S": 0, "C": 1, "c": 2}[n[0]], len(n), n))

    def ratio(a, b):
        return f"{med[a] / med[b]:.2f}" if med.get(b) else "-"

    def per(t, n):
        if not txs.get((t, n)):
            return "-"
        if n == "copy":
            return f"{cpu[t, n] * 1000 / TCK / txs[t, n]:.2f} ms/MB"
        return f"{cpu[t, n] * 1e6 / TCK / txs[t, n]:.1f} µs/txn"

    print()
    print(f"Medians of {args.rounds} interleaved rounds ({args.duration}s each; COPY "
          f"{max(1, (args.rounds + 1) // 2)} rounds); CPU = serving process utime+stime per transaction.")
    ts = [t for t in dict.fromkeys(k[0] for k in vals) if t != "direct"]
    print("| test | direct | " + " | ".join(ts) + " | " + " | ".join(f"{t} ÷ direct" for t in ts) + " | " +
          " | ".join(f"{t} CPU" for t in ts) + " |")
    print("| --- | ---: |" + " ---: |" * (3 * len(ts)))
    for n in names:
        if n == "copy":
            label = f"COPY {args.copy_mb} MB out (MB/s)"
        elif n.startswith("C"):
            label = f"pgbench -S -C, {n[1:]} clients (TPS)"
        else:
            label = f"pgbench -S, {n[1:]} clients (TPS)"
        row = [label] + [f"{med[t, n]:.0f}" for t in ["direct"] + ts]
        row += [ratio((t, n), ("direct", n)) for t in ts]
        row += [per(t, n) for t in ts]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
