#!/usr/bin/env python3
"""The CLI suites through `capsid serve` (issue 20): test-cli and
test-bad-input run with CAPSID_SERVER pointing at a server, so every
`capsid run` and `capsid batch` they start is a thin client; the same
suites run without it as their own ctest entries. Then a few commands
are run both ways and their stdout, stderr and exit status compared.

Left out, each for a reason that is not a difference of the protocol:
capsid's own process settings that a server cannot take from a client
(the client's CAPSID_FAULTS fault injection and SUDO_UID are the
server's own, like its CAPSID_STATE_DIR).

  test-cli-via-server.py CAPSID TEST_CLI TEST_BAD_INPUT"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from checks import Failure, check, run_main  # noqa: E402

NOT_THROUGH_A_SERVER = {
    "test_modes_fail_closed": "sets CAPSID_FAULTS for the command's "
                              "process; the job runs in the server's",
    "test_cli_roots_as_root": "sets SUDO_UID for the command's process; "
                              "the server has its own",
}


def run_suite(binary, env):
    p = subprocess.run([binary], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=1200)
    out = p.stdout.decode(errors="replace")
    ok = re.findall(r"^\[       OK \] (\S+)", out, re.M)
    failed = re.findall(r"^\[  FAILED  \] (test_\S+)$", out, re.M)
    bad = [t for t in set(failed) if t not in NOT_THROUGH_A_SERVER]
    if bad or not ok:
        print(out)
        raise Failure("%s through the server: %s failed"
                      % (os.path.basename(binary), ", ".join(sorted(bad))))
    for t in sorted(set(failed)):
        print("note %s: left out: %s" % (t, NOT_THROUGH_A_SERVER[t]))
    print("ok   %s through the server: %d tests pass"
          % (os.path.basename(binary), len(ok)))


MEASURED = re.compile(
    rb'"(duration_ms|cpu_ms|user_cpu_ms|system_cpu_ms|peak_memory|pid)":'
    rb'[0-9.e+-]+|"(started_at)":"[^"]*"')


def same(x):
    """What must match: everything but the measurements of a run."""
    return MEASURED.sub(rb'"\1\2":M', x)


# ASan's note about the job's clone child, printed by whichever process
# spawned the job: the local command, or the server.
ASAN_NOTE = re.compile(
    rb"==\d+==WARNING: ASan is ignoring requested __asan_handle_no_return.*\n"
    rb"False positive error reports may follow\n"
    rb"For details see https://github.com/google/sanitizers/issues/189\n")


# The batch summary's wall time and rate.
SUMMARY_TIME = re.compile(rb"; [0-9.]+ s, [0-9.]+ jobs/s")


def both_ways(capsid, env, server_env, cwd, args, stdin=b"", ordered=False):
    a = subprocess.run([capsid] + args, env=env, cwd=cwd, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    b = subprocess.run([capsid] + args, env=server_env, cwd=cwd,
                       input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    # Batch results come in completion order (an invalid line's error may
    # come earlier locally, where lines are read ahead); ordered: jobs
    # whose order -j 1 fixes (the thin client keeps -j jobs in flight).
    key = (lambda out: sorted(same(out).splitlines())) \
        if args[0] == "batch" and not ordered else same
    a.stderr = SUMMARY_TIME.sub(b"", ASAN_NOTE.sub(b"", a.stderr))
    b.stderr = SUMMARY_TIME.sub(b"", ASAN_NOTE.sub(b"", b.stderr))
    for out in (a.stderr, b.stderr):
        check(b"Sanitizer" not in out and b"runtime error:" not in out,
              "sanitizer report:\n%s" % out.decode(errors="replace"))
    check((a.returncode, key(a.stdout), a.stderr) ==
          (b.returncode, key(b.stdout), b.stderr),
          "capsid %s differs through the server:\nlocal %d %r %r\nserver "
          "%d %r %r" % (" ".join(args), a.returncode, a.stdout, a.stderr,
                        b.returncode, b.stdout, b.stderr))
    print("ok   the same both ways: capsid %s (exit %d)"
          % (" ".join(args)[:60], a.returncode))


def main():
    capsid, test_cli, test_bad = [os.path.abspath(a) for a in sys.argv[1:4]]
    base = tempfile.mkdtemp(prefix="capsid-cli-serve-")
    env = dict(os.environ)
    env["CAPSID_STATE_DIR"] = os.path.join(base, "state")
    env.pop("CAPSID_SERVER", None)
    sock = os.path.join(base, "sock", "capsid.sock")
    server = subprocess.Popen([capsid, "serve", "-q", "--socket", sock],
                              env=env)
    try:
        for _ in range(600):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        check(os.path.exists(sock), "capsid serve did not listen")
        senv = dict(env, CAPSID_SERVER="unix:" + sock)
        run_suite(test_cli, senv)
        run_suite(test_bad, senv)
        ws = os.path.join(base, "ws")
        os.mkdir(ws)
        for args, stdin in [
                (["run", "--", "sh", "-c", "echo out; echo err >&2; exit 3"],
                 b""),
                (["run", "--stdin-file", "-", "--", "tr", "a-z", "A-Z"],
                 b"hello\n"),
                (["run", "--output-limit", "10", "--", "sh", "-c",
                  "printf 0123456789abcdef"], b""),
                (["run", "-t", "300ms", "--", "sleep", "10"], b""),
                (["run", "--", "no-such-program"], b""),
                (["run", "--json", "--", "sh", "-c", "echo j; exit 4"], b""),
                (["run", "-e", "X=1", "--", "sh", "-c", "echo $X"], b""),
                (["run", "-p", "read-only", "--", "sh", "-c",
                  "touch f || echo refused"], b""),
                (["batch", "-e", "X=7", "-t", "20s"],
                 b'{"id":"d","argv":["sh","-c","echo $X"]}\n'),
                (["batch", "-j", "1"],
                 b'{"id":1,"argv":["echo","a"]}\nnot json\n'
                 b'{"id":2,"argv":["sh","-c","exit 2"]}\n'),
                ]:
            both_ways(capsid, env, senv, ws, args, stdin)
        both_ways(capsid, env, senv, ws, ["batch", "-j", "1"],
                  b'{"id":1,"argv":["sh","-c","sleep 0.3; echo slow"]}\n'
                  b'{"id":2,"argv":["echo","fast"]}\n', ordered=True)
        # The thin client never falls back to a local run.
        server.send_signal(2)
        check(server.wait(timeout=120) == 0, "capsid serve did not exit 0")
        r = subprocess.run([capsid, "run", "--", "true"], env=senv, cwd=ws,
                           stderr=subprocess.PIPE)
        check(r.returncode == 125 and b"cannot reach the server" in r.stderr,
              "without a server: exit %d, %r" % (r.returncode, r.stderr))
        r = subprocess.run([capsid, "batch"], env=senv, cwd=ws,
                           input=b'{"argv":["true"]}\n',
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        check(r.returncode == 1 and r.stdout == b"" and
              b"cannot reach the server" in r.stderr,
              "batch without a server: exit %d, %r" % (r.returncode,
                                                       r.stderr))
        print("ok   with the server gone, capsid run --server exits 125 "
              "and capsid batch 1, each saying so")
        # A server stopped under a running job: the job is signalled, and
        # the client says why rather than only exiting 143.
        server = subprocess.Popen([capsid, "serve", "-q", "--socket", sock],
                                  env=env)
        for _ in range(600):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        client = subprocess.Popen(
            [capsid, "run", "--", "sh", "-c", "touch running; sleep 60"],
            env=senv, cwd=ws, stderr=subprocess.PIPE)
        for _ in range(1200):
            if os.path.exists(os.path.join(ws, "running")):
                break
            time.sleep(0.05)
        check(os.path.exists(os.path.join(ws, "running")),
              "the job through the server did not start")
        server.send_signal(15)
        err = client.communicate(timeout=120)[1]
        check(client.returncode == 143 and b"is stopping" in err,
              "server stopped under a job: exit %d, %r" % (client.returncode,
                                                          err))
        check(server.wait(timeout=120) == 0, "capsid serve did not exit 0 "
              "on SIGTERM")
        print("ok   a server stopped under a job: the client exits 143 and "
              "says the server is stopping")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    run_main(main)
