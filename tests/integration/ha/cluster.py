"""tests/integration/ha/cluster.py — a real pgwarden cluster for tests.

Starts N `pgwarden run` daemons (each with its own PostgreSQL 15) on the
loopback addresses 127.0.<block>.11.. of the calling test, so tests can run
in parallel. Everything lives in one temporary directory; `close()` (also
on any exception, via the context manager) kills every daemon and every
postgres started under it and removes the directory.

Waiting is always for a condition with a deadline, never a bare sleep.
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

PG_BIN = os.environ.get("PW_PG_BIN_DIR", "/usr/lib/postgresql/15/bin")
BINARY_DIR = os.environ.get("PW_BINARY_DIR", "build")
PGWARDEN = os.path.join(BINARY_DIR, "pgwarden")
IS_ROOT = os.geteuid() == 0
PG_USER = "postgres" if IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name
TOKEN = "test-token-0123456789"
# Clients reach PostgreSQL over TCP with scram (pgwarden's managed pg_hba);
# the harness gives the postgres role this password once a primary is up.
CLIENT_PASSWORD = "client-secret-pw"


class TestFailure(Exception):
    pass


def wait_for(what, fn, timeout=60.0, interval=0.1):
    """Polls fn() until it returns a truthy value; raises with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # the condition may fail while the cluster moves
            last_exc = e
        time.sleep(interval)
    raise TestFailure(f"timed out after {timeout:.0f}s waiting for {what}" +
                      (f" (last error: {last_exc})" if last_exc else ""))


