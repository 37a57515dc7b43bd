"""Every example in the man pages does what the page says.

The examples are read from the mdoc source.  Each literal display
(.Bd -literal) follows a comment line that says what it is:

  .\\" example: run SETUP   shell commands ("$ " lines, continued while a
                            line ends in a backslash or a quote is open)
                            with their expected output below them; all
                            the run blocks of a page with one SETUP run
                            in order in one shell:
                              config  a new server started from
                                      cofferd.hcl(5)'s minimal example
                              dev     the development server the block
                                      starts
                              check   no server; the configuration
                                      example before it is saved where
                                      the block says
                              none    no server
  .\\" example: config [NAME] a configuration: cofferd -n must accept it
  .\\" example: policy        a policy: sys/policies/acl must accept it
  .\\" example: skip REASON   not run (interactive, several processes...)

Inside a run block, ".\\" status: N" says that every HTTP request of
the next command answers N (otherwise each must answer below 400) and
".\\" exit: N" that the command exits N (otherwise 0).  An expected
output line matches an output line of the command in order, "..."
matching anything.  A server is started as the page says, on a free
port: 127.0.0.1:8200 in the examples becomes that port, and
/etc/coffer, /var/lib/coffer and /tmp become folders of the test's own.
A literal display without a marker fails the test.
"""
import json
import os
import re
import shlex
import signal
import subprocess
import time

import pytest
import requests

from conftest import COFFERD, ROOT, listening_port, log_tail

MAN = os.path.join(ROOT, "man")
PAGES = ["cofferd.8", "cofferd.hcl.5", "coffer-policy.5", "coffer.1"]
DEADLINE = 30.0


def unescape(line):
    return (line.replace("\\(dq", '"').replace("\\e", "\\")
            .replace("\\&", "").replace("\\-", "-"))


class Block:
    def __init__(self, page, lineno, kind, arg, lines):
        self.page = page
        self.lineno = lineno
        self.kind = kind
        self.arg = arg
        self.lines = lines          # (source line, text or annotation)

    def where(self):
        return "%s:%d" % (self.page, self.lineno)

    def text(self):
        return "".join(t + "\n" for _, t in self.lines
                       if not isinstance(t, tuple))


def parse(page):
    """The literal displays of a page with their markers, in order."""
    blocks = []
    marker = None
    with open(os.path.join(MAN, page)) as f:
        src = f.read().split("\n")
    i = 0
    while i < len(src):
        line = src[i]
        m = re.match(r'^\.\\" example: (\w+)\s*(.*)$', line)
        if m:
            marker = (m.group(1), m.group(2).strip(), i + 1)
        elif line.startswith(".Bd -literal"):
            start = i + 1
            body = []
            i += 1
            while not src[i].startswith(".Ed"):
                a = re.match(r'^\.\\" (status|exit): (\d+)$', src[i])
                if a:
                    body.append((i + 1, (a.group(1), int(a.group(2)))))
                elif not src[i].startswith('.\\"'):
                    body.append((i + 1, unescape(src[i])))
                i += 1
            if marker is None or marker[2] != start - 1:
                blocks.append(Block(page, start, "unmarked", "", body))
            else:
                blocks.append(Block(page, start, marker[0], marker[1], body))
            marker = None
        elif not line.startswith('.\\"'):
            marker = None if marker and marker[2] < i else marker
        i += 1
    return blocks


def commands(block):
    """(line, command, expected lines, status, exit) of a run block."""
    out = []
    cur = None
    note = {}
    for lineno, t in block.lines:
        if isinstance(t, tuple):
            note[t[0]] = t[1]
            continue
        if cur is not None and cur["open"]:
            cur["cmd"] += "\n" + t
        elif t.startswith("$ "):
            cur = {"line": lineno, "cmd": t[2:], "expect": [],
                   "status": note.get("status"), "exit": note.get("exit", 0)}
            note = {}
            out.append(cur)
        elif cur is not None:
            cur["expect"].append(t)
            continue
        else:
            raise AssertionError("%s:%d: output before any command" %
                                 (block.page, lineno))
        cmd = cur["cmd"]
        cur["open"] = cmd.endswith("\\") or cmd.endswith("|")
        if not cur["open"]:
            try:
                shlex.split(cmd)
            except ValueError:
                cur["open"] = True      # a quote continues on the next line
    return out


ALL = {p: parse(p) for p in PAGES}


def blocks_of(kind, arg=None):
    return [b for p in PAGES for b in ALL[p]
            if b.kind == kind and (arg is None or b.arg == arg)]


