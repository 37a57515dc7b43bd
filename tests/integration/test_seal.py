"""Seal: init, unseal, seal, key status, rotate, rekey, generate-root.

Every test runs on lmdb and on file storage (the `server` fixture), and
goes through hvac where hvac has the call.
"""
import base64
import threading
import time

import hvac
import pytest
import requests

from conftest import Server


def test_init_and_unseal_through_hvac(server):
    c = server.client()
    assert c.sys.is_initialized() is False
    st = c.sys.read_seal_status()
    assert st["initialized"] is False and st["t"] == 0 and st["n"] == 0
    assert st["type"] == "shamir" and st["storage_type"] == server.storage
    res = c.sys.initialize(secret_shares=5, secret_threshold=3)
    assert len(res["keys"]) == 5 and len(res["keys_base64"]) == 5
    for k, b in zip(res["keys"], res["keys_base64"]):
        assert len(k) == 66 and bytes.fromhex(k) == base64.b64decode(b)
    assert res["root_token"].startswith("hvs.") and len(res["root_token"]) == 28
    assert c.sys.is_initialized() is True
    assert c.sys.is_sealed() is True
    # A second init is refused and changes nothing.
    r = server.api("PUT", "sys/init",
                   json={"secret_shares": 1, "secret_threshold": 1})
    assert r.status_code == 400
    assert r.json()["errors"] == ["Vault is already initialized"]

    st = c.sys.submit_unseal_key(res["keys"][0])
    assert st["sealed"] is True and st["progress"] == 1 and st["nonce"]
    nonce = st["nonce"]
    # The same share again: ignored, progress unchanged.
    st = c.sys.submit_unseal_key(res["keys"][0])
    assert st["progress"] == 1 and st["nonce"] == nonce
    # base64 works as well as hex.
    st = c.sys.submit_unseal_key(res["keys_base64"][3])
    assert st["progress"] == 2
    st = c.sys.submit_unseal_key(res["keys"][4])
    assert st["sealed"] is False and st["progress"] == 0 and st["nonce"] == ""
    assert st["cluster_name"].startswith("vault-cluster-")
    assert st["t"] == 3 and st["n"] == 5
    # Unsealed: a well-formed key is a no-op.
    assert c.sys.submit_unseal_key(res["keys"][1])["sealed"] is False
    c.token = res["root_token"]
    ks = c.sys.get_encryption_key_status()
    assert ks["data"]["term"] == 1 and ks["term"] == 1


def test_single_share_is_the_key(server):
    res = server.init(1, 1)
    assert len(res["keys"][0]) == 64          # 32 bytes, no x byte
    st = server.unseal()
    assert st["sealed"] is False


def test_wrong_shares_reset_progress(server):
    server.init(3, 2)
    other = Server.__new__(Server)
    bad = "11" * 33
    r = server.api("PUT", "sys/unseal", json={"key": server.keys[0]})
    assert r.json()["progress"] == 1
    # A different, well-formed share that does not belong.
    r = server.api("PUT", "sys/unseal", json={"key": bad})
    assert r.status_code == 400
    assert "errors" in r.json()
    r = server.api("GET", "sys/seal-status")
    assert r.json()["progress"] == 0 and r.json()["sealed"] is True
    # The right shares still work afterwards.
    assert server.unseal(server.keys[1:])["sealed"] is False
    del other


def test_reset(server):
    server.init(3, 2)
    c = server.client()
    assert c.sys.submit_unseal_key(server.keys[0])["progress"] == 1
    st = c.sys.submit_unseal_key(reset=True)
    assert st["progress"] == 0 and st["sealed"] is True
    server.unseal(server.keys[:2])
    r = server.api("PUT", "sys/unseal", json={"reset": True})
    assert r.status_code == 400 and r.json()["errors"] == ["vault is unsealed"]


