"""The transit secrets engine through hvac and raw requests.

Round trips, rotations and restarts run on lmdb and file storage; the
rest on lmdb.  Every bad request must answer 4xx with errors and leave
the keys exactly as they were.
"""
import base64
import hashlib
import threading

import hvac
import pytest


def b64(s):
    return base64.b64encode(s).decode()


def unb64(s):
    return base64.b64decode(s)


@pytest.fixture
def tr(server):
    server.init_unseal()
    c = server.client(server.root_token)
    c.sys.enable_secrets_engine("transit")
    return server, c.secrets.transit


@pytest.fixture
def lt(unsealed):
    c = unsealed.client(unsealed.root_token)
    c.sys.enable_secrets_engine("transit")
    return unsealed, c.secrets.transit


def post(srv, path, body):
    return srv.api("POST", "transit/" + path, token=srv.root_token, json=body)


def key_state(srv, name):
    r = srv.api("GET", "transit/keys/" + name, token=srv.root_token)
    return r.status_code, (r.json().get("data") if r.status_code == 200
                           else None)


@pytest.mark.parametrize("ktype", ["aes256-gcm96", "chacha20-poly1305"])
def test_round_trips_across_rotations(tr, ktype):
    srv, t = tr
    t.create_key("k", key_type=ktype)
    ct1 = t.encrypt_data("k", b64(b"first"))["data"]["ciphertext"]
    assert ct1.startswith("vault:v1:")
    # 12-byte nonce, the plaintext, a 16-byte tag.
    assert len(unb64(ct1.split(":", 2)[2])) == 12 + 5 + 16
    t.rotate_key("k")
    ct2 = t.encrypt_data("k", b64(b"second"))["data"]["ciphertext"]
    assert ct2.startswith("vault:v2:")
    # An older version can still be asked for.
    old = t.encrypt_data("k", b64(b"third"), key_version=1)["data"]
    assert old["ciphertext"].startswith("vault:v1:")
    assert old["key_version"] == 1
    assert t.decrypt_data("k", ct1)["data"]["plaintext"] == b64(b"first")
    assert t.decrypt_data("k", ct2)["data"]["plaintext"] == b64(b"second")
    re = t.rewrap_data("k", ct1)["data"]
    assert re["ciphertext"].startswith("vault:v2:") and re["key_version"] == 2
    assert t.decrypt_data("k", re["ciphertext"])["data"]["plaintext"] == \
        b64(b"first")
    info = t.read_key("k")["data"]
    assert info["type"] == ktype and info["latest_version"] == 2
    assert info["name"] == "k" and info["deletion_allowed"] is False
    assert info["supports_encryption"] and info["supports_decryption"]
    assert not info["supports_signing"]
    assert set(info["keys"]) == {"1", "2"}
    assert all(isinstance(v, int) for v in info["keys"].values())
    # Empty plaintext is a plaintext too.
    e = t.encrypt_data("k", "")["data"]["ciphertext"]
    assert t.decrypt_data("k", e)["data"]["plaintext"] == ""
    # Survives a restart (the cache is rebuilt from storage).
    srv.restart()
    srv.unseal()
    assert t.decrypt_data("k", ct1)["data"]["plaintext"] == b64(b"first")
    assert t.decrypt_data("k", ct2)["data"]["plaintext"] == b64(b"second")
    assert t.read_key("k")["data"]["latest_version"] == 2


