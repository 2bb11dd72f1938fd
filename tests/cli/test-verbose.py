#!/usr/bin/env python3
"""--verbose, -v, --quiet and CAPSID_LOG for every command (issue 18).

Usage: test-verbose.py PATH/TO/capsid

For each command `capsid help` lists, runs it four ways: plain, with
--verbose after the command, with -v before it, and with CAPSID_LOG=debug;
checks that the verbose runs log the command's own stages with their
durations on stderr, in the format of run and batch ("capsid CMD: [debug]
STAGE 1.234 ms"), that the plain run logs none, and that stdout is the
same in all four. Where stdout carries what differs from one run to the
next anyway (durations, pids, start times, batch ids), those values are
masked first and everything else must match byte for byte. Also: a bad
CAPSID_LOG is an error naming the variable, --quiet silences the log,
and every command's help, man page and completions list the options.

Needs root for setup and uninstall (elevated mode's set-up, in a state
directory of this run) and redis-server for the scale-out commands; as
root with CAPSID_NO_SKIP=1 nothing is skipped.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CAPSID = None
NO_SKIP = os.environ.get("CAPSID_NO_SKIP") == "1"
FAILED = []
SKIPPED = []

# A stage line: "capsid doctor: [debug] landlock 0.123 ms".
MS = r" [0-9]+\.[0-9]{3} ms"

# Values that differ between any two runs, masked before comparing.
VOLATILE = re.compile(
    r'("(?:duration_ms|cpu_ms|user_cpu_ms|system_cpu_ms|started_at|pid|'
    r'peak_memory|seconds|elapsed_ms|wall_ms|jobs_per_s|entry|submit|'
    r'worker|idle_ms|time_ms|lag)"\s*:\s*)'
    r'("[^"]*"|-?[0-9][0-9.e+-]*|null)')


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL " + what)
    return cond


def skip(why):
    if NO_SKIP:
        check(False, "would skip, but CAPSID_NO_SKIP=1: " + why)
    else:
        SKIPPED.append(why)
        print("skip " + why)


def mask(text):
    return VOLATILE.sub(r"\1#", text)


def run(argv, env, stdin=None, cwd=None, timeout=600):
    return subprocess.run([CAPSID] + argv, input=stdin, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def variants(pre, rest, env):
    """(label, argv, env) of the four ways to run `capsid PRE REST`."""
    return [("plain", pre + rest, env),
            ("--verbose", pre + ["--verbose"] + rest, env),
            ("-v before", ["-v"] + pre + rest, env),
            ("CAPSID_LOG=debug", pre + rest, dict(env, CAPSID_LOG="debug"))]


def four_ways(name, pre, rest, env, stages, stdin=None, cwd=None,
              before=None, normalize=mask, rcs=(0,)):
    """Runs the four variants; before(label) runs ahead of each (to put
    state back). stages: regexes each verbose run's stderr must match."""
    outs = []
    failed = len(FAILED)
    for label, argv, venv in variants(pre, rest, env):
        if before is not None:
            before(label)
        p = run(argv, venv, stdin=stdin, cwd=cwd)
        check(p.returncode in rcs, "%s %s: exit %d: %s"
              % (name, label, p.returncode, p.stderr[-2000:]))
        debug = [l for l in p.stderr.splitlines() if "] " in l
                 and re.match(r"^capsid [a-z]+: \[(debug|info)\] ", l)]
        if label == "plain":
            check(not debug, "%s plain: log lines without --verbose: %r"
                  % (name, debug[:3]))
        else:
            for stage in stages:
                check(re.search(r"^capsid %s: \[debug\] %s" % (
                    name, stage), p.stderr, re.M),
                    "%s %s: no stage line /%s/ on stderr:\n%s"
                    % (name, label, stage, p.stderr[-3000:]))
            check(re.search(r"^capsid %s: \[info\] exit %d after%s$" % (
                name, p.returncode, MS), p.stderr, re.M),
                "%s %s: no closing info line:\n%s"
                % (name, label, p.stderr[-1000:]))
        outs.append((label, normalize(p.stdout)))
    for label, out in outs[1:]:
        check(out == outs[0][1], "%s: stdout with %s differs from plain:\n"
              "plain: %r\n%s: %r" % (name, label, outs[0][1][:2000], label,
                                     out[:2000]))
    if len(FAILED) == failed:
        print("ok   %s" % name)


