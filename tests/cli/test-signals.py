#!/usr/bin/env python3
"""Signals and memory limits through the capsid command, as a user meets them
(issue 14).

Signals: `capsid batch` is interrupted at random points -- before it has read
a line, while it admits jobs, after every job has started -- with -j 1 and
-j 8, input on stdin and from a file, SIGINT and SIGTERM, with and without a
second SIGINT. After each run:
  - every job that started (it touches a file first thing) has exactly one
    result line, and no id has two;
  - capsid exited 130 (SIGINT) or 143 (SIGTERM), not by a signal of its own
    (the old code segfaulted), and a sanitizer build reported nothing;
  - a job that traps TERM ran its trap (its output is in its result,
    "interrupted":true), one that ignores TERM was killed after --grace
    ("killed":true, signal 9);
  - no process of any job is left: every job carries a marker in its argv
    (and so do the children it starts), and /proc is searched for it.
`capsid run` passes SIGINT, SIGTERM and SIGHUP on: the job's trap runs and
capsid exits with the job's status; a job that ignores the signal is killed
after the grace (137).

Memory: one job over its memory limit among normal ones, and limits of a few
KiB, in every mode (unprivileged; landlock-only through the "userns" fault
site of a Debug build; elevated as root, set up in a private state
directory): every line gets its result, the over-limit one "oom":true, and
capsid itself lives (the old code was SIGKILLed with the job).

The random choices come from a seed printed first (CAPSID_TEST_SEED repeats a
run). No timing is asserted; waits are bounded.

usage: test-signals.py CAPSID
"""
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from checks import Failure, check, run_main, uninstall  # noqa: E402

SKIP = 77
NO_SKIP = os.environ.get("CAPSID_NO_SKIP") == "1"
GRACE = "1s"
WAIT_S = 60          # bound on any one wait; never a pass/fail threshold


def _soak_batch():
    """soak-batch.py, for its /proc search by marker."""
    spec = importlib.util.spec_from_file_location(
        "soak_batch", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                   "soak-batch.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


marked_processes = _soak_batch().marked_processes


def wait_gone(marker):
    """Processes carrying marker: none once the kernel has torn the jobs
    down (bounded wait, then whatever is left)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        left = marked_processes(marker)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def handlers_ready(pid):
    """capsid has installed its SIGINT and SIGTERM handlers (SigCgt)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    mask = int(line.split()[1], 16)
                    return all(mask & (1 << (s - 1))
                               for s in (signal.SIGINT, signal.SIGTERM))
    except OSError:
        pass
    return False


def wait_for(cond, what):
    deadline = time.monotonic() + WAIT_S
    while not cond():
        if time.monotonic() > deadline:
            raise Failure("gave up waiting for " + what)
        time.sleep(0.01)


def sanitizer_clean(stderr):
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                "UndefinedBehaviorSanitizer"):
        check(bad not in stderr, "sanitizer report:\n" + stderr[-4000:])


# ---- batch interrupted -------------------------------------------------

# What each job does. {started} touches the file that says the job has
# started, after any trap is in place.
KINDS = {
    # Ends on SIGTERM by default.
    "plain": "{started}; sleep 30",
    # Cleans up and says so: its output must reach the result.
    "trap": "trap 'echo trapped {id}; exit 5' TERM; {started}; "
            "sleep 30 & wait",
    # Ignores SIGTERM, with a child that does too: killed after the grace.
    "stubborn": "trap '' TERM; {started}; "
                "sh -c \"trap '' TERM; sleep 30\" {mark} & sleep 30; sleep 30",
    # Done before anyone signals it.
    "quick": "{started}; echo quick {id}",
}


def job_line(i, kind, tmp, mark):
    script = KINDS[kind].format(id=i, mark=mark,
                                started="touch %s/%d.started" % (tmp, i))
    return json.dumps({"id": i, "argv": ["sh", "-c", script, mark]})


# Every directory of the test lives under this one, removed at the end
# whatever happened.
TMP_BASE = [None]

# How often the trap and grace checks ran: each must have, somewhere.
SEEN = {"trap": 0, "grace": 0}


def started_ids(tmp):
    return {int(n.split(".")[0]) for n in os.listdir(tmp)
            if n.endswith(".started")}


