"""What the scale-out test scripts share beyond test-scale-out.py's
helpers (loaded here as `so`): the command-line entry point."""
import importlib.util
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "scale_out", os.path.join(HERE, "test-scale-out.py"))
so = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(so)


def main(script, before=None):
    """Runs the unittest cases of the calling script: argv[1] is the
    capsid binary; redis-server must be installed; the workers' jobs keep
    their state in a directory of this run. before() may check more."""
    if len(sys.argv) < 2:
        print("usage: %s PATH/TO/capsid" % script, file=sys.stderr)
        return 2
    so.CAPSID = os.path.abspath(sys.argv[1])
    so.REDIS = shutil.which("redis-server")
    if so.REDIS is None:
        print("redis-server not found: run scripts/bootstrap.sh",
              file=sys.stderr)
        return 1
    if before is not None and before() != 0:
        return 1
    state = tempfile.mkdtemp(prefix="capsid-state-")
    os.environ["CAPSID_STATE_DIR"] = state
    try:
        prog = unittest.main(module="__main__",
                             argv=[sys.argv[0], "-v"] + sys.argv[2:],
                             exit=False)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return 0 if prog.result.wasSuccessful() else 1
