"""What the man pages call not served is not served.

cofferd(8) ends its table of paths with the Vault paths coffer does not
serve yet, and coffer-policy(5) marks root-protected paths "(not
served)".  Each such path, with a placeholder for every "*", must get
the router's 404 ("unsupported path" or "no handler for route") for a
root token: when an endpoint is built, the pages must say so, or this
test fails.
"""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MAN = os.path.join(ROOT, "man")

pytestmark = pytest.mark.private


def paths_in(line):
    """The paths of one mdoc line's Pa macros."""
    return re.findall(r"\bPa\s+([A-Za-z0-9_./*:-]+)", line)


def cofferd_not_served():
    text = open(os.path.join(MAN, "cofferd.8")).read()
    start = text.index("Not served yet, answering 404:")
    end = text.index("and every secrets engine and auth method", start)
    out = []
    for line in text[start:end].splitlines():
        out += paths_in(line)
    return out


def policy_not_served():
    """Paths of the .It lines whose description says (not served)."""
    out, pending, desc = [], [], ""
    for line in open(os.path.join(MAN, "coffer-policy.5")):
        if line.startswith(".It "):
            if desc:
                if "(not served" in desc:
                    out += pending
                pending, desc = [], ""
            pending += paths_in(line)
        elif line.startswith(".El"):
            if "(not served" in desc:
                out += pending
            pending, desc = [], ""
        elif pending:
            desc += line
    return out


def test_pages_list_some():
    assert len(cofferd_not_served()) >= 8
    assert len(policy_not_served()) >= 8


@pytest.mark.parametrize("page", ["cofferd.8", "coffer-policy.5"])
def test_not_served_answers_404(unsealed, page):
    paths = cofferd_not_served() if page == "cofferd.8" else \
        policy_not_served()
    wrong = []
    for p in paths:
        p = p.rstrip(",.").replace("*", "x")
        r = unsealed.api("GET", p, token=unsealed.root_token)
        if r.status_code != 404 or not re.search(
                r"unsupported path|no handler for route", r.text):
            wrong.append((p, r.status_code, r.text[:80]))
    assert not wrong, wrong
