"""Seal: init, unseal, seal-status, seal, key-status, rotate, rekey,
generate-root and dev mode, checked against Vault 1.14's answers.

Flows run on lmdb and on file storage (the `server` fixture) and go
through hvac where hvac has the call; the error cases use raw requests
so that the exact status and text are seen.  Every error case also
checks that the state it might have disturbed did not change.
"""
import base64
import threading
import time

import hvac
import pytest
import requests

SEAL_STATUS_KEYS = {"type", "initialized", "sealed", "t", "n", "progress",
                    "nonce", "version", "build_date", "migration",
                    "recovery_seal", "storage_type"}
GENROOT_KEYS = {"nonce", "started", "progress", "required", "complete",
                "encoded_token", "encoded_root_token", "pgp_fingerprint",
                "otp", "otp_length"}
REKEY_STATUS_KEYS = {"nonce", "started", "t", "n", "progress", "required",
                     "pgp_fingerprints", "backup", "verification_required"}
DENIED = "1 error occurred:\n\t* permission denied\n\n"


def errors(r):
    assert r.headers["Content-Type"] == "application/json"
    return r.json()["errors"]


def status(srv):
    r = srv.api("GET", "sys/seal-status")
    assert r.status_code == 200
    return r.json()


def combine_x(share_hex, x):
    """The same y-bytes with another x coordinate."""
    raw = bytes.fromhex(share_hex)
    return (raw[:-1] + bytes([x])).hex()


def foreign_share(srv, i):
    """Share i moved to an x no share has: it combines, but wrongly."""
    used = {bytes.fromhex(k)[-1] for k in srv.keys}
    return combine_x(srv.keys[i], min(set(range(1, 256)) - used))


def sudo_token(client, path, caps='"update", "sudo"'):
    name = "p-" + path.replace("/", "-")
    client.sys.create_or_update_policy(
        name, 'path "%s" { capabilities = [%s] }' % (path, caps))
    return client.auth.token.create(policies=[name])["auth"]["client_token"]


def write_kv(srv, token, path, data):
    c = srv.client(token)
    if "kv/" not in c.sys.list_mounted_secrets_engines()["data"]:
        c.sys.enable_secrets_engine("kv", path="kv",
                                    options={"version": "1"})
    c.secrets.kv.v1.create_or_update_secret(path, data, mount_point="kv")


def read_kv(srv, token, path):
    c = srv.client(token)
    return c.secrets.kv.v1.read_secret(path, mount_point="kv")["data"]


# --- init and seal-status ------------------------------------------------

def test_init_and_unseal_through_hvac(server):
    c = server.client()
    assert c.sys.is_initialized() is False
    st = c.sys.read_seal_status()
    assert set(st) == SEAL_STATUS_KEYS
    assert st == {"type": "shamir", "initialized": False, "sealed": True,
                  "t": 0, "n": 0, "progress": 0, "nonce": "",
                  "version": "1.14.8", "build_date": st["build_date"],
                  "migration": False, "recovery_seal": False,
                  "storage_type": server.storage}
    assert st["build_date"].endswith("Z")
    res = c.sys.initialize(secret_shares=5, secret_threshold=3)
    assert set(res) == {"keys", "keys_base64", "root_token"}
    assert len(res["keys"]) == 5 and len(res["keys_base64"]) == 5
    assert len(set(res["keys"])) == 5
    for k, b in zip(res["keys"], res["keys_base64"]):
        assert len(k) == 66 and k == k.lower()
        assert len(b) == 44 and bytes.fromhex(k) == base64.b64decode(b)
    # Distinct x coordinates, as shamir.Split makes them.
    assert len({bytes.fromhex(k)[-1] for k in res["keys"]}) == 5
    tok = res["root_token"]
    assert tok.startswith("hvs.") and len(tok) == 28 and tok[4:].isalnum()
    assert c.sys.is_initialized() is True
    # Vault leaves the node sealed after init.
    st = c.sys.read_seal_status()
    assert st["sealed"] is True and st["t"] == 3 and st["n"] == 5
    assert st["progress"] == 0 and st["nonce"] == ""
    assert "cluster_name" not in st and "cluster_id" not in st
    r = server.api("GET", "sys/key-status", token=tok)
    assert r.status_code == 503 and errors(r) == ["Vault is sealed"]
    # A second init is refused and changes nothing.
    r = server.api("PUT", "sys/init",
                   json={"secret_shares": 1, "secret_threshold": 1})
    assert r.status_code == 400
    assert errors(r) == ["Vault is already initialized"]
    assert status(server)["n"] == 5

    st = c.sys.submit_unseal_key(res["keys"][0])
    assert st["sealed"] is True and st["progress"] == 1 and st["nonce"]
    assert set(st) == SEAL_STATUS_KEYS
    nonce = st["nonce"]
    assert status(server)["nonce"] == nonce
    # The same share again, even in the other encoding: ignored.
    st = c.sys.submit_unseal_key(res["keys"][0])
    assert st["progress"] == 1 and st["nonce"] == nonce
    st = c.sys.submit_unseal_key(res["keys_base64"][0])
    assert st["progress"] == 1 and st["nonce"] == nonce
    st = c.sys.submit_unseal_key(res["keys_base64"][3])
    assert st["progress"] == 2 and st["nonce"] == nonce
    st = c.sys.submit_unseal_key(res["keys"][4].upper())
    assert st["sealed"] is False and st["progress"] == 0 and st["nonce"] == ""
    assert set(st) == SEAL_STATUS_KEYS | {"cluster_name", "cluster_id"}
    assert st["cluster_name"].startswith("vault-cluster-")
    assert len(st["cluster_name"]) == len("vault-cluster-") + 8
    assert len(st["cluster_id"]) == 36
    assert st["t"] == 3 and st["n"] == 5
    # Unsealed: a well-formed key is a no-op, any key at all.
    assert c.sys.submit_unseal_key(res["keys"][1])["sealed"] is False
    assert c.sys.submit_unseal_key("ab" * 32)["sealed"] is False
    c.token = tok
    ks = c.sys.get_encryption_key_status()
    assert ks["data"]["term"] == 1 and ks["term"] == 1
    # The health endpoint sees the same cluster.
    h = server.api("GET", "sys/health").json()
    assert h["cluster_id"] == st["cluster_id"]
    assert h["cluster_name"] == st["cluster_name"]


