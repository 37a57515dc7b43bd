"""bin/coffer, the admin command line, against a real cofferd.

Each test runs the built client as a user would (HOME in a temporary
directory, VAULT_ADDR at the fixture's server) and checks stdout,
stderr and the exit status the vault command gives (cli.md §7).
"""
import base64
import http.server
import json
import os
import pty
import stat
import subprocess
import threading

import pytest

from conftest import ROOT

COFFER = os.path.join(ROOT, "bin", "coffer")


def run(srv, *args, token=None, stdin=None, home=None, env=None,
        stdout=subprocess.PIPE):
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
                          stdout=stdout, stderr=subprocess.PIPE, env=e,
                          timeout=60)


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


def test_policy_commands(unsealed, tmp_path):
    tok = unsealed.root_token
    text = 'path "secret/*" {\n  capabilities = ["read", "list"]\n}\n'
    f = tmp_path / "p.hcl"
    f.write_text(text)
    r = run(unsealed, "policy", "write", "Ops", str(f), token=tok)
    assert (r.returncode, out(r), err(r)) == (
        0, "Success! Uploaded policy: ops\n",
        'Policy name was converted from "Ops" to "ops"\n')
    r = run(unsealed, "policy", "write", "dev", "-", stdin=text.encode(),
            token=tok)
    assert (r.returncode, out(r), err(r)) == (
        0, "Success! Uploaded policy: dev\n", "")
    r = run(unsealed, "policy", "list", token=tok)
    assert r.returncode == 0, err(r)
    assert out(r).splitlines() == ["default", "dev", "ops", "root"]
    r = run(unsealed, "policy", "list", "-format=json", token=tok)
    assert json.loads(out(r)) == ["default", "dev", "ops", "root"]
    r = run(unsealed, "policy", "read", "OPS", token=tok)
    assert (r.returncode, out(r)) == (0, text)
    r = run(unsealed, "policy", "read", "-format=json", "ops", token=tok)
    assert json.loads(out(r)) == {"policy": text}
    r = run(unsealed, "policy", "read", "nope", token=tok)
    assert (r.returncode, out(r), err(r)) == (
        2, "", "No policy named: nope\n")
    r = run(unsealed, "policy", "write", "x", str(tmp_path / "missing"),
            token=tok)
    assert (r.returncode, err(r)) == (
        2, "Error opening policy file: open %s: no such file or "
           "directory\n" % (tmp_path / "missing"))
    r = run(unsealed, "policy", "write", "x", token=tok)
    assert (r.returncode, err(r)) == (
        1, "Not enough arguments (expected 2, got 1)\n")
    r = run(unsealed, "policy", "write", "-format=json", "x", "y", token=tok)
    assert (r.returncode, err(r)) == (
        1, "flag provided but not defined: -format\n")
    r = run(unsealed, "policy", "write", "x", str(f), token="bogus")
    assert r.returncode == 2
    assert err(r).startswith(
        "Error uploading policy: Error making API request.\n\nURL: PUT "
        "%s/v1/sys/policies/acl/x\nCode: 403. Errors:\n\n* permission "
        "denied" % unsealed.url), err(r)
    r = run(unsealed, "policy", "delete", "Dev", token=tok)
    assert (r.returncode, out(r)) == (0, "Success! Deleted policy: dev\n")
    r = run(unsealed, "policy", "list", token=tok)
    assert "dev" not in out(r).splitlines()
    r = run(unsealed, "policy", "delete", "dev", token="bogus")
    assert r.returncode == 2
    assert err(r).startswith("Error deleting dev: Error making API")
    r = run(unsealed, "policy")
    assert r.returncode == 1 and "write" in err(r)


