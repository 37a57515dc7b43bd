"""bin/coffer, the admin command line, against a real cofferd.

Each test runs the built client as a user would (HOME in a temporary
directory, VAULT_ADDR at the fixture's server) and checks stdout,
stderr and the exit status the vault command gives (cli.md §7).
"""
import json
import os
import stat
import subprocess

import pytest

from conftest import ROOT

COFFER = os.path.join(ROOT, "bin", "coffer")


def run(srv, *args, token=None, stdin=None, home=None, env=None):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "HOME": str(home) if home else "/nonexistent",
         "VAULT_ADDR": srv.url if srv is not None else
         "http://127.0.0.1:1"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    if token is not None:
        e["VAULT_TOKEN"] = token
    e.update(env or {})
    return subprocess.run([COFFER] + list(args), input=stdin,
                          capture_output=True, env=e, timeout=60)


def out(r):
    return r.stdout.decode()


def err(r):
    return r.stderr.decode()


def mount_kv2(srv, path="secret"):
    r = srv.api("POST", "sys/mounts/" + path, token=srv.root_token,
                json={"type": "kv", "options": {"version": "2"}})
    assert r.status_code in (200, 204), r.text


def test_status_exit_codes_follow_the_seal(lmdb_server, tmp_path):
    srv = lmdb_server
    r = run(srv, "status")
    assert r.returncode == 2, err(r)
    assert "Initialized        false" in out(r)
    assert "Sealed             true" in out(r)
    srv.init(shares=3, threshold=2)
    r = run(srv, "status")
    assert r.returncode == 2
    lines = out(r).splitlines()
    assert lines[0].split() == ["Key", "Value"]
    assert lines[1].split() == ["---", "-----"]
    assert "Unseal Progress    0/2" in lines
    assert "Unseal Nonce       n/a" in lines
    srv.unseal(srv.keys[:2])
    r = run(srv, "status")
    assert r.returncode == 0, out(r)
    assert "Sealed          false" in out(r).splitlines()
    assert "Unseal Progress" not in out(r)


def test_status_transport_error_is_one_and_others_two():
    r = run(None, "status")
    assert r.returncode == 1
    assert err(r).startswith('Error checking seal status: Get '
                             '"http://127.0.0.1:1/v1/sys/seal-status": ')
    r = run(None, "read", "secret/x")
    assert r.returncode == 2
    assert err(r).startswith('Error reading secret/x: Get '
                             '"http://127.0.0.1:1/v1/secret/x": ')


def test_init_then_unseal_from_stdin(lmdb_server, tmp_path):
    srv = lmdb_server
    r = run(srv, "operator", "init", "-key-shares=3", "-key-threshold=2",
            "-format=json")
    assert r.returncode == 0, err(r)
    doc = json.loads(out(r))
    assert list(doc) == ["unseal_keys_b64", "unseal_keys_hex",
                         "unseal_shares", "unseal_threshold",
                         "recovery_keys_b64", "recovery_keys_hex",
                         "recovery_keys_shares", "recovery_keys_threshold",
                         "root_token"]
    assert doc["unseal_shares"] == 3 and doc["unseal_threshold"] == 2
    assert len(doc["unseal_keys_b64"]) == 3
    keys = "\n".join(doc["unseal_keys_b64"][:2]) + "\n"
    r = run(srv, "operator", "unseal", "-", stdin=keys.encode())
    assert r.returncode == 0, err(r)
    assert "Sealed          false" in out(r).splitlines()
    assert run(srv, "status").returncode == 0
    # A piped key without "-" is refused: the prompt needs a terminal.
    r = run(srv, "operator", "unseal", stdin=b"x\n")
    assert r.returncode == 1
    assert "file descriptor 0 is not a terminal" in err(r)