def test_single_share_is_the_key(server):
    res = server.init(1, 1)
    assert len(res["keys"][0]) == 64          # 32 bytes, no x byte
    assert len(base64.b64decode(res["keys_base64"][0])) == 32
    st = server.unseal()
    assert st["sealed"] is False and st["t"] == 1 and st["n"] == 1


def test_threshold_equal_to_shares_and_many_shares(lmdb_server):
    srv = lmdb_server
    res = srv.init(255, 255)
    assert len(res["keys"]) == 255
    assert len({bytes.fromhex(k)[-1] for k in res["keys"]}) == 255
    s = requests.Session()
    for i, k in enumerate(srv.keys[:254]):
        r = s.put(srv.url + "/v1/sys/unseal", json={"key": k})
        assert r.json()["progress"] == i + 1
    r = s.put(srv.url + "/v1/sys/unseal", json={"key": srv.keys[254]})
    assert r.json()["sealed"] is False


def test_any_threshold_of_shares_unseals(lmdb_server):
    srv = lmdb_server
    srv.init(5, 3)
    c = srv.client(srv.root_token)
    for subset in ([0, 1, 2], [4, 2, 0], [1, 3, 4]):
        st = srv.unseal([srv.keys[i] for i in subset])
        assert st["sealed"] is False
        c.sys.seal()
    # Fewer than the threshold: still sealed.
    st = srv.unseal(srv.keys[:2])
    assert st["sealed"] is True and st["progress"] == 2


def test_cluster_name_from_config(make_server):
    srv = make_server(extra='cluster_name = "blue-cluster"\n')
    srv.init_unseal()
    st = status(srv)
    assert st["cluster_name"] == "blue-cluster"
    cid = st["cluster_id"]
    srv.restart()
    assert status(srv).get("cluster_name") is None
    srv.unseal()
    st = status(srv)
    assert st["cluster_name"] == "blue-cluster" and st["cluster_id"] == cid


def test_cluster_identity_survives_restart(server):
    server.init_unseal()
    before = status(server)
    server.restart()
    server.unseal()
    after = status(server)
    assert after["cluster_name"] == before["cluster_name"]
    assert after["cluster_id"] == before["cluster_id"]


@pytest.mark.parametrize("body,msg", [
    ({"secret_shares": 0, "secret_threshold": 0},
     "invalid seal configuration: shares must be at least one"),
    ({}, "invalid seal configuration: shares must be at least one"),
    ({"secret_shares": None, "secret_threshold": None},
     "invalid seal configuration: shares must be at least one"),
    ({"secret_shares": -3, "secret_threshold": 2},
     "invalid seal configuration: shares must be at least one"),
    ({"secret_shares": 3, "secret_threshold": 0},
     "invalid seal configuration: threshold must be at least one"),
    ({"secret_shares": 3, "secret_threshold": -1},
     "invalid seal configuration: threshold must be at least one"),
    ({"secret_shares": 3, "secret_threshold": 4},
     "invalid seal configuration: threshold cannot be larger than shares"),
    ({"secret_shares": 256, "secret_threshold": 2},
     "invalid seal configuration: shares must be less than 256"),
    ({"secret_shares": 256, "secret_threshold": 256},
     "invalid seal configuration: shares must be less than 256"),
    ({"secret_shares": 2 ** 40, "secret_threshold": 2},
     "invalid seal configuration: shares must be less than 256"),
    ({"secret_shares": 3, "secret_threshold": 1},
     "invalid seal configuration: threshold must be greater than one for "
     "multiple shares"),
    ({"secret_shares": 10 ** 30, "secret_threshold": 2}, ""),
    ({"secret_shares": "3", "secret_threshold": 2}, "failed to parse JSON"),
    ({"secret_shares": 3.0, "secret_threshold": 2}, "failed to parse JSON"),
    ({"secret_shares": True, "secret_threshold": 2}, "failed to parse JSON"),
    ({"secret_shares": 3, "secret_threshold": 2, "stored_shares": "x"},
     "failed to parse JSON"),
    ({"secret_shares": 3, "secret_threshold": 2, "pgp_keys": "abc"},
     "failed to parse JSON"),
    ({"secret_shares": 3, "secret_threshold": 2, "pgp_keys": ["a", "b"]},
     "incorrect number of PGP keys"),
    ({"secret_shares": 3, "secret_threshold": 2, "pgp_keys": ["a", "b", "c"]},
     "pgp_keys are not supported"),
    ({"secret_shares": 1, "secret_threshold": 1, "root_token_pgp_key": "x"},
     "root_token_pgp_key is not supported"),
    ({"secret_shares": 1, "secret_threshold": 1, "recovery_shares": 2},
     "parameters recovery_shares not applicable to seal type shamir"),
    ({"secret_shares": 1, "secret_threshold": 1, "recovery_shares": 2,
      "recovery_threshold": 2},
     "parameters recovery_shares,recovery_threshold not applicable to seal "
     "type shamir"),
    ({"secret_shares": 1, "secret_threshold": 1,
      "recovery_pgp_keys": ["k"]},
     "parameters recovery_pgp_keys not applicable to seal type shamir"),
    ([1, 2], ""),
])
def test_init_bad_input(lmdb_server, body, msg):
    r = lmdb_server.api("PUT", "sys/init", json=body)
    assert r.status_code == 400, r.text
    if msg:
        assert msg in errors(r)[0]
    else:
        assert len(errors(r)) == 1
    assert lmdb_server.api("GET", "sys/init").json() == {"initialized": False}
    assert status(lmdb_server)["n"] == 0


def test_init_accepts_what_hvac_and_vault_clients_send(lmdb_server):
    # hvac sends root_token_pgp_key null; Go decodes names in any case;
    # stored_shares and empty PGP lists are accepted.
    r = lmdb_server.api("PUT", "sys/init", json={
        "Secret_Shares": 2, "SECRET_THRESHOLD": 2, "stored_shares": 2,
        "root_token_pgp_key": None, "pgp_keys": [],
        "recovery_shares": 0})
    assert r.status_code == 200, r.text
    assert len(r.json()["keys"]) == 2


def test_init_validation_comes_before_already_initialized(lmdb_server):
    lmdb_server.init(1, 1)
    r = lmdb_server.api("PUT", "sys/init",
                        json={"secret_shares": 0, "secret_threshold": 0})
    assert r.status_code == 400
    assert errors(r) == ["invalid seal configuration: shares must be at "
                         "least one"]


