"""Transit through hvac, on lmdb and file storage."""
import base64

import hvac
import pytest


def b64(s):
    return base64.b64encode(s).decode()


@pytest.fixture
def tr(server):
    server.init_unseal()
    c = server.client(server.root_token)
    c.sys.enable_secrets_engine("transit")
    return server, c.secrets.transit


@pytest.mark.parametrize("ktype", ["aes256-gcm96", "chacha20-poly1305"])
def test_round_trips_across_rotations(tr, ktype):
    srv, t = tr
    t.create_key("k", key_type=ktype)
    ct1 = t.encrypt_data("k", b64(b"first"))["data"]["ciphertext"]
    assert ct1.startswith("vault:v1:")
    t.rotate_key("k")
    ct2 = t.encrypt_data("k", b64(b"second"))["data"]["ciphertext"]
    assert ct2.startswith("vault:v2:")
    assert t.decrypt_data("k", ct1)["data"]["plaintext"] == b64(b"first")
    assert t.decrypt_data("k", ct2)["data"]["plaintext"] == b64(b"second")
    re = t.rewrap_data("k", ct1)["data"]["ciphertext"]
    assert re.startswith("vault:v2:")
    assert t.decrypt_data("k", re)["data"]["plaintext"] == b64(b"first")
    info = t.read_key("k")["data"]
    assert info["type"] == ktype and info["latest_version"] == 2
    assert set(info["keys"]) == {"1", "2"}
    # min_decryption_version locks out the old version.
    t.update_key_configuration("k", min_decryption_version=2)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        t.decrypt_data("k", ct1)
    # Survives a restart.
    srv.restart()
    srv.unseal()
    assert t.decrypt_data("k", ct2)["data"]["plaintext"] == b64(b"second")


def test_batch(tr):
    srv, t = tr
    items = [{"plaintext": b64(b"a")}, {"plaintext": b64(b"b")},
             {"plaintext": "***"}]
    res = t.encrypt_data("auto", plaintext=None,
                         batch_input=items)["data"]["batch_results"]
    assert res[0]["ciphertext"].startswith("vault:v1:")
    assert "error" in res[2]
    dec = t.decrypt_data("auto", ciphertext=None, batch_input=[
        {"ciphertext": res[0]["ciphertext"]},
        {"ciphertext": res[1]["ciphertext"]},
        {"ciphertext": "vault:v1:bm9wZQ=="}])["data"]["batch_results"]
    assert dec[0]["plaintext"] == b64(b"a") and dec[1]["plaintext"] == b64(b"b")
    assert "error" in dec[2]


def test_delete_rules_and_list(tr):
    srv, t = tr
    t.create_key("gone")
    assert "gone" in t.list_keys()["data"]["keys"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        t.delete_key("gone")
    t.update_key_configuration("gone", deletion_allowed=True)
    t.delete_key("gone")
    with pytest.raises(hvac.exceptions.InvalidPath):
        t.read_key("gone")


def test_sign_verify_hmac_hash_random_datakey(tr):
    srv, t = tr
    t.create_key("ed", key_type="ed25519")
    pk = t.read_key("ed")["data"]["keys"]["1"]["public_key"]
    assert len(base64.b64decode(pk)) == 32
    sig = t.sign_data("ed", b64(b"msg"))["data"]["signature"]
    assert t.verify_signed_data("ed", b64(b"msg"), signature=sig)["data"]["valid"]
    assert not t.verify_signed_data("ed", b64(b"msh"), signature=sig)["data"]["valid"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        t.encrypt_data("ed", b64(b"x"))
    t.create_key("h")
    for algo in ("sha2-256", "sha2-512"):
        mac = t.generate_hmac("h", b64(b"data"), algorithm=algo)["data"]["hmac"]
        assert mac.startswith("vault:v1:")
        assert t.verify_signed_data("h", b64(b"data"), hmac=mac,
                                    hash_algorithm=algo)["data"]["valid"]
        r = srv.api("POST", "transit/verify/h/" + algo, token=srv.root_token,
                    json={"input": b64(b"datb"), "hmac": mac})
        assert r.json()["data"]["valid"] is False
    s = t.hash_data(b64(b"hello"), algorithm="sha2-256",
                    output_format="hex")["data"]["sum"]
    assert s == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    rnd = t.generate_random_bytes(n_bytes=16, output_format="hex")["data"]
    assert len(rnd["random_bytes"]) == 32
    dk = t.generate_data_key("h", key_type="plaintext", bits=256)["data"]
    assert len(base64.b64decode(dk["plaintext"])) == 32
    assert t.decrypt_data("h", dk["ciphertext"])["data"]["plaintext"] == dk["plaintext"]
    wk = t.generate_data_key("h", key_type="wrapped")["data"]
    assert "plaintext" not in wk


@pytest.mark.parametrize("body", [
    {"ciphertext": "vault:v1:!!!notbase64"},
    {"ciphertext": "garbage"},
    {"ciphertext": "vault:v99:aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ="},
    {},
])
def test_bad_ciphertexts(tr, body):
    srv, t = tr
    t.create_key("k")
    r = srv.api("POST", "transit/decrypt/k", token=srv.root_token, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["errors"]


def test_bad_key_type_changes_nothing(tr):
    srv, t = tr
    r = srv.api("POST", "transit/keys/x", token=srv.root_token,
                json={"type": "rsa-9999"})
    assert r.status_code == 400 and "unknown key type" in r.json()["errors"][0]
    r = srv.api("GET", "transit/keys/x", token=srv.root_token)
    assert r.status_code == 404
    r = srv.api("POST", "transit/encrypt/k2", token=srv.root_token,
                json={"plaintext": "not base64!"})
    assert r.status_code == 400