def test_init_table_lines(lmdb_server):
    r = run(lmdb_server, "operator", "init", "-n", "2", "-t", "2")
    assert r.returncode == 0, err(r)
    lines = out(r).splitlines()
    assert lines[0].startswith("Unseal Key 1: ")
    assert lines[1].startswith("Unseal Key 2: ")
    assert lines[2] == ""
    assert lines[3].startswith("Initial Root Token: hvs.")
    r = run(lmdb_server, "operator", "init")
    assert r.returncode == 2
    assert err(r).startswith("Error initializing: Error making API "
                             "request.\n")


def test_seal_then_status_two(unsealed):
    r = run(unsealed, "operator", "seal", token=unsealed.root_token)
    assert (r.returncode, out(r)) == (0, "Success! Vault is sealed.\n")
    assert run(unsealed, "status").returncode == 2


def test_kv_put_get_field_byte_for_byte(unsealed):
    mount_kv2(unsealed)
    value = "s3cr3t with spaces, \u00e9t\u00e9 and = signs"
    r = run(unsealed, "kv", "put", "secret/app", "user=admin",
            "password=" + value, token=unsealed.root_token)
    assert r.returncode == 0, err(r)
    assert out(r).startswith("= Secret Path =\nsecret/data/app\n\n")
    r = run(unsealed, "kv", "get", "-field=password", "secret/app",
            token=unsealed.root_token)
    assert r.returncode == 0, err(r)
    assert r.stdout == value.encode()        # no newline: not a tty
    r = run(unsealed, "kv", "get", "-field=nope", "secret/app",
            token=unsealed.root_token)
    assert (r.returncode, err(r)) == (
        1, 'Field "nope" not present in secret\n')
    r = run(unsealed, "kv", "get", "secret/missing",
            token=unsealed.root_token)
    assert (r.returncode, err(r)) == (
        2, "No value found at secret/data/missing\n")


def test_kv_get_table_order_and_na(unsealed):
    mount_kv2(unsealed)
    run(unsealed, "kv", "put", "secret/app", "user=admin", "pw=x",
        token=unsealed.root_token)
    r = run(unsealed, "kv", "get", "secret/app", token=unsealed.root_token)
    assert r.returncode == 0, err(r)
    lines = out(r).splitlines()
    assert lines[:3] == ["= Secret Path =", "secret/data/app", ""]
    assert lines[3] == "======= Metadata ======="
    assert lines[4] == "Key                Value"
    assert lines[5] == "---                -----"
    keys = [ln.split()[0] for ln in lines[6:11]]
    assert keys == ["created_time", "custom_metadata", "deletion_time",
                    "destroyed", "version"]
    assert "custom_metadata    <nil>" in lines
    assert "deletion_time      n/a" in lines
    i = lines.index("==== Data ====")
    assert lines[i + 1:] == ["Key     Value", "---     -----",
                             "pw      x", "user    admin"]


def test_kv_v1_detection_and_refusals(unsealed):
    r = unsealed.api("POST", "sys/mounts/old", token=unsealed.root_token,
                     json={"type": "kv"})
    assert r.status_code in (200, 204)
    r = run(unsealed, "kv", "put", "old/x", "a=1", token=unsealed.root_token)
    assert (r.returncode, out(r)) == (0, "Success! Data written to: old/x\n")
    r = run(unsealed, "kv", "get", "old/x", token=unsealed.root_token)
    assert out(r) == "== Data ==\nKey    Value\n---    -----\na      1\n"
    r = run(unsealed, "kv", "undelete", "-versions=1", "old/x",
            token=unsealed.root_token)
    assert (r.returncode, err(r)) == (
        1, "Undelete not supported on KV Version 1\n")
    r = run(unsealed, "kv", "metadata", "get", "old/x",
            token=unsealed.root_token)
    assert r.returncode == 1