# ---------------------------------------------------------------- commands

def test_run_batch(env, ws):
    job_stages = ["job: resolve" + MS, "job: prelaunch" + MS,
                  r"job: spawn" + MS + r" \(pid [0-9]+\)", "job: exit" + MS]
    four_ways("run", ["run"], ["--json", "--", "echo", "hi"], env,
              job_stages, cwd=ws)
    lines = '{"id":"a","argv":["echo","a"]}\n{"id":"b","argv":["true"]}\n'

    def by_id(out):
        return "\n".join(sorted(mask(out).splitlines()))
    four_ways("batch", ["batch"], ["-j", "1", "-C", ws], env,
              [r'job "a": spawn' + MS, r'job "b": exit' + MS],
              stdin=lines, normalize=by_id)


def test_bench(env):
    # Its timings are its output: only the shape of stdout can match (the
    # columns' padding follows the numbers' widths).
    four_ways("bench", ["bench", "capture"], ["--quick"], env,
              ["job: spawn" + MS, "job: exit" + MS],
              normalize=lambda s: re.sub(r" *[0-9][0-9.]*", " #", s))


def test_acl(env, ws, state):
    acl = ["-C", ws, "--uid", "54321", "--state-dir", state, "--json"]

    def clean(label):
        p = run(["acl", "revoke"] + acl, env)
        check(p.returncode == 0, "acl revoke: %s" % p.stderr)
    four_ways("acl", ["acl", "apply"], acl, env,
              [r"acl plan \(lock, record, targets\)" + MS, "acl walk" + MS,
               "acl record write" + MS], before=clean)
    clean("after")


def test_audit(env, ws):
    four_ways("audit", ["audit"], ["--json", ws], env,
              ["audit %s" % re.escape(ws[:54]) + MS])


def test_doctor(env, ws):
    stages = ["landlock" + MS, "user namespaces" + MS, "seccomp" + MS,
              "cgroups" + MS, "posix acl" + MS, "mode unprivileged" + MS]
    four_ways("doctor", ["doctor"], [ws], env, stages, rcs=(0, 1))
    four_ways("doctor", ["doctor"], ["--json", ws], env, stages, rcs=(0, 1))


def test_setup_uninstall(env, base):
    if os.geteuid() != 0:
        skip("setup and uninstall need root")
        return
    st = dict(env, CAPSID_STATE_DIR=os.path.join(base, "elevated-state"))

    # Another capsid on the machine may make or keep the cgroup parents
    # between two runs: their lines say which, and are masked.
    def cg(out):
        return re.sub(r"(cgroup parent\s+).*", r"\1#", out)

    def setup(label):
        p = run(["setup"], st)
        check(p.returncode == 0, "setup before uninstall %s: %s"
              % (label, p.stdout + p.stderr))
    setup("first")  # the next ones keep what this one made
    try:
        four_ways("setup", ["setup"], [], st,
                  ["state directory" + MS, "identities" + MS,
                   "network namespaces" + MS], normalize=cg)
        four_ways("uninstall", ["uninstall"], [], st,
                  ["acl entries" + MS, "namespaces" + MS,
                   "state directory" + MS], before=setup, normalize=cg)
    finally:
        run(["uninstall"], st)


def wait_for(what, cond, proc=None, seconds=300):
    """Waits until cond(); fails at once if proc has exited meanwhile."""
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        if proc is not None and proc.poll() is not None:
            return check(False, "%s: it exited (%d) first" % (what,
                                                             proc.returncode))
        time.sleep(0.05)
    return check(False, "timed out waiting for " + what)


