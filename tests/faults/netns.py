"""tests/faults/netns.py — the fault harness's private network.

Builds, per run, a hub namespace holding a bridge and one namespace per
member plus one for the clients, each joined to the bridge by a veth pair
(`eth0` inside, `v<name>` on the hub):

    pwf<pid>c  (clients, 10.77.0.100) --+
    pwf<pid>n1 (10.77.0.11) ------------+-- br0 in pwf<pid>h
    pwf<pid>n2 (10.77.0.12) ------------+
    pwf<pid>n3 (10.77.0.13) ------------+

No address outside these namespaces (and their loopback) is ever used, so
nothing leaves the machine and parallel runs (names carry the pid) do not
collide: the same 10.77.0.0/24 exists separately in each run's hub.

`NsThreads` runs Python callables inside a namespace: a network namespace
is per *thread* on Linux (setns(CLONE_NEWNET) changes only the caller), so
a worker thread that entered it once creates every later socket there.

`Topology.destroy()` kills (by PID) every process still living in one of
its namespaces, then deletes the namespaces; it is safe to call twice and
after a partial setup.
"""
import ctypes
import os
import queue
import signal
import subprocess
import threading
import time

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"
CLIENT_ADDR = f"{SUBNET}.100"
_libc = ctypes.CDLL(None, use_errno=True)


def sh(*cmd, check=True):
    """Runs a command; raises with its stderr on failure."""
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def ns_exec(ns, *cmd, check=True):
    return sh("ip", "netns", "exec", ns, *cmd, check=check)


def enter_netns(ns):
    """Moves the calling thread into network namespace `ns`."""
    fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, f"setns({ns}): {os.strerror(e)}")
    finally:
        os.close(fd)


class NsThreads:
    """Runs callables in one network namespace, on a few dedicated threads."""

    def __init__(self, ns, workers=2):
        self.ns = ns
        self._q = queue.Queue()
        self._threads = []
        for _ in range(workers):
            t = threading.Thread(target=self._loop, daemon=True, name=f"ns-{ns}")
            t.start()
            self._threads.append(t)

    def _loop(self):
        enter_netns(self.ns)
        while True:
            item = self._q.get()
            if item is None:
                return
            fn, box, done = item
            try:
                box.append((True, fn()))
            except BaseException as e:  # handed back to the caller
                box.append((False, e))
            done.set()

    def call(self, fn, timeout=30):
        box, done = [], threading.Event()
        self._q.put((fn, box, done))
        if not done.wait(timeout):
            raise TimeoutError(f"call in namespace {self.ns} took over {timeout}s")
        ok, v = box[0]
        if not ok:
            raise v
        return v

    def stop(self):
        for _ in self._threads:
            self._q.put(None)


def thread_in_ns(ns, target, name):
    """Starts a daemon thread that enters ns, then runs target()."""
    def run():
        enter_netns(ns)
        target()
    t = threading.Thread(target=run, daemon=True, name=name)
    t.start()
    return t


def _netns_inode(ns):
    try:
        return os.stat(f"/var/run/netns/{ns}").st_ino
    except OSError:
        return None


def pids_in_netns(inodes):
    """PIDs of every process whose network namespace is one of `inodes`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.stat(f"/proc/{d}/ns/net").st_ino in inodes:
                out.append(int(d))
        except OSError:
            pass
    return out


class Topology:
    def __init__(self, n_nodes=3, tag=None):
        tag = tag or f"pwf{os.getpid()}"
        self.hub = f"{tag}h"
        self.client = f"{tag}c"
        self.nodes = [f"{tag}n{i + 1}" for i in range(n_nodes)]
        self.addrs = [f"{SUBNET}.{11 + i}" for i in range(n_nodes)]
        self._made = []

    def all_ns(self):
        return [self.hub, self.client] + self.nodes

    def create(self):
        for ns in self.all_ns():
            sh("ip", "netns", "add", ns)
            self._made.append(ns)
            ns_exec(ns, "ip", "link", "set", "lo", "up")
        ns_exec(self.hub, "ip", "link", "add", "br0", "type", "bridge")
        ns_exec(self.hub, "ip", "link", "set", "br0", "up")
        for ns, addr in list(zip(self.nodes, self.addrs)) + [(self.client, CLIENT_ADDR)]:
            hub_end = "v" + ns[-2:] if ns != self.client else "vc"
            sh("ip", "-n", self.hub, "link", "add", hub_end, "type", "veth", "peer", "name", "eth0",
               "netns", ns)
            ns_exec(self.hub, "ip", "link", "set", hub_end, "master", "br0", "up")
            ns_exec(ns, "ip", "addr", "add", f"{addr}/24", "dev", "eth0")
            ns_exec(ns, "ip", "link", "set", "eth0", "up")
        # Each namespace has its own iptables; start from empty, ACCEPT policies.
        for ns in self.nodes:
            ns_exec(ns, "iptables", "-w", "-F")

    def destroy(self):
        inodes = {i for i in (_netns_inode(ns) for ns in self._made) if i}
        if inodes:
            for _ in range(50):
                pids = [p for p in pids_in_netns(inodes) if p != os.getpid()]
                if not pids:
                    break
                for p in pids:
                    try:
                        os.kill(p, signal.SIGCONT)
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.1)
        for ns in reversed(self._made):
            # Deleting a namespace also deletes the veth ends inside it and,
            # with them, their peers on the hub.
            sh("ip", "netns", "del", ns, check=False)
        self._made = []