def test_kv_versions_metadata_and_list(unsealed):
    mount_kv2(unsealed)
    tok = unsealed.root_token
    run(unsealed, "kv", "put", "secret/a", "v=1", token=tok)
    run(unsealed, "kv", "put", "secret/a", "v=2", token=tok)
    r = run(unsealed, "kv", "delete", "-versions=1", "secret/a", token=tok)
    assert out(r) == ("Success! Data deleted (if it existed) at: "
                      "secret/data/a\n")
    r = run(unsealed, "kv", "undelete", "-versions=1", "secret/a", token=tok)
    assert out(r) == "Success! Data written to: secret/undelete/a\n"
    r = run(unsealed, "kv", "get", "-version=1", "-field=v", "secret/a",
            token=tok)
    assert r.stdout == b"1"
    r = run(unsealed, "kv", "metadata", "put", "-max-versions=5",
            "secret/a", token=tok)
    assert out(r) == "Success! Data written to: secret/metadata/a\n"
    r = run(unsealed, "kv", "metadata", "get", "secret/a", token=tok)
    assert r.returncode == 0, err(r)
    assert "max_versions            5" in out(r).splitlines()
    assert "====== Version 1 ======" in out(r)
    r = run(unsealed, "kv", "list", "secret/", token=tok)
    assert out(r) == "Keys\n----\na\n"
    r = run(unsealed, "kv", "list", "-format=json", "secret", token=tok)
    assert json.loads(out(r)) == ["a"]
    r = run(unsealed, "kv", "patch", "secret/a", "w=3", token=tok)
    assert r.returncode == 0, err(r)
    r = run(unsealed, "kv", "get", "-format=json", "-field=data",
            "secret/a", token=tok)
    assert json.loads(out(r)) == {"v": "2", "w": "3"}
    r = run(unsealed, "kv", "metadata", "delete", "secret/a", token=tok)
    assert out(r) == ("Success! Data deleted (if it existed) at: "
                      "secret/metadata/a\n")
    r = run(unsealed, "kv", "list", "secret", token=tok)
    assert r.returncode == 2


def test_read_json_key_order(unsealed):
    r = run(unsealed, "write", "cubbyhole/x", "b=2", "a=1",
            token=unsealed.root_token)
    assert (r.returncode, out(r)) == (
        0, "Success! Data written to: cubbyhole/x\n")
    r = run(unsealed, "read", "-format=json", "cubbyhole/x",
            token=unsealed.root_token)
    assert r.returncode == 0, err(r)
    text = out(r)
    doc = json.loads(text)
    assert list(doc) == ["request_id", "lease_id", "lease_duration",
                         "renewable", "data", "warnings"]
    assert doc["data"] == {"a": "1", "b": "2"}
    assert text.index('"a"') < text.index('"b"')
    assert '\n  "lease_id": "",\n' in text
    r = run(unsealed, "status", "-format=json")
    keys = list(json.loads(out(r)))
    assert keys[:10] == ["type", "initialized", "sealed", "t", "n",
                         "progress", "nonce", "version", "build_date",
                         "migration"]
    assert "active_time" in keys
    r = run(unsealed, "read", "-format=yaml", "cubbyhole/x",
            token=unsealed.root_token)
    assert "data:\n  a: \"1\"\n  b: \"2\"\n" in out(r)


def test_write_from_file_and_stdin(unsealed, tmp_path):
    f = tmp_path / "cert.pem"
    f.write_bytes(b"line one\nline two\n")
    j = tmp_path / "body.json"
    j.write_text('{"n": 5, "list": ["a", "b"]}')
    tok = unsealed.root_token
    r = run(unsealed, "write", "cubbyhole/f", "pem=@" + str(f),
            "secret=-", stdin=b"from stdin", token=tok)
    assert r.returncode == 0, err(r)
    r = unsealed.api("GET", "v1/../cubbyhole/f", token=tok)
    d = unsealed.api("GET", "cubbyhole/f", token=tok).json()["data"]
    assert d == {"pem": "line one\nline two\n", "secret": "from stdin"}
    r = run(unsealed, "write", "cubbyhole/j", "@" + str(j), token=tok)
    assert r.returncode == 0, err(r)
    d = unsealed.api("GET", "cubbyhole/j", token=tok).json()["data"]
    assert d == {"n": 5, "list": ["a", "b"]}
    r = run(unsealed, "write", "cubbyhole/k", "nokv", token=tok)
    assert (r.returncode, err(r)) == (
        1, 'Failed to parse K=V data: invalid key/value pair "nokv": '
           'format must be key=value\n')
    r = run(unsealed, "write", "cubbyhole/k", token=tok)
    assert (r.returncode, err(r)) == (1, "Must supply data or use -force\n")


