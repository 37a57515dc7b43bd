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
