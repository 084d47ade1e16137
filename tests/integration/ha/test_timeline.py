"""HA scenario (issue 21 item 1): a primary lost before any standby followed
it onto its new timeline, then the survivors' daemons restarted.

The primary P runs on timeline 1. Standby B is kept from following anyone
else (its replication password file now holds a wrong password: it keeps
streaming from P, but cannot log in to a new primary). P's daemon is killed;
standby A (higher priority tag) is promoted onto timeline 2, takes a write,
and is killed before anyone streamed from it. B's daemon is restarted (with
the right password) and P's started: fresh daemons, nobody reports
timeline 2 any more. Before the timeline was recorded in the replicated
state, B was then promoted onto timeline 2 again — a second history under
A's id, without A's write. Now the decider refuses, with the
failover_blocked_timeline diagnostic naming A and timeline 2, and B stays a
standby on timeline 1. A comes back: it serves again, and B follows it onto
timeline 2, with A's write.
"""
import os
import signal
import sys

from cluster import Cluster, chown_pg, wait_for

BLOCK = 48
PASSWORD = "repl-secret-pw\n"


def diagnostic(c, code):
    for n in c.nodes:
        if not n.running():
            continue
        v = n.cluster_view()
        for d in (v or {}).get("diagnostics", []):
            if d.get("code") == code:
                return v, d
    return None


def write_secret(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    chown_pg(path)


with Cluster(BLOCK) as c:
    # Each member its own replication password file (to break B's alone),
    # and a priority tag so that the failover's winner is known.
    pw_files = {}
    for i, n in enumerate(c.nodes):
        pw_files[n.name] = os.path.join(c.root, "secrets", f"{n.name}.pass")
        write_secret(pw_files[n.name], PASSWORD)
        c.node_extra[n.name] = {"postgresql": {"replication_password_file": pw_files[n.name]},
                                "tags": {"priority": str(30 - 10 * i)}}
        c.write_config(n)
    c.start()
    old = c.wait_primary(timeout=90)
    c.wait_streaming(2)
    c.node(old).psql("CREATE TABLE t(id serial primary key, note text)")
    c.node(old).psql("INSERT INTO t(note) VALUES ('timeline 1')")
    a, b = [n for n in c.nodes if n.name != old]  # config order: a has the higher priority
    for n in (a, b):
        wait_for(f"the row on {n.name}", lambda n=n: n.local_psql("SELECT count(*) FROM t") == "1", 30)

    # B can no longer log in to a new primary; P dies; A takes over.
    write_secret(pw_files[b.name], "wrong-password\n")
    c.node(old).kill(signal.SIGKILL)
    assert c.wait_primary(timeout=60, not_name=old) == a.name
    wait_for(f"{a.name} on timeline 2",
             lambda: a.local_psql("SELECT timeline_id FROM pg_control_checkpoint()") == "2", 30)
    a.psql("INSERT INTO t(note) VALUES ('timeline 2')")
    v = a.cluster_view()
    assert v["timeline"] == 2 and v["max_timeline"] == 2, v
    assert b.local_psql("SELECT pg_is_in_recovery()") == "t"
    assert b.local_psql("SELECT count(*) FROM t WHERE note = 'timeline 2'") == "0"
    print(f"{a.name} primary on timeline 2 (recorded); {b.name} could not follow it")

    # A is lost before anyone streamed from it. The operator restarts B's
    # daemon (password fixed) and starts P's: no member reports timeline 2.
    a.kill(signal.SIGKILL)
    b.kill(signal.SIGKILL)
    write_secret(pw_files[b.name], PASSWORD)
    b.start()
    c.node(old).start()
    wait_for(f"{b.name}'s PostgreSQL up as a standby again",
             lambda: b.local_psql("SELECT pg_is_in_recovery()", timeout=3) == "t", 60)
    v, d = wait_for("the failover_blocked_timeline diagnostic",
                    lambda: diagnostic(c, "failover_blocked_timeline"), 90)
    assert "newest timeline is 2" in d["message"] and a.name in d["message"], d
    assert b.name in d["message"] and "--accept-data-loss" in d["action"], d
    # The decider ruled on B's status: B was not promoted (before the fix it
    # was, onto timeline 2, without A's write).
    assert v["primary"] == a.name and v["timeline"] == 2, v
    assert b.local_psql("SELECT pg_is_in_recovery()") == "t"
    assert b.local_psql("SELECT count(*) FROM t WHERE note = 'timeline 2'") == "0"
    print(f"no automatic failover onto {b.name}: {d['message']}")

    # A comes back: it serves again, and B follows it onto timeline 2.
    a.start()
    assert c.wait_primary(timeout=90) == a.name
    wait_for(f"{b.name} to follow {a.name} onto timeline 2 with its write",
             lambda: b.local_psql("SELECT count(*) FROM t WHERE note = 'timeline 2'", timeout=3) == "1", 90)
    assert b.local_psql("SELECT received_tli FROM pg_stat_wal_receiver") == "2"
    print(f"{a.name} back as primary, {b.name} followed it onto timeline 2")
sys.exit(0)
