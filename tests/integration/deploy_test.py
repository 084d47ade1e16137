"""tests/integration/deploy_test.py PGWARDEN SOURCE_DIR — the Ansible role in
deploy/ansible renders, for the seed's inventory (group db_postgres with
ansible_host), configurations that `pgwarden check-config` accepts and that
are exactly the shipped examples/seed/db-postgres-0N.ini.

Rendering is done twice when possible:
* always with python3-jinja2, the way Ansible's template module does it
  (trim_blocks, undefined variables are errors, role defaults < group_vars <
  host vars < extra vars, variables templated recursively, Ansible's `bool`);
* with Ansible itself when it is installed or installable from Debian
  (ansible-core): `ansible-playbook --syntax-check site.yml`, then the template
  module run locally for each inventory host; both renderings must be equal.
Secret files are created in a temporary directory (mode 0600, owned by
postgres when we are root: the daemon's user), like tests/unit/conf_examples_test.cc.
"""
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

import jinja2

try:
    import yaml
except ImportError:  # python3-yaml: pulled in with ansible-core, else installed below
    yaml = None

PGWARDEN, SRC = sys.argv[1], sys.argv[2]
ANSIBLE_DIR = os.path.join(SRC, "deploy", "ansible")
ROLE = os.path.join(ANSIBLE_DIR, "roles", "pgwarden")
IS_ROOT = os.geteuid() == 0
failures = []


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    failures.append(msg)


def apt_candidate(pkg):
    r = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True)
    m = re.search(r"Candidate:\s*(\S+)", r.stdout)
    return m.group(1) if m and m.group(1) != "(none)" else None


def apt_install(pkg):
    """Installs a Debian package when missing and available; True when present afterwards."""
    if subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True,
                      text=True).stdout.endswith("install ok installed"):
        return True
    if not IS_ROOT or not apt_candidate(pkg):
        print(f"note: {pkg} is not installed and cannot be installed here (root: {IS_ROOT}, "
              f"apt candidate: {apt_candidate(pkg)})")
        return False
    print(f"installing {pkg} from Debian for this test (add it to scripts/install-deps.sh to skip this)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", pkg],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print(f"note: apt-get install {pkg} failed: {r.stderr.strip()[-500:]}")
        return False
    return True


if yaml is None:
    if not apt_install("python3-yaml"):
        print("FAIL: python3-yaml is needed to read the inventory", file=sys.stderr)
        sys.exit(1)
    import yaml  # noqa: E402


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}


def ansible_bool(v):
    """Ansible's `bool` filter: yes/on/true/1 (any case) are true."""
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("yes", "on", "1", "true", "y", "t")


def make_env():
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["bool"] = ansible_bool
    return env


def resolve(env, variables):
    """Templates variable values that reference other variables, as Ansible does lazily."""
    def walk(v, ctx):
        if isinstance(v, str) and ("{{" in v or "{%" in v):
            return env.from_string(v).render(ctx)
        if isinstance(v, dict):
            return {k: walk(x, ctx) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x, ctx) for x in v]
        return v
    for _ in range(10):
        new = {k: walk(v, variables) for k, v in variables.items()}
        if new == variables:
            return new
        variables = new
    raise RuntimeError("variables do not resolve (a cycle?)")


def inventory_hosts(inv, group):
    """(hostname, hostvars) of a group in a YAML inventory, in file order."""
    def find(node):
        if not isinstance(node, dict):
            return None
        if group in (node.get("children") or {}):
            return node["children"][group]
        for child in (node.get("children") or {}).values():
            r = find(child)
            if r is not None:
                return r
        return None
    g = find(inv.get("all", inv))
    if g is None:
        raise RuntimeError(f"no group {group} in the inventory")
    return [(h, hv or {}) for h, hv in (g.get("hosts") or {}).items()]