def test_secrets_enable_list_tune_disable(unsealed):
    tok = unsealed.root_token
    r = run(unsealed, "secrets", "enable", "-path=apps/", "-version=2",
            "-description=team apps", "-default-lease-ttl=1h", "kv",
            token=tok)
    assert (r.returncode, out(r), err(r)) == (
        0, "Success! Enabled the kv secrets engine at: apps/\n", "")
    m = unsealed.api("GET", "sys/mounts/apps", token=tok).json()["data"]
    assert m["options"] == {"version": "2"}
    assert m["description"] == "team apps"
    assert m["config"]["default_lease_ttl"] == 3600
    r = run(unsealed, "secrets", "enable", "-path=apps", "kv", token=tok)
    assert r.returncode == 2
    assert err(r).startswith("Error enabling: Error making API request."
                             "\n\nURL: POST %s/v1/sys/mounts/apps\nCode: "
                             "400." % unsealed.url), err(r)
    r = run(unsealed, "secrets", "enable", token=tok)
    assert (r.returncode, err(r)) == (
        1, "Not enough arguments (expected 1, got 0)\n")
    r = run(unsealed, "secrets", "enable", "-format=json", "kv", token=tok)
    assert (r.returncode, err(r)) == (
        1, "flag provided but not defined: -format\n")
    r = run(unsealed, "secrets", "list", token=tok)
    assert r.returncode == 0, err(r)
    lines = out(r).splitlines()
    assert lines[0].split() == ["Path", "Type", "Accessor", "Description"]
    assert lines[1].split() == ["----", "----", "--------", "-----------"]
    paths = [ln.split()[0] for ln in lines[2:]]
    assert paths == sorted(paths) and "apps/" in paths
    row = [ln for ln in lines if ln.startswith("apps/")][0]
    assert row.split()[1] == "kv" and row.endswith("    team apps")
    r = run(unsealed, "secrets", "list", "-detailed", token=tok)
    head = out(r).splitlines()[0]
    assert head.split("    ")[0:3] == ["Path  ", "Plugin", "Accessor"] or \
        head.split()[:2] == ["Path", "Plugin"]
    assert "Default TTL" in head and "Deprecation Status" in head
    row = [ln for ln in out(r).splitlines() if ln.startswith("apps/")][0]
    assert "3600" in row.split() and "map[version:2]" in row.split()
    r = run(unsealed, "secrets", "list", "-format=json", token=tok)
    doc = json.loads(out(r))
    assert list(doc) == sorted(doc)
    assert list(doc["apps/"]) == [
        "uuid", "type", "description", "accessor", "config", "options",
        "local", "seal_wrap", "external_entropy_access", "plugin_version",
        "running_plugin_version", "running_sha256", "deprecation_status"]
    assert list(doc["apps/"]["config"])[:3] == [
        "default_lease_ttl", "max_lease_ttl", "force_no_cache"]
    r = run(unsealed, "secrets", "tune", "-max-lease-ttl=2h",
            "-description=tuned", "apps", token=tok)
    assert (r.returncode, out(r)) == (
        0, "Success! Tuned the secrets engine at: apps/\n")
    m = unsealed.api("GET", "sys/mounts/apps", token=tok).json()["data"]
    assert m["config"]["max_lease_ttl"] == 7200
    assert m["config"]["default_lease_ttl"] == 3600     # "" = unchanged
    assert m["description"] == "tuned"
    r = run(unsealed, "secrets", "tune", "-max-lease-ttl=1h", "nosuch",
            token=tok)
    assert r.returncode == 2
    assert err(r).startswith("Error tuning secrets engine nosuch/: Error "
                             "making API request.")
    r = run(unsealed, "secrets", "move", "apps", "team/apps", token=tok)
    assert r.returncode == 0, err(r)
    assert out(r).splitlines()[-1].startswith(
        "Success! Finished moving secrets engine apps/ to team/apps/")
    r = run(unsealed, "secrets", "disable", "team/apps", token=tok)
    assert (r.returncode, out(r)) == (
        0, "Success! Disabled the secrets engine (if it existed) at: "
           "team/apps/\n")
    assert "team/apps/" not in out(run(unsealed, "secrets", "list",
                                       token=tok))
    r = run(unsealed, "secrets", "disable", "secret", token="bogus")
    assert r.returncode == 2
    assert err(r).startswith("Error disabling secrets engine at secret/: "
                             "Error making API request.")
    r = run(unsealed, "secrets", "list", token="bogus")
    assert r.returncode == 2
    assert err(r).startswith("Error listing secrets engines: Error making")


