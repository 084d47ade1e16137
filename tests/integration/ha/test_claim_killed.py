"""HA scenario 3: the node that claimed the bootstrap is killed during
initdb. After bootstrap_timeout the decider clears its claim and another
node bootstraps; the cluster forms. The killed node, restarted, moves its
half-made directory aside and clones.
"""
import signal
import sys

from cluster import Cluster, wait_for

BLOCK = 30

# initdb must take long enough to be caught: a large WAL segment setting is
# not needed — we catch the state transition in the log and kill at once.
with Cluster(BLOCK, extra={"ha": {"bootstrap_timeout": "8s"}}) as c:
    c.start()
    claimant = wait_for("a node entering initdb",
                        lambda: next((n for n in c.nodes if "child=initdb" in n.log_text()), None), 60,
                        interval=0.01)
    claimant.kill(signal.SIGKILL)
    p = c.wait_primary(timeout=120, not_name=claimant.name)
    print(f"claimant {claimant.name} killed during initdb; {p} bootstrapped instead")
    c.node(p).psql("CREATE TABLE t(x int)")
    claimant.start()
    c.wait_streaming(2, timeout=120)
    assert claimant.local_psql("SELECT pg_is_in_recovery()") == "t"
    print(f"{claimant.name} rejoined as a replica")
sys.exit(0)
