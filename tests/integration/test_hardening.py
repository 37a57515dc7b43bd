"""Process hardening: not dumpable, memory locked unless disable_mlock."""
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import COFFERD, Server


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_not_dumpable():
    """Another process of the same user cannot read cofferd's /proc files
    or its memory: the kernel gives them to root once a process is not
    dumpable."""
    nobody = pwd.getpwnam("nobody")
    workdir = tempfile.mkdtemp(prefix="coffer-dump-", dir="/tmp")
    os.chmod(workdir, 0o755)
    os.chown(workdir, nobody.pw_uid, nobody.pw_gid)
    srv = Server(workdir, storage="inmem")
    os.chown(srv.confpath, nobody.pw_uid, nobody.pw_gid)
    os.chmod(srv.confpath, 0o600)
    args = [COFFERD, "-config", srv.confpath, "-v"]
    log = open(srv.logpath, "wb")
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=log,
        preexec_fn=lambda: (os.setgid(nobody.pw_gid),
                            os.setuid(nobody.pw_uid)))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "listening on" in srv.read_log():
                break
            assert proc.poll() is None, srv.read_log()
            time.sleep(0.05)
        st = os.stat("/proc/%d/environ" % proc.pid)
        assert st.st_uid == 0, "cofferd is dumpable"
        probe = subprocess.run(
            ["/usr/bin/python3", "-c",
             "open('/proc/%d/environ','rb').read()" % proc.pid],
            preexec_fn=lambda: (os.setgid(nobody.pw_gid),
                                os.setuid(nobody.pw_uid)),
            capture_output=True)
        assert probe.returncode != 0
        assert b"Permission denied" in probe.stderr
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        log.close()
        shutil.rmtree(workdir)


@pytest.mark.skipif(bool(os.environ.get("COFFER_SANITIZE")),
                    reason="the sanitizers' shadow memory cannot be locked")
def test_memory_locked_unless_disabled(make_server):
    srv = make_server(storage="inmem")
    assert status_field(srv.pid, "VmLck") == "0 kB"
    srv.stop()
    srv.extra = "disable_mlock = false\n"
    srv.write_config()
    # write_config appends extra after the shipped disable_mlock = true
    with open(srv.confpath) as f:
        conf = f.read().replace("disable_mlock = true\n", "")
    with open(srv.confpath, "w") as f:
        f.write(conf)
    srv.start()
    srv.init_unseal()
    locked = int(status_field(srv.pid, "VmLck").split()[0])
    assert locked > 1024, "VmLck %d kB" % locked
