"""tests/integration/api_cluster_test.py — the HTTP API and `pgwarden ctl`
against a real three-node cluster (127.0.7.11-13, PostgreSQL 15) and a
Debian HAProxy configured the standard Patroni way:

* every health endpoint's status code on the primary, on a replica, and
  on a node whose PostgreSQL is down (liveness stays 200 there);
* /cluster lists all three members with the right roles, from every node;
* /metrics passes a Prometheus text-format checker (every line a valid
  sample or comment) and carries the lease and raft facts;
* auth: no token 401, wrong token 403, right token 200; a 1 MB body and
  garbage request lines are refused and the daemon keeps serving;
* `ctl list` prints the cluster summary and the member table (structure,
  not timing); `ctl switchover --to` moves the primary;
* HAProxy with `option httpchk OPTIONS /primary` routes to the primary and
  follows the switchover.

Reuses the HA harness (tests/integration/ha/cluster.py, on PYTHONPATH).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from cluster import Cluster, PGWARDEN, TOKEN, wait_for

BLOCK = 7
HAPROXY_ADDR = "127.0.7.14"
HAPROXY_PORT = 5000
HEALTH = ["/primary", "/leader", "/master", "/read-write", "/replica", "/read-only", "/health", "/liveness",
          "/readiness"]


# ---- Prometheus text format checker (independent of the daemon's writer) -----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL}(?:,{LABEL})*,?)?\}})? "
                    r"(NaN|[+-]?Inf|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)( -?\d+)?$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def check_prometheus(text):
    """Returns a list of problems (empty when `text` is valid exposition format)."""
    problems = []
    if not text.endswith("\n"):
        problems.append("no final newline")
    typed, seen_series, done_families, current = {}, set(), set(), None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        def bad(why):
            problems.append(f"line {no}: {why}: {line!r}")
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                fam = parts[2]
                if not re.fullmatch(NAME, fam):
                    bad("bad metric name in comment")
                if parts[1] == "TYPE":
                    if len(parts) < 4 or parts[3] not in TYPES:
                        bad("bad TYPE")
                    if fam in typed:
                        bad("second TYPE")
                    typed[fam] = parts[3] if len(parts) > 3 else ""
                if fam != current:
                    if fam in done_families:
                        bad("family not contiguous")
                    if current:
                        done_families.add(current)
                    current = fam
            continue
        m = SAMPLE.match(line)
        if not m:
            bad("not a valid sample")
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and typed.get(name[:-len(suffix)]) in ("histogram", "summary"):
                fam = name[:-len(suffix)]
        if fam != current:
            if fam in done_families:
                bad("family not contiguous")
            if current:
                done_families.add(current)
            current = fam
        if (name, labels) in seen_series:
            bad("series repeated")
        seen_series.add((name, labels))
        if typed.get(fam) == "counter" and (value.startswith("-") or value == "NaN"):
            bad("negative counter")
    return problems


def metric(text, name, labels=""):
    for line in text.splitlines():
        if line.startswith(name + (("{" + labels + "}") if labels else "") + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


# ---- HTTP helpers -------------------------------------------------------------

def code(node, path, method="GET", **kw):
    try:
        return node.api(path, method=method, **kw)[0]
    except Exception:
        return None


def raw(host, payload, port=8008, timeout=10):
    """Sends raw bytes, returns what the server answered before closing."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may refuse before reading everything
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def raw_status(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


def ctl(node, *args):
    r = subprocess.run([PGWARDEN, "ctl", "-c", node.ini] + list(args), capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def health_codes(node):
    return {p: code(node, p) for p in HEALTH}


# ---- HAProxy --------------------------------------------------------------------

class HAProxy:
    def __init__(self, cluster):
        self.dir = tempfile.mkdtemp(prefix="pgwarden-api-haproxy-")
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        servers = "\n".join(f"    server {n.name} {n.host}:15432 maxconn 100 check port 8008" for n in cluster.nodes)
        with open(self.cfg, "w") as f:
            f.write(f"""global
    maxconn 200

defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 2s

listen primary
    bind {HAPROXY_ADDR}:{HAPROXY_PORT}
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 300ms fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
""")
        subprocess.run(["haproxy", "-c", "-f", self.cfg], check=True, capture_output=True)
        self.log = open(os.path.join(self.dir, "haproxy.log"), "wb")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.cfg], stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def served_by(cluster, via):
    """Which member HAProxy's connection lands on, and whether it is writable."""
    out = via.psql("SELECT inet_server_addr(), pg_is_in_recovery()", port=HAPROXY_PORT, host=HAPROXY_ADDR,
                   check=False, timeout=5)
    if not out:
        return None
    addr, recovery = out.split("|")
    node = next((n for n in cluster.nodes if n.host == addr.split("/")[0]), None)
    return (node.name, recovery == "f") if node else None


# ---- the scenario -------------------------------------------------------------------

def main():
    with Cluster(BLOCK) as c:
        c.start()
        primary = c.wait_primary(timeout=120)
        c.wait_streaming(2, timeout=120)
        p = c.node(primary)
        replicas = [n for n in c.nodes if n.name != primary]

        # /cluster, from every node, lists three members with the right roles
        # (status gossip settles within a few loop turns).
        def roles_settled():
            for n in c.nodes:
                v = n.cluster_view()
                if not v or len(v["members"]) != 3:
                    return False
                roles = {m["name"]: m["role"] for m in v["members"]}
                want = {m.name: ("primary" if m.name == primary else "replica") for m in c.nodes}
                if roles != want or any(m["state"] not in ("running", "streaming") for m in v["members"]):
                    return False
            return True
        wait_for("every node's /cluster to show one primary and two replicas", roles_settled, 60)
        v = p.cluster_view()
        assert v["cluster"] == f"ha{BLOCK}" and v["primary"] == primary and v["epoch"] >= 1, v
        assert v["init"]["state"] == "done" and v["decider"] in [n.name for n in c.nodes], v
        assert all(m["timeline"] >= 1 for m in v["members"]), v
        print(f"/cluster: {primary} primary, {[r.name for r in replicas]} replicas, decider {v['decider']}")

        # Health codes on the primary and on a replica.
        want_primary = {"/primary": 200, "/leader": 200, "/master": 200, "/read-write": 200, "/replica": 503,
                        "/read-only": 200, "/health": 200, "/liveness": 200, "/readiness": 200}
        want_replica = {"/primary": 503, "/leader": 503, "/master": 503, "/read-write": 503, "/replica": 200,
                        "/read-only": 200, "/health": 200, "/liveness": 200, "/readiness": 200}
        wait_for("health codes on the primary", lambda: health_codes(p) == want_primary, 30)
        for r in replicas:
            wait_for(f"health codes on replica {r.name}", lambda r=r: health_codes(r) == want_replica, 30)
        for method in ("OPTIONS", "HEAD"):
            assert code(p, "/primary", method) == 200 and code(replicas[0], "/primary", method) == 503, method
        assert code(replicas[0], "/replica?lag=1GB") == 200
        status, body = p.api("/primary")
        doc = json.loads(body)
        assert doc["role"] == "primary" and doc["state"] == "running" and "location" in doc["xlog"], doc
        assert doc["pgwarden"]["lease_held"] is True and doc["patroni"]["scope"] == f"ha{BLOCK}", doc
        doc = json.loads(replicas[0].api("/replica")[1])
        assert doc["role"] == "replica" and "replayed_location" in doc["xlog"], doc
        print("health codes correct on the primary and the replicas (GET, OPTIONS, HEAD)")

        # /metrics on every node parses as Prometheus text.
        for n in c.nodes:
            status, text = n.api("/metrics")
            assert status == 200, status
            problems = check_prometheus(text)
            assert not problems, f"{n.name} /metrics: " + "; ".join(problems[:5])
            assert metric(text, "pgwarden_raft_term") >= 1
            assert metric(text, "pgwarden_epoch") == v["epoch"] or metric(text, "pgwarden_epoch") >= 1
            assert metric(text, "pgwarden_lease_held") == (1 if n.name == primary else 0), n.name
            assert metric(text, "pgwarden_postgres_running") == 1
            assert metric(text, "pgwarden_proxy_sessions", 'listener="readwrite"') is not None
        print("/metrics valid Prometheus text on all three nodes")

        # Auth and hostile input; the daemon keeps serving.
        r0 = replicas[0]
        assert code(r0, "/pause", "POST", token=None) == 401
        assert code(r0, "/pause", "POST", token="wrong-token") == 403
        assert code(r0, "/pause", "POST") == 200  # a follower accepts it: Raft forwards
        wait_for("paused in /cluster on every node", lambda: all(n.cluster_view()["paused"] for n in c.nodes), 30)
        rc, out, err = ctl(p, "list")
        assert rc == 0 and "Maintenance mode: on" in out, out + err
        rc, out, err = ctl(p, "resume")
        assert rc == 0, out + err
        wait_for("resumed", lambda: not any(n.cluster_view()["paused"] for n in c.nodes), 30)
        big = b"{\"to\": \"" + b"x" * 1000000 + b"\"}"
        answer = raw(r0.host, b"POST /switchover HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
                     b"\r\nContent-Length: " + str(len(big)).encode() + b"\r\n\r\n" + big)
        assert raw_status(answer) == 413, answer[:200]
        for junk in (b"GARBAGE\r\n\r\n", b"\x00\x01\xff\xfe\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n", os.urandom(4096),
                     b"POST /pause HTTP/1.1\r\nContent-Length: -1\r\n\r\n"):
            answer = raw(r0.host, junk)
            st = raw_status(answer)
            assert answer == b"" or (st is not None and (400 <= st < 500 or st == 501)), answer[:200]
            assert code(r0, "/liveness") == 200
        assert code(r0, "/cluster") == 200 and r0.running()
        v = r0.cluster_view()
        assert v["primary"] == primary and not v["paused"], v
        print("auth 401/403/200, 1 MB body 413, garbage refused; the daemon keeps serving")

        # ctl list: structure like patronictl list. A replica whose
        # PostgreSQL was killed above may still be reconnecting: wait until
        # the cluster view shows both streaming, then check the table.
        def both_streaming():
            v = r0.cluster_view()
            return v and all(m["state"] == "streaming" for m in v["members"] if m["name"] != primary)
        wait_for("both replicas streaming again", both_streaming, 60)
        rc, out, err = ctl(r0, "list")
        assert rc == 0, err
        lines = out.splitlines()
        assert lines[0].startswith(f"Cluster: ha{BLOCK}  epoch "), out
        assert any(l == "Maintenance mode: off" for l in lines), out
        table = [l for l in lines if l.startswith("|")]
        header = [x.strip() for x in table[0].strip("|").split("|")]
        assert header == ["Member", "Host", "Role", "State", "TL", "Lag in MB", "Tags", "Version"], header
        rows = {cells[0]: cells for cells in ([x.strip() for x in l.strip("|").split("|")] for l in table[1:])}
        assert sorted(rows) == ["n1", "n2", "n3"], rows
        assert rows[primary][2] == "Primary" and rows[primary][3] == "running", rows
        # Every member announces its pgwarden version (the same build here).
        assert all(cells[7] not in ("", "?") for cells in rows.values()), rows
        assert len({cells[7] for cells in rows.values()}) == 1, rows
        for r in replicas:
            assert rows[r.name][2] == "Replica" and rows[r.name][3] == "streaming", rows
            assert rows[r.name][5].isdigit(), rows
            assert rows[r.name][1] == r.host
        rc, out, err = ctl(r0, "status", "--json")
        assert rc == 0 and json.loads(out)["primary"] == primary
        print("ctl list:\n" + "\n".join(lines))

        # HAProxy, the Patroni way, follows the primary through a switchover.
        hap = HAProxy(c)
        try:
            wait_for("HAProxy to route to the primary", lambda: served_by(c, p) == (primary, True), 30)
            target = replicas[1].name
            rc, out, err = ctl(r0, "switchover", "--to", target)
            assert rc == 0, out + err
            wait_for(f"{target} to be the primary", lambda: c.primary() == target, 90)
            wait_for("HAProxy to route to the new primary", lambda: served_by(c, p) == (target, True), 60)
            new = c.node(target)
            wait_for("/primary 200 on the new primary only",
                     lambda: code(new, "/primary") == 200 and code(p, "/primary") == 503, 30)
            rc, out, err = ctl(new, "history")
            assert rc == 0 and target in out, out + err
            print(f"switchover {primary} -> {target}: HAProxy followed (httpchk OPTIONS /primary)")
        finally:
            hap.close()

        # A node whose PostgreSQL is down: health 503, liveness 200.
        c.wait_streaming(2, timeout=120)
        victim = next(n for n in c.nodes if n.name not in (target,))
        pid = victim.postmaster_pid()
        assert pid, "no postmaster on " + victim.name
        os.kill(pid, signal.SIGKILL)
        seen = {}

        def down_codes():
            codes = {pth: code(victim, pth, timeout=2) for pth in ("/health", "/replica", "/readiness", "/liveness")}
            if codes["/health"] == 503:
                seen.update(codes)
                return True
            return False
        wait_for(f"{victim.name}'s /health to report PostgreSQL down", down_codes, 30, interval=0.01)
        assert seen["/liveness"] == 200, seen
        assert seen["/replica"] == 503 and seen["/readiness"] == 503, seen
        doc = json.loads(victim.api("/health")[1]) if code(victim, "/health") == 503 else None
        if doc:
            assert doc["state"] == "stopped", doc
        print(f"PostgreSQL killed on {victim.name}: {seen}")
        wait_for(f"{victim.name} healthy again", lambda: code(victim, "/health") == 200, 90)
    return 0


if __name__ == "__main__":
    sys.exit(main())