def chown_pg(path):
    if IS_ROOT:
        pw = pwd.getpwnam(PG_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


class Node:
    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.name = f"n{index + 1}"
        self.host = cluster.hosts[index] if cluster.hosts else f"127.0.{cluster.block}.{11 + index}"
        self.dir = os.path.join(cluster.root, self.name)
        self.state_dir = os.path.join(self.dir, "state")
        self.data_dir = os.path.join(self.dir, "data")
        self.ini = os.path.join(self.dir, "pgwarden.ini")
        self.log = os.path.join(self.dir, "pgwarden.log")
        self.proc = None

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} already running"
        logf = open(self.log, "ab")
        # As root the daemon drops to the postgres user itself ([node] run_as_user).
        cmd = self.cluster.wrap_command(self, [self.cluster.pgwarden, "run", "-c", self.ini])
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
                try:
                    self.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()

    def stop(self):
        self.kill(signal.SIGTERM)

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                pid = int(f.readline().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    # -- access --------------------------------------------------------------
    def api(self, path, method="GET", body=None, token=TOKEN, timeout=3):
        req = urllib.request.Request(f"http://{self.host}:8008{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def cluster_view(self):
        code, body = self.api("/cluster")
        return json.loads(body) if code == 200 else None

    def psql_command(self, sql, port=5432, host=None, timeout=10):
        """The psql command line and environment for sql on this node."""
        env = dict(os.environ, PGCONNECT_TIMEOUT=str(int(timeout)), PGPASSWORD=CLIENT_PASSWORD)
        cmd = [os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", host or self.host, "-p", str(port), "-U", "postgres", "-d", "postgres", "-c", sql]
        if IS_ROOT:
            cmd = ["runuser", "-u", PG_USER, "--"] + cmd
        return cmd, env

    def psql_run(self, sql, port=5432, host=None, timeout=10):
        """Runs sql and returns psql's CompletedProcess (returncode, stdout,
        stderr), for a test that must tell one failure from another."""
        cmd, env = self.psql_command(sql, port, host, timeout)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5, env=env)

    def psql(self, sql, port=5432, host=None, timeout=10, check=True):
        """Runs sql through this node's proxy (port 5432) or PostgreSQL (15432)."""
        r = self.psql_run(sql, port, host, timeout)
        if check and r.returncode != 0:
            raise TestFailure(f"psql on {self.name}:{port} failed: {r.stderr.strip()}")
        return r.stdout.strip() if r.returncode == 0 else None

    def local_psql(self, sql, timeout=10):
        """Runs sql on this node's PostgreSQL over its unix socket (peer auth)."""
        return self.psql(sql, port=15432, host=self.state_dir, timeout=timeout)


class Cluster:
    def __init__(self, block, n=3, extra=None, node_extra=None, hosts=None, pgwarden=None):
        """hosts: the members' addresses (default 127.0.<block>.11..);
        pgwarden: the binary to run (default $PW_BINARY_DIR/pgwarden)."""
        self.block = block
        self.hosts = hosts
        self.root = tempfile.mkdtemp(prefix=f"pgwarden-ha{block}-")
        os.chmod(self.root, 0o755)
        self.pgwarden = pgwarden or PGWARDEN
        self.nodes = [Node(self, i) for i in range(n)]
        self.extra = extra or {}
        self.node_extra = node_extra or {}
        secrets = os.path.join(self.root, "secrets")
        os.mkdir(secrets)
        chown_pg(secrets)
        self.pass_file = os.path.join(secrets, "replication.pass")
        self.token_file = os.path.join(secrets, "api.token")
        for path, content in ((self.pass_file, "repl-secret-pw\n"), (self.token_file, TOKEN + "\n")):
            with open(path, "w") as f:
                f.write(content)
            os.chmod(path, 0o600)
            chown_pg(path)
        for node in self.nodes:
            for d in (node.dir, node.state_dir):
                os.makedirs(d, exist_ok=True)
                os.chmod(d, 0o700)
                chown_pg(d)
            self.write_config(node)

    def write_config(self, node):
        members = ", ".join(f"{m.name}={m.host}" for m in self.nodes)
        sections = {
            "node": {"name": node.name, "state_dir": node.state_dir, "log_level": "info",
                     "run_as_user": PG_USER},
            "cluster": {"name": f"ha{self.block}", "members": members},
            "postgresql": {"bin_dir": PG_BIN, "data_dir": node.data_dir, "port": "15432",
                           "replication_password_file": self.pass_file},
            "postgresql.parameters": {"shared_buffers": "16MB", "max_connections": "40",
                                      "fsync": "off", "full_page_writes": "on"},
            "proxy": {"port": "5432", "hold_timeout": "15s"},
            "api": {"port": "8008", "token_file": self.token_file},
            "ha": {},
        }
        for sec, kv in list(self.extra.items()) + list(self.node_extra.get(node.name, {}).items()):
            sections.setdefault(sec, {}).update(kv)
        with open(node.ini, "w") as f:
            for sec, kv in sections.items():
                f.write(f"[{sec}]\n")
                for k, v in kv.items():
                    f.write(f"{k} = {v}\n")
                f.write("\n")

    def wrap_command(self, node, cmd):
        """The daemon's command line; a subclass may wrap it (the fault
        harness runs each daemon inside its member's network namespace)."""
        return cmd

    # -- whole cluster ---------------------------------------------------------
    def start(self):
        for n in self.nodes:
            n.start()

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def any_view(self):
        for n in self.nodes:
            if n.running():
                try:
                    v = n.cluster_view()
                    if v:
                        return v
                except Exception:
                    pass
        return None

    def primary(self):
        """Name of the ready primary according to any live node, or None."""
        v = self.any_view()
        if not v:
            return None
        p = v.get("primary")
        if p and v.get("ready_epoch") == v.get("epoch"):
            return p
        return None

    def wait_primary(self, timeout=60, not_name=None):
        def ok():
            p = self.primary()
            if p and p != not_name:
                node = self.node(p)
                # Over the primary's own socket (peer auth): sets the client
                # password, which replicates to every member.
                if node.psql(f"ALTER ROLE postgres PASSWORD '{CLIENT_PASSWORD}'; SELECT NOT pg_is_in_recovery()",
                             port=15432, host=node.state_dir, check=False) == "t":
                    return p
            return None
        return wait_for("a ready primary" + (f" other than {not_name}" if not_name else ""), ok, timeout)

    def wait_streaming(self, count, timeout=90):
        """Waits until `count` members stream from the ready primary, as seen
        by the replicas themselves (pg_stat_wal_receiver): pg_basebackup's
        own WAL stream also shows up in the primary's pg_stat_replication."""
        def ok():
            p = self.primary()
            if not p:
                return False
            streaming = 0
            for n in self.nodes:
                if n.name == p or not n.running():
                    continue
                st = n.psql("SELECT status FROM pg_stat_wal_receiver", port=15432, host=n.state_dir,
                            check=False, timeout=3)
                if st == "streaming":
                    streaming += 1
            return streaming >= count
        return wait_for(f"{count} streaming replicas", ok, timeout)

    def dump_logs(self):
        for n in self.nodes:
            try:
                print(f"===== log of {n.name} ({n.log}) =====")
                print(n.log_text()[-20000:])
            except OSError:
                pass

    def close(self):
        for n in self.nodes:
            n.kill(signal.SIGKILL)
        # PostgreSQL dies with its daemon (PDEATHSIG); make sure anyway.
        for n in self.nodes:
            pid = n.postmaster_pid()
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        subprocess.run(["pkill", "-9", "-f", self.root], capture_output=True)
        wait_for("postgres processes to exit",
                 lambda: subprocess.run(["pgrep", "-f", self.root], capture_output=True).returncode != 0, 30)
        if os.environ.get("PW_KEEP_TEST_DIR"):
            print(f"kept {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
        self.close()
        return False