def test_auth_enable_list_tune_disable(unsealed):
    tok = unsealed.root_token
    r = run(unsealed, "auth", "enable", "-description=people", "userpass",
            token=tok)
    assert (r.returncode, out(r)) == (
        0, "Success! Enabled userpass auth method at: userpass/\n")
    r = run(unsealed, "auth", "enable", "-path=robots", "approle",
            token=tok)
    assert (r.returncode, out(r)) == (
        0, "Success! Enabled approle auth method at: robots/\n")
    r = run(unsealed, "auth", "enable", "nosuch", token=tok)
    assert r.returncode == 2
    assert err(r).startswith("Error enabling nosuch auth: Error making API "
                             "request.")
    r = run(unsealed, "auth", "list", token=tok)
    assert r.returncode == 0, err(r)
    lines = out(r).splitlines()
    assert lines[0].split() == ["Path", "Type", "Accessor", "Description",
                                "Version"]
    paths = [ln.split()[0] for ln in lines[2:]]
    assert paths == ["robots/", "token/", "userpass/"]
    up = lines[2 + paths.index("userpass/")].split()
    assert up[1] == "userpass" and up[3] == "people" and up[4] == "n/a"
    r = run(unsealed, "auth", "list", "-detailed", token=tok)
    assert "Token Type" in out(r).splitlines()[0]
    r = run(unsealed, "auth", "list", "-format=json", token=tok)
    assert list(json.loads(out(r))) == ["robots/", "token/", "userpass/"]
    r = run(unsealed, "auth", "tune", "-default-lease-ttl=30m", "userpass",
            token=tok)
    assert (r.returncode, out(r)) == (
        0, "Success! Tuned the auth method at: userpass/\n")
    t = unsealed.api("GET", "sys/mounts/auth/userpass/tune",
                     token=tok).json()["data"]
    assert t["default_lease_ttl"] == 1800
    r = run(unsealed, "auth", "tune", "-default-lease-ttl=30m", "nosuch",
            token=tok)
    assert r.returncode == 2
    assert err(r).startswith("Error tuning auth method nosuch/: ")
    r = run(unsealed, "auth", "disable", "robots", token=tok)
    assert (r.returncode, out(r)) == (
        0, "Success! Disabled the auth method (if it existed) at: robots/\n")
    r = run(unsealed, "auth", "disable", "userpass", token="bogus")
    assert r.returncode == 2
    assert err(r).startswith("Error disabling auth method at userpass/: ")
    r = run(unsealed, "auth", "disable", token=tok)
    assert (r.returncode, err(r)) == (
        1, "Not enough arguments (expected 1, got 0)\n")
    r = run(unsealed, "auth", "list", token="bogus")
    assert r.returncode == 2
    assert err(r).startswith("Error listing enabled authentications: ")


