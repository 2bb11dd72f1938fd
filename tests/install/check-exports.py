#!/usr/bin/env python3
"""check-exports.py LIBCAPSID.so CAPSID.H: the shared library exports
exactly the functions capsid.h marks CAPSID_EXTERN -- no capsid__
internal, nothing else."""
import re
import subprocess
import sys

lib, header = sys.argv[1], sys.argv[2]
nm = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                    stdout=subprocess.PIPE, text=True).stdout
exported = {line.split()[-1] for line in nm.splitlines() if line.strip()}
with open(header, encoding="utf-8") as f:
    declared = set(re.findall(r"CAPSID_EXTERN[^;(]*?\b(capsid_\w+)\s*\(",
                              f.read()))
problems = []
for name in sorted(exported - declared):
    problems.append("exported but not public: " + name)
for name in sorted(declared - exported):
    problems.append("public but not exported: " + name)
for line in problems:
    print(line)
print("%d symbols exported, %d public functions declared"
      % (len(exported), len(declared)))
sys.exit(1 if problems or not declared else 0)