class Subst:
    def __init__(self, work, port=None):
        self.pairs = [("/etc/coffer/", os.path.join(work, "etc/coffer/")),
                      ("/var/lib/coffer", os.path.join(work, "var/lib/coffer")),
                      ("/tmp/", os.path.join(work, "tmp/"))]
        if port is not None:
            self.pairs.insert(0, ("127.0.0.1:8200", "127.0.0.1:%d" % port))
        for d in ("etc/coffer", "var/lib", "tmp"):
            os.makedirs(os.path.join(work, d), exist_ok=True)

    def __call__(self, text):
        # One pass: a replacement is never replaced again.
        table = dict(self.pairs)
        rx = "|".join(re.escape(a) for a, _ in self.pairs)
        return re.sub(rx, lambda m: table[m.group(0)], text)


def env():
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    e["PATH"] = os.path.dirname(COFFERD) + ":" + e.get("PATH", "")
    return e


def mlock_off():
    # The pages' servers lock memory; sanitizers and non-root cannot.
    return bool(os.environ.get("COFFER_SANITIZE")) or os.geteuid() != 0


class PageServer:
    def __init__(self, work, args):
        self.work = work
        self.log = os.path.join(work, "cofferd.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args, cwd=work, env=env(),
                                         stdout=subprocess.DEVNULL,
                                         stderr=log)
        deadline = time.monotonic() + DEADLINE
        self.port = listening_port(self.proc, self.log, 0, deadline)
        while time.monotonic() < deadline:
            try:
                requests.get("http://127.0.0.1:%d/v1/sys/health" % self.port,
                             timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.02)

    def read_log(self):
        return log_tail(self.log)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        assert rc == 0, "cofferd exited %d:\n%s" % (rc, self.read_log())


def start_server(work, setup, cmd):
    """Start cofferd as the page's command says, on a free port."""
    argv = shlex.split(cmd.rstrip("&").strip())
    assert argv[0] == "cofferd", cmd
    argv[0] = COFFERD
    if setup == "dev":
        argv += ["-dev-listen-address=127.0.0.1:0"]
    else:
        minimal = blocks_of("config", "minimal")
        assert len(minimal) == 1, "cofferd.hcl(5) has no minimal example"
        conf = minimal[0].text().replace("127.0.0.1:8200", "127.0.0.1:0")
        if mlock_off():
            conf += "disable_mlock = true\n"
        with open(os.path.join(work, "cofferd.hcl"), "w") as f:
            f.write(conf)
    return PageServer(work, argv + ["-v"])


def match(expect, actual):
    """Each expected line matches an actual line, in order."""
    lines = [l.strip() for l in actual.split("\n") if l.strip()]
    j = 0
    for e in expect:
        rx = re.sub(r"(\\\.){3,}", ".*", re.escape(e.strip()))
        while j < len(lines) and not re.fullmatch(rx, lines[j]):
            j += 1
        if j == len(lines):
            return e
        j += 1
    return None


