"""A TLS listener with Vault's separate certificate and key files."""
import hvac
import requests

from conftest import self_signed_cert


def test_tls_listener(make_server, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    self_signed_cert(cert, key)
    srv = make_server()
    srv.restart_tls(cert, key)  # finds the port in "listening on ... (tls)"
    url = "https://127.0.0.1:%d" % srv.port
    r = requests.get(url + "/v1/sys/health", verify=str(cert), timeout=10)
    assert r.status_code == 501
    c = hvac.Client(url=url, verify=str(cert))
    res = c.sys.initialize(1, 1)
    c.sys.submit_unseal_key(res["keys"][0])
    c.token = res["root_token"]
    assert c.sys.get_encryption_key_status()["data"]["term"] == 1
    # Plain HTTP on the TLS port is refused, and the server stays up.
    try:
        requests.get("http://127.0.0.1:%d/v1/sys/health" % srv.port,
                     timeout=5)
    except requests.RequestException:
        pass
    assert requests.get(url + "/v1/sys/health", verify=str(cert),
                        timeout=10).status_code == 200
