"""tests/faults/fcluster.py — a real pgwarden cluster inside the harness's
network namespaces.

Reuses tests/integration/ha/cluster.py (INI generation, directories owned by
postgres, unix-socket psql) and changes only what the namespaces need: the
members' addresses are 10.77.0.11-13, every daemon runs under
`ip netns exec <its namespace>`, and everything that talks TCP to a member
(API, PostgreSQL, proxy) runs on a thread inside a namespace (netns.NsThreads).

`close()` stops every process by PID (the daemon's whole process tree, the
postmaster of postmaster.pid, then anything still living in the run's
namespaces) — never by name.
"""
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "ha"))
import cluster as ha  # noqa: E402
import netns  # noqa: E402
import pq  # noqa: E402

PG_PORT = 15432
PROXY_PORT = 5432
PASSWORD = ha.CLIENT_PASSWORD


def process_tree(root_pid):
    """root_pid and all its descendants (from /proc/*/stat parent links)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


class FaultCluster(ha.Cluster):
    def __init__(self, topo, sync, extra_conf=None):
        extra = {
            # The monitor writes to each member's PostgreSQL directly, from
            # inside the member's namespace: admitted the supported way.
            "postgresql": {"hba_extra": f"host all postgres {netns.SUBNET}.0/24 scram-sha-256"},
            "ha": {"synchronous_mode": "on" if sync else "off"},
        }
        for sec, kv in (extra_conf or {}).items():
            extra.setdefault(sec, {}).update(kv)
        super().__init__(77, extra=extra, hosts=topo.addrs)
        self.topo = topo
        self.sync = sync
        # A private copy: the source tree may be private to root, and a
        # rebuild during a long run must not swap the binary under it.
        bindir = os.path.join(self.root, "bin")
        os.mkdir(bindir)
        shutil.copy2(ha.PGWARDEN, os.path.join(bindir, "pgwarden"))
        os.chmod(bindir, 0o755)
        self.pgwarden = os.path.join(bindir, "pgwarden")
        for node, ns in zip(self.nodes, topo.nodes):
            node.ns = ns
            node.nst = netns.NsThreads(ns, workers=3)
        self.client = netns.NsThreads(topo.client, workers=4)

    def wrap_command(self, node, cmd):
        return ["ip", "netns", "exec", node.ns] + cmd

    # -- views, from inside the namespaces --------------------------------------
    def view(self, node):
        """node's /cluster view, or None (down, unreachable, not answering)."""
        if not node.running():
            return None
        try:
            return node.nst.call(lambda: node.cluster_view(), timeout=5)
        except Exception:
            return None

    def any_view(self, exclude=()):
        for n in self.nodes:
            if n.name in exclude:
                continue
            v = self.view(n)
            if v:
                return v
        return None

    def primary(self, exclude=()):
        v = self.any_view(exclude)
        if v and v.get("primary") and v.get("ready_epoch") == v.get("epoch"):
            return v["primary"]
        return None

    def decider(self, exclude=()):
        """The raft leader every answering member (outside exclude) names, or None."""
        names = set()
        for n in self.nodes:
            if n.name in exclude:
                continue
            v = self.view(n)
            if v:
                names.add(v.get("decider") or "")
        return names.pop() if len(names) == 1 and "" not in names else None

    def make_leader(self, node, timeout=20):
        """Hands raft leadership to `node` (POST /raft/transfer-leadership) and
        waits until every member names it as decider. Re-asks every 2 s: a
        transfer that times out (the target lagged) is simply dropped."""
        t0 = time.monotonic()
        asked = 0.0
        while time.monotonic() - t0 < timeout:
            if self.decider() == node.name:
                return time.monotonic() - t0
            if time.monotonic() - asked >= 2.0:
                asked = time.monotonic()
                try:
                    node.nst.call(lambda: node.api("/raft/transfer-leadership", method="POST",
                                                   body={"to": node.name}), timeout=5)
                except Exception as e:
                    print(f"    transfer of raft leadership to {node.name}: {e}", flush=True)
            time.sleep(0.05)
        raise RuntimeError(f"{node.name} did not become raft leader within {timeout:.0f}s "
                           f"(decider: {self.decider()})")

    def log_sizes(self):
        """Current length of every member's log (to read what a cycle added)."""
        out = {}
        for n in self.nodes:
            try:
                out[n.name] = os.path.getsize(n.log)
            except OSError:
                out[n.name] = 0
        return out

    def log_since(self, node, offset):
        try:
            with open(node.log, errors="replace") as f:
                f.seek(offset)
                return f.read()
        except OSError:
            return ""

    def pg_query(self, node, sql, timeout=3, port=PG_PORT):
        """Runs sql on node's PostgreSQL (or, port=5432, its proxy) from inside
        node's namespace; returns the rows or raises pq.PqError."""
        def run():
            c = pq.Conn(node.host, port, PASSWORD, connect_timeout=timeout)
            try:
                return c.query(sql, timeout=timeout)
            finally:
                c.close()
        return node.nst.call(run, timeout=timeout * 3 + 5)

    def proxy_query(self, node, sql, timeout=3):
        """Runs sql through node's proxy from the client namespace."""
        def run():
            c = pq.Conn(node.host, PROXY_PORT, PASSWORD, connect_timeout=timeout)
            try:
                return c.query(sql, timeout=timeout)
            finally:
                c.close()
        return self.client.call(run, timeout=timeout * 3 + 5)

    def convergence_state(self):
        """(converged, why-not): one ready primary that every member agrees on,
        every other member's WAL receiver streaming, and a write accepted
        through every member's proxy."""
        views = {n.name: self.view(n) for n in self.nodes}
        missing = [k for k, v in views.items() if not v]
        if missing:
            return False, f"no view from {','.join(missing)}"
        prims = {(v.get("primary"), v.get("epoch"), v.get("ready_epoch")) for v in views.values()}
        if len(prims) != 1:
            return False, f"members disagree on the primary: {sorted(map(str, prims))}"
        p, epoch, ready = prims.pop()
        if not p or epoch != ready:
            diags = {d.get("code") for v in views.values() for d in v.get("diagnostics", [])}
            return False, (f"no ready primary (primary={p} epoch={epoch} ready={ready})" +
                           (f" diagnostics: {','.join(sorted(diags))}" if diags else ""))
        for n in self.nodes:
            if n.name == p:
                continue
            try:
                rows = self.pg_query(n, "SELECT status FROM pg_stat_wal_receiver")
            except Exception as e:
                return False, f"{n.name}: {e}"
            if not rows or rows[0][0] != "streaming":
                return False, f"{n.name} not streaming"
        for n in self.nodes:
            try:
                self.proxy_query(n, "INSERT INTO fw_conv(via) VALUES ('%s')" % n.name)
            except Exception as e:
                return False, f"write through {n.name}:5432: {e}"
        return True, p

    # -- processes ------------------------------------------------------------
    def daemon_pid(self, node):
        return node.proc.pid if node.running() else None

    def kill_node(self, node):
        """SIGKILL of the daemon, its children (fencer, tools) and its
        PostgreSQL — a crashed host."""
        pids = []
        if node.running():
            pids = process_tree(node.proc.pid)
        pm = node.postmaster_pid()
        if pm:
            pids += process_tree(pm)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        if node.proc:
            node.proc.wait(timeout=30)

    def close(self):
        for n in self.nodes:
            try:
                if n.running():
                    os.kill(n.proc.pid, signal.SIGCONT)  # a stopped daemon too
                self.kill_node(n)
            except Exception as e:
                print(f"fault harness: stopping {n.name}: {e}", file=sys.stderr)
        # Orphaned backends of a killed postmaster, tools: whatever is left
        # in the namespaces goes with them (Topology.destroy, by PID).
        self.topo.destroy()
        for n in self.nodes:
            n.nst.stop()
        self.client.stop()
        if os.environ.get("PW_KEEP_TEST_DIR"):
            print(f"kept {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def wait_for(what, fn, timeout, interval=0.2):
    return ha.wait_for(what, fn, timeout, interval)


def now():
    """Wall clock: every namespace shares the kernel's clock, so it compares
    with the servers' clock_timestamp(); runs are short enough that clock
    steps are not a concern (NTP slews)."""
    return time.time()