def run_interrupted(capsid, rnd, env, jobs, use_stdin, sig, second, phase,
                    label):
    tmp = tempfile.mkdtemp(prefix="sig-", dir=TMP_BASE[0])
    mark = "capsid-sigtest-%d-%d" % (os.getpid(), rnd.randrange(1 << 30))
    n = rnd.randint(2, 4) * jobs if jobs > 1 else rnd.randint(2, 5)
    kinds = []
    for i in range(n):
        kinds.append(rnd.choice(list(KINDS)))
    # The first jobs to start trap TERM and ignore it; the batch is still
    # running when signalled.
    kinds[0] = "trap"
    if n > 2:
        kinds[1] = "stubborn"
    kinds[-1] = "plain"
    lines = [job_line(i + 1, kinds[i], tmp, mark) for i in range(n)]
    path = os.path.join(tmp, "jobs.jsonl")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    argv = [capsid, "batch", "-j", str(jobs), "--grace", GRACE]
    if not use_stdin:
        argv.append(path)
    out_path = os.path.join(tmp, "out")
    err_path = os.path.join(tmp, "err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE if use_stdin
                             else subprocess.DEVNULL,
                             stdout=out, stderr=err, env=env, cwd=tmp)
        wait_for(lambda: handlers_ready(p.pid), "capsid's signal handlers")
        fed = 0
        if use_stdin and phase != "before":
            fed = n if phase == "after" else rnd.randint(1, n)
            p.stdin.write(("\n".join(lines[:fed]) + "\n").encode())
            p.stdin.flush()
        if phase == "after":
            # Every job the -j slots allow has started.
            want = min(jobs, n)
            wait_for(lambda: len(started_ids(tmp)) >= want or
                     p.poll() is not None, "the first jobs to start")
        elif phase == "during":
            time.sleep(rnd.uniform(0, 0.8))
        p.send_signal(sig)

        def said_stopping():
            with open(err_path, errors="replace") as f:
                return "stopping" in f.read() or p.poll() is not None
        # Until the loop has taken the signal, the end of the input could
        # still finish the batch normally first (exit 0, rightly).
        wait_for(said_stopping, "capsid to take the signal")
        if second:
            time.sleep(rnd.uniform(0, 0.3))
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        if use_stdin:
            try:
                if fed < n and phase == "during":
                    # The rest arrives after the signal (a line the loop
                    # takes before it sees the signal is stopped at once).
                    p.stdin.write(("\n".join(lines[fed:]) + "\n").encode())
                p.stdin.close()
            except BrokenPipeError:
                pass
        try:
            rc = p.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise Failure("%s: capsid did not exit" % label)
    with open(err_path, errors="replace") as f:
        stderr = f.read()
    with open(out_path) as f:
        results = [json.loads(line) for line in f if line.strip()]
    where = "%s (stderr: %s)" % (label, stderr.strip()[-600:])
    sanitizer_clean(stderr)
    check(rc >= 0, "%s: capsid died of signal %d" % (where, -rc))
    check(rc == 128 + sig, "%s: exit %d, not %d" % (where, rc, 128 + sig))
    ids = [r["id"] for r in results]
    check(len(ids) == len(set(ids)), "%s: an id has two results" % where)
    started = started_ids(tmp)
    check(started <= set(ids),
          "%s: started jobs %s have no result" % (where,
                                                    sorted(started - set(ids))))
    by_id = {r["id"]: r for r in results}
    for i in started:
        r = by_id[i]
        kind = kinds[i - 1]
        if kind == "quick" or r["error"] is not None:
            continue
        if kind == "trap" and not second and r.get("interrupted"):
            check("trapped %d\n" % i in r["stdout"] and r["exit_code"] == 5,
                  "%s: job %d trapped TERM but its result is %s"
                  % (where, i, json.dumps(r)[:400]))
            SEEN["trap"] += 1
        if kind == "stubborn" and r.get("interrupted") and not second:
            check(r["killed"] and r["signal"] == 9,
                  "%s: job %d ignored TERM and was not killed: %s"
                  % (where, i, json.dumps(r)[:400]))
            SEEN["grace"] += 1
        if r.get("interrupted"):
            continue
        # Not reached by the stop: it ended by itself before the signal.
        check(kind == "quick", "%s: job %d (%s) neither ended nor was "
              "stopped: %s" % (where, i, kind, json.dumps(r)[:400]))
    for r in results:
        if r["id"] not in started and r["error"] is None:
            # Ran without touching its file: only a job killed before
            # its first command may do that.
            check(r.get("interrupted"), "%s: job %s has a result but never "
                  "started" % (where, r["id"]))
    if phase == "before" and use_stdin:
        check(not results, "%s: results before any line was read" % where)
    left = wait_gone(mark)
    check(not left, "%s: processes %s of the jobs survived" % (where, left))
    shutil.rmtree(tmp, ignore_errors=True)
    return len(results), len(started)