@pytest.mark.parametrize("body,msg", [
    ({"secret_shares": 0, "secret_threshold": 0}, "shares must be at least one"),
    ({"secret_shares": 3, "secret_threshold": 0}, "threshold must be at least one"),
    ({"secret_shares": 3, "secret_threshold": 4}, "threshold cannot be larger"),
    ({"secret_shares": 256, "secret_threshold": 2}, "less than 256"),
    ({"secret_shares": 3, "secret_threshold": 1}, "greater than one"),
    ({"secret_shares": 10**20, "secret_threshold": 2}, ""),
    ({"secret_shares": "3", "secret_threshold": 2}, ""),
    ({"secret_shares": 3, "secret_threshold": 2, "pgp_keys": ["a", "b", "c"]},
     "pgp"),
    ({"secret_shares": 1, "secret_threshold": 1, "root_token_pgp_key": "x"},
     "pgp"),
    ({"secret_shares": 1, "secret_threshold": 1, "recovery_shares": 2},
     "recovery_shares"),
])
def test_init_bad_input(lmdb_server, body, msg):
    r = lmdb_server.api("PUT", "sys/init", json=body)
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert msg in r.json()["errors"][0]
    assert lmdb_server.api("GET", "sys/init").json() == {"initialized": False}


def test_init_empty_body_is_eof(lmdb_server):
    r = lmdb_server.api("PUT", "sys/init", data=b"")
    assert r.status_code == 400 and r.json()["errors"] == ["EOF"]
    r = lmdb_server.api("PUT", "sys/unseal", data=b"")
    assert r.status_code == 400 and r.json()["errors"] == ["EOF"]
    r = lmdb_server.api("PUT", "sys/init", data=b"{nope")
    assert r.status_code == 400


@pytest.mark.parametrize("key,msg", [
    ("zz" * 33, "valid hex or base64"),
    ("abcd", "shorter than minimum"),
    ("ab" * 40, "longer than maximum"),
    (base64.b64encode(b"x" * 8).decode(), "shorter than minimum"),
    ("", "must be specified"),
])
def test_unseal_bad_keys(lmdb_server, key, msg):
    lmdb_server.init(3, 2)
    assert lmdb_server.api("PUT", "sys/unseal",
                           json={"key": lmdb_server.keys[0]}).status_code == 200
    r = lmdb_server.api("PUT", "sys/unseal", json={"key": key})
    assert r.status_code == 400
    assert msg in r.json()["errors"][0]
    # The state is unchanged: still one share in.
    assert lmdb_server.api("GET", "sys/seal-status").json()["progress"] == 1


def test_unseal_uninitialized(lmdb_server):
    r = lmdb_server.api("PUT", "sys/unseal", json={"key": "ab" * 32})
    assert r.status_code == 400
    assert r.json()["errors"] == ["Vault is not initialized"]
    r = lmdb_server.api("PUT", "sys/unseal", json={"key": 5})
    assert r.status_code == 400


def test_seal_needs_root(server):
    server.init_unseal()
    c = server.client()
    with pytest.raises(hvac.exceptions.Forbidden):
        c.sys.seal()
    r = server.api("PUT", "sys/seal", token="hvs.bogus")
    assert r.status_code == 403 and r.json()["errors"] == ["permission denied"]
    assert server.api("GET", "sys/health").status_code == 200
    c.token = server.root_token
    c.sys.seal()
    assert c.sys.is_sealed() is True
    r = server.api("GET", "sys/key-status", token=server.root_token)
    assert r.status_code == 503
    assert r.json()["errors"] == ["Vault is sealed"]
    # Sealing a sealed node is a no-op without a token.
    assert server.api("PUT", "sys/seal").status_code == 204


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
    stop.set()
    for t in ts:
        t.join()
    assert after.status_code == 503
    assert set(codes) <= {200, 503}
    assert 200 in codes


def test_restart_keeps_state(server):
    server.init(3, 2)
    server.unseal(server.keys[:2])
    c = server.client(server.root_token)
    c.sys.rotate_encryption_key()
    server.restart()
    c = server.client(server.root_token)
    assert c.sys.is_initialized() is True
    assert c.sys.is_sealed() is True
    st = server.unseal(server.keys[1:3])
    assert st["sealed"] is False
    # The root token made before the restart still works, and the
    # keyring kept both terms.
    assert c.sys.get_encryption_key_status()["data"]["term"] == 2


