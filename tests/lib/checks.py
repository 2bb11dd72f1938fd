"""What the Python test scripts share: a failed check, the way a script
reports it and exits, and taking down a private elevated set-up.

A script finds this module with
    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "lib"))
"""
import subprocess
import sys


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run_main(main):
    """Exits with main()'s status; a Failure prints "FAIL <what>" and exits
    1, as ctest shows it."""
    try:
        sys.exit(main())
    except Failure as e:
        print("FAIL " + str(e))
        sys.exit(1)


def uninstall(capsid, env):
    """`capsid uninstall` in env's private state directory; its output is
    printed only when it fails."""
    u = subprocess.run([capsid, "uninstall"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env)
    if u.returncode != 0:
        print(u.stdout.decode())