def test_min_versions(lt):
    srv, t = lt
    t.create_key("k", key_type="chacha20-poly1305")
    ct1 = t.encrypt_data("k", b64(b"one"))["data"]["ciphertext"]
    t.rotate_key("k")
    t.rotate_key("k")
    ct3 = t.encrypt_data("k", b64(b"three"))["data"]["ciphertext"]
    t.update_key_configuration("k", min_decryption_version=2)
    assert t.read_key("k")["data"]["min_decryption_version"] == 2
    for path, body in [("decrypt/k", {"ciphertext": ct1}),
                       ("rewrap/k", {"ciphertext": ct1})]:
        r = post(srv, path, body)
        assert r.status_code == 400
        assert r.json()["errors"] == [
            "ciphertext or signature version is disallowed by policy "
            "(too old)"]
    assert t.decrypt_data("k", ct3)["data"]["plaintext"] == b64(b"three")
    # Lowering it again brings the old ciphertext back: a policy, not
    # an erasure.
    t.update_key_configuration("k", min_decryption_version=1)
    assert t.decrypt_data("k", ct1)["data"]["plaintext"] == b64(b"one")
    # min_encryption_version refuses older versions for encryption.
    t.update_key_configuration("k", min_encryption_version=3)
    r = post(srv, "encrypt/k", {"plaintext": b64(b"x"), "key_version": 2})
    assert r.status_code == 400 and r.json()["errors"] == [
        "requested version for encryption is less than the minimum "
        "encryption key version"]
    r = post(srv, "encrypt/k", {"plaintext": b64(b"x"), "key_version": 9})
    assert r.status_code == 400 and "higher than the latest" in \
        r.json()["errors"][0]
    # Invalid settings change nothing.
    before = key_state(srv, "k")
    for body, msg in [
            ({"min_decryption_version": 4},
             "cannot set min decryption version of 4, latest key version "
             "is 3"),
            ({"min_decryption_version": -1},
             "min decryption version cannot be negative"),
            ({"min_encryption_version": 5},
             "cannot set min encryption version of 5, latest key version "
             "is 3"),
            ({"min_decryption_version": 3, "min_encryption_version": 2},
             "requested minimum encryption version 2 is less than "
             "requested minimum decryption version 3")]:
        r = post(srv, "keys/k/config", body)
        assert r.status_code == 400 and r.json()["errors"] == [msg], r.text
    assert key_state(srv, "k") == before
    r = post(srv, "keys/nope/config", {"deletion_allowed": True})
    assert r.status_code == 400
    assert r.json()["errors"] == ["no existing key named nope could be found"]
    r = post(srv, "keys/nope/rotate", {})
    assert r.status_code == 400 and r.json()["errors"] == ["key not found"]


def test_batch(lt):
    srv, t = lt
    items = [{"plaintext": b64(b"a"), "reference": "r1"},
             {"plaintext": b64(b"b")}]
    res = t.encrypt_data("auto", plaintext=None,
                         batch_input=items)["data"]["batch_results"]
    assert [r["reference"] for r in res] == ["r1", ""]
    assert all(r["ciphertext"].startswith("vault:v1:") for r in res)
    assert all(r["key_version"] == 1 for r in res)
    dec = t.decrypt_data("auto", ciphertext=None, batch_input=[
        {"ciphertext": res[1]["ciphertext"], "reference": "x"},
        {"ciphertext": res[0]["ciphertext"]}])["data"]["batch_results"]
    assert dec[0] == {"plaintext": b64(b"b"), "reference": "x"}
    assert dec[1]["plaintext"] == b64(b"a")
    t.rotate_key("auto")
    rw = t.rewrap_data("auto", ciphertext=None, batch_input=[
        {"ciphertext": r["ciphertext"]} for r in res])["data"]
    assert all(r["ciphertext"].startswith("vault:v2:")
               for r in rw["batch_results"])
    # A failed item: 400 with every item's result, as Vault 1.14.
    r = post(srv, "encrypt/auto", {"batch_input": [
        {"plaintext": b64(b"ok"), "reference": "good"},
        {"plaintext": "***", "reference": "bad"}]})
    assert r.status_code == 400
    out = r.json()["data"]["batch_results"]
    assert out[0]["ciphertext"].startswith("vault:v2:")
    assert out[0]["reference"] == "good"
    assert out[1]["reference"] == "bad"
    assert out[1]["error"].startswith("illegal base64 data at input byte")
    assert "ciphertext" not in out[1]
    # partial_failure_response_code applies when something succeeded.
    r = post(srv, "decrypt/auto", {"partial_failure_response_code": 200,
                                   "batch_input": [
                                       {"ciphertext": out[0]["ciphertext"]},
                                       {"ciphertext": "vault:v1:bm9wZQ=="}]})
    assert r.status_code == 200
    got = r.json()["data"]["batch_results"]
    assert got[0]["plaintext"] == b64(b"ok")
    assert got[1]["error"] == "invalid ciphertext length"
    r = post(srv, "decrypt/auto", {"partial_failure_response_code": 200,
                                   "batch_input": [{"ciphertext": "junk"}]})
    assert r.status_code == 400
    assert r.json()["data"]["batch_results"][0]["error"] == \
        "invalid ciphertext: no prefix"
    for body, msg in [({"batch_input": []}, "missing batch input to process"),
                      ({"batch_input": ["x"]},
                       "failed to parse batch input: [0] expected a map")]:
        r = post(srv, "encrypt/auto", body)
        assert r.status_code == 400 and r.json()["errors"] == [msg]