def test_generate_root_with_otp_and_keys_from_stdin(lmdb_server):
    srv = lmdb_server
    srv.init_unseal(shares=3, threshold=2)
    tok = srv.root_token
    r = run(srv, "operator", "generate-root", "-status", token=tok)
    assert r.returncode == 0, err(r)
    assert out(r).splitlines() == [
        "Nonce         n/a", "Started       false", "Progress      0/2",
        "Complete      false", "OTP Length    28"]
    r = run(srv, "operator", "generate-root", "-nonce=x", "-", token=tok,
            stdin=b"k\n")
    assert r.returncode == 1
    assert err(r).startswith("No root generation is in progress.")
    assert "needs to be 28 characters" in err(r)
    r = run(srv, "operator", "generate-root", "-generate-otp", token=tok)
    assert r.returncode == 0, err(r)
    otp = out(r)
    assert len(otp) == 28 and otp.isalnum()      # no newline: not a tty
    r = run(srv, "operator", "generate-root", "-init", "-otp=" + otp,
            "-format=json", token=tok)
    assert r.returncode == 0, err(r)
    st = json.loads(out(r))
    assert list(st) == ["nonce", "started", "progress", "required",
                        "complete", "encoded_token", "encoded_root_token",
                        "pgp_fingerprint", "otp", "otp_length"]
    assert st["started"] is True and st["otp"] == ""
    nonce = st["nonce"]
    r = run(srv, "operator", "generate-root", srv.keys_base64[0], token=tok)
    assert (r.returncode, err(r)) == (
        1, "Missing nonce value: specify it via the -nonce flag\n")
    r = run(srv, "operator", "generate-root", token=tok, stdin=b"x\n")
    assert r.returncode == 1
    assert "file descriptor 0 is not a terminal" in err(r)
    assert out(r).startswith("Operation nonce: %s\n" % nonce)
    keys = "\n".join(srv.keys_base64[:2]) + "\n"
    r = run(srv, "operator", "generate-root", "-nonce=" + nonce, "-",
            token=tok, stdin=keys.encode())
    assert r.returncode == 0, err(r)
    lines = out(r).splitlines()
    assert lines[2:4] == ["Progress         2/2", "Complete         true"]
    enc = lines[4].split()[-1]
    assert lines[4].startswith("Encoded Token    ")
    r = run(srv, "operator", "generate-root", "-decode=" + enc,
            "-otp=" + otp, token=tok)
    assert r.returncode == 0, err(r)
    new = out(r)
    assert new.startswith("hvs.") and len(new) == 28
    x = bytes(a ^ b for a, b in zip(
        base64.b64decode(enc + "=" * (-len(enc) % 4)), otp.encode()))
    assert x.decode() == new
    r = run(srv, "token", "lookup", "-format=json", token=new)
    assert json.loads(out(r))["data"]["policies"] == ["root"]
    r = run(srv, "operator", "generate-root", "-decode=-", "-otp=" + otp,
            "-format=json", token=tok, stdin=(enc + "\n").encode())
    assert (r.returncode, json.loads(out(r))) == (0, {"token": new})
    r = run(srv, "operator", "generate-root", "-decode=" + enc,
            "-otp=short", token=tok)
    assert (r.returncode, err(r)) == (
        1, "Error decoding root token: error xoring token: length of byte "
           "slices is not equivalent: 28 != 5\n")
    r = run(srv, "operator", "generate-root", "-decode=" + enc, token=tok)
    assert (r.returncode, err(r)) == (
        1, "Missing otp: use -otp to supply it\n")
    r = run(srv, "operator", "generate-root", "-decode=", "-otp=x",
            token=tok)
    assert (r.returncode, err(r)) == (
        1, "Missing encoded value: use -decode=<string> to supply it\n")
    # -init without an OTP: the server makes one and a warning says so.
    r = run(srv, "operator", "generate-root", "-init", token=tok)
    assert r.returncode == 0, err(r)
    assert "A One-Time-Password has been generated" in err(r)
    assert [ln.split()[0] for ln in out(r).splitlines() if ln] == [
        "Nonce", "Started", "Progress", "Complete", "OTP", "OTP"]
    r = run(srv, "operator", "generate-root", "-init", token=tok)
    assert r.returncode == 2
    assert err(r).startswith("Error initializing root generation: Error "
                             "making API request.")
    r = run(srv, "operator", "generate-root", "-cancel", token=tok)
    assert (r.returncode, out(r)) == (
        0, "Success! Root token generation canceled (if it was started)\n")
    r = run(srv, "operator", "generate-root", "-init", "-otp=a",
            "-pgp-key=b", token=tok)
    assert (r.returncode, err(r)) == (
        1, "Error initializing: cannot specify both -otp and -pgp-key\n")
    r = run(srv, "operator", "generate-root", "a", "b", token=tok)
    assert (r.returncode, err(r)) == (
        1, "Too many arguments (expected 0-1, got 2)\n")