def test_rotate(server):
    server.init_unseal()
    c = server.client(server.root_token)
    before = c.sys.get_encryption_key_status()["data"]
    r = server.api("PUT", "sys/rotate", token=server.root_token)
    assert r.status_code == 204
    after = c.sys.get_encryption_key_status()["data"]
    assert after["term"] == before["term"] + 1
    assert after["install_time"].endswith("Z")
    r = server.api("PUT", "sys/rotate")
    assert r.status_code == 403
    r = server.api("PUT", "sys/rotate", token="hvs.nope")
    assert r.status_code == 403
    # Data written under term 1 (the root token itself) still reads.
    server.restart()
    server.unseal()
    assert c.sys.get_encryption_key_status()["data"]["term"] == 2


def test_rekey(server):
    server.init(3, 2)
    server.unseal(server.keys[:2])
    c = server.client()
    st = c.sys.start_rekey(secret_shares=4, secret_threshold=3)
    assert st["started"] is True and st["t"] == 3 and st["n"] == 4
    assert st["required"] == 2
    nonce = st["nonce"]
    assert c.sys.read_rekey_progress()["nonce"] == nonce
    r = server.api("PUT", "sys/rekey/update",
                   json={"key": server.keys[0], "nonce": "wrong"})
    assert r.status_code == 400 and "incorrect nonce" in r.json()["errors"][0]
    st = c.sys.rekey(server.keys[0], nonce)
    assert st["progress"] == 1
    st = c.sys.rekey(server.keys[2], nonce)
    assert st["complete"] is True
    new = st["keys"]
    assert len(new) == 4 and len(st["keys_base64"]) == 4
    assert c.sys.read_seal_status()["n"] == 4
    # The old shares no longer unseal; the new ones do.
    c.token = server.root_token
    c.sys.seal()
    r = server.api("PUT", "sys/unseal", json={"key": server.keys[0]})
    r = server.api("PUT", "sys/unseal", json={"key": server.keys[1]})
    assert r.status_code == 200 and r.json()["progress"] == 2
    r = server.api("PUT", "sys/unseal", json={"key": server.keys[2]})
    assert r.status_code == 400
    server.restart()
    assert server.unseal(new[1:4])["sealed"] is False


def test_rekey_errors(lmdb_server):
    srv = lmdb_server
    r = srv.api("PUT", "sys/rekey/init",
                json={"secret_shares": 3, "secret_threshold": 2})
    assert r.status_code == 503
    srv.init_unseal()
    r = srv.api("PUT", "sys/rekey/update", json={"key": srv.keys[0],
                                                  "nonce": "x"})
    assert r.status_code == 400
    assert r.json()["errors"] == ["no barrier rekey in progress"]
    r = srv.api("PUT", "sys/rekey/init",
                json={"secret_shares": 2, "secret_threshold": 3})
    assert r.status_code == 400
    r = srv.api("PUT", "sys/rekey/init",
                json={"secret_shares": 3, "secret_threshold": 2})
    assert r.status_code == 200
    r = srv.api("PUT", "sys/rekey/init",
                json={"secret_shares": 3, "secret_threshold": 2})
    assert r.status_code == 400
    assert r.json()["errors"] == ["rekey already in progress"]
    assert srv.api("DELETE", "sys/rekey/init").status_code == 204
    assert srv.api("GET", "sys/rekey/init").json()["started"] is False


def decode_root(encoded, otp):
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return bytes(a ^ b for a, b in zip(raw, otp.encode())).decode()


def test_generate_root_server_otp(server):
    server.init(3, 2)
    server.unseal(server.keys[:2])
    c = server.client()
    st = c.sys.start_root_token_generation()
    otp = st["otp"]
    assert len(otp) == 28 and st["otp_length"] == 28
    assert st["started"] is True and st["required"] == 2
    nonce = st["nonce"]
    st = c.sys.generate_root(server.keys[1], nonce)
    assert st["progress"] == 1 and st["complete"] is False
    r = server.api("PUT", "sys/generate-root/update",
                   json={"key": server.keys[1], "nonce": nonce})
    assert r.status_code == 400 and "already been provided" in r.json()["errors"][0]
    st = c.sys.generate_root(server.keys[2], nonce)
    assert st["complete"] is True
    token = decode_root(st["encoded_token"], otp)
    assert token.startswith("hvs.") and len(token) == 28
    assert token != server.root_token
    c.token = token
    assert c.sys.get_encryption_key_status()["data"]["term"] == 1
    assert c.sys.read_root_generation_progress()["started"] is False