def test_list_and_delete(unsealed):
    tok = unsealed.root_token
    run(unsealed, "write", "cubbyhole/b", "x=1", token=tok)
    run(unsealed, "write", "cubbyhole/a/c", "x=1", token=tok)
    r = run(unsealed, "list", "cubbyhole", token=tok)
    assert (r.returncode, out(r)) == (0, "Keys\n----\na/\nb\n")
    r = run(unsealed, "delete", "cubbyhole/b", token=tok)
    assert out(r) == "Success! Data deleted (if it existed) at: cubbyhole/b\n"
    r = run(unsealed, "read", "cubbyhole/b", token=tok)
    assert (r.returncode, err(r)) == (2, "No value found at cubbyhole/b\n")
    r = run(unsealed, "list", "cubbyhole/none", token=tok)
    assert (r.returncode, err(r)) == (2, "No value found at cubbyhole/none\n")
    r = run(unsealed, "list", "-format=json", "cubbyhole/none", token=tok)
    assert (r.returncode, out(r)) == (2, "{}\n")


def test_error_block_403_and_404(unsealed):
    r = run(unsealed, "read", "sys/policies/acl/default", token="bogus")
    assert r.returncode == 2
    assert err(r) == (
        "Error reading sys/policies/acl/default: Error making API "
        "request.\n\nURL: GET %s/v1/sys/policies/acl/default\n"
        "Code: 403. Errors:\n\n* permission denied\n" % unsealed.url)
    r = run(unsealed, "write", "nosuch/x", "a=b", token=unsealed.root_token)
    assert r.returncode == 2
    e = err(r)
    assert e.startswith("Error writing data to nosuch/x: Error making API "
                        "request.\n\nURL: PUT %s/v1/nosuch/x\nCode: 404. "
                        "Errors:\n\n* " % unsealed.url), e


def test_login_userpass_stores_token_0600(unsealed, tmp_path):
    tok = unsealed.root_token
    assert run(unsealed, "write", "sys/auth/userpass", "type=userpass",
               token=tok).returncode == 0
    assert run(unsealed, "write", "auth/userpass/users/bob", "password=pw",
               "policies=default", token=tok).returncode == 0
    home = tmp_path / "home"
    home.mkdir()
    r = run(unsealed, "login", "-method=userpass", "username=bob",
            "password=pw", home=home)
    assert r.returncode == 0, err(r)
    assert out(r).startswith("Success! You are now authenticated.")
    rows = [ln.split(None, 1) for ln in out(r).splitlines()
            if ln.startswith("token")]
    assert [k for k, _ in rows] == ["token", "token_accessor",
                                    "token_duration", "token_renewable",
                                    "token_policies", "token_meta_username"]
    path = home / ".vault-token"
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    stored = path.read_text()
    assert stored == rows[0][1].strip()           # no newline
    assert not (home / ".vault-token.tmp").exists()
    # The next command uses the stored token.
    r = run(unsealed, "token", "lookup", "-format=json", home=home)
    assert r.returncode == 0, err(r)
    assert json.loads(out(r))["data"]["display_name"] == "userpass-bob"
    r = run(unsealed, "login", "-method=userpass", "username=bob",
            "password=wrong", home=home)
    assert r.returncode == 2
    assert err(r).startswith("Error authenticating: Error making API")
    assert path.read_text() == stored