def test_associated_data(lt):
    srv, t = lt
    t.create_key("ad")
    r = post(srv, "encrypt/ad", {"plaintext": b64(b"p"),
                                 "associated_data": b64(b"row 7")})
    ct = r.json()["data"]["ciphertext"]
    ok = post(srv, "decrypt/ad", {"ciphertext": ct,
                                  "associated_data": b64(b"row 7")})
    assert ok.json()["data"]["plaintext"] == b64(b"p")
    for ad in [b64(b"row 8"), None]:
        bad = post(srv, "decrypt/ad", {"ciphertext": ct, "associated_data": ad})
        assert bad.status_code == 400
        assert bad.json()["errors"] == ["cipher: message authentication failed"]


def test_delete_rules_and_list(tr):
    srv, t = tr
    t.create_key("gone")
    t.create_key("kept")
    ct = t.encrypt_data("gone", b64(b"x"))["data"]["ciphertext"]
    assert t.list_keys()["data"]["keys"] == ["gone", "kept"]
    r = srv.api("DELETE", "transit/keys/gone", token=srv.root_token)
    assert r.status_code == 400 and r.json()["errors"] == [
        "error deleting policy gone: deletion is not allowed for this key"]
    # Nothing changed: the key still decrypts.
    assert t.decrypt_data("gone", ct)["data"]["plaintext"] == b64(b"x")
    t.update_key_configuration("gone", deletion_allowed=True)
    assert t.read_key("gone")["data"]["deletion_allowed"] is True
    t.delete_key("gone")
    with pytest.raises(hvac.exceptions.InvalidPath):
        t.read_key("gone")
    assert t.list_keys()["data"]["keys"] == ["kept"]
    r = post(srv, "decrypt/gone", {"ciphertext": ct})
    assert r.status_code == 400
    assert r.json()["errors"] == ["encryption key not found"]
    r = srv.api("DELETE", "transit/keys/gone", token=srv.root_token)
    assert r.status_code == 400 and "not found" in r.json()["errors"][0]
    # A new key of the same name is a new key: no stale cached material.
    t.create_key("gone")
    r = post(srv, "decrypt/gone", {"ciphertext": ct})
    assert r.status_code == 400
    assert r.json()["errors"] == ["cipher: message authentication failed"]
    srv.restart()
    srv.unseal()
    assert t.list_keys()["data"]["keys"] == ["gone", "kept"]