def jinja_render(extra):
    """{hostname: rendered pgwarden.ini} for every host of the inventory group."""
    env = make_env()
    defaults = load_yaml(os.path.join(ROLE, "defaults", "main.yml"))
    inv = load_yaml(os.path.join(ANSIBLE_DIR, "inventory", "hosts.yml"))
    group = defaults["pgwarden_group"]
    gv_path = os.path.join(ANSIBLE_DIR, "inventory", "group_vars", f"{group}.yml")
    group_vars = load_yaml(gv_path) if os.path.exists(gv_path) else {}
    hosts = inventory_hosts(inv, group)
    hostvars = {h: dict(hv) for h, hv in hosts}
    with open(os.path.join(ROLE, "templates", "pgwarden.ini.j2")) as f:
        template = env.from_string(f.read())
    out = {}
    for h, hv in hosts:
        variables = {**defaults, **group_vars, **hv, **extra}
        variables = resolve(env, variables)
        variables.update(inventory_hostname=h, groups={group: [x for x, _ in hosts]}, hostvars=hostvars)
        out[h] = template.render(variables)
    return out


def make_secrets(d):
    for name in ("replication.pass", "api.token", "node.key"):
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write("test-secret-0123456789\n")
        os.chmod(p, 0o600)
    for name in ("ca.pem", "node.pem"):
        with open(os.path.join(d, name), "w") as f:
            f.write("placeholder\n")
        os.chmod(os.path.join(d, name), 0o644)
    if IS_ROOT:  # the daemon runs as postgres and reads them after dropping privileges
        pg = pwd.getpwnam("postgres")
        for name in os.listdir(d):
            os.chown(os.path.join(d, name), pg.pw_uid, pg.pw_gid)


