"""cofferd -list-routes is the truth about engine and auth method paths.

The path tables of kv (both versions), transit, approle, userpass and
token are their dispatch and what -list-routes prints for cofferd(8).
Every path listed, with its captures filled in, must be served on a dev
server: at least one of its listed operations gets an answer that is
not the engine's "no such path" (404 "unsupported path", KV v2's 404
"Invalid path", 405 "unsupported operation"), and an operation it does
not list gets such a miss.
"""

import subprocess

from conftest import COFFERD

TOKEN = "root"

# Where each listed type is mounted on the server below.
MOUNTS = {
    ("kv", "v1"): "kv1/",
    ("kv", "v2"): "secret/",
    ("transit", "-"): "transit/",
    ("approle", "-"): "auth/approle/",
    ("userpass", "-"): "auth/userpass/",
    ("token", "-"): "auth/token/",
}

# A value for each capture, naming what the setup below creates.
CAPTURES = {
    ":name": "k1",
    ":role_name": "r1",
    ":username": "u1",
    ":algorithm": "sha2-256",
    ":source_or_bytes": "16",
    ":source": "platform",
    ":bytes": "16",
    ":plaintext_or_wrapped": "plaintext",
    "*": "a",
}

METHODS = {
    "read": "GET", "list": "LIST", "create": "POST", "update": "PUT",
    "patch": "PATCH", "delete": "DELETE",
}
# Harmless operations first, deletions last.
ORDER = ["read", "list", "update", "create", "patch", "delete"]


def listed():
    out = subprocess.run([COFFERD, "-list-routes"], check=True,
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split()
        if f[0] in ("engine", "auth") and len(f) == 5:
            rows.append((f[1], f[2], f[3], f[4].split(",")))
    return rows


def fill(pattern):
    return "/".join(CAPTURES.get(s, s) for s in pattern.split("/"))


def is_miss(r):
    if r.status_code == 405:
        return True
    return r.status_code == 404 and (
        "unsupported path" in r.text or "Invalid path for a versioned" in
        r.text)


def call(srv, method, path):
    headers = {"X-Vault-Token": TOKEN}
    if path.startswith("auth/token/"):
        # A child of root, so that revoke-self and the like leave root.
        r = srv.api("POST", "auth/token/create", token=TOKEN, json={})
        assert r.status_code == 200, r.text
        headers["X-Vault-Token"] = r.json()["auth"]["client_token"]
    kw = {}
    if method == "PATCH":
        headers["Content-Type"] = "application/merge-patch+json"
    if method in ("POST", "PUT", "PATCH"):
        kw["json"] = {"data": {"x": "y"}, "x": "y", "input": "aGk=",
                      "plaintext": "aGk=", "password": "pw"}
    return srv.api(method, path, headers=headers, **kw)


def prepare(srv):
    for path, body in (
            ("sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}}),
            ("sys/mounts/transit", {"type": "transit"}),
            ("sys/auth/approle", {"type": "approle"}),
            ("sys/auth/userpass", {"type": "userpass"}),
            ("transit/keys/k1", {}),
            ("auth/approle/role/r1", {}),
            ("auth/userpass/users/u1", {"password": "pw"}),
            ("secret/data/a", {"data": {"x": "y"}}),
            ("kv1/a", {"x": "y"}),
            ("auth/token/roles/r1", {})):
        r = srv.api("POST", path, token=TOKEN, json=body)
        assert r.status_code in (200, 204), (path, r.text)


def test_every_listed_path_is_served(make_server):
    rows = listed()
    for key in MOUNTS:
        assert any((t, v) == key for t, v, _, _ in rows), \
            "-list-routes lists no path of %s %s" % key
    srv = make_server(dev=True, dev_args=["-dev-root-token-id=" + TOKEN])
    prepare(srv)
    checked = 0
    for typ, variant, pattern, ops in rows:
        mount = MOUNTS.get((typ, variant))
        if mount is None:
            continue
        path = mount + fill(pattern)
        answers = []
        for op in sorted(ops, key=ORDER.index):
            r = call(srv, METHODS[op], path)
            answers.append((op, r.status_code, r.text[:200]))
            if not is_miss(r):
                break
        else:
            raise AssertionError("%s %s %s: listed but not served: %r" % (
                typ, variant, path, answers))
        checked += 1
    assert checked >= 60


def test_unlisted_operations_miss(make_server):
    """An operation the table leaves out is refused as a miss."""
    srv = make_server(dev=True, dev_args=["-dev-root-token-id=" + TOKEN])
    prepare(srv)
    for typ, variant, pattern, ops in listed():
        mount = MOUNTS.get((typ, variant))
        if mount is None:
            continue
        if "delete" in ops or pattern.endswith("/"):
            continue
        r = call(srv, "DELETE", mount + fill(pattern))
        assert is_miss(r), (typ, pattern, r.status_code, r.text)