def test_sign_verify(lt):
    srv, t = lt
    ed = pytest.importorskip(
        "cryptography.hazmat.primitives.asymmetric.ed25519")
    t.create_key("ed", key_type="ed25519")
    info = t.read_key("ed")["data"]
    assert info["supports_signing"] and not info["supports_encryption"]
    v1 = info["keys"]["1"]
    assert v1["name"] == "ed25519" and "T" in v1["creation_time"]
    pk = ed.Ed25519PublicKey.from_public_bytes(unb64(v1["public_key"]))
    s = t.sign_data("ed", b64(b"msg"))["data"]
    assert s["signature"].startswith("vault:v1:") and s["key_version"] == 1
    # A plain Ed25519 signature over the input, checked independently.
    pk.verify(unb64(s["signature"].split(":", 2)[2]), b"msg")
    assert t.verify_signed_data("ed", b64(b"msg"),
                                signature=s["signature"])["data"]["valid"]
    assert not t.verify_signed_data("ed", b64(b"msh"),
                                    signature=s["signature"])["data"]["valid"]
    t.rotate_key("ed")
    s2 = t.sign_data("ed", b64(b"msg"))["data"]["signature"]
    assert s2.startswith("vault:v2:")
    pk2 = unb64(t.read_key("ed")["data"]["keys"]["2"]["public_key"])
    ed.Ed25519PublicKey.from_public_bytes(pk2).verify(
        unb64(s2.split(":", 2)[2]), b"msg")
    t.update_key_configuration("ed", min_decryption_version=2)
    r = post(srv, "verify/ed", {"input": b64(b"msg"),
                                "signature": s["signature"]})
    assert r.status_code == 400 and "too old" in r.json()["errors"][0]
    # Batch signing and verification.
    r = post(srv, "sign/ed", {"batch_input": [{"input": b64(b"a")},
                                              {"input": b64(b"b"),
                                               "reference": "b"}]})
    sigs = r.json()["data"]["batch_results"]
    assert sigs[1]["reference"] == "b"
    r = post(srv, "verify/ed", {"batch_input": [
        {"input": b64(b"a"), "signature": sigs[0]["signature"]},
        {"input": b64(b"a"), "signature": sigs[1]["signature"]}]})
    assert [x["valid"] for x in r.json()["data"]["batch_results"]] == \
        [True, False]
    # Wrong types for the operation.
    r = post(srv, "encrypt/ed", {"plaintext": b64(b"x")})
    assert r.status_code == 400 and r.json()["errors"] == [
        "message encryption not supported for key type ed25519"]
    t.create_key("aes")
    r = post(srv, "sign/aes", {"input": b64(b"x")})
    assert r.status_code == 400 and r.json()["errors"] == [
        "key type aes256-gcm96 does not support signing"]


def test_hmac(lt):
    srv, t = lt
    t.create_key("h")
    for algo, n in (("sha2-256", 32), ("sha2-512", 64)):
        mac = t.generate_hmac("h", b64(b"data"), algorithm=algo)["data"]["hmac"]
        assert mac.startswith("vault:v1:")
        assert len(unb64(mac.split(":", 2)[2])) == n
        assert t.verify_signed_data("h", b64(b"data"), hmac=mac,
                                    hash_algorithm=algo)["data"]["valid"]
        r = post(srv, "verify/h/" + algo, {"input": b64(b"datb"), "hmac": mac})
        assert r.json()["data"]["valid"] is False
        # The algorithm is part of the check.
        other = "sha2-512" if algo == "sha2-256" else "sha2-256"
        r = post(srv, "verify/h/" + other, {"input": b64(b"data"),
                                            "hmac": mac})
        assert r.json()["data"]["valid"] is False
    # Deterministic per key version; a new version gives a new HMAC.
    m1 = t.generate_hmac("h", b64(b"data"))["data"]["hmac"]
    assert t.generate_hmac("h", b64(b"data"))["data"]["hmac"] == m1
    t.rotate_key("h")
    m2 = t.generate_hmac("h", b64(b"data"))["data"]["hmac"]
    assert m2.startswith("vault:v2:") and m2[9:] != m1[9:]
    assert t.verify_signed_data("h", b64(b"data"), hmac=m1)["data"]["valid"]
    r = post(srv, "hmac/h", {"batch_input": [{"input": b64(b"data")},
                                             {"input": "%%%"}]})
    assert r.status_code == 400
    res = r.json()["data"]["batch_results"]
    assert res[0]["hmac"] == m2 and "unable to decode input" in res[1]["error"]
    for path, body in [("hmac/h/md5", {"input": b64(b"x")}),
                       ("hmac/nope", {"input": b64(b"x")}),
                       ("verify/h", {"input": b64(b"x")}),
                       ("verify/h", {"input": b64(b"x"), "hmac": "vault:x"})]:
        r = post(srv, path, body)
        assert r.status_code == 400 and r.json()["errors"], (path, r.text)