def check_config(path):
    r = subprocess.run([PGWARDEN, "check-config", "-c", path], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def effective(path):
    """check-config's effective configuration, without the header naming the file."""
    rc, out, err = check_config(path)
    if rc != 0:
        fail(f"check-config rejected {path} (exit {rc}):\n{err}{out}")
        return None
    return out[out.index("\n["):]


def seed_example_with(secrets, n):
    """examples/seed/db-postgres-0N.ini with its secret files pointed at `secrets`."""
    with open(os.path.join(SRC, "examples", "seed", f"db-postgres-0{n}.ini")) as f:
        text = f.read()
    text = re.sub(r"^replication_password_file\s*=.*$", f"replication_password_file = {secrets}/replication.pass",
                  text, flags=re.M)
    text = re.sub(r"^token_file\s*=.*$", f"token_file = {secrets}/api.token", text, flags=re.M)
    return text


work = tempfile.mkdtemp(prefix="pgwarden-deploy-")
try:
    secrets = os.path.join(work, "etc")
    os.mkdir(secrets)
    make_secrets(secrets)
    extra = {"pgwarden_config_dir": secrets, "vault_pgwarden_replication_password": "r",
             "vault_pgwarden_api_token": "t"}

    # --- 1. the seed's inventory renders to the shipped seed examples -------------
    rendered = jinja_render(extra)
    if sorted(rendered) != ["db-postgres-01", "db-postgres-02", "db-postgres-03"]:
        fail(f"rendered hosts: {sorted(rendered)}")
    for i, host in enumerate(sorted(rendered), start=1):
        path = os.path.join(work, f"{host}.ini")
        with open(path, "w") as f:
            f.write(rendered[host])
        got = effective(path)
        ex_path = os.path.join(work, f"example-{host}.ini")
        with open(ex_path, "w") as f:
            f.write(seed_example_with(secrets, i))
        want = effective(ex_path)
        if got is not None and want is not None and got != want:
            import difflib
            fail(f"{host}: the role's configuration differs from examples/seed/{host}.ini:\n" +
                 "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "example", "role")))
        elif got is not None:
            print(f"ok: {host} renders to examples/seed/{host}.ini (check-config accepts it)")
        if f"name = {host}\n" not in rendered[host] or f"10.0.0.12{i - 1}" not in rendered[host]:
            fail(f"{host}: node name or address missing:\n{rendered[host]}")

    # --- 2. the optional branches (TLS, HTTPS API, tags, sync mode) are valid too ----
    opts = dict(extra, pgwarden_tls=True, pgwarden_api_tls="yes", pgwarden_synchronous_mode=True,
                pgwarden_nofailover="on", pgwarden_priority=7, pgwarden_proxy_readonly_port=0)
    for host, text in jinja_render(opts).items():
        path = os.path.join(work, f"tls-{host}.ini")
        with open(path, "w") as f:
            f.write(text)
        out = effective(path)
        if out is None:
            continue
        for want in (f"ca_file = {secrets}/ca.pem", f"key_file = {secrets}/node.key", "tls = on",
                     "synchronous_mode = on", "nofailover = on", "priority = 7", "readonly_port = 0"):
            if want + "\n" not in out:
                fail(f"{host} with TLS/tags: effective configuration lacks '{want}'")
    print("ok: TLS, HTTPS API, tags and synchronous mode render to valid configurations")

    # --- 3. a broken secret is caught by the role's validate step ---------------------
    os.chmod(os.path.join(secrets, "api.token"), 0o644)
    rc, _, err = check_config(os.path.join(work, "db-postgres-01.ini"))
    if rc != 2 or "api.token" not in err:
        fail(f"check-config (the template task's validate) accepted a group-readable token file: rc={rc} {err}")
    os.chmod(os.path.join(secrets, "api.token"), 0o600)

    # --- 4. Ansible itself, when Debian has it ------------------------------------------
    if shutil.which("ansible-playbook") or apt_install("ansible-core"):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ANSIBLE_DIR, "ansible.cfg"),
                   ANSIBLE_LOCAL_TEMP=os.path.join(work, "ansible-tmp"), ANSIBLE_NOCOLOR="1",
                   HOME=work)
        r = subprocess.run(["ansible-playbook", "--syntax-check", "-i", "inventory/hosts.yml", "site.yml"],
                           cwd=ANSIBLE_DIR, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            fail(f"ansible-playbook --syntax-check failed:\n{r.stdout}{r.stderr}")
        else:
            print("ok: ansible-playbook --syntax-check site.yml")
        # The template module itself, run locally once per inventory host. -e
        # beats group_vars, so role defaults come first and group_vars again
        # after them: the precedence of a real run (defaults < group_vars).
        out_dir = os.path.join(work, "ansible-out")
        os.mkdir(out_dir)
        extra_args = []
        for k, v in extra.items():
            extra_args += ["-e", f"{k}={v}"]
        r = subprocess.run(
            ["ansible", "db_postgres", "-i", "inventory/hosts.yml", "-c", "local",
             "-e", "ansible_python_interpreter=" + sys.executable,
             "-e", "@roles/pgwarden/defaults/main.yml", "-e", "@inventory/group_vars/db_postgres.yml",
             *extra_args, "-m", "ansible.builtin.template",
             "-a", f"src=roles/pgwarden/templates/pgwarden.ini.j2 dest={out_dir}/{{{{ inventory_hostname }}}}.ini"],
            cwd=ANSIBLE_DIR, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            fail(f"ansible's template module failed:\n{r.stdout}{r.stderr}")
        else:
            for host, text in rendered.items():
                with open(os.path.join(out_dir, f"{host}.ini")) as f:
                    by_ansible = f.read()
                if by_ansible != text:
                    fail(f"{host}: Ansible renders differently from the Jinja2 rendering:\n{by_ansible}\n---\n{text}")
            print("ok: Ansible's template module renders the same files")
    else:
        print("note: Ansible is not available from Debian here; checked the Jinja2 rendering only")
finally:
    shutil.rmtree(work, ignore_errors=True)

if failures:
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("PASS")
