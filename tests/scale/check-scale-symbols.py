#!/usr/bin/env python3
"""Fails when the scale/ library needs a symbol that only the capsid
command defines: the engines must link without any cli/ (or bench/)
source.

  check-scale-symbols.py NM ARCHIVE OBJECT...

ARCHIVE is libcapsid_scale.a, OBJECT the capsid command's own object
files. Every symbol undefined in the archive must not be defined by one
of the objects.
"""
import re
import subprocess
import sys


# "FILE[:MEMBER]: [ADDRESS] TYPE NAME", as nm -A prints it.
LINE_RE = re.compile(r"^(.*?):\s*(?:[0-9a-fA-F]+\s+)?([A-Za-z?])\s+(\S+)$")


def symbols(nm, paths):
    """(defined: name -> file, undefined: names) of the files."""
    out = subprocess.run([nm, "-A"] + paths, check=True,
                         capture_output=True, text=True).stdout
    defined, undefined = {}, set()
    for line in out.splitlines():
        m = LINE_RE.match(line)
        if m is None:
            continue
        where, kind, name = m.groups()
        if kind == "U":
            undefined.add(name)
        elif kind.isupper():  # lower case: local to its object
            defined.setdefault(name, where)
    return defined, undefined


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    nm, archive, objects = argv[1], argv[2], argv[3:]
    _, needed = symbols(nm, [archive])
    offered, _ = symbols(nm, objects)
    if not needed or not offered:
        print("check-scale-symbols: nm printed no symbols to compare")
        return 1
    bad = sorted(needed & set(offered))
    for name in bad:
        print("scale/ needs %s, defined by %s" % (name, offered[name]))
    if bad:
        return 1
    print("check-scale-symbols: %d symbols undefined in %s, none from the "
          "%d objects of the command" % (len(needed), archive, len(objects)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