def run_tty(srv, *args, token=None, env=None):
    """Run with stdout on a pseudo-terminal; (rc, stdout, stderr)."""
    m, s = pty.openpty()
    try:
        r = run(srv, *args, token=token, stdout=s,
                env=dict({"TERM": "xterm"}, **(env or {})))
    finally:
        os.close(s)
    data = b""
    while True:
        try:
            chunk = os.read(m, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(m)
    return r.returncode, data.decode(), err(r)


def test_errors_and_warnings_in_colour_on_a_terminal(unsealed, tmp_path):
    rc, o, e = run_tty(unsealed, "read", "sys/policies/acl/default", token="bogus")
    assert rc == 2
    assert e.startswith("\x1b[91mError reading sys/policies/acl/default: "
                        "Error making API")
    assert e.endswith("\x1b[0m\n")
    for extra in ({"NO_COLOR": "1"}, {"VAULT_CLI_NO_COLOR": "1"},
                  {"TERM": "dumb"}):
        rc, o, e = run_tty(unsealed, "read", "sys/policies/acl/default", token="bogus",
                           env=extra)
        assert rc == 2 and "\x1b" not in e, extra
        assert e.startswith("Error reading sys/policies/acl/default: ")
    rc, o, e = run_tty(unsealed, "read", "-format=json", "sys/policies/acl/default",
                       token="bogus")
    assert rc == 2 and "\x1b" not in e
    # Not a terminal: no escapes (stderr alone being one does not count).
    r = run(unsealed, "read", "sys/policies/acl/default", token="bogus")
    assert "\x1b" not in err(r)
    f = tmp_path / "p.hcl"
    f.write_text('path "x" { capabilities = ["read"] }\n')
    rc, o, e = run_tty(unsealed, "policy", "write", "UP", str(f),
                       token=unsealed.root_token)
    assert rc == 0
    assert e == '\x1b[93mPolicy name was converted from "UP" to "up"' \
        '\x1b[0m\n'
    assert "Success! Uploaded policy: up" in o


class _KeyInfo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"request_id": "r", "lease_id": "",
                           "lease_duration": 0, "renewable": False,
                           "data": {"keys": ["b", "a", "c"], "key_info": {
                               "a": {"name": "x", "ttl": 3600},
                               "b": {"zone": "eu"},
                               "other": {"ignored": 1}}},
                           "warnings": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_list_detailed_key_info_columns():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _KeyInfo)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        env = {"VAULT_ADDR": "http://127.0.0.1:%d" % httpd.server_port}
        r = run(None, "list", "-detailed", "x/", token="t", env=env)
        assert r.returncode == 0, err(r)
        assert out(r) == ("Keys    name    ttl    zone\n"
                          "----    ----    ---    ----\n"
                          "a       x       1h     n/a\n"
                          "b       n/a     n/a    eu\n"
                          "c       n/a     n/a    n/a\n")
        r = run(None, "list", "x/", token="t", env=env)
        assert out(r) == "Keys\n----\na\nb\nc\n"
        r = run(None, "list", "x/", token="t",
                env=dict(env, VAULT_DETAILED="true"))
        assert out(r).startswith("Keys    name    ttl    zone\n")
    finally:
        httpd.shutdown()


SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

static const char marker[] = "MARKERz9Q";

