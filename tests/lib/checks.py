"""What the Python test scripts share: a failed check, the way a script
reports it and exits, taking down a private elevated set-up, and an
environment in which capsid's memory can be measured under ASan.

A script finds this module with
    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "lib"))
"""
import os
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


def measurable_memory(env=None):
    """A copy of env (default: os.environ) for a capsid whose resident
    memory a test bounds. An AddressSanitizer build keeps freed blocks in a
    quarantine of up to 256 MiB before it reuses them: growth that is not
    capsid's, as large as the bounds such tests set. A 16 MiB quarantine
    still catches a use after free of a recent block (lost blocks are
    LeakSanitizer's at exit); other builds ignore the variable."""
    env = dict(os.environ if env is None else env)
    asan = env.get("ASAN_OPTIONS", "")
    if "quarantine_size_mb" not in asan:
        env["ASAN_OPTIONS"] = ":".join(
            o for o in (asan, "quarantine_size_mb=16") if o)
    return env