def test_hash_random_datakey(lt):
    srv, t = lt
    d = b"hello"
    s = t.hash_data(b64(d), algorithm="sha2-256")["data"]["sum"]
    assert s == hashlib.sha256(d).hexdigest()      # hex by default
    s = t.hash_data(b64(d), algorithm="sha2-512",
                    output_format="base64")["data"]["sum"]
    assert unb64(s) == hashlib.sha512(d).digest()
    r = post(srv, "hash/sha2-512", {"input": b64(d), "format": "hex"})
    assert r.json()["data"]["sum"] == hashlib.sha512(d).hexdigest()
    for path, body in [("hash/sha3-999", {"input": b64(d)}),
                       ("hash", {"input": b64(d), "format": "oct"}),
                       ("hash", {"input": "not base64"}),
                       ("random", {"bytes": 0}),
                       ("random", {"bytes": 128 * 1024 + 1}),
                       ("random", {"format": "oct"}),
                       ("random/abc", {})]:
        r = post(srv, path, body)
        assert r.status_code == 400 and r.json()["errors"], (path, r.text)
    rnd = t.generate_random_bytes(n_bytes=16, output_format="hex")["data"]
    assert len(bytes.fromhex(rnd["random_bytes"])) == 16
    assert len(unb64(t.generate_random_bytes()["data"]["random_bytes"])) == 32
    r = post(srv, "random/64", {})
    assert len(unb64(r.json()["data"]["random_bytes"])) == 64
    r = post(srv, "random/platform/8", {"format": "hex"})
    assert len(r.json()["data"]["random_bytes"]) == 16
    t.create_key("dk")
    for bits in (128, 256, 512):
        dk = t.generate_data_key("dk", key_type="plaintext", bits=bits)["data"]
        assert len(unb64(dk["plaintext"])) == bits // 8
        assert t.decrypt_data("dk", dk["ciphertext"])["data"]["plaintext"] \
            == dk["plaintext"]
    wk = t.generate_data_key("dk", key_type="wrapped")["data"]
    assert "plaintext" not in wk and wk["key_version"] == 1
    assert len(unb64(t.decrypt_data("dk", wk["ciphertext"])["data"]
                     ["plaintext"])) == 32
    for path, body in [("datakey/plaintext/dk", {"bits": 64}),
                       ("datakey/other/dk", {}),
                       ("datakey/plaintext/nope", {})]:
        r = post(srv, path, body)
        assert r.status_code == 400 and r.json()["errors"], (path, r.text)


@pytest.mark.parametrize("body,msg", [
    ({"ciphertext": "vault:v1:!!!notbase64"},
     "invalid ciphertext: could not decode base64"),
    ({"ciphertext": "garbage"}, "invalid ciphertext: no prefix"),
    ({"ciphertext": "vault:v1"}, "invalid ciphertext: wrong number of fields"),
    ({"ciphertext": "vault:vx:AAAA"},
     "invalid ciphertext: version number could not be decoded"),
    ({"ciphertext": "vault:v99:aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ="},
     "invalid ciphertext: version is too new"),
    ({"ciphertext": "vault:v1:" + b64(b"forty bytes of nonce, data and a tag...")},
     "cipher: message authentication failed"),
    ({"ciphertext": "vault:v1:" + b64(b"short")}, "invalid ciphertext length"),
    ({}, "missing ciphertext to decrypt"),
])
def test_bad_ciphertexts(lt, body, msg):
    srv, t = lt
    t.create_key("k")
    before = key_state(srv, "k")
    r = post(srv, "decrypt/k", body)
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == [msg]
    assert key_state(srv, "k") == before


