"""cofferd's command line and configuration handling, end to end."""
import os
import subprocess

import pytest

from conftest import COFFERD, ROOT


def run(*args, timeout=20):
    return subprocess.run([COFFERD] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def test_version_and_help():
    r = run("-version")
    assert r.returncode == 0 and r.stdout.startswith("cofferd ")
    r = run("-h")
    assert r.returncode == 0 and "usage: cofferd" in r.stdout
    r = run("-no-such-flag")
    assert r.returncode != 0 and "unknown flag" in r.stderr
    r = run()
    assert r.returncode != 0 and "-config" in r.stderr


def test_shipped_config_checks():
    r = run("-n", "-config", os.path.join(ROOT, "cofferd.hcl"))
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("text,line,word", [
    ('storage "lmdb" {\n  path = "/tmp/x"\n}\nlistener "tcp" {\n'
     '  address = "127.0.0.1:0"\n}\nbogus_key = 1\n', 7, "bogus_key"),
    ('storage "lmdb" {\n  path = "/tmp/x"\n  nope = "y"\n}\n'
     'listener "tcp" {}\n', 3, "nope"),
    ('storage "lmdb" {\n  path = "/tmp/x"\n}\nlistener "tcp" {}\n'
     'log_level = "loud"\n', 5, "log_level"),
    ('storage "lmdb" {\n  path = "/tmp/x"\n}\nlistener "tcp" {}\n'
     'default_lease_ttl = "forever"\n', 5, "default_lease_ttl"),
    ('storage "lmdb" {\n  path = "/tmp/x"\n', 3, ""),
    ('storage "nosuch" {}\nlistener "tcp" {}\n', 1, "nosuch"),
])
def test_bad_config_names_file_and_line(tmp_path, text, line, word):
    p = tmp_path / "bad.hcl"
    p.write_text(text)
    r = run("-config", str(p))
    assert r.returncode != 0
    assert "%s:%d:" % (p, line) in r.stderr, r.stderr
    assert word in r.stderr


def test_missing_storage_is_an_error(tmp_path):
    p = tmp_path / "c.hcl"
    p.write_text('listener "tcp" {}\n')
    r = run("-n", "-config", str(p))
    assert r.returncode != 0 and "storage" in r.stderr


def test_config_directory_and_json(tmp_path):
    d = tmp_path / "conf.d"
    d.mkdir()
    (d / "a.hcl").write_text('storage "file" {\n  path = "%s"\n}\n' %
                             (tmp_path / "data"))
    (d / "b.json").write_text('{"listener": {"tcp": {"address": '
                              '"127.0.0.1:0", "tls_disable": true}}}')
    r = run("-n", "-config", str(d))
    assert r.returncode == 0, r.stderr
    r = run("-n", "-config", str(d / "a.hcl"), "-config", str(d / "b.json"))
    assert r.returncode == 0, r.stderr


def test_dev_mode_prints_credentials(make_server):
    srv = make_server(dev=True, dev_args=["-dev-root-token-id=devroot"])
    out = srv.read_stdout()
    assert "Root Token: devroot" in out
    assert "Unseal Key: " in out
    r = srv.api("GET", "sys/health")
    assert r.status_code == 200
    r = srv.api("GET", "sys/key-status", token="devroot")
    assert r.status_code == 200


def _conf(tmp_path, listener, storage=None, extra=""):
    if storage is None:
        storage = 'storage "lmdb" {\n  path = "%s"\n}\n' % (tmp_path / "d")
    p = tmp_path / "c.hcl"
    p.write_text(storage + listener + "disable_mlock = true\n" + extra)
    return p


def _plain(addr):
    return 'listener "tcp" {\n  address = "%s"\n  tls_disable = true\n}\n' % addr


# Each configuration fails to start; -n must say so, naming file:line.
@pytest.mark.parametrize("case,line,word", [
    ("tls_missing_cert", 4, "tls_cert_file"),
    ("tls_missing_key", 4, "tls_key_file"),
    ("tls_two_certs", 10, "same tls_cert_file"),
    ("ipv6", 4, "IPv6"),
    ("ipv6_bracket", 4, "IPv6"),
    ("no_port", 4, "port"),
    ("port_too_big", 4, "port"),
    ("bad_ipv4", 4, "IPv4"),
    ("comma", 4, "port"),
    ("tls_suffix", 4, "port"),
    ("same_port_twice", 9, "already used"),
    ("storage_parent_missing", 1, "does not exist"),
    ("storage_not_a_dir", 1, "not a directory"),
])
def test_check_refuses_what_start_refuses(tmp_path, case, line, word):
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    cert.write_text("x")
    key.write_text("x")
    other = tmp_path / "other.pem"
    other.write_text("x")
    storage = None
    port = "127.0.0.1:%d" % (20000 + os.getpid() % 20000)

    def tls(c, k, addr="127.0.0.1:0"):
        return ('listener "tcp" {\n  address = "%s"\n'
                '  tls_cert_file = "%s"\n  tls_key_file = "%s"\n}\n' %
                (addr, c, k))
    listener = {
        "tls_missing_cert": tls(tmp_path / "nope.pem", key),
        "tls_missing_key": tls(cert, tmp_path / "nope.pem"),
        "tls_two_certs": tls(cert, key) + "\n" + tls(other, key),
        "ipv6": _plain("::1:0"),
        "ipv6_bracket": _plain("[::1]:0"),
        "no_port": _plain("127.0.0.1"),
        "port_too_big": _plain("127.0.0.1:99999"),
        "bad_ipv4": _plain("1.2.3.400:0"),
        "comma": _plain("127.0.0.1:0,127.0.0.1:0"),
        "tls_suffix": _plain("127.0.0.1:0s"),
        "same_port_twice": _plain(port) + "\n" + _plain(port)[:-1] + "\n",
    }.get(case, _plain("127.0.0.1:0"))
    if case == "storage_parent_missing":
        storage = 'storage "lmdb" { path = "%s" }\n' % (
            tmp_path / "no" / "such" / "dir")
    if case == "storage_not_a_dir":
        storage = 'storage "file" { path = "%s" }\n' % cert
    p = _conf(tmp_path, listener, storage)
    r = run("-n", "-config", str(p))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "configuration OK" not in r.stdout
    assert "%s:%d:" % (p, line) in r.stderr, r.stderr
    assert word in r.stderr, r.stderr
    # And starting refuses it too, before listening.
    r = run("-config", str(p), timeout=30)
    assert r.returncode != 0, r.stderr
    assert "listening on" not in r.stderr


def test_check_refuses_a_bad_log_level_flag(tmp_path):
    p = _conf(tmp_path, _plain("127.0.0.1:0"))
    r = run("-n", "-config", str(p))
    assert r.returncode == 0 and "configuration OK" in r.stdout, r.stderr
    r = run("-n", "-log-level=loud", "-config", str(p))
    assert r.returncode == 1 and "-log-level" in r.stderr, r.stderr
    assert "configuration OK" not in r.stdout
    r = run("-log-level=loud", "-config", str(p))
    assert r.returncode != 0


def test_check_accepts_what_start_accepts(tmp_path):
    # Names, a bare port and a storage directory yet to be made.
    p = _conf(tmp_path, _plain("localhost:0") + _plain("0"),
              storage='storage "lmdb" { path = "%s" }\n' %
              (tmp_path / "new"))
    r = run("-n", "-config", str(p))
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "new").exists()     # -n creates nothing