def test_generate_root_client_otp_26(lmdb_server):
    """hvac 0.11 era clients send a 26-character OTP."""
    srv = lmdb_server
    srv.init_unseal()
    otp = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    c = srv.client()
    st = c.sys.start_root_token_generation(otp=otp)
    assert st["otp"] == ""
    st = c.sys.generate_root(srv.keys[0], st["nonce"])
    assert st["complete"] is True
    token = decode_root(st["encoded_token"], otp)
    assert len(token) == 26
    assert srv.api("GET", "sys/key-status", token=token).status_code == 200


def test_generate_root_errors(lmdb_server):
    srv = lmdb_server
    srv.init(3, 2)
    srv.unseal(srv.keys[:2])
    r = srv.api("PUT", "sys/generate-root/attempt", json={"otp": "short"})
    assert r.status_code == 400
    assert r.json()["errors"] == ["OTP string is wrong length"]
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": srv.keys[0], "nonce": "x"})
    assert r.status_code == 400
    assert r.json()["errors"] == ["no root generation in progress"]
    nonce = srv.api("PUT", "sys/generate-root/attempt", json={}).json()["nonce"]
    r = srv.api("PUT", "sys/generate-root/attempt", json={})
    assert r.json()["errors"] == ["root generation already in progress"]
    # Two shares that do not combine to the key: refused, attempt kept.
    srv.api("PUT", "sys/generate-root/update",
            json={"key": srv.keys[0], "nonce": nonce})
    r = srv.api("PUT", "sys/generate-root/update",
                json={"key": "22" * 33, "nonce": nonce})
    assert r.status_code == 400
    st = srv.api("GET", "sys/generate-root/attempt").json()
    assert st["started"] is True and st["progress"] == 0
    assert srv.api("DELETE", "sys/generate-root/attempt").status_code == 204
    assert srv.api("GET", "sys/generate-root/attempt").json()["started"] is False


def test_dev_root_token_and_seal(make_server):
    srv = make_server(dev=True, dev_args=["-dev-root-token-id=s3cret"])
    c = srv.client("s3cret")
    assert c.sys.is_sealed() is False
    assert c.sys.read_seal_status()["storage_type"] == "inmem"
    c.sys.seal()
    assert c.sys.is_sealed() is True


def test_rekey_with_verification(lmdb_server):
    srv = lmdb_server
    srv.init(3, 2)
    srv.unseal(srv.keys[:2])
    c = srv.client()
    st = c.sys.start_rekey(secret_shares=3, secret_threshold=2,
                           require_verification=True)
    assert st["verification_required"] is True
    nonce = st["nonce"]
    c.sys.rekey(srv.keys[0], nonce)
    st = c.sys.rekey(srv.keys[1], nonce)
    assert st["complete"] is True and st["verification_required"] is True
    new, vnonce = st["keys"], st["verification_nonce"]
    # Not committed yet: the old shares still unseal after a restart.
    st = c.sys.read_rekey_verify_progress()
    assert st["nonce"] == vnonce and st["progress"] == 0 and st["t"] == 2
    r = srv.api("PUT", "sys/rekey/verify", json={"key": "33" * 33,
                                                 "nonce": vnonce})
    assert r.status_code == 200
    r = srv.api("PUT", "sys/rekey/verify", json={"key": new[0],
                                                 "nonce": vnonce})
    assert r.status_code == 400         # wrong pair: progress reset
    st = c.sys.rekey_verify(new[0], vnonce)
    assert st["progress"] == 1
    st = c.sys.rekey_verify(new[2], vnonce)
    assert st["complete"] is True
    srv.restart()
    r = srv.api("PUT", "sys/unseal", json={"key": srv.keys[0]})
    r = srv.api("PUT", "sys/unseal", json={"key": srv.keys[1]})
    assert r.status_code == 400
    assert srv.unseal(new[1:])["sealed"] is False