def test_concurrent_inits_one_wins(lmdb_server):
    results = []

    def go():
        results.append(requests.put(
            lmdb_server.url + "/v1/sys/init",
            json={"secret_shares": 3, "secret_threshold": 2}, timeout=30))
    ts = [threading.Thread(target=go) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [400] * 5
    winner = [r for r in results if r.status_code == 200][0].json()
    for r in results:
        if r.status_code == 400:
            assert errors(r) == ["Vault is already initialized"]
    assert lmdb_server.unseal(winner["keys"][:2])["sealed"] is False


def test_empty_and_malformed_bodies(lmdb_server):
    srv = lmdb_server
    for path in ("sys/init", "sys/unseal"):
        r = srv.api("PUT", path, data=b"")
        assert r.status_code == 400 and errors(r) == ["EOF"]
        r = srv.api("PUT", path, data=b"{nope")
        assert r.status_code == 400 and len(errors(r)) == 1
    srv.init_unseal()
    for path in ("sys/generate-root/update", "sys/rekey/init",
                 "sys/rekey/update"):
        r = srv.api("PUT", path, data=b"")
        assert r.status_code == 400 and errors(r) == ["EOF"], path
    # generate-root/attempt takes an empty body as {}.
    r = srv.api("PUT", "sys/generate-root/attempt", data=b"")
    assert r.status_code == 200 and len(r.json()["otp"]) == 28


@pytest.mark.parametrize("method,path", [
    ("DELETE", "sys/init"), ("PUT", "sys/seal-status"),
    ("GET", "sys/unseal"), ("GET", "sys/seal"), ("DELETE", "sys/rotate"),
    ("GET", "sys/generate-root/update"), ("POST", "sys/seal-status"),
])
def test_methods_not_allowed(lmdb_server, method, path):
    r = lmdb_server.api(method, path)
    assert r.status_code == 405 and errors(r) == []


# --- unseal --------------------------------------------------------------

def test_wrong_shares_reset_progress(server):
    server.init(3, 2)
    r = server.api("PUT", "sys/unseal", json={"key": server.keys[0]})
    assert r.json()["progress"] == 1
    # A well-formed share that does not belong: refused at the threshold.
    r = server.api("PUT", "sys/unseal",
                   json={"key": foreign_share(server, 1)})
    assert r.status_code == 400
    assert errors(r) == ["unable to retrieve stored keys: invalid key: "
                         "failed to decrypt keys from storage: cipher: "
                         "message authentication failed"]
    st = status(server)
    assert st["progress"] == 0 and st["sealed"] is True and st["nonce"] == ""
    # The right shares still work afterwards.
    assert server.unseal(server.keys[1:])["sealed"] is False


def test_inconsistent_shares(lmdb_server):
    srv = lmdb_server
    srv.init(3, 2)
    # Different lengths.
    srv.api("PUT", "sys/unseal", json={"key": srv.keys[0]})
    r = srv.api("PUT", "sys/unseal", json={"key": "ab" * 32})
    assert r.status_code == 400
    assert errors(r) == ["invalid key: failed to compute combined key: all "
                         "parts must be the same length"]
    assert status(srv)["progress"] == 0
    # Two different shares with the same x coordinate.
    x = bytes.fromhex(srv.keys[0])[-1]
    srv.api("PUT", "sys/unseal", json={"key": srv.keys[0]})
    r = srv.api("PUT", "sys/unseal", json={"key": combine_x(srv.keys[1], x)})
    assert r.status_code == 400
    assert errors(r) == ["invalid key: failed to compute combined key: "
                         "duplicate part detected"]
    assert status(srv)["progress"] == 0
    assert srv.unseal(srv.keys[:2])["sealed"] is False


def test_reset(server):
    server.init(3, 2)
    c = server.client()
    st = c.sys.submit_unseal_key(server.keys[0])
    assert st["progress"] == 1
    st = c.sys.submit_unseal_key(reset=True)
    assert st["progress"] == 0 and st["sealed"] is True and st["nonce"] == ""
    # The share submitted before the reset is gone: one more is not enough.
    assert c.sys.submit_unseal_key(server.keys[1])["progress"] == 1
    # reset wins over key.
    r = server.api("PUT", "sys/unseal",
                   json={"key": server.keys[2], "reset": True})
    assert r.status_code == 200 and r.json()["progress"] == 0
    server.unseal(server.keys[:2])
    r = server.api("PUT", "sys/unseal", json={"reset": True})
    assert r.status_code == 400 and errors(r) == ["vault is unsealed"]
    assert status(server)["sealed"] is False


@pytest.mark.parametrize("body,msg", [
    ({"key": "zz" * 33}, "'key' must be a valid hex or base64 string"),
    ({"key": "abc"}, "'key' must be a valid hex or base64 string"),
    ({"key": "ab" * 33 + "="}, "'key' must be a valid hex or base64 string"),
    ({"key": base64.b64encode(b"x" * 33).decode()[:-1]},
     "'key' must be a valid hex or base64 string"),
    ({"key": "abcd"}, "invalid key: key is shorter than minimum 16 bytes"),
    # 15 bytes of hex is read as base64 then, and 30 characters are not.
    ({"key": "ab" * 15}, "'key' must be a valid hex or base64 string"),
    ({"key": "abcd" * 5}, "invalid key: key is shorter than minimum 16 bytes"),
    ({"key": base64.b64encode(b"x" * 8).decode()},
     "invalid key: key is shorter than minimum 16 bytes"),
    # Valid hex but 40 bytes: read as base64, 60 bytes.
    ({"key": "ab" * 40}, "invalid key: key is longer than maximum 33 bytes"),
    ({"key": base64.b64encode(b"x" * 34).decode()},
     "invalid key: key is longer than maximum 33 bytes"),
    ({"key": base64.b64encode(b"x" * 5000).decode()},
     "invalid key: key is longer than maximum 33 bytes"),
    ({"key": ""}, "'key' must be specified in request body as JSON, or "
     "'reset' set to true"),
    ({}, "'key' must be specified in request body as JSON, or "
     "'reset' set to true"),
    ({"key": 5}, "failed to parse JSON input"),
    ({"key": ["ab" * 33]}, "failed to parse JSON input"),
    ({"reset": "yes"}, "failed to parse JSON input"),
])
def test_unseal_bad_keys(lmdb_server, body, msg):
    srv = lmdb_server
    srv.init(3, 2)
    st = srv.api("PUT", "sys/unseal", json={"key": srv.keys[0]}).json()
    r = srv.api("PUT", "sys/unseal", json=body)
    assert r.status_code == 400, r.text
    assert errors(r) == [msg] or (msg.startswith("failed to parse") and
                                  errors(r)[0].startswith(msg))
    # The state is unchanged: still the same share and attempt.
    after = status(srv)
    assert after["progress"] == 1 and after["nonce"] == st["nonce"]
    assert srv.unseal(srv.keys[1:2])["sealed"] is False


def test_unseal_16_byte_hex_key_is_accepted_then_refused(lmdb_server):
    srv = lmdb_server
    srv.init(1, 1)
    # 16..33 bytes pass the length check; a 16-byte key cannot be ours.
    r = srv.api("PUT", "sys/unseal", json={"key": "ab" * 16})
    assert r.status_code == 400
    assert "unable to retrieve stored keys" in errors(r)[0]
    assert srv.unseal()["sealed"] is False


def test_unseal_field_names_any_case(lmdb_server):
    srv = lmdb_server
    srv.init(3, 2)
    r = srv.api("PUT", "sys/unseal", json={"KEY": srv.keys[0]})
    assert r.status_code == 200 and r.json()["progress"] == 1
    r = srv.api("PUT", "sys/unseal", json={"Reset": True})
    assert r.status_code == 200 and r.json()["progress"] == 0
    srv.api("PUT", "sys/unseal", json={"Key": srv.keys[0]})
    r = srv.api("PUT", "sys/unseal", json={"kEy": srv.keys[1]})
    assert r.json()["sealed"] is False


def test_unseal_uninitialized(lmdb_server):
    srv = lmdb_server
    r = srv.api("PUT", "sys/unseal", json={"key": "ab" * 32})
    assert r.status_code == 400 and errors(r) == ["Vault is not initialized"]
    # Vault checks initialization before the key's length ...
    r = srv.api("PUT", "sys/unseal", json={"key": "abcd"})
    assert errors(r) == ["Vault is not initialized"]
    # ... but after its encoding.
    r = srv.api("PUT", "sys/unseal", json={"key": "zz"})
    assert errors(r) == ["'key' must be a valid hex or base64 string"]
    r = srv.api("PUT", "sys/unseal", json={"reset": True})
    assert r.status_code == 200 and r.json()["initialized"] is False


def test_unseal_migrate_is_refused(lmdb_server):
    srv = lmdb_server
    srv.init(3, 2)
    r = srv.api("PUT", "sys/unseal", json={"key": srv.keys[0],
                                            "migrate": True})
    assert r.status_code == 500
    assert status(srv)["progress"] == 0
    # hvac always sends migrate: false.
    assert srv.client().sys.submit_unseal_key(srv.keys[0])["progress"] == 1


# --- seal ----------------------------------------------------------------

def test_seal_needs_root_or_sudo(server):
    server.init_unseal()
    root = server.client(server.root_token)
    anon = server.client()
    with pytest.raises(hvac.exceptions.Forbidden):
        anon.sys.seal()
    r = server.api("PUT", "sys/seal")
    assert r.status_code == 403 and errors(r) == ["permission denied"]
    r = server.api("PUT", "sys/seal", token="hvs.bogusbogusbogusbogusbogus")
    assert r.status_code == 403 and errors(r) == ["permission denied"]
    # A token without sudo on sys/seal, even with update.
    plain = root.auth.token.create(policies=["default"])["auth"]
    r = server.api("PUT", "sys/seal", token=plain["client_token"])
    assert r.status_code == 403 and errors(r) == [DENIED]
    upd = sudo_token(root, "sys/seal", caps='"update"')
    r = server.api("PUT", "sys/seal", token=upd)
    assert r.status_code == 403 and errors(r) == [DENIED]
    assert server.api("GET", "sys/health").status_code == 200
    # sudo on sys/seal is enough.
    sudo = sudo_token(root, "sys/seal")
    r = server.api("PUT", "sys/seal", token=sudo, json={"ignored": 1})
    assert r.status_code == 204 and r.content == b""
    assert root.sys.is_sealed() is True
    r = server.api("GET", "sys/key-status", token=server.root_token)
    assert r.status_code == 503 and errors(r) == ["Vault is sealed"]
    r = server.api("GET", "sys/mounts", token=server.root_token)
    assert r.status_code == 503 and errors(r) == ["Vault is sealed"]
    # Sealing a sealed node is a no-op without a token.
    assert server.api("PUT", "sys/seal").status_code == 204
    assert server.api("POST", "sys/seal").status_code == 204
    # Unsealed again, the root token works through hvac.
    server.unseal()
    root.sys.seal()
    assert root.sys.is_sealed() is True


def test_seal_uninitialized_is_a_noop(lmdb_server):
    r = lmdb_server.api("PUT", "sys/seal")
    assert r.status_code == 204
    assert status(lmdb_server)["initialized"] is False


def test_seal_waits_for_requests_in_flight(lmdb_server):
    srv = lmdb_server
    srv.init_unseal()
    stop = threading.Event()
    codes = []

    def load():
        s = requests.Session()
        while not stop.is_set():
            r = s.get(srv.url + "/v1/sys/key-status",
                      headers={"X-Vault-Token": srv.root_token})
            codes.append(r.status_code)
    ts = [threading.Thread(target=load) for _ in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.2)
    r = srv.api("PUT", "sys/seal", token=srv.root_token)
    assert r.status_code == 204
    after = srv.api("GET", "sys/key-status", token=srv.root_token)
    time.sleep(0.1)
    stop.set()
    for t in ts:
        t.join()
    assert after.status_code == 503
    assert set(codes) <= {200, 503}
    assert 200 in codes and 503 in codes


# --- restart, rotate, key-status -----------------------------------------

def test_restart_keeps_state(server):
    server.init(3, 2)
    server.unseal(server.keys[:2])
    write_kv(server, server.root_token, "before", {"v": "one"})
    c = server.client(server.root_token)
    c.sys.rotate_encryption_key()
    write_kv(server, server.root_token, "after", {"v": "two"})
    server.restart()
    c = server.client(server.root_token)
    assert c.sys.is_initialized() is True
    st = c.sys.read_seal_status()
    assert st["sealed"] is True and st["t"] == 2 and st["n"] == 3
    # Nothing was unsealed across the restart: the same shares work.
    st = server.unseal(server.keys[1:3])
    assert st["sealed"] is False
    # The root token made at init still works, the keyring kept both
    # terms, and data written under each term reads back.
    assert c.sys.get_encryption_key_status()["data"]["term"] == 2
    assert read_kv(server, server.root_token, "before") == {"v": "one"}
    assert read_kv(server, server.root_token, "after") == {"v": "two"}


def test_rotate(server):
    server.init_unseal()
    c = server.client(server.root_token)
    write_kv(server, server.root_token, "t1", {"v": "1"})
    before = c.sys.get_encryption_key_status()
    assert before["term"] == 1 and before["data"]["term"] == 1
    assert before["data"]["encryptions"] > 0
    r = server.api("PUT", "sys/rotate", token=server.root_token)
    assert r.status_code == 204 and r.content == b""
    after = c.sys.get_encryption_key_status()["data"]
    assert after["term"] == 2
    assert after["install_time"].endswith("Z")
    assert after["install_time"] >= before["data"]["install_time"]
    assert after["encryptions"] < before["data"]["encryptions"]
    write_kv(server, server.root_token, "t2", {"v": "2"})
    c.sys.rotate_encryption_key()
    assert c.sys.get_encryption_key_status()["data"]["term"] == 3
    # Data written under every term reads, now and after a restart.
    assert read_kv(server, server.root_token, "t1") == {"v": "1"}
    server.restart()
    server.unseal()
    assert c.sys.get_encryption_key_status()["data"]["term"] == 3
    assert read_kv(server, server.root_token, "t1") == {"v": "1"}
    assert read_kv(server, server.root_token, "t2") == {"v": "2"}


def test_rotate_needs_sudo(lmdb_server):
    srv = lmdb_server
    srv.init_unseal()
    root = srv.client(srv.root_token)
    r = srv.api("PUT", "sys/rotate")
    assert r.status_code == 403 and errors(r) == ["permission denied"]
    r = srv.api("PUT", "sys/rotate", token="hvs.nope")
    assert r.status_code == 403
    upd = sudo_token(root, "sys/rotate", caps='"update"')
    r = srv.api("PUT", "sys/rotate", token=upd)
    assert r.status_code == 403 and errors(r) == [DENIED]
    assert root.sys.get_encryption_key_status()["data"]["term"] == 1
    sudo = sudo_token(root, "sys/rotate")
    assert srv.api("POST", "sys/rotate", token=sudo).status_code == 204
    assert root.sys.get_encryption_key_status()["data"]["term"] == 2
    root.sys.seal()
    r = srv.api("PUT", "sys/rotate", token=srv.root_token)
    assert r.status_code == 503 and errors(r) == ["Vault is sealed"]


def test_key_status_needs_read(lmdb_server):
    srv = lmdb_server
    srv.init_unseal()
    root = srv.client(srv.root_token)
    r = srv.api("GET", "sys/key-status")
    assert r.status_code == 403
    plain = root.auth.token.create(policies=["default"])["auth"]
    r = srv.api("GET", "sys/key-status", token=plain["client_token"])
    assert r.status_code == 403
    reader = sudo_token(root, "sys/key-status", caps='"read"')
    r = srv.api("GET", "sys/key-status", token=reader)
    assert r.status_code == 200
    body = r.json()
    # Vault copies data's keys to the top level for sys/key-status.
    assert body["term"] == body["data"]["term"] == 1
    assert set(body["data"]) == {"term", "install_time", "encryptions"}


def test_encryptions_count_restarts_with_the_keyring(lmdb_server):
    srv = lmdb_server
    srv.init_unseal()
    c = srv.client(srv.root_token)
    for i in range(5):
        write_kv(srv, srv.root_token, "x%d" % i, {"v": i})
    c.sys.rotate_encryption_key()
    c.sys.seal()
    srv.unseal()
    ks = c.sys.get_encryption_key_status()["data"]
    assert ks["term"] == 2 and 0 <= ks["encryptions"] < 100


# --- rekey ---------------------------------------------------------------

def test_rekey(server):
    server.init(3, 2)
    server.unseal(server.keys[:2])
    write_kv(server, server.root_token, "kept", {"v": "yes"})
    c = server.client()
    idle = c.sys.read_rekey_progress()
    assert idle == {"nonce": "", "started": False, "t": 0, "n": 0,
                    "progress": 0, "required": 2, "pgp_fingerprints": None,
                    "backup": False, "verification_required": False}
    st = c.sys.start_rekey(secret_shares=4, secret_threshold=3)
    assert set(st) == REKEY_STATUS_KEYS
    assert st["started"] is True and st["t"] == 3 and st["n"] == 4
    assert st["required"] == 2 and st["progress"] == 0
    assert st["verification_required"] is False
    nonce = st["nonce"]
    assert c.sys.read_rekey_progress()["nonce"] == nonce
    st = c.sys.rekey(server.keys[0], nonce)
    assert set(st) == REKEY_STATUS_KEYS and st["progress"] == 1
    st = c.sys.rekey(server.keys_base64[2], nonce)
    assert set(st) == {"nonce", "complete", "keys", "keys_base64",
                       "pgp_fingerprints", "backup", "verification_required"}
    assert st["complete"] is True and st["nonce"] == nonce
    new = st["keys"]
    assert len(new) == 4 and len(st["keys_base64"]) == 4
    assert all(len(k) == 66 for k in new)
    assert not set(new) & set(server.keys)
    assert c.sys.read_rekey_progress()["started"] is False
    st = c.sys.read_seal_status()
    assert st["n"] == 4 and st["t"] == 3 and st["sealed"] is False
    # The old shares no longer unseal; the new ones do, also after a
    # restart, and everything behind the barrier is still there.
    root = server.client(server.root_token)
    root.sys.seal()
    server.api("PUT", "sys/unseal", json={"key": server.keys[0]})
    server.api("PUT", "sys/unseal", json={"key": server.keys[1]})
    r = server.api("PUT", "sys/unseal", json={"key": server.keys[2]})
    assert r.status_code == 400
    assert "unable to retrieve stored keys" in errors(r)[0]
    server.restart()
    assert server.unseal(new[1:4])["sealed"] is False
    assert read_kv(server, server.root_token, "kept") == {"v": "yes"}
    assert root.sys.read_seal_status()["t"] == 3


def test_rekey_to_one_share_and_back(lmdb_server):
    srv = lmdb_server
    srv.init(3, 2)
    srv.unseal(srv.keys[:2])
    c = srv.client()
    nonce = c.sys.start_rekey(secret_shares=1, secret_threshold=1)["nonce"]
    c.sys.rekey(srv.keys[0], nonce)
    st = c.sys.rekey(srv.keys[1], nonce)
    one = st["keys"]
    assert len(one) == 1 and len(one[0]) == 64
    # Threshold 1 now: one share rekeys.
    nonce = c.sys.start_rekey(secret_shares=2, secret_threshold=2)["nonce"]
    st = c.sys.rekey(one[0], nonce)
    assert st["complete"] is True and len(st["keys"]) == 2
    srv.client(srv.root_token).sys.seal()
    assert srv.unseal(st["keys"])["sealed"] is False


@pytest.mark.parametrize("body,code,msg", [
    ({"secret_shares": 2, "secret_threshold": 3}, 400,
     "provided threshold greater than the total shares"),
    ({"secret_shares": 0, "secret_threshold": 1}, 400,
     "provided threshold greater than the total shares"),
    ({"secret_shares": 0, "secret_threshold": 0}, 400,
     "invalid rekey seal configuration: shares must be at least one"),
    ({"secret_shares": 3, "secret_threshold": 1}, 400,
     "invalid rekey seal configuration: threshold must be greater than one "
     "for multiple shares"),
    ({"secret_shares": 300, "secret_threshold": 2}, 400,
     "invalid rekey seal configuration: shares must be less than 256"),
    ({"secret_shares": 3, "secret_threshold": 2, "backup": True}, 400,
     "cannot request a backup of the new keys without providing PGP keys "
     "for encryption"),
    ({"secret_shares": 3, "secret_threshold": 2, "pgp_keys": ["a"]}, 400,
     "incorrect number of PGP keys for rekey"),
    ({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": ["a"]}, 400,
     "pgp_keys are not supported by coffer; omit them to receive the "
     "shares in clear"),
    ({"secret_shares": "3", "secret_threshold": 2}, 400,
     "failed to parse JSON input"),
    ({"secret_shares": 3, "secret_threshold": 2,
      "require_verification": "yes"}, 400, "failed to parse JSON input"),
])
def test_rekey_init_bad_input(lmdb_server, body, code, msg):
    srv = lmdb_server
    srv.init_unseal()
    r = srv.api("PUT", "sys/rekey/init", json=body)
    assert r.status_code == code
    assert errors(r)[0].startswith(msg)
    assert srv.api("GET", "sys/rekey/init").json()["started"] is False


def test_rekey_errors(lmdb_server):
    srv = lmdb_server
    r = srv.api("PUT", "sys/rekey/init",
                json={"secret_shares": 3, "secret_threshold": 2})
    assert r.status_code == 503 and errors(r) == ["node is not active"]
    srv.init(3, 2)
    for method, path in (("GET", "sys/rekey/init"),
                         ("DELETE", "sys/rekey/init"),
                         ("PUT", "sys/rekey/update"),
                         ("GET", "sys/rekey/verify")):
        r = srv.api(method, path, data=b"")
        assert r.status_code == 503 and errors(r) == ["node is not active"]
    srv.unseal(srv.keys[:2])
    r = srv.api("PUT", "sys/rekey/update", json={"key": srv.keys[0],
                                                  "nonce": "x"})
    assert r.status_code == 400
    assert errors(r) == ["no barrier rekey in progress"]
    st = srv.api("PUT", "sys/rekey/init",
                 json={"secret_shares": 3, "secret_threshold": 2}).json()
    nonce = st["nonce"]
    r = srv.api("PUT", "sys/rekey/init",
                json={"secret_shares": 5, "secret_threshold": 3})
    assert r.status_code == 400
    assert errors(r) == ["rekey already in progress"]
    assert srv.api("GET", "sys/rekey/init").json()["n"] == 3
    r = srv.api("PUT", "sys/rekey/update",
                json={"key": srv.keys[0], "nonce": "wrong"})
    assert r.status_code == 400
    assert errors(r) == ['incorrect nonce supplied; nonce for this rekey '
                         'operation is "%s"' % nonce]
    r = srv.api("PUT", "sys/rekey/update", json={"nonce": nonce})
    assert errors(r) == ["'key' must be specified in request body as JSON"]
    r = srv.api("PUT", "sys/rekey/update", json={"key": "zz", "nonce": nonce})
    assert errors(r) == ["'key' must be a valid hex or base64 string"]
    r = srv.api("PUT", "sys/rekey/update", json={"key": "abcd",
                                                  "nonce": nonce})
    assert errors(r) == ["key is shorter than minimum 16 bytes"]
    assert srv.api("GET", "sys/rekey/init").json()["progress"] == 0
    srv.api("PUT", "sys/rekey/update", json={"key": srv.keys[0],
                                              "nonce": nonce})
    r = srv.api("PUT", "sys/rekey/update", json={"Key": srv.keys[0],
                                                  "Nonce": nonce})
    assert r.status_code == 400
    assert errors(r) == ["given key has already been provided during this "
                         "generation operation"]
    assert srv.api("GET", "sys/rekey/init").json()["progress"] == 1
    # A share that does not belong: the shares are dropped, the rekey and
    # its nonce stay, and the old shares still rule.
    r = srv.api("PUT", "sys/rekey/update",
                json={"key": foreign_share(srv, 1), "nonce": nonce})
    assert r.status_code == 400
    assert "failed to decrypt keys from storage" in errors(r)[0]
    st = srv.api("GET", "sys/rekey/init").json()
    assert st["started"] is True and st["nonce"] == nonce
    assert st["progress"] == 0
    assert status(srv)["n"] == 3
    assert srv.api("DELETE", "sys/rekey/init").status_code == 204
    assert srv.api("DELETE", "sys/rekey/init").status_code == 204
    st = srv.api("GET", "sys/rekey/init").json()
    assert st["started"] is False and st["nonce"] == "" and st["t"] == 0
    srv.client(srv.root_token).sys.seal()
    assert srv.unseal(srv.keys[1:])["sealed"] is False


def test_rekey_with_verification(server):
    srv = server
    srv.init(3, 2)
    srv.unseal(srv.keys[:2])
    c = srv.client()
    # A rekey without verification has nothing to verify.
    nonce = c.sys.start_rekey(secret_shares=2, secret_threshold=2)["nonce"]
    st = c.sys.read_rekey_verify_progress()
    assert st == {"nonce": "", "started": False, "t": 2, "n": 2,
                  "progress": 0}
    c.sys.cancel_rekey()
    r = srv.api("GET", "sys/rekey/verify")
    assert r.status_code == 400
    assert errors(r) == ["no rekey configuration found"]

    st = c.sys.start_rekey(secret_shares=3, secret_threshold=2,
                           require_verification=True)
    assert st["verification_required"] is True
    nonce = st["nonce"]
    c.sys.rekey(srv.keys[0], nonce)
    st = c.sys.rekey(srv.keys[1], nonce)
    assert st["complete"] is True and st["verification_required"] is True
    new, vnonce = st["keys"], st["verification_nonce"]
    assert vnonce and vnonce != nonce
    st = c.sys.read_rekey_progress()
    assert st["started"] is True and st["verification_nonce"] == vnonce
    # Until verified, the rekey is not committed.
    r = srv.api("PUT", "sys/rekey/update", json={"key": srv.keys[2],
                                                  "nonce": nonce})
    assert r.status_code == 400
    assert errors(r) == ['rekey operation already finished; verification '
                         'must be performed; nonce for the verification '
                         'operation is "%s"' % vnonce]
    st = c.sys.read_rekey_verify_progress()
    assert st == {"nonce": vnonce, "started": True, "t": 2, "n": 3,
                  "progress": 0}
    r = srv.api("PUT", "sys/rekey/verify", json={"key": new[0],
                                                 "nonce": "nope"})
    assert errors(r) == ['incorrect nonce supplied; nonce for this verify '
                         'operation is "%s"' % vnonce]
    # Old shares are not new shares: a failed round gets a new nonce.
    r = srv.api("PUT", "sys/rekey/verify", json={"key": srv.keys[0],
                                                 "nonce": vnonce})
    assert r.status_code == 200 and r.json()["progress"] == 1
    r = srv.api("PUT", "sys/rekey/verify", json={"key": srv.keys[0],
                                                 "nonce": vnonce})
    assert errors(r) == ["given key has already been provided during this "
                         "verify operation"]
    r = srv.api("PUT", "sys/rekey/verify", json={"key": srv.keys[1],
                                                 "nonce": vnonce})
    assert r.status_code == 400
    assert errors(r) == ["rekey verification failed; incorrect key shares "
                         "supplied"]
    st = c.sys.read_rekey_verify_progress()
    assert st["progress"] == 0 and st["nonce"] != vnonce
    vnonce = st["nonce"]
    # DELETE starts the verification over with yet another nonce.
    c.sys.rekey_verify(new[0], vnonce)
    st = srv.api("DELETE", "sys/rekey/verify").json()
    assert st["progress"] == 0 and st["nonce"] != vnonce
    vnonce = st["nonce"]
    # The old shares still unseal after a restart: nothing committed.
    srv.restart()
    assert srv.unseal(srv.keys[:2])["sealed"] is False
    assert c.sys.read_rekey_progress()["started"] is False

    # Again, this time to the end.
    st = c.sys.start_rekey(secret_shares=3, secret_threshold=2,
                           require_verification=True)
    c.sys.rekey(srv.keys[1], st["nonce"])
    st = c.sys.rekey(srv.keys[2], st["nonce"])
    new, vnonce = st["keys"], st["verification_nonce"]
    st = c.sys.rekey_verify(new[0], vnonce)
    assert st["progress"] == 1 and st["nonce"] == vnonce
    st = c.sys.rekey_verify(new[2], vnonce)
    assert st == {"nonce": vnonce, "complete": True}
    assert c.sys.read_rekey_progress()["started"] is False
    srv.restart()
    r = srv.api("PUT", "sys/unseal", json={"key": srv.keys[0]})
    r = srv.api("PUT", "sys/unseal", json={"key": srv.keys[1]})
    assert r.status_code == 400
    assert srv.unseal(new[1:])["sealed"] is False


# --- generate-root -------------------------------------------------------

def decode_root(encoded, otp):
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return bytes(a ^ b for a, b in zip(raw, otp.encode())).decode()


def test_otp_encoding_matches_vaults_worked_example():
    # The contract's example, decoded the way the Vault CLI does.
    assert decode_root("KjsZVGFYJjhAKDR5LwIzAQhCBVAVJQYNeksxKQ",
                       "BMjzW3wAsEzINXCM05Wbas3u9zSl") == \
        "hvs.6kQy3mN0aZpL8wR2tV5xC1bE"


def test_generate_root_server_otp(server):
    server.init(3, 2)
    server.unseal(server.keys[:2])
    c = server.client()
    idle = c.sys.read_root_generation_progress()
    assert idle == {"nonce": "", "started": False, "progress": 0,
                    "required": 2, "complete": False, "encoded_token": "",
                    "encoded_root_token": "", "pgp_fingerprint": "",
                    "otp": "", "otp_length": 28}
    st = c.sys.start_root_token_generation()
    otp = st["otp"]
    assert set(st) == GENROOT_KEYS
    assert len(otp) == 28 and otp.isalnum() and st["otp_length"] == 28
    assert st["started"] is True and st["required"] == 2
    assert st["progress"] == 0 and st["complete"] is False
    nonce = st["nonce"]
    # The OTP is shown once.
    st = c.sys.read_root_generation_progress()
    assert st["otp"] == "" and st["nonce"] == nonce and st["started"] is True
    st = c.sys.generate_root(server.keys[1], nonce)
    assert st == {"nonce": nonce, "started": True, "progress": 1,
                  "required": 2, "complete": False, "encoded_token": "",
                  "encoded_root_token": "", "pgp_fingerprint": "",
                  "otp": "", "otp_length": 0}
    st = c.sys.read_root_generation_progress()
    assert st["progress"] == 1 and st["otp_length"] == 28
    r = server.api("PUT", "sys/generate-root/update",
                   json={"key": server.keys[1], "nonce": nonce})
    assert r.status_code == 400
    assert errors(r) == ["given key has already been provided during this "
                         "generation operation"]
    st = c.sys.generate_root(server.keys_base64[2], nonce)
    assert st["complete"] is True and st["progress"] == 2
    assert st["encoded_token"] == st["encoded_root_token"]
    assert "=" not in st["encoded_token"] and st["otp_length"] == 0
    token = decode_root(st["encoded_token"], otp)
    assert token.startswith("hvs.") and len(token) == 28
    assert token != server.root_token
    c.token = token
    assert c.sys.get_encryption_key_status()["data"]["term"] == 1
    me = c.auth.token.lookup_self()["data"]
    assert me["policies"] == ["root"]
    assert c.sys.read_root_generation_progress()["started"] is False
    # The new token survives a restart, and can seal.
    server.restart()
    server.unseal()
    c.sys.seal()
    assert c.sys.is_sealed() is True


@pytest.mark.parametrize("otp", ["ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ01"])
def test_generate_root_client_otp(lmdb_server, otp):
    """hvac 0.11 era clients send a 26-character OTP, newer ones 28."""
    srv = lmdb_server
    srv.init_unseal()
    c = srv.client()
    st = c.sys.start_root_token_generation(otp=otp)
    assert st["otp"] == "" and st["otp_length"] == 28
    st = c.sys.generate_root(srv.keys[0], st["nonce"])
    assert st["complete"] is True
    token = decode_root(st["encoded_token"], otp)
    assert len(token) == len(otp)
    assert token.startswith("s." if len(otp) == 26 else "hvs.")
    assert srv.api("GET", "sys/key-status", token=token).status_code == 200


def test_generate_root_errors(lmdb_server):
    srv = lmdb_server
    r = srv.api("GET", "sys/generate-root/attempt")
    assert r.status_code == 400
    assert errors(r) == ["server is not yet initialized"]
    r = srv.api("PUT", "sys/generate-root/attempt", json={})
    assert r.status_code == 503 and errors(r) == ["Vault is sealed"]
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": "ab" * 33, "nonce": "x"})
    assert r.status_code == 400 and errors(r) == ["Vault is not initialized"]
    srv.init(3, 2)
    for method in ("GET", "PUT", "DELETE"):
        r = srv.api(method, "sys/generate-root/attempt")
        assert r.status_code == 503 and errors(r) == ["Vault is sealed"]
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": srv.keys[0], "nonce": "x"})
    assert r.status_code == 503
    srv.unseal(srv.keys[:2])
    for otp in ("short", "A" * 27, "A" * 29):
        r = srv.api("PUT", "sys/generate-root/attempt", json={"otp": otp})
        assert r.status_code == 400
        assert errors(r) == ["OTP string is wrong length"]
    r = srv.api("PUT", "sys/generate-root/attempt", json={"pgp_key": "abc"})
    assert r.status_code == 400 and "pgp_key" in errors(r)[0]
    r = srv.api("PUT", "sys/generate-root/attempt", json={"otp": 5})
    assert r.status_code == 400
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": srv.keys[0], "nonce": "x"})
    assert r.status_code == 400
    assert errors(r) == ["no root generation in progress"]
    assert srv.api("GET", "sys/generate-root/attempt").json()["started"] \
        is False
    nonce = srv.api("PUT", "sys/generate-root/attempt", json={}).json()["nonce"]
    r = srv.api("PUT", "sys/generate-root/attempt", json={})
    assert r.status_code == 400
    assert errors(r) == ["root generation already in progress"]
    assert srv.api("GET", "sys/generate-root/attempt").json()["nonce"] == nonce
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": srv.keys[0], "nonce": "wrong"})
    assert errors(r) == ['incorrect nonce supplied; nonce for this root '
                         'generation operation is "%s"' % nonce]
    r = srv.api("PUT", "sys/generate-root/update", json={"nonce": nonce})
    assert errors(r) == ["'key' must be specified in request body as JSON"]
    r = srv.api("PUT", "sys/generate-root/update", json={"key": "abcd",
                                                          "nonce": nonce})
    assert errors(r) == ["invalid key: key is shorter than minimum 16 bytes"]
    r = srv.api("PUT", "sys/generate-root/update", json={"key": "%%",
                                                          "nonce": nonce})
    assert errors(r) == ["'key' must be a valid hex or base64 string"]
    assert srv.api("GET", "sys/generate-root/attempt").json()["progress"] == 0
    # Two shares that do not combine to the key: refused, attempt kept.
    srv.api("PUT", "sys/generate-root/update",
            json={"key": srv.keys[0], "nonce": nonce})
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": foreign_share(srv, 1), "nonce": nonce})
    assert r.status_code == 400
    assert errors(r)[0].startswith("root generation aborted: ")
    st = srv.api("GET", "sys/generate-root/attempt").json()
    assert st["started"] is True and st["progress"] == 0
    assert st["nonce"] == nonce
    # Inconsistent shares.
    srv.api("PUT", "sys/generate-root/update",
            json={"key": srv.keys[0], "nonce": nonce})
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": "ab" * 32, "nonce": nonce})
    assert errors(r) == ["failed to compute root key: all parts must be the "
                         "same length"]
    # The same attempt can still finish with the right shares.
    srv.api("PUT", "sys/generate-root/update",
            json={"key": srv.keys[2], "nonce": nonce})
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": srv.keys[1], "nonce": nonce})
    assert r.json()["complete"] is True
    # Cancel, also when nothing runs.
    srv.api("PUT", "sys/generate-root/attempt", json={})
    assert srv.api("DELETE", "sys/generate-root/attempt").status_code == 204
    assert srv.api("DELETE", "sys/generate-root/attempt").status_code == 204
    st = srv.api("GET", "sys/generate-root/attempt").json()
    assert st["started"] is False and st["nonce"] == ""


def test_seal_drops_attempts(lmdb_server):
    srv = lmdb_server
    srv.init(3, 2)
    srv.unseal(srv.keys[:2])
    c = srv.client()
    st = c.sys.start_root_token_generation()
    c.sys.generate_root(srv.keys[0], st["nonce"])
    rk = c.sys.start_rekey(secret_shares=3, secret_threshold=2)
    c.sys.rekey(srv.keys[0], rk["nonce"])
    srv.client(srv.root_token).sys.seal()
    srv.unseal(srv.keys[1:])
    assert c.sys.read_root_generation_progress()["started"] is False
    assert c.sys.read_rekey_progress()["started"] is False


# --- dev mode ------------------------------------------------------------

def test_dev_root_token_and_seal(make_server):
    srv = make_server(dev=True, dev_args=["-dev-root-token-id=s3cret"])
    c = srv.client("s3cret")
    assert c.sys.is_sealed() is False
    st = c.sys.read_seal_status()
    assert st["storage_type"] == "inmem" and st["t"] == 1 and st["n"] == 1
    out = srv.read_stdout()
    key = [l.split(": ", 1)[1] for l in out.splitlines()
           if l.startswith("Unseal Key: ")][0]
    assert len(base64.b64decode(key)) == 32
    assert "Root Token: s3cret" in out
    c.sys.seal()
    assert c.sys.is_sealed() is True
    assert c.sys.submit_unseal_key(key)["sealed"] is False
    assert c.sys.get_encryption_key_status()["data"]["term"] == 1


def test_dev_generated_root_token(make_server):
    srv = make_server(dev=True)
    out = srv.read_stdout()
    tok = [l.split(": ", 1)[1] for l in out.splitlines()
           if l.startswith("Root Token: ")][0]
    assert tok.startswith("hvs.") and len(tok) == 28
    assert srv.client(tok).sys.get_encryption_key_status()["term"] == 1