def run_session(work, page, setup, blocks, before=None):
    cmds = [c for b in blocks for c in commands(b)]
    server = None
    port = None
    if cmds and re.match(r"^cofferd .*&$", cmds[0]["cmd"]):
        server = start_server(work, setup, cmds[0]["cmd"])
        port = server.port
        cmds = cmds[1:]
    sub = Subst(work, port)
    if before is not None:
        before(sub)
    # Status codes go to a file of their own, so that the output reads
    # as it would in a terminal.
    codes_file = os.path.join(work, "http-codes")
    script = ["curl() { command curl -w '%%{stderr}@@HTTP %%{http_code}\\n'"
              " \"$@\" 2>>%s; }" % shlex.quote(codes_file)]
    for i, c in enumerate(cmds):
        script.append("printf '\\n@@CMD %d\\n' | tee -a %s >&2" % (
            i, shlex.quote(codes_file)))
        script.append(sub(c["cmd"]))
        script.append("printf '\\n@@RC %d %%d\\n' $? >&2" % i)
    try:
        r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work,
                           env=env(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
        out = r.stdout.decode("utf-8", "replace")
        parts = re.split(r"\n@@CMD (\d+)\n", out)
        got = {int(parts[k]): parts[k + 1] for k in range(1, len(parts), 2)}
        with open(codes_file) if os.path.exists(codes_file) else \
                open(os.devnull) as f:
            cparts = re.split(r"\n@@CMD (\d+)\n", f.read())
        gotcodes = {int(cparts[k]): cparts[k + 1]
                    for k in range(1, len(cparts), 2)}
        for i, c in enumerate(cmds):
            where = "%s:%d: %s" % (page, c["line"], c["cmd"])
            text = got.get(i)
            assert text is not None, "%s: did not run\n%s" % (where, out)
            rc = re.search(r"@@RC %d (\d+)" % i, text)
            assert rc is not None, "%s: no exit status\n%s" % (where, text)
            assert int(rc.group(1)) == c["exit"], \
                "%s: exit %s, the page says %d\n%s" % (
                    where, rc.group(1), c["exit"], text)
            codes = [int(x) for x in re.findall(r"@@HTTP (\d+)",
                                                gotcodes.get(i, ""))]
            for code in codes:
                if c["status"] is not None:
                    assert code == c["status"], "%s: %d, page says %d\n%s" % (
                        where, code, c["status"], text)
                else:
                    assert code < 400, "%s: HTTP %d\n%s" % (where, code, text)
            body = re.sub(r"@@(HTTP|RC)[^\n]*", "", text)
            miss = match([sub(e) for e in c["expect"]], body)
            assert miss is None, "%s: no output line matches %r:\n%s" % (
                where, miss, body)
        return len(cmds)
    finally:
        if server is not None:
            server.stop()


def test_every_literal_display_is_marked():
    bad = [b.where() for p in PAGES for b in ALL[p] if b.kind == "unmarked"]
    assert not bad, ("literal displays without an '.\\\" example:' line "
                     "before them (see tests/integration/test_manpages.py): "
                     + ", ".join(bad))
    kinds = {b.kind for p in PAGES for b in ALL[p]}
    assert kinds <= {"run", "config", "policy", "skip"}, kinds


SESSIONS = sorted({(b.page, b.arg) for b in blocks_of("run")})


@pytest.mark.private
@pytest.mark.parametrize("page,setup", SESSIONS)
def test_examples_run_as_written(tmp_path, page, setup):
    blocks = [b for b in ALL[page] if b.kind == "run" and b.arg == setup]
    before = None
    if setup == "check":
        # "With the one above saved as /etc/coffer/cofferd.hcl": the
        # configuration example before the first check block.
        first = ALL[page].index(blocks[0])
        conf = [b for b in ALL[page][:first] if b.kind == "config"][-1]

        def before(sub):
            text = sub(conf.text())
            with open(sub("/etc/coffer/cofferd.hcl"), "w") as f:
                f.write(text)
            for path in re.findall(r'tls_(?:cert|key)_file\s*=\s*"([^"]+)"',
                                   text):
                with open(path, "w") as f:
                    f.write("placeholder\n")
    n = run_session(str(tmp_path), page, setup, blocks, before)
    assert n > 0


@pytest.mark.parametrize("block", blocks_of("config"),
                         ids=[b.where() for b in blocks_of("config")])
def test_configuration_examples_check(tmp_path, block):
    sub = Subst(str(tmp_path))
    text = sub(block.text())
    for path in re.findall(r'tls_(?:cert|key)_file\s*=\s*"([^"]+)"', text):
        with open(path, "w") as f:
            f.write("placeholder\n")
    name = "c.json" if text.lstrip().startswith("{") else "c.hcl"
    p = tmp_path / name
    p.write_text(text)
    r = subprocess.run([COFFERD, "-n", "-config", str(p)], cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, "%s: %s" % (block.where(), r.stderr)
    assert "configuration OK" in r.stdout


@pytest.mark.private
def test_policy_examples_are_accepted(make_server):
    srv = make_server(dev=True, dev_args=["-dev-root-token-id=root"])
    blocks = blocks_of("policy")
    assert blocks
    for i, b in enumerate(blocks):
        r = srv.api("PUT", "sys/policies/acl/manpage-%d" % i, token="root",
                    json={"policy": b.text()})
        assert r.status_code == 204, "%s: %d %s" % (b.where(), r.status_code,
                                                    r.text)


@pytest.mark.parametrize("block", blocks_of("skip"),
                         ids=[b.where() for b in blocks_of("skip")])
def test_skipped_examples(block):
    assert block.arg, "%s: a skipped example needs a reason" % block.where()
    pytest.skip("%s: %s" % (block.where(), block.arg))


@pytest.mark.parametrize("render", [["mandoc", "-Tascii"],
                                    ["groff", "-Tascii", "-mandoc", "-P-cbou"]])
def test_inline_json_survives_rendering(render):
    # Quotes inside .Ql and .Qq arguments are easily swallowed.
    r = subprocess.run(render + [os.path.join(MAN, "cofferd.hcl.5")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    text = re.sub(r"\s+", " ", re.sub(r".\x08", "", r.stdout))
    m = re.search(r'\{ ?"storage": \{.*?\}\}\}', text)
    assert m, "no inline JSON configuration in cofferd.hcl(5)"
    assert json.loads(m.group(0)) == {"storage": {"lmdb": {"path": "./data"}}}
