"""HA scenario 3 (issue 13): the node that claimed the bootstrap is killed
during initdb, and again (another cluster) at its first start. The decider
clears the claim once the claimant has been silent for a lease (3 s), long
before bootstrap_timeout (left at its 2 min default, so a cluster formed
within a minute proves the silence rule), and another node bootstraps; the
bootstrap_claimant_silent diagnostic names the claimant meanwhile. The
killed node, restarted, moves its half-made directory aside and clones.
Prints the time from the kill to a writable primary and to two streaming
replicas (figures, not assertions: the machines are shared).
"""
import signal
import sys
import time

from cluster import Cluster, wait_for

# (block, what to catch in the claimant's log before killing it)
CASES = [(30, "initdb", "child=initdb"),
         (31, "first start", "bootstrap: first start")]

for block, what, marker in CASES:
    with Cluster(block) as c:
        c.start()
        claimant = wait_for(f"a node entering {what}",
                            lambda: next((n for n in c.nodes if marker in n.log_text()), None), 60,
                            interval=0.01)
        claimant.kill(signal.SIGKILL)
        t0 = time.monotonic()
        p = c.wait_primary(timeout=60, not_name=claimant.name)
        writable = time.monotonic() - t0
        c.node(p).psql("CREATE TABLE t(x int)")
        assert any("bootstrap_claimant_silent" in n.log_text() for n in c.nodes if n is not claimant), \
            "no diagnostic named the silent claimant"
        claimant.start()
        c.wait_streaming(2, timeout=120)
        streaming = time.monotonic() - t0
        assert claimant.local_psql("SELECT pg_is_in_recovery()") == "t"
        print(f"claimant {claimant.name} killed at {what}: {p} bootstrapped instead; primary after "
              f"{writable:.1f}s, both replicas streaming after {streaming:.1f}s (claimant restarted at once)")
sys.exit(0)