def test_batch_interrupts(capsid, rnd, env, modes):
    runs = 0
    for mode, menv in modes:
        # A second SIGINT is drawn for each combination.
        combos = [(j, s, sig, rnd.random() < 0.4, phase)
                  for j in (1, 8) for s in (True, False)
                  for sig in (signal.SIGINT, signal.SIGTERM)
                  for phase in ("before", "during", "after")
                  if not (phase == "before" and not s)]
        # Every combination in the default mode; a sample in the others.
        if mode != "unprivileged":
            combos = rnd.sample(combos, 4)
        for j, s, sig, second, phase in combos:
            label = "batch %s -j %d %s %s%s %s" % (
                mode, j, "stdin" if s else "file", signal.Signals(sig).name,
                "+INT" if second else "", phase)
            nres, nstart = run_interrupted(capsid, rnd, menv, j, s, sig,
                                           second, phase, label)
            print("ok   %s: %d results, %d started" % (label, nres, nstart))
            runs += 1
    return runs


# ---- capsid run forwards -----------------------------------------------

def test_run_forwards(capsid, env, mode):
    tmp = tempfile.mkdtemp(prefix="run-", dir=TMP_BASE[0])
    mark = "capsid-runtest-%d" % os.getpid()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        name = signal.Signals(sig).name[3:]
        flag = os.path.join(tmp, "started-" + name)
        script = ("trap 'echo cleaned %s; exit 3' %s; touch %s; "
                  "sleep 30 & wait" % (name, name, flag))
        p = subprocess.Popen([capsid, "run", "--", "sh", "-c", script, mark],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, cwd=tmp)
        wait_for(lambda: os.path.exists(flag) or p.poll() is not None,
                 "the job to start")
        p.send_signal(sig)
        out, err = p.communicate(timeout=WAIT_S)
        sanitizer_clean(err.decode(errors="replace"))
        check(p.returncode == 3 and out == ("cleaned %s\n" % name).encode(),
              "run %s %s: exit %d, output %r, stderr %r" %
              (mode, name, p.returncode, out, err[-300:]))
        check(not wait_gone(mark), "run %s: processes survived" % mode)
    # Ignoring the signal only lasts the grace.
    flag = os.path.join(tmp, "started-ignore")
    p = subprocess.Popen([capsid, "run", "--grace", GRACE, "--", "sh", "-c",
                          "trap '' INT TERM; touch %s; sleep 30" % flag,
                          mark], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=tmp)
    wait_for(lambda: os.path.exists(flag) or p.poll() is not None,
             "the job to start")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=WAIT_S)
    sanitizer_clean(err.decode(errors="replace"))
    check(p.returncode == 128 + 9, "run %s ignoring INT: exit %d, stderr %r"
          % (mode, p.returncode, err[-300:]))
    check(not wait_gone(mark), "run %s: processes survived" % mode)
    shutil.rmtree(tmp, ignore_errors=True)
    print("ok   run %s: INT, TERM and HUP reach the job's trap; grace "
          "then kill" % mode)


# ---- memory limits ---------------------------------------------------------

