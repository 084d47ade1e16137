"""Issue 14, lost quorum: two of three nodes die for good (daemon and
PostgreSQL killed, never restarted with their data). The survivor reports
no_quorum and, after [raft] recover_hint_after, names the exact
`pgwarden recover --force-members` command. The command without --confirm
changes nothing; with a wrong cluster name it refuses; with the right one it
keeps a copy of the state directory and rewrites the membership. Restarted,
the survivor is primary with every row it had and accepts writes. A dead
member that comes back with its old state is refused and changes nothing.
"""
import os
import subprocess
import sys

from cluster import PGWARDEN, Cluster, TestFailure, wait_for

BLOCK = 42


def recover(node, *args):
    r = subprocess.run([PGWARDEN, "recover", "-c", node.ini] + list(args), capture_output=True, text=True, timeout=60)
    print(f"$ pgwarden recover {' '.join(args)}  -> exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r


with Cluster(BLOCK, extra={"raft": {"recover_hint_after": "3s"}}) as c:
    c.start()
    p = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    c.node(p).psql("CREATE TABLE t(id int primary key)")
    c.node(p).psql("INSERT INTO t SELECT generate_series(1, 1000)")
    survivor = next(n for n in c.nodes if n.name != p)
    wait_for("the rows on the survivor", lambda: survivor.local_psql("SELECT count(*) FROM t") == "1000", 30)
    lost = [n for n in c.nodes if n is not survivor]
    for n in lost:
        pm = n.postmaster_pid()
        n.kill()  # SIGKILL: its PostgreSQL dies with it (PDEATHSIG)
        wait_for(f"{n.name}'s postmaster to die", lambda pm=pm: pm is None or not os.path.exists(f"/proc/{pm}"), 30)
    print(f"killed {[n.name for n in lost]} for good; survivor {survivor.name}")

    hint = f"pgwarden recover --force-members {survivor.name}"

    def hinted():
        code, body = survivor.api("/cluster")
        return code == 200 and "no_quorum" in body and hint in body
    wait_for("no_quorum naming the recover command", hinted, 60)
    assert hint in survivor.log_text(), "the hint was not logged"
    survivor.stop()

    state_before = sorted(os.listdir(survivor.state_dir))
    r = recover(survivor, "--force-members", survivor.name)
    assert r.returncode == 0, r.returncode
    assert "Nothing was changed" in r.stdout
    for n in lost:
        assert n.name in r.stdout.split("Dropped for good:")[1].splitlines()[0], r.stdout
    assert not any(".before-recover-" in d for d in os.listdir(survivor.dir)), "a dry run wrote a backup"
    assert sorted(os.listdir(survivor.state_dir)) == state_before

    r = recover(survivor, "--force-members", survivor.name, "--confirm", "not-this-cluster")
    assert r.returncode == 2, r.returncode
    r = recover(survivor, "--force-members", f"{survivor.name},nobody", "--confirm", f"ha{BLOCK}")
    assert r.returncode == 1 and "'nobody' is not a member" in r.stderr, r.stderr
    r = recover(survivor, "--force-members", lost[0].name, "--confirm", f"ha{BLOCK}")
    assert r.returncode == 1 and "must be one of --force-members" in r.stderr, r.stderr

    r = recover(survivor, "--force-members", survivor.name, "--confirm", f"ha{BLOCK}")
    assert r.returncode == 0, r.returncode
    backups = [d for d in os.listdir(survivor.dir) if d.startswith("state.before-recover-")]
    assert len(backups) == 1, backups
    assert sorted(os.listdir(os.path.join(survivor.dir, backups[0]))) != [], "empty backup"

    survivor.start()
    wait_for("a write through the recovered survivor",
             lambda: survivor.psql("INSERT INTO t VALUES (1001)", check=False, timeout=5) is not None, 90)
    assert survivor.psql("SELECT count(*) FROM t") == "1001"
    assert c.primary() == survivor.name, c.primary()
    print(f"{survivor.name} recovered: primary, 1000 old rows kept, writable")

    # A dead member comes back with its old state: it must not disturb the survivor.
    back = lost[0]
    back.start()
    for i in range(20):
        assert survivor.psql(f"INSERT INTO t VALUES ({2000 + i})", check=False, timeout=5) is not None, \
            f"write {i} failed after {back.name} came back"
    assert c.node(survivor.name).cluster_view() is not None
    assert survivor.psql("SELECT count(*) FROM t") == "1021"
    writable = back.psql("SELECT NOT pg_is_in_recovery()", port=15432, host=back.state_dir, check=False, timeout=3)
    assert writable != "t", f"{back.name} came back writable"
    print(f"{back.name} came back with its old state: ignored, the survivor kept serving")
sys.exit(0)