def test_bad_requests_change_nothing(lt):
    srv, t = lt
    t.create_key("k")
    before = key_state(srv, "k")
    for path, body, msg in [
            ("keys/x", {"type": "rsa-9999"}, "unknown key type rsa-9999"),
            ("keys/x", {"type": "aes128-gcm96"}, "unknown key type"),
            ("keys/x", {"derived": True}, "not supported"),
            ("keys/x", {"auto_rotate_period": "24h"}, "not supported"),
            ("encrypt/x", {"plaintext": b64(b"p"), "type": "nope"},
             "unknown key type nope"),
            ("encrypt/x", {"plaintext": b64(b"p"), "context": b64(b"c")},
             "not supported"),
            ("encrypt/k", {"plaintext": "not base64!"},
             "illegal base64 data at input byte 3"),
            ("encrypt/k", {}, "missing plaintext to encrypt"),
            ("encrypt/k", {"plaintext": b64(b"p"), "key_version": -1},
             "requested version for encryption is negative")]:
        r = post(srv, path, body)
        assert r.status_code == 400, (path, r.text)
        assert msg in r.json()["errors"][0], (path, r.text)
    assert key_state(srv, "x") == (404, None)
    assert key_state(srv, "k") == before
    assert t.list_keys()["data"]["keys"] == ["k"]
    # Paths and operations that do not exist.
    for method, path, code in [("POST", "keys/bad%20name", 404),
                               ("POST", "keys/-dash", 404),
                               ("POST", "export/encryption-key/k", 404),
                               ("GET", "encrypt/k", 405),
                               ("DELETE", "keys/k/rotate", 405)]:
        r = srv.api(method, "transit/" + path, token=srv.root_token)
        assert r.status_code == code, (method, path, r.text)
    # Writing an existing key keeps it and says so.
    r = post(srv, "keys/k", {"type": "chacha20-poly1305"})
    assert r.status_code == 200
    assert r.json()["warnings"] == ["key k already existed"]
    assert r.json()["data"]["type"] == "aes256-gcm96"
    assert key_state(srv, "k") == before


def test_upsert_needs_create(lt):
    srv, t = lt
    c = srv.client(srv.root_token)
    c.sys.create_or_update_policy(
        "enc", 'path "transit/encrypt/*" { capabilities = ["update"] }')
    c.sys.create_or_update_policy(
        "mk", 'path "transit/encrypt/*" { capabilities = ["create"] }')
    enc = c.auth.token.create(policies=["enc"])["auth"]["client_token"]
    mk = c.auth.token.create(policies=["mk"])["auth"]["client_token"]
    t.create_key("there")
    body = {"plaintext": b64(b"p")}
    assert srv.api("POST", "transit/encrypt/there", token=enc,
                   json=body).status_code == 200
    # The key is missing: encrypting would create it, which needs create.
    r = srv.api("POST", "transit/encrypt/new", token=enc, json=body)
    assert r.status_code == 403
    assert key_state(srv, "new") == (404, None)
    r = srv.api("POST", "transit/encrypt/new", token=mk,
                json=dict(body, type="chacha20-poly1305"))
    assert r.status_code == 200
    assert key_state(srv, "new")[1]["type"] == "chacha20-poly1305"
    # Now it exists, create alone is not enough.
    assert srv.api("POST", "transit/encrypt/new", token=mk,
                   json=body).status_code == 403


def test_concurrent_use_and_rotation(lt):
    srv, t = lt
    t.create_key("c", key_type="chacha20-poly1305")
    out, errors = [], []

    def worker(i):
        for j in range(15):
            r = post(srv, "encrypt/c", {"plaintext": b64(b"%d-%d" % (i, j))})
            if r.status_code != 200:
                errors.append(r.text)
            else:
                out.append((b"%d-%d" % (i, j), r.json()["data"]["ciphertext"]))

    def rotator():
        for _ in range(5):
            if post(srv, "keys/c/rotate", {}).status_code != 200:
                errors.append("rotate")

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    ts.append(threading.Thread(target=rotator))
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    assert errors == []
    assert t.read_key("c")["data"]["latest_version"] == 6
    res = t.decrypt_data("c", ciphertext=None, batch_input=[
        {"ciphertext": ct} for _, ct in out])["data"]["batch_results"]
    assert [unb64(r["plaintext"]) for r in res] == [p for p, _ in out]


def test_sealed_and_unmounted(lt):
    srv, t = lt
    t.create_key("k")
    ct = t.encrypt_data("k", b64(b"x"))["data"]["ciphertext"]
    c = srv.client(srv.root_token)
    c.sys.seal()
    r = post(srv, "decrypt/k", {"ciphertext": ct})
    assert r.status_code == 503
    srv.unseal()
    assert t.decrypt_data("k", ct)["data"]["plaintext"] == b64(b"x")
    # Unmounting removes the keys; a new mount starts empty.
    c.sys.disable_secrets_engine("transit")
    c.sys.enable_secrets_engine("transit")
    assert key_state(srv, "k") == (404, None)