def test_memory(capsid, env, mode, cwd):
    bomb = "x=$(head -c 10000000 /dev/zero | tr '\\0' a); echo survived"
    lines = [
        {"id": "a", "argv": ["sh", "-c", "sleep 0.5; echo a"]},
        {"id": "big", "argv": ["python3", "-c", "b = b'a' * (300 << 20)"],
         "memory_limit": "64M"},
        {"id": "shell", "argv": ["sh", "-c", bomb], "memory_limit": "200k"},
        {"id": "tiny", "argv": ["sh", "-c", "echo hi"], "memory_limit": "8k"},
        {"id": "c", "argv": ["sh", "-c", "sleep 0.5; echo c"]},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n"
    p = subprocess.run([capsid, "batch", "-j", "3"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, cwd=cwd, timeout=WAIT_S * 5)
    err = p.stderr.decode(errors="replace")
    sanitizer_clean(err)
    check(p.returncode >= 0, "memory %s: capsid died of signal %d"
          % (mode, -p.returncode))
    results = {}
    for line in p.stdout.decode().splitlines():
        r = json.loads(line)
        results[r["id"]] = r
    check(sorted(results) == sorted(x["id"] for x in lines),
          "memory %s: results for %s only (exit %d, stderr %s)"
          % (mode, sorted(results), p.returncode, err[-400:]))
    for i in ("a", "c"):
        check(results[i]["exit_code"] == 0 and results[i]["stdout"] == i + "\n"
              and results[i]["mode"] == mode,
              "memory %s: job %s: %s" % (mode, i, json.dumps(results[i])[:300]))
    for i in ("big", "shell", "tiny"):
        r = results[i]
        if r["error"] is not None:
            # Too small to start: said so, naming the limit.
            check(r["error"]["code"] == "CAPSID_ELIMIT" and
                  r["error"].get("field") == "memory_limit",
                  "memory %s: job %s: %s" % (mode, i, json.dumps(r)[:400]))
        elif r["limits"] == "cgroup":
            check(r["oom"] and r["signal"] == 9 and r["mode"] == mode,
                  "memory %s: job %s not reported as oom: %s"
                  % (mode, i, json.dumps(r)[:400]))
        else:
            check(r["exit_code"] != 0, "memory %s: job %s ran past its "
                  "rlimit: %s" % (mode, i, json.dumps(r)[:400]))
    check(results["big"]["error"] is None, "memory %s: the 64M job did not "
          "run: %s" % (mode, json.dumps(results["big"])[:400]))
    # Exit status as documented: 1 when a line hit a capsid error (a limit
    # too small to start the program), else 0.
    want = 1 if any(r["error"] is not None for r in results.values()) else 0
    check(p.returncode == want, "memory %s: exit %d, not %d"
          % (mode, p.returncode, want))
    print("ok   memory %s: %s" % (mode, ", ".join(
        "%s=%s" % (k, "error" if r["error"] else
                   "oom" if r["oom"] else "exit %s" % r["exit_code"])
        for k, r in sorted(results.items()))))


# ---- modes -----------------------------------------------------------------

def mode_of(capsid, env, cwd):
    """The mode a job runs in here, or why it did not run."""
    p = subprocess.run([capsid, "run", "--json", "--", "true"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, cwd=cwd, timeout=WAIT_S)
    try:
        r = json.loads(p.stdout)
    except ValueError:
        return "no result: " + p.stderr.decode(errors="replace")[-300:]
    return r["mode"] if r["error"] is None else r["error"]["message"]


def skip_or_fail(why):
    print("skip " + why)
    if NO_SKIP:
        raise Failure("CAPSID_NO_SKIP is set: " + why)


def main():
    capsid = os.path.abspath(sys.argv[1])
    # "no-faults": a build without failure injection (Release), where the
    # fault site that blocks user namespaces does not exist.
    faults = len(sys.argv) < 3 or sys.argv[2] != "no-faults"
    seed = int(os.environ.get("CAPSID_TEST_SEED", random.randrange(1 << 30)))
    print("seed %d (CAPSID_TEST_SEED repeats this run)" % seed)
    rnd = random.Random(seed)
    base = tempfile.mkdtemp(prefix="capsid-signals-")
    TMP_BASE[0] = base
    env = dict(os.environ)
    env["CAPSID_STATE_DIR"] = os.path.join(base, "state")
    env.pop("CAPSID_FAULTS", None)
    modes = []
    # The workspaces are beside the state directories, never around them
    # (an elevated job would be granted capsid's records: refused).
    cwd = os.path.join(base, "ws")
    os.mkdir(cwd)
    m = mode_of(capsid, env, cwd)
    if m == "unprivileged":
        modes.append(("unprivileged", env))
    else:
        skip_or_fail("unprivileged mode is not available here (%s)" % m)
    ll = dict(env, CAPSID_FAULTS="userns=0:EPERM")
    if not faults:
        print("note: this build has no failure injection; landlock-only "
              "runs in the Debug builds' run of this test")
    elif mode_of(capsid, ll, cwd) == "landlock-only":
        modes.append(("landlock-only", ll))
    else:
        skip_or_fail("landlock-only needs a build with fault injection "
                     "(Debug) to block user namespaces")
    elevated = None
    if os.geteuid() == 0:
        el = dict(env, CAPSID_STATE_DIR=os.path.join(base, "elevated-state"))
        s = subprocess.run([capsid, "setup"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=el)
        if s.returncode != 0:
            raise Failure("capsid setup failed:\n" + s.stdout.decode())
        elevated = el
        m = mode_of(capsid, el, cwd)
        if m == "elevated":
            modes.append(("elevated", el))
        else:
            raise Failure("set up as root, yet jobs do not run elevated: "
                          + m)
    else:
        skip_or_fail("elevated mode needs root (CI runs this as root)")
    try:
        for mode, menv in modes:
            test_memory(capsid, menv, mode, cwd)
        for mode, menv in modes:
            test_run_forwards(capsid, menv, mode)
        runs = test_batch_interrupts(capsid, rnd, env, modes)
        check(SEEN["trap"] > 0 and SEEN["grace"] > 0,
              "no interrupted batch checked a trap and a grace kill: %s"
              % SEEN)
        print("ok   %d interrupted batches; %d traps ran, %d jobs killed "
              "after the grace" % (runs, SEEN["trap"], SEEN["grace"]))
    finally:
        if elevated is not None:
            uninstall(capsid, elevated)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        run_main(main)
    finally:
        if TMP_BASE[0] is not None:
            shutil.rmtree(TMP_BASE[0], ignore_errors=True)
