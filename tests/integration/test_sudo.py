"""Root-protected paths: the operation's capability alone is not enough.

Every entry of Vault's sudo list, with a concrete path: a token whose
policy grants the operation but not sudo gets 403 "permission denied";
with sudo added it gets past the ACL (the endpoint may still be absent:
anything but 403).
"""
import pytest

ROOT_PATHS = [
    ("PUT", "sys/auth/userpass", "update"),
    ("PUT", "sys/remount", "update"),
    ("GET", "sys/audit", "read"),
    ("PUT", "sys/audit/file", "update"),
    ("GET", "sys/raw/core", "read"),
    ("GET", "sys/raw", "read"),
    ("PUT", "sys/rotate", "update"),
    ("GET", "sys/config/cors", "read"),
    ("GET", "sys/config/auditing/request-headers/x", "read"),
    ("GET", "sys/config/ui/headers/x", "read"),
    ("GET", "sys/plugins/catalog/secret/kv", "read"),
    ("PUT", "sys/revoke-prefix/auth/token", "update"),
    ("PUT", "sys/revoke-force/auth/token", "update"),
    ("PUT", "sys/leases/revoke-prefix/x", "update"),
    ("PUT", "sys/leases/revoke-force/x", "update"),
    ("LIST", "sys/leases/lookup/x/", "list"),
    ("GET", "sys/leases", "read"),
    ("GET", "sys/internal/inspect/router/x", "read"),
    ("LIST", "auth/token/accessors", "list"),
]


def token_with(srv, name, path, caps):
    body = 'path "%s" { capabilities = [%s] }' % (
        path.rstrip("/"), ", ".join('"%s"' % c for c in caps))
    r = srv.api("PUT", "sys/policies/acl/" + name, token=srv.root_token,
                json={"policy": body})
    assert r.status_code == 204, r.text
    r = srv.api("POST", "auth/token/create", token=srv.root_token,
                json={"policies": [name]})
    return r.json()["auth"]["client_token"]


@pytest.mark.parametrize("method,path,cap", ROOT_PATHS)
def test_root_path_needs_sudo(unsealed, method, path, cap):
    body = {} if method == "PUT" else None
    plain = token_with(unsealed, "plain", path, [cap, "create"])
    r = unsealed.api(method, path, token=plain, json=body)
    assert r.status_code == 403, (path, r.text)
    assert "permission denied" in r.json()["errors"][0]
    sudo = token_with(unsealed, "withsudo", path, [cap, "create", "sudo"])
    r = unsealed.api(method, path, token=sudo, json=body)
    assert r.status_code != 403, (path, r.text)


@pytest.mark.parametrize("method,path,cap", [
    ("POST", "auth/token/create-orphan", "update"),
    ("GET", "sys/policy", "read"),
    ("GET", "sys/key-status", "read"),
    ("PUT", "sys/policies/acl/x", "update"),
])
def test_not_root_paths(unsealed, method, path, cap):
    t = token_with(unsealed, "plain", path, [cap, "create"])
    body = {"policy": 'path "a" { capabilities = ["read"] }'} \
        if path.startswith("sys/policies") else ({} if method != "GET" else None)
    r = unsealed.api(method, path, token=t, json=body)
    assert r.status_code != 403, (path, r.text)