void
free(void *p)
{
	static void (*real)(void *);
	size_t n;

	if (real == NULL)
		real = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	if (p != NULL) {
		n = malloc_usable_size(p);
		if (memmem(p, n, marker, sizeof(marker) - 1) != NULL)
			(void)write(2, "@@UNWIPED@@\n", 12);
	}
	real(p);
}
"""


@pytest.mark.skipif(bool(os.environ.get("COFFER_SANITIZE")),
                    reason="the sanitizers own malloc and free")
def test_token_and_secrets_never_left_in_freed_memory(unsealed, tmp_path):
    src = tmp_path / "shim.c"
    src.write_text(SHIM)
    so = tmp_path / "shim.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(src),
                    "-ldl"], check=True)
    tok = unsealed.root_token
    mount_kv2(unsealed)
    # A token the server does not know, and a secret value, both marked.
    r = run(unsealed, "read", "secret/x", token="hvs.MARKERz9Qbogus",
            env={"LD_PRELOAD": str(so)})
    assert r.returncode == 2
    assert "@@UNWIPED@@" not in err(r), err(r)
    assert run(unsealed, "kv", "put", "secret/app", "pw=MARKERz9Qvalue",
               token=tok).returncode == 0
    r = run(unsealed, "kv", "get", "-field=pw", "secret/app", token=tok,
            env={"LD_PRELOAD": str(so)})
    assert (r.returncode, out(r)) == (0, "MARKERz9Qvalue")
    assert "@@UNWIPED@@" not in err(r), err(r)


def test_operator_rekey_with_keys_from_stdin_and_verification(lmdb_server):
    srv = lmdb_server
    srv.init_unseal(shares=3, threshold=2)
    tok = srv.root_token
    r = run(srv, "operator", "rekey", "-status", token=tok)
    assert (r.returncode, out(r).splitlines()) == (0, [
        "Key        Value", "---        -----", "Nonce      n/a",
        "Started    false"])
    r = run(srv, "operator", "rekey", "-nonce=x", "-", token=tok,
            stdin=b"k\n")
    assert r.returncode == 1
    assert " ".join(err(r).split()) == (
        "No rekey is in progress. Start a rekey process by running "
        "\"coffer operator rekey -init\".")
    r = run(srv, "operator", "rekey", "-init", "-target=disk", token=tok)
    assert (r.returncode, err(r)) == (1, "Unknown target: disk\n")
    r = run(srv, "operator", "rekey", "-init", "-pgp-keys=a.asc",
            token=tok)
    assert r.returncode == 1
    assert err(r).startswith("Error initializing rekey: -pgp-keys is not "
                             "supported by coffer")
    r = run(srv, "operator", "rekey", "a", "b", token=tok)
    assert (r.returncode, err(r)) == (
        1, "Too many arguments (expected 0-1, got 2)\n")
    r = run(srv, "operator", "rekey", "-init", "-n", "2", "-t=2",
            token=tok)
    assert r.returncode == 0, err(r)
    assert err(r).startswith("WARNING! If you lose the keys")
    lines = out(r).splitlines()
    assert lines[0] == "" and lines[1].split() == ["Key", "Value"]
    assert [ln.split("  ")[0] for ln in lines[3:]] == [
        "Nonce", "Started", "Rekey Progress", "New Shares",
        "New Threshold", "Verification Required"]
    assert "Rekey Progress           0/2" in lines
    assert "New Shares               2" in lines
    r = run(srv, "operator", "rekey", "-init", token=tok)
    assert r.returncode == 2
    assert err(r).startswith("Error initializing rekey: Error making API "
                             "request.")
    r = run(srv, "operator", "rekey", "-status", "-format=json", token=tok)
    st = json.loads(out(r))
    assert list(st) == ["nonce", "started", "t", "n", "progress",
                        "required", "pgp_fingerprints", "backup",
                        "verification_required"]
    assert (st["n"], st["t"], st["required"]) == (2, 2, 2)
    nonce = st["nonce"]
    r = run(srv, "operator", "rekey", srv.keys_base64[0], token=tok)
    assert (r.returncode, err(r)) == (
        1, "Missing nonce value: specify it via the -nonce flag\n")
    r = run(srv, "operator", "rekey", token=tok, stdin=b"x\n")
    assert r.returncode == 1
    assert "file descriptor 0 is not a terminal" in err(r)
    assert out(r).startswith("Rekey operation nonce: %s\n" % nonce)
    r = run(srv, "operator", "rekey", "-nonce=wrong", srv.keys_base64[0],
            token=tok)
    assert r.returncode == 2
    assert err(r).startswith("Error posting unseal key: Error making API "
                             "request.")
    r = run(srv, "operator", "rekey", "-nonce=" + nonce, srv.keys_base64[0],
            token=tok)
    assert r.returncode == 0, err(r)
    assert "Rekey Progress           1/2" in out(r).splitlines()
    r = run(srv, "operator", "rekey", "-nonce=" + nonce, "-", token=tok,
            stdin=(srv.keys_base64[1] + "\n").encode())
    assert r.returncode == 0, err(r)
    lines = out(r).splitlines()
    assert lines[0] == "" and lines[3] == ""
    assert lines[4] == "Operation nonce: " + nonce
    new = [ln.split(": ", 1)[1] for ln in lines[1:3]]
    assert [ln.split(": ")[0] for ln in lines[1:3]] == ["Key 1", "Key 2"]
    assert lines[6].startswith("Vault rekeyed with 2 key shares and a key "
                               "threshold of 2.")
    # The new shares open the node; the old ones no longer do.
    assert srv.api("PUT", "sys/seal", token=tok).status_code == 204
    r = run(srv, "operator", "unseal", srv.keys_base64[0])
    assert r.returncode == 0, err(r)
    r = run(srv, "operator", "unseal", srv.keys_base64[1])
    assert r.returncode == 2
    run(srv, "operator", "unseal", "-reset")
    for k in new:
        r = run(srv, "operator", "unseal", k)
        assert r.returncode == 0, err(r)
    assert "Sealed          false" in out(r).splitlines()
    # With -verify the new shares must come back before they count.
    r = run(srv, "operator", "rekey", "-init", "-verify", "-key-shares=1",
            "-key-threshold=1", "-format=json", token=tok)
    assert r.returncode == 0, err(r)
    nonce = json.loads(out(r))["nonce"]
    r = run(srv, "operator", "rekey", "-nonce=" + nonce, "-", token=tok,
            stdin=("\n".join(new) + "\n").encode())
    assert r.returncode == 0, err(r)
    assert "The new keys are not yet valid" not in err(r)
    assert "use \"coffer operator rekey -verify\"" in err(r)
    lines = out(r).splitlines()
    newer = lines[1].split(": ", 1)[1]
    assert lines[3] == "Operation nonce: " + nonce
    vnonce = [ln.split()[-1] for ln in lines
              if ln.startswith("Verification Nonce")][0]
    assert vnonce != nonce
    assert [ln.split("  ")[0] for ln in lines if "  " in ln][-5:] == [
        "Started", "New Shares", "New Threshold", "Verification Nonce",
        "Verification Progress"]
    assert "Verification Progress    0/1" in lines
    r = run(srv, "operator", "rekey", "-verify", "-status", token=tok)
    assert "Verification Nonce       " + vnonce in out(r).splitlines()
    r = run(srv, "operator", "rekey", "-verify", "-nonce=" + vnonce, newer,
            token=tok)
    assert (r.returncode, out(r)) == (0, "Rekey verification successful. "
                                      "The rekey operation is complete and "
                                      "the new\nkeys are now active.\n")
    assert srv.api("PUT", "sys/seal", token=tok).status_code == 204
    r = run(srv, "operator", "unseal", newer)
    assert r.returncode == 0, err(r)
    assert "Sealed          false" in out(r).splitlines()
    r = run(srv, "operator", "rekey", "-cancel", token=tok)
    assert (r.returncode, out(r)) == (
        0, "Success! Canceled rekeying (if it was started)\n")
    r = run(None, "operator", "rekey", "-cancel")
    assert r.returncode == 2
    assert err(r).startswith('Error canceling rekey: Delete '
                             '"http://127.0.0.1:1/v1/sys/rekey/init": ')