def test_login_token_from_stdin_and_token_commands(unsealed, tmp_path):
    home = tmp_path
    r = run(unsealed, "login", "-", stdin=unsealed.root_token.encode(),
            home=home)
    assert r.returncode == 0, err(r)
    assert "token_policies       [\"root\"]" in out(r)
    assert "token_duration       \u221e" in out(r)
    r = run(unsealed, "token", "create", "-policy=default", "-ttl=1h",
            "-field=token", home=home)
    assert r.returncode == 0, err(r)
    child = out(r)
    assert child.startswith("hvs.") and "\n" not in child
    r = run(unsealed, "token", "lookup", child, home=home)
    assert r.returncode == 0, err(r)
    assert "entity_id           n/a" in out(r).splitlines()
    r = run(unsealed, "token", "capabilities", "sys/seal", home=home)
    assert (r.returncode, out(r)) == (0, "root\n")
    r = run(unsealed, "token", "renew", "-increment=30m", child, home=home)
    assert r.returncode == 0, err(r)
    r = run(unsealed, "token", "revoke", child, home=home)
    assert (r.returncode, out(r)) == (
        0, "Success! Revoked token (if it existed)\n")
    r = run(unsealed, "token", "lookup", child, home=home)
    assert r.returncode == 2
    r = run(unsealed, "token", "revoke", "-self", "-accessor", home=home)
    assert (r.returncode, err(r)) == (1, "Cannot use -self with -accessor!\n")


def test_login_approle_extension(unsealed, tmp_path):
    tok = unsealed.root_token
    run(unsealed, "write", "sys/auth/approle", "type=approle", token=tok)
    run(unsealed, "write", "auth/approle/role/r", "token_policies=default",
        token=tok)
    rid = unsealed.api("GET", "auth/approle/role/r/role-id",
                       token=tok).json()["data"]["role_id"]
    sid = unsealed.api("POST", "auth/approle/role/r/secret-id",
                       token=tok).json()["data"]["secret_id"]
    r = run(unsealed, "login", "-method=approle", "-token-only",
            "role_id=" + rid, "secret_id=" + sid, home=tmp_path)
    assert r.returncode == 0, err(r)
    assert out(r).startswith("hvs.")
    assert not (tmp_path / ".vault-token").exists()


def test_usage_errors_and_help(unsealed):
    r = run(unsealed, "read", "-bogus", "x")
    assert (r.returncode, err(r)) == (
        1, "flag provided but not defined: -bogus\n")
    r = run(unsealed, "kv", "get", "-version")
    assert (r.returncode, err(r)) == (1, "flag needs an argument: -version\n")
    r = run(unsealed, "frob")
    assert r.returncode == 127 and err(r).startswith("Usage: coffer")
    r = run(unsealed, "kv")
    assert r.returncode == 1 and "metadata" in err(r)
    r = run(unsealed, "kv", "get", "-h")
    assert r.returncode == 0 and out(r).startswith("Usage: coffer kv get")
    r = run(unsealed, "status", "-format=xml")
    assert (r.returncode, err(r)) == (1, "Invalid output format: xml\n")
    r = run(unsealed, "status", "extra")
    assert (r.returncode, err(r)) == (
        1, "Too many arguments (expected 0, got 1)\n")
    r = run(unsealed, "operator", "seal", "-format=json")
    assert (r.returncode, err(r)) == (
        1, "flag provided but not defined: -format\n")
    r = run(unsealed, "version")
    assert r.returncode == 0 and out(r).startswith("Coffer v")
    assert out(run(unsealed, "-version")) == out(r)
    r = run(unsealed, "status", env={"VAULT_SKIP_VERIFY": "maybe"})
    assert (r.returncode, err(r)) == (
        1, "failed to read environment: could not parse "
           "VAULT_SKIP_VERIFY\n")


def test_key_status_and_rotate(unsealed):
    tok = unsealed.root_token
    r = run(unsealed, "operator", "key-status", token=tok)
    assert r.returncode == 0, err(r)
    lines = out(r).splitlines()
    assert lines[0] == "Key Term            1"
    assert lines[1].startswith("Install Time        ")
    assert lines[1].endswith(" UTC")
    r = run(unsealed, "operator", "rotate", token=tok)
    assert r.returncode == 0, err(r)
    assert out(r).startswith("Success! Rotated key\n\nKey Term            2\n")
    r = run(unsealed, "operator", "key-status", "-format=json", token=tok)
    assert list(json.loads(out(r))) == ["term", "install_time",
                                        "encryptions"]
