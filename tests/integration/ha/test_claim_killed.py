"""HA scenario 3: the node that claimed the bootstrap is killed during
initdb. The decider clears the claim once the claimant has been silent for
a lease (3 s), long before bootstrap_timeout (left at its 2 min default, so
a cluster formed within a minute proves the silence rule), and another node
bootstraps. The killed node, restarted, moves its half-made directory aside
and clones.
"""
import signal
import sys
import time

from cluster import Cluster, wait_for

BLOCK = 30

# initdb must take long enough to be caught: a large WAL segment setting is
# not needed — we catch the state transition in the log and kill at once.
with Cluster(BLOCK) as c:
    c.start()
    claimant = wait_for("a node entering initdb",
                        lambda: next((n for n in c.nodes if "child=initdb" in n.log_text()), None), 60,
                        interval=0.01)
    claimant.kill(signal.SIGKILL)
    t0 = time.monotonic()
    p = c.wait_primary(timeout=60, not_name=claimant.name)
    print(f"claimant {claimant.name} killed during initdb; {p} bootstrapped instead, "
          f"primary after {time.monotonic() - t0:.1f}s")
    assert any("bootstrap_claimant_silent" in n.log_text() for n in c.nodes if n is not claimant), \
        "no diagnostic named the silent claimant"
    c.node(p).psql("CREATE TABLE t(x int)")
    claimant.start()
    c.wait_streaming(2, timeout=120)
    assert claimant.local_psql("SELECT pg_is_in_recovery()") == "t"
    print(f"{claimant.name} rejoined as a replica")
sys.exit(0)
