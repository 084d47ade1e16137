"""HA scenario 1: cold bootstrap of three empty nodes.

Exactly one initdb runs, a write through the proxy succeeds, both replicas
stream (pg_stat_replication shows 2), and every node's 5432 reaches the
same primary.

Then SIGHUP (systemctl reload) on every daemon: each logs the reload and
keeps running with the same PostgreSQL and the same primary; a changed
log_level applies at once, a changed [proxy] hold_timeout is logged as
needing a restart of pgwarden, and a rotated API token file takes effect.
"""
import os
import signal
import sys

from cluster import TOKEN, Cluster, wait_for

BLOCK = 21

with Cluster(BLOCK) as c:
    c.start()
    primary = c.wait_primary(timeout=90)
    # Exactly one bootstrap: one node logged the initdb step, and it is the primary.
    initdb_nodes = [n.name for n in c.nodes if "child=initdb" in n.log_text()]
    assert initdb_nodes == [primary], f"initdb ran on {initdb_nodes}, primary is {primary}"
    c.nodes[0].psql("CREATE TABLE t(id int primary key, who text)")
    for i, n in enumerate(c.nodes):
        n.psql(f"INSERT INTO t VALUES ({i}, '{n.name}')")
        assert n.psql("SELECT pg_is_in_recovery()") == "f", f"{n.name}:5432 did not reach the primary"
    c.wait_streaming(2, timeout=90)
    rows = c.node(primary).psql("SELECT count(*) FROM t")
    assert rows == "3", rows
    # The replicas received the rows (read on their own PostgreSQL).
    for n in c.nodes:
        if n.name != primary:
            wait_for(f"rows on {n.name}", lambda n=n: n.local_psql("SELECT count(*) FROM t") == "3", 30)
    print(f"bootstrap ok: primary={primary}, one initdb, 2 streaming replicas")

    # -- SIGHUP: a reload, never a stop ------------------------------------
    postmasters = {n.name: n.postmaster_pid() for n in c.nodes}
    daemons = {n.name: n.proc.pid for n in c.nodes}
    changed = c.nodes[0]
    c.node_extra[changed.name] = {"node": {"log_level": "debug"}, "proxy": {"hold_timeout": "20s"}}
    c.write_config(changed)
    for n in c.nodes:
        n.kill(signal.SIGHUP)
    for n in c.nodes:
        wait_for(f"{n.name} to log its reload", lambda n=n: "reload: re-read" in n.log_text(), 20)
    log = changed.log_text()
    assert "reload: [node] log_level = debug (was info): applied" in log, log[-3000:]
    assert "reload: [proxy] hold_timeout = 20s" in log and "needs a restart of pgwarden" in log, log[-3000:]
    assert "need a restart of pgwarden, token re-read; log level debug" in log, log[-3000:]
    for n in c.nodes[1:]:
        assert "needs a restart" not in n.log_text(), f"{n.name}: unchanged file reported a change"
    for n in c.nodes:
        assert n.running() and n.proc.pid == daemons[n.name], f"{n.name}'s daemon ended on SIGHUP"
        assert n.postmaster_pid() == postmasters[n.name], f"{n.name}'s PostgreSQL restarted on SIGHUP"
    assert c.primary() == primary, f"the primary moved on SIGHUP: {c.primary()}"
    c.nodes[1].psql("INSERT INTO t VALUES (10, 'after reload')")

    # A rotated token (same file, new content) is in force after the reload.
    new_token = "rotated-token-9876543210"
    with open(c.token_file, "w") as f:
        f.write(new_token + "\n")
    for n in c.nodes:
        n.kill(signal.SIGHUP)
    for n in c.nodes:
        wait_for(f"{n.name}'s second reload", lambda n=n: n.log_text().count("reload: re-read") >= 2, 20)
        code, body = n.api("/switchover", "POST", {"to": "nosuch"}, token=TOKEN)
        assert code == 403, f"{n.name}: the old token still works after rotation ({code} {body})"
        code, body = n.api("/switchover", "POST", {"to": "nosuch"}, token=new_token)
        assert code not in (401, 403), f"{n.name}: the rotated token was refused ({code} {body})"
    print("reload ok: SIGHUP on every daemon, log level applied, restart-only key reported, token rotated")
sys.exit(0)