def test_serve(env, ws, base):
    sock = os.path.join(base, "serve.sock")
    for label, argv, venv in variants(["serve"], ["--socket", sock], env):
        if os.path.exists(sock):
            os.unlink(sock)
        srv = subprocess.Popen([CAPSID] + argv, env=venv, text=True,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        try:
            if not wait_for("serve %s's socket" % label,
                            lambda: os.path.exists(sock), srv):
                continue
            p = run(["run", "--server", "unix:" + sock, "--", "true"], env,
                    cwd=ws)
            check(p.returncode == 0, "run through serve: %s" % p.stderr)
        finally:
            srv.send_signal(signal.SIGTERM)
            out, err = srv.communicate(timeout=120)
        check(out == "", "serve %s printed on stdout: %r" % (label, out))
        if label == "plain":
            check("[debug]" not in err, "serve plain logged: %s" % err)
        else:
            for stage in ["job: resolve" + MS, "job: spawn" + MS,
                          "job: exit" + MS]:
                check(re.search(r"^capsid serve: \[debug\] " + stage, err,
                                re.M), "serve %s: no /%s/:\n%s"
                      % (label, stage, err))
    # --quiet (before the command or after it) is serve's old -q: no log
    # lines at all.
    for argv in (["-q", "serve"], ["serve", "--quiet"]):
        if os.path.exists(sock):
            os.unlink(sock)
        srv = subprocess.Popen([CAPSID] + argv + ["--socket", sock], env=env,
                               text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        wait_for("serve's socket", lambda: os.path.exists(sock), srv)
        srv.send_signal(signal.SIGTERM)
        out, err = srv.communicate(timeout=120)
        check(err == "", "%s: logged %r" % (argv, err))
    print("ok   serve")


def start_redis(base):
    """redis-server on a Unix socket of this run (no port to find)."""
    redis = shutil.which("redis-server")
    if redis is None:
        skip("redis-server is not installed (scripts/bootstrap.sh)")
        return None, None
    d = os.path.join(base, "redis")
    os.makedirs(d)
    sock = os.path.join(d, "redis.sock")
    p = subprocess.Popen([redis, "--port", "0", "--unixsocket", sock,
                          "--save", "", "--appendonly", "no", "--dir", d],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for("redis-server", lambda: os.path.exists(sock), p)
    return p, "unix://" + sock


def scale_available(env):
    p = run(["help", "worker"], env)
    return p.returncode == 0


def test_scale(env, ws, base):
    if not scale_available(env):
        skip("this build has no scale-out (hiredis)")
        return
    redis, url = start_redis(base)
    if redis is None:
        return
    try:
        scale_cases(env, ws, url)
    finally:
        redis.terminate()
        redis.wait(timeout=60)


def scale_cases(env, ws, url):
    r = ["--redis", url]
    job = '{"id":"j1","argv":["echo","one"],"cwd":"%s"}\n' % ws
    batches = []

    def no_batch_id(out):
        # The batch id differs per run by design.
        batches.append(out.strip())
        return re.sub(r"^\S+$", "BATCH", out, flags=re.M)
    # One stream per variant, so each worker below finds one job.
    streams = iter(["v-plain", "v-verbose", "v-before", "v-env"])
    four_ways("submit", ["submit"], r + ["--stream", "s"], env,
              ["redis connect" + MS, r"XADD of 1 line\(s\)" + MS],
              stdin=job, normalize=no_batch_id)

    # The worker: each variant takes the job of its own stream, writes
    # its result and acks it; then SIGTERM ends it.
    for label, argv, venv in variants(
            ["worker"], r + ["--stream", "w", "--consumer", "c1"], env):
        stream = next(streams)
        argv = [a if a != "w" else stream for a in argv]
        p = run(["submit"] + r + ["--stream", stream], env, stdin=job)
        check(p.returncode == 0, "submit to %s: %s" % (stream, p.stderr))
        w = subprocess.Popen([CAPSID] + argv, env=venv, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        def result():  # polled until the worker has written it
            return run(["collect"] + r + ["--results", stream + "-results",
                                          "-n", "1", "-t", "2s"],
                       env).returncode == 0
        wait_for("the result of worker %s" % label, result, w)
        w.send_signal(signal.SIGTERM)
        out, err = w.communicate(timeout=120)
        check(out == "", "worker %s printed on stdout: %r" % (label, out))
        if label == "plain":
            check("[debug]" not in err, "worker plain logged: %s" % err)
            continue
        for stage in ["redis connect \\(reads\\)" + MS,
                      "redis connect \\(writes\\)" + MS,
                      r"XREADGROUP \(entries read\)" + MS,
                      r"entry [0-9]+-[0-9]+: claimed \(delivery 1\)",
                      r"job: spawn" + MS,
                      r"entry [0-9]+-[0-9]+: run" + MS,
                      r"entry [0-9]+-[0-9]+: result written, XACK" + MS]:
            check(re.search(r"^capsid worker: \[debug\] " + stage, err,
                            re.M), "worker %s: no /%s/:\n%s"
                  % (label, stage, err))
    print("ok   worker")

    def results(out):
        return "\n".join(sorted(mask(out).splitlines()))
    four_ways("collect", ["collect"], r + ["--results", "v-plain-results",
                                           "-n", "1", "-t", "60s"], env,
              ["redis connect" + MS, "X[A-Z]+" + MS], normalize=results)
    four_ways("queue", ["queue", "status"], r + ["--stream", "v-plain",
                                                 "--json"],
              env, ["redis connect" + MS, "X[A-Z]+" + MS])
    four_ways("cancel", ["cancel"], r + ["--stream", "v-plain", "j9"], env,
              ["redis connect" + MS, "[A-Z]+" + MS])


# ------------------------------------------------------------- the options

def test_bad_and_quiet(env, ws):
    for cmd in (["doctor"], ["run", "--", "true"], ["audit", ws]):
        p = run(cmd, dict(env, CAPSID_LOG="loud"), cwd=ws)
        check(p.returncode in (2, 125) and p.stdout == "" and
              re.match(r'^capsid %s: CAPSID_LOG: "loud" is not one of '
                       r'debug, info, warn, off\n$' % cmd[0], p.stderr),
              "CAPSID_LOG=loud %s: exit %d, %r"
              % (cmd, p.returncode, p.stderr))
    # info: one line per job and one at the end, no stages.
    p = run(["run", "--", "true"], dict(env, CAPSID_LOG="info"), cwd=ws)
    check("[info] job: started (pid " in p.stderr and
          "[debug]" not in p.stderr and
          re.search(r"\[info\] exit 0 after" + MS, p.stderr),
          "CAPSID_LOG=info: %r" % p.stderr)
    # An option wins over CAPSID_LOG, the last option over the ones
    # before it; -q leaves warnings and errors alone.
    for argv, lenv, logs in (
            (["-q", "run", "--", "true"], {"CAPSID_LOG": "debug"}, False),
            (["run", "-q", "--", "true"], {"CAPSID_LOG": "debug"}, False),
            (["-q", "run", "-v", "--", "true"], {}, True),
            (["run", "--verbose", "--quiet", "--", "true"], {}, False),
            (["-v", "run", "--", "true"], {"CAPSID_LOG": "off"}, True)):
        p = run(argv, dict(env, **lenv), cwd=ws)
        check(p.returncode == 0 and
              ("[debug] job: spawn" in p.stderr) == logs,
              "%r %r: %r" % (argv, lenv, p.stderr))
    p = run(["-q", "run", "-p", "nonsense", "--", "true"], env, cwd=ws)
    check(p.returncode == 125 and "nonsense" in p.stderr,
          "-q hid an error: %r" % p.stderr)
    # -v inside a job's command line is the job's.
    p = run(["run", "--", "sh", "-c", "echo \"$@\"", "sh", "-v", "--quiet"],
            env, cwd=ws)
    check(p.returncode == 0 and p.stdout == "-v --quiet\n" and
          "[debug]" not in p.stderr, "the job's -v: %r %r"
          % (p.stdout, p.stderr))
    # A typo is suggested from the common options too.
    p = run(["doctor", "--verbos"], env)
    check(p.returncode == 2 and "did you mean '--verbose'" in p.stderr,
          "--verbos: %r" % p.stderr)
    print("ok   CAPSID_LOG values, --quiet, precedence")


def commands(env):
    p = run(["help", "no-such-command"], env)
    m = re.search(r"the commands are: (.*)$", p.stderr, re.M)
    return [c.strip() for c in m.group(1).split(",")]


def test_help(env, cmds, base):
    for c in cmds:
        for argv in (["help", c], [c, "--help"]):
            p = run(argv, env)
            check(p.returncode == 0 and
                  re.search(r"^  -v, --verbose ", p.stdout, re.M) and
                  re.search(r"^  -q, --quiet ", p.stdout, re.M) and
                  "CAPSID_LOG=" in p.stdout,
                  "capsid %s: no -v/--verbose, -q/--quiet, CAPSID_LOG"
                  % " ".join(argv))
    p = run(["--help"], env)
    check("-v, --verbose" in p.stdout and "CAPSID_LOG" in p.stdout,
          "capsid --help does not list -v/--verbose")
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "..", "packaging", "gen-docs.py")
    out = os.path.join(base, "gen")
    g = subprocess.run([sys.executable, gen, CAPSID, out],
                       capture_output=True, text=True)
    if not check(g.returncode == 0, "gen-docs.py: %s" % g.stderr):
        return
    bash = open(os.path.join(out, "completions", "capsid.bash")).read()
    zsh = open(os.path.join(out, "completions", "_capsid")).read()
    for c in cmds:
        page = open(os.path.join(out, "man", "capsid-%s.1" % c)).read()
        check("\\fB\\-\\-verbose\\fR" in page and "CAPSID_LOG" in page,
              "capsid-%s.1 does not list --verbose and CAPSID_LOG" % c)
        m = re.search(r"^    %s\) opts=\"([^\"]*)\"" % c, bash, re.M)
        check(m and "--verbose" in m.group(1).split() and
              "--quiet" in m.group(1).split(),
              "bash completion of %s lacks --verbose/--quiet" % c)
        m = re.search(r"^    %s\) opts=\(([^)]*)\)" % c, zsh, re.M)
        check(m and "--verbose" in m.group(1).split(),
              "zsh completion of %s lacks --verbose" % c)
    # After the options taken before the command, bash completes the
    # command, then that command's options.
    for words, want in ((["-v", "doc"], "doctor"),
                        (["--quiet", "-v", "doctor", "--js"], "--json"),
                        (["-"], "--verbose")):
        line = " ".join(["capsid"] + words)
        b = subprocess.run(
            ["bash", "-c", 'source "$1"; shift; COMP_WORDS=("$@"); '
             'COMP_CWORD=$(($# - 1)); _capsid; echo "${COMPREPLY[@]}"',
             "bash", os.path.join(out, "completions", "capsid.bash"),
             "capsid"] + words, capture_output=True, text=True)
        check(want in b.stdout.split(), "bash completes %r as %r, not %r"
              % (line, b.stdout.strip(), want))
    print("ok   help, man pages, completions of %d commands" % len(cmds))


def main():
    global CAPSID
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    CAPSID = os.path.abspath(sys.argv[1])
    base = tempfile.mkdtemp(prefix="capsid-verbose-")
    os.chmod(base, 0o755)
    ws = os.path.join(base, "ws")
    os.makedirs(ws)
    env = dict(os.environ, CAPSID_STATE_DIR=os.path.join(base, "state"))
    for k in ("CAPSID_LOG", "CAPSID_SERVER"):
        env.pop(k, None)
    cmds = commands(env)
    tested = ["run", "batch", "bench", "acl", "audit", "doctor", "setup",
              "uninstall", "serve", "submit", "worker", "collect", "queue",
              "cancel"]
    check(set(cmds) <= set(tested),
          "commands without a case here: %s" % sorted(set(cmds) -
                                                      set(tested)))
    try:
        test_bad_and_quiet(env, ws)
        test_help(env, cmds, base)
        test_run_batch(env, ws)
        test_doctor(env, ws)
        test_audit(env, ws)
        test_acl(env, ws, os.path.join(base, "acl-state"))
        test_bench(env)
        if "serve" in cmds:
            test_serve(env, ws, base)
        else:
            skip("this build has no serve")
        test_scale(env, ws, base)
        test_setup_uninstall(env, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if FAILED:
        print("%d check(s) failed" % len(FAILED))
        return 1
    if SKIPPED:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
