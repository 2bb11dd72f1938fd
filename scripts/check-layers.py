#!/usr/bin/env python3
"""Fails when a source file includes a header from a layer above its own.

capsid's folders are layers (docs/architecture.md), bottom first:

  base < policy < capture, acl, net < sandbox < runtime < scale < serve
       < bench < cli

A file may include headers of its own folder and of folders below it;
capture, acl and net sit side by side and may not include one another.
include/capsid.h (the public API) may be included from anywhere. Headers
are included by bare name ("acl.h"), so a header's layer is the folder that
holds it; two headers of one name would make that ambiguous and are
refused too. Tests may include anything.

  scripts/check-layers.py [ROOT]     check the tree (default: the repo)
  scripts/check-layers.py --self-test
      check the tree, then plant an upward include in a copy of it and
      check that the planted copy fails (proves the check can fail)
"""
import os
import re
import shutil
import sys
import tempfile

# Rank of each layer; folders of equal rank are siblings.
LAYERS = {
    "base": 0,
    "policy": 1,
    "capture": 2, "acl": 2, "net": 2,
    "sandbox": 3,
    "runtime": 4,
    "scale": 5,
    "serve": 6,
    "bench": 7,
    "cli": 8,
}
PUBLIC = "include"
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(root):
    for layer in list(LAYERS) + [PUBLIC]:
        top = os.path.join(root, layer)
        for dirpath, _, files in os.walk(top):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield layer, os.path.join(dirpath, f)


def check(root):
    """Returns a list of violation strings (empty when the tree is clean)."""
    owner, problems = {}, []
    for layer, path in sources(root):
        if path.endswith(".h"):
            name = os.path.basename(path)
            if name in owner:
                problems.append("%s: header name also used by %s" % (
                    os.path.relpath(path, root),
                    os.path.relpath(owner[name][1], root)))
            owner[name] = (layer, path)
    for layer, path in sources(root):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE_RE.match(line)
                if m is None:
                    continue
                name = os.path.basename(m.group(1))
                if name not in owner:
                    problems.append("%s:%d: includes \"%s\", which is not a "
                                    "header of the library's layers" % (
                                        rel, lineno, m.group(1)))
                    continue
                to = owner[name][0]
                if to == PUBLIC or to == layer:
                    continue
                if layer == PUBLIC:
                    problems.append("%s:%d: the public header includes "
                                    "\"%s\" (layer %s)" % (rel, lineno, name,
                                                           to))
                elif LAYERS[to] >= LAYERS[layer]:
                    why = "a sibling layer" if LAYERS[to] == LAYERS[layer] \
                        else "a higher layer"
                    problems.append("%s:%d: layer %s includes \"%s\" from %s "
                                    "(%s)" % (rel, lineno, layer, name, to,
                                              why))
    return problems


def self_test(root):
    problems = check(root)
    if problems:
        print("\n".join(problems))
        print("check-layers: the tree itself is not clean")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "tree")
        for layer in list(LAYERS) + [PUBLIC]:
            if os.path.isdir(os.path.join(root, layer)):
                shutil.copytree(os.path.join(root, layer),
                                os.path.join(copy, layer))
        victim = os.path.join(copy, "base", "alloc.c")
        with open(victim, "a") as fh:
            fh.write('\n#include "runtime-int.h"\n')
        planted = check(copy)
        if not any("base/alloc.c" in p and "runtime-int.h" in p
                   for p in planted):
            print("check-layers: a planted upward include (base -> runtime) "
                  "was not reported")
            return 1
    print("check-layers: tree clean; a planted upward include is reported")
    return 0


def main(argv):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test(argv[2] if len(argv) > 2 else here)
    root = argv[1] if len(argv) > 1 else here
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print("check-layers: %d include(s) against the layers "
              "(docs/architecture.md)" % len(problems))
        return 1
    print("check-layers: every include points down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
