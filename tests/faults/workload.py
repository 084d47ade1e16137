"""tests/faults/workload.py — writers through the proxies, and the split-brain
monitor on each member's PostgreSQL.

Writers (one thread per member, in the client namespace) insert unique ids
through that member's port 5432 and log every attempt:
  * acked   — INSERT ... RETURNING inet_server_addr() answered: the id must
              survive (the server that answered is recorded);
  * failed  — connect refused/timed out, or the server reported an error:
              the id was not written (autocommit, one statement);
  * unknown — the statement was sent and then the connection broke or no
              answer came within the deadline: it may or may not exist.

The monitor (one thread per member, inside that member's namespace, so a
network fault never hides it) inserts a row directly into the member's
PostgreSQL every 100 ms with synchronous_commit = local — it asks "does this
server accept a write right now?", not "is it durable?" — and records the
server's clock_timestamp() of each accepted write. All namespaces share the
kernel clock, so writes on different servers compare in time.
"""
import threading
import time

import fcluster
import netns
import pq

WRITE_INTERVAL = 0.025
MONITOR_INTERVAL = 0.1
CONNECT_TIMEOUT = 5
QUERY_TIMEOUT = 5

SCHEMA = """
CREATE TABLE IF NOT EXISTS fw (id bigint PRIMARY KEY, via text NOT NULL);
CREATE TABLE IF NOT EXISTS fw_mon (node text NOT NULL, t timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS fw_conv (via text NOT NULL, t timestamptz NOT NULL DEFAULT clock_timestamp());
"""


class Attempt:
    __slots__ = ("t_send", "t_done", "id", "via", "outcome", "server", "error")

    def __init__(self, t_send, t_done, id_, via, outcome, server=None, error=None):
        self.t_send, self.t_done, self.id, self.via = t_send, t_done, id_, via
        self.outcome, self.server, self.error = outcome, server, error


class Workload:
    def __init__(self, cl):
        self.cl = cl
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.attempts = []  # Attempt, in completion order
        self.mon = {n.name: [] for n in cl.nodes}  # node -> [server time of accepted write]
        self.threads = []
        self.addr_to_name = {n.host: n.name for n in cl.nodes}

    def start(self):
        for i, n in enumerate(self.cl.nodes):
            self.threads.append(netns.thread_in_ns(self.cl.topo.client, lambda i=i, n=n: self._writer(i, n),
                                                   f"writer-{n.name}"))
            self.threads.append(netns.thread_in_ns(n.ns, lambda n=n: self._monitor(n), f"monitor-{n.name}"))

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout=QUERY_TIMEOUT + CONNECT_TIMEOUT + 5)

    def _log(self, a):
        with self.lock:
            self.attempts.append(a)

    def _writer(self, index, node):
        conn, seq = None, 0
        next_t = time.monotonic()
        while not self.stop_ev.is_set():
            next_t = max(next_t + WRITE_INTERVAL, time.monotonic())
            seq += 1
            id_ = (index + 1) * 10**12 + seq
            t0 = fcluster.now()
            if conn is None:
                try:
                    conn = pq.Conn(node.host, fcluster.PROXY_PORT, fcluster.PASSWORD,
                                   connect_timeout=CONNECT_TIMEOUT)
                except pq.PqError as e:
                    self._log(Attempt(t0, fcluster.now(), id_, node.name, "failed", error="connect: " + e.text))
                    self.stop_ev.wait(0.1)
                    continue
            try:
                rows = conn.query(f"INSERT INTO fw(id, via) VALUES ({id_}, '{node.name}') "
                                  "RETURNING host(inet_server_addr())", timeout=QUERY_TIMEOUT)
                server = self.addr_to_name.get(rows[0][0], rows[0][0]) if rows else "?"
                self._log(Attempt(t0, fcluster.now(), id_, node.name, "acked", server=server))
            except pq.PqError as e:
                self._log(Attempt(t0, fcluster.now(), id_, node.name, "unknown" if e.unknown else "failed",
                                  error=e.text))
                if conn._c is None:
                    conn = None
                else:
                    # An error from a server that is no longer the primary
                    # (read-only transaction): start afresh through the proxy.
                    conn.close()
                    conn = None
            left = next_t - time.monotonic()
            if left > 0:
                self.stop_ev.wait(left)
        if conn:
            conn.close()

    def _monitor(self, node):
        conn = None
        while not self.stop_ev.is_set():
            t_next = time.monotonic() + MONITOR_INTERVAL
            try:
                if conn is None:
                    conn = pq.Conn(node.host, fcluster.PG_PORT, fcluster.PASSWORD, connect_timeout=1,
                                   options="-c synchronous_commit=local")
                rows = conn.query(f"INSERT INTO fw_mon(node) VALUES ('{node.name}') "
                                  "RETURNING extract(epoch FROM clock_timestamp())", timeout=1)
                with self.lock:
                    self.mon[node.name].append(float(rows[0][0]))
            except pq.PqError:
                if conn is not None and conn._c is None:
                    conn = None
            left = t_next - time.monotonic()
            if left > 0:
                self.stop_ev.wait(left)
        if conn:
            conn.close()

    # -- snapshots for the checkers -------------------------------------------
    def attempts_between(self, t0, t1):
        with self.lock:
            return [a for a in self.attempts if t0 <= a.t_send < t1]

    def acked_ids_until(self, t):
        with self.lock:
            return {a.id: a for a in self.attempts if a.outcome == "acked" and a.t_done <= t}

    def monitor_copy(self):
        with self.lock:
            return {k: list(v) for k, v in self.mon.items()}
