"""tests/faults/faults.py — the fault catalogue: how each fault is applied to
one member and how it heals.

Network faults are iptables rules in the member's own namespace, on its
`eth0` only (its loopback stays up, so the monitor inside the namespace and
the daemon's local PostgreSQL connection are unaffected); healing flushes
the namespace's filter table. Process faults act on PIDs the harness owns.

| name          | what                                                           | heal                  |
| ------------- | -------------------------------------------------------------- | --------------------- |
| isolate       | drop everything in and out of eth0                            | flush                 |
| isolate_peers | drop to/from the other members; clients still reach it        | flush                 |
| client_cut    | drop to/from the client namespace; peers still reach it       | flush                 |
| oneway_in     | drop packets *from* peers (it still sends to them)            | flush                 |
| oneway_out    | drop packets *to* peers (it still hears them)                 | flush                 |
| delay_loss    | egress through NFQUEUE: +200 ms, 10 % loss (pw_fault_delayer) | flush, stop delayer   |
| kill          | SIGKILL daemon + fencer + PostgreSQL (a crashed host)         | restart the daemon    |
| sigstop       | SIGSTOP the daemon only; its fencer child keeps running       | SIGCONT               |
| kill_postmaster | SIGKILL the postmaster only; the daemon stays              | (the daemon restarts it) |
| isolate_leader | a standby made raft leader first (POST /raft/transfer-leadership), then as isolate | flush |

`isolate_leader` always targets a standby (run_faults.py picks it): the
raft leader is then not the lock holder, the case of issue 21 where the
others' election outlasted the primary's fence point. Nothing may move:
the harness fails the cycle on a fence, a failover (new epoch), or more
than LEADER_GAP_MAX_S without an acknowledged write through the members
still reachable.
"""
import os
import signal
import subprocess

import netns

ALL = ["isolate", "isolate_peers", "client_cut", "oneway_in", "oneway_out", "delay_loss", "kill", "sigstop",
       "kill_postmaster", "isolate_leader"]
# Faults on a standby that must cost nothing: no fence, no failover, and
# writes through the other members pause at most LEADER_GAP_MAX_S.
MUST_NOT_MOVE = {"isolate_leader"}
NOT_IN_CI = {"isolate_leader"}  # run_faults.py --ci leaves these out (see pick_schedule)
LEADER_GAP_MAX_S = 1.0
# Faults after which the other members are expected to elect a new primary
# when the target is the primary: the harness holds them until that
# happened (or the hold limit), instead of a fixed sleep.
FAILOVER_EXPECTED = {"isolate", "isolate_peers", "oneway_in", "oneway_out", "kill", "sigstop"}
NFQUEUE_NUM = 7
DELAY_MS = 200
LOSS_PCT = 10


def delayer_path():
    """The NFQUEUE delayer program built beside the daemon ($PW_FAULT_DELAYER overrides)."""
    return os.environ.get("PW_FAULT_DELAYER") or os.path.join(os.environ.get("PW_BINARY_DIR", "build"), "tests", "pw_fault_delayer")


def _ipt(node, *rule):
    netns.ns_exec(node.ns, "iptables", "-w", *rule)


class Fault:
    """One applied fault; heal() undoes it (idempotent)."""

    def __init__(self, cl, name, target, seed=0):
        self.cl, self.name, self.target, self.seed = cl, name, target, seed
        self.delayer = None
        self.healed = False

    def apply(self):
        n = self.target
        peers = [m.host for m in self.cl.nodes if m is not n]
        if self.name == "isolate_leader":
            self.cl.make_leader(n)
        if self.name in ("isolate", "isolate_leader"):
            _ipt(n, "-A", "INPUT", "-i", "eth0", "-j", "DROP")
            _ipt(n, "-A", "OUTPUT", "-o", "eth0", "-j", "DROP")
        elif self.name in ("isolate_peers", "oneway_in", "oneway_out"):
            for p in peers:
                if self.name != "oneway_out":
                    _ipt(n, "-A", "INPUT", "-i", "eth0", "-s", p, "-j", "DROP")
                if self.name != "oneway_in":
                    _ipt(n, "-A", "OUTPUT", "-o", "eth0", "-d", p, "-j", "DROP")
        elif self.name == "client_cut":
            _ipt(n, "-A", "INPUT", "-i", "eth0", "-s", netns.CLIENT_ADDR, "-j", "DROP")
            _ipt(n, "-A", "OUTPUT", "-o", "eth0", "-d", netns.CLIENT_ADDR, "-j", "DROP")
        elif self.name == "delay_loss":
            path = delayer_path()
            if not os.access(path, os.X_OK):
                raise RuntimeError(f"{path} missing: build the tests with libnetfilter-queue-dev installed "
                                   "(scripts/install-deps.sh)")
            log = open(os.path.join(self.cl.root, f"delayer-{n.name}.log"), "ab")
            # Start the delayer first: with --queue-bypass nothing is lost
            # either way, but this way the delay starts with the rule.
            self.delayer = subprocess.Popen(
                ["ip", "netns", "exec", n.ns, path, str(NFQUEUE_NUM), str(DELAY_MS), str(LOSS_PCT),
                 str(self.seed)], stdout=log, stderr=subprocess.STDOUT)
            log.close()
            _ipt(n, "-A", "OUTPUT", "-o", "eth0", "-j", "NFQUEUE", "--queue-num", str(NFQUEUE_NUM),
                 "--queue-bypass")
        elif self.name == "kill":
            self.cl.kill_node(n)
        elif self.name == "sigstop":
            os.kill(n.proc.pid, signal.SIGSTOP)
        elif self.name == "kill_postmaster":
            pm = n.postmaster_pid()
            if pm:
                os.kill(pm, signal.SIGKILL)
        else:
            raise ValueError(f"unknown fault {self.name!r}; known: {', '.join(ALL)}")

    def heal(self):
        if self.healed:
            return
        self.healed = True
        n = self.target
        if self.name in ("isolate", "isolate_peers", "client_cut", "oneway_in", "oneway_out", "delay_loss",
                         "isolate_leader"):
            _ipt(n, "-F")
        if self.delayer is not None:
            self.delayer.terminate()
            try:
                self.delayer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.delayer.kill()
                self.delayer.wait()
        if self.name == "kill":
            n.start()
        elif self.name == "sigstop" and n.running():
            os.kill(n.proc.pid, signal.SIGCONT)
