#!/usr/bin/env python3
#
# layers.py -- check that coffer's includes point down its layers.
#
#	python3 tests/layers.py [-v] [ROOT]
#
# Every folder of the daemon is a layer; a file may include headers of
# its own layer and of the layers below it, never of one above.  From
# the bottom:
#
#	util/		leaf helpers: buf, err, log, hcl, JSON, time, ids
#	backends/	the storage vtable and its backends
#	seal/		Shamir and the barrier (the seal's cryptography)
#	core/		request model, core state machine, router
#	auth/		tokens, policies, ACL, auth methods
#	engines/	secrets engines
#	server/		the daemon's wiring: main, HTTP, sys/ handlers, HA
#
# cli/ is apart: the client may include cli/ and util/ headers only.
# Includes are by bare name ("buf.h"), found as the compiler finds them:
# the including file's own folder first, then the folders in the -I
# order of the Makefile.  "config.h" (written by ./configure) is allowed
# everywhere.
#
# A module is a pair x.c + x.h.  Besides the layer rule, no module may
# reach itself through other modules' includes (a circle), even inside
# one layer: a circle is two modules that can only be understood, and
# tested, together.
#
# Exit status 0 if every include is allowed, 1 otherwise, with one line
# per offence.  tests/ is not checked: a test may include what it tests.

import os
import re
import sys

LAYERS = ["util", "backends", "seal", "core", "auth", "engines", "server"]
# Where the compiler looks for "x.h" after the including file's folder.
SEARCH = [".", "server", "backends", "auth", "engines", "util", "seal",
          "core"]
# Folders outside the stack, and the layers each may include.
APART = {"cli": ["cli", "util"]}
ANYWHERE = {"config.h"}
# Module edges left out of the circle check, each with its reason.
EXCUSED = {
    # storage.c is compiled a second time, with COFFER_FAULTSTORE=1, for
    # bin/cofferd-fault alone: there it hands every store it opens to
    # the test-only faultstore, which wraps a storage.  A test hook, not
    # a dependency of cofferd.
    ("backends/storage", "backends/faultstore"),
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(root, folder):
    d = os.path.join(root, folder)
    if not os.path.isdir(d):
        return []
    return sorted(f for f in os.listdir(d)
                  if f.endswith(".c") or f.endswith(".h"))


def resolve(root, folder, name):
    """The folder holding header name as included from folder, or None."""
    for d in [folder] + SEARCH:
        if os.path.isfile(os.path.join(root, d, name)):
            return d
    return None


def allowed(src, dst):
    if src in APART:
        return dst in APART[src]
    if dst not in LAYERS:
        return False
    return LAYERS.index(dst) <= LAYERS.index(src)


def circles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, onstack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        onstack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in onstack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                onstack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    root = args[0] if args else "."
    errors = []
    graph = {}
    # Which include lines make each module edge, to name them on a circle.
    why = {}

    for folder in LAYERS + sorted(APART):
        for f in sources(root, folder):
            path = os.path.join(folder, f)
            mod = folder + "/" + f[:-2]
            graph.setdefault(mod, set())
            with open(os.path.join(root, path), encoding="utf-8") as fp:
                for lineno, line in enumerate(fp, 1):
                    m = INCLUDE.match(line)
                    if m is None:
                        continue
                    name = m.group(1)
                    if name in ANYWHERE:
                        continue
                    dst = resolve(root, folder, name)
                    where = "%s:%d: " % (path, lineno)
                    if dst is None:
                        errors.append(where + '"%s" not found' % name)
                        continue
                    if not allowed(folder, dst):
                        errors.append(where + '"%s" is in %s/, a layer '
                                      'above %s/' % (name, dst, folder)
                                      if dst in LAYERS and folder in LAYERS
                                      else where + '%s/ may not include '
                                      '%s/%s' % (folder, dst, name))
                    if not name.endswith(".h"):
                        errors.append(where + "includes a non-header")
                        continue
                    dmod = dst + "/" + os.path.basename(name)[:-2]
                    if dmod != mod and (mod, dmod) not in EXCUSED:
                        graph[mod].add(dmod)
                        why.setdefault((mod, dmod), where.rstrip(": "))

    for comp in circles(graph):
        members = set(comp)
        edges = sorted("%s -> %s (%s)" % (a, b, why[(a, b)])
                       for a in comp for b in graph[a] if b in members)
        errors.append("circle between %s:\n\t%s" %
                      (", ".join(comp), "\n\t".join(edges)))

    for e in errors:
        print("layers: " + e)
    if verbose or not errors:
        n = sum(len(v) for v in graph.values())
        print("layers: %d modules, %d includes between them, %s" %
              (len(graph), n, "no upward include, no circle"
               if not errors else "%d offences" % len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
