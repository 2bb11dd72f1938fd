#!/usr/bin/env python3
"""The habits of GNU parallel in `capsid batch` (issue 18), each with a real
batch:

  - results carry started_at (RFC 3339 UTC), pid, user_cpu_ms and
    system_cpu_ms, in `capsid batch` and `capsid run --json`;
  - --joblog writes one line per job that parses with parallel's column
    names (and capsid's), agreeing with the results;
  - a batch stopped by SIGINT mid-way and resumed (--resume, from its
    results and from its job log) runs exactly the jobs not done, and says
    which it skipped; --resume-failed runs only the failed ones;
  - --retries N runs a failing job N times at most and stops retrying once
    it succeeds; the attempt is in the result;
  - --halt now stops the running jobs, --halt soon lets them finish; no
    later job starts; a percentage waits for three jobs;
  - batch-wide defaults are inherited by every line and overridden by the
    lines that set them;
  - the summary line and --json-summary count what the results say;
  - --verbose and CAPSID_LOG log each stage of each job with its duration;
  - bad values name the option (and, for a resume file, the line).

Every job records that it ran by appending its id to a file in its
workspace, so "which jobs ran" is read from the disk, not from capsid. No
timing is asserted; waits are bounded.

usage: test-batch-habits.py CAPSID
"""
import csv
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from checks import Failure, check  # noqa: E402

CAPSID = sys.argv[1]
WAIT_S = 60          # bound on any one wait; never a pass/fail threshold
JOBLOG_COLUMNS = ["Seq", "Host", "Starttime", "JobRuntime", "Send",
                  "Receive", "Exitval", "Signal", "Command", "id", "mode",
                  "oom", "timed_out"]


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="capsid-habits-")
        self.ws = os.path.join(self.tmp, "ws")
        os.mkdir(self.ws)
        self.env = dict(os.environ)
        self.env["CAPSID_STATE_DIR"] = os.path.join(self.tmp, "state")
        self.env.pop("CAPSID_LOG", None)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def ran(self):
        """Ids of the jobs that ran, in order, from the workspace."""
        try:
            with open(os.path.join(self.ws, "ran")) as f:
                return [x for x in f.read().split() if x]
        except FileNotFoundError:
            return []

    def reset(self):
        shutil.rmtree(self.ws)
        os.mkdir(self.ws)


def job(id_, script="true", **extra):
    """A line whose job appends its id to ws/ran, then runs script."""
    j = {"id": id_, "argv": ["sh", "-c", "echo %s >> ran; %s" % (id_, script)]}
    j.update(extra)
    return json.dumps(j)


def batch(e, lines, *args, env=None):
    p = subprocess.run([CAPSID, "batch"] + list(args), cwd=e.ws,
                       input="\n".join(lines) + "\n", capture_output=True,
                       text=True, env=env or e.env, timeout=600)
    sanitizer_clean(p.stderr)
    results = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    return p.returncode, results, p.stderr


def sanitizer_clean(stderr):
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                "UndefinedBehaviorSanitizer"):
        check(bad not in stderr, "sanitizer report:\n" + stderr[-4000:])


def by_id(results):
    out = {}
    for r in results:
        check(r["id"] not in out, "two results for %r" % r["id"])
        out[r["id"]] = r
    return out


def summary_of(stderr):
    m = re.search(r"capsid batch: (\d+) jobs, (\d+) ok, (\d+) failed, "
                  r"(\d+) timed out, (\d+) oom, (\d+) errors", stderr)
    check(m is not None, "no summary line in stderr: %r" % stderr[-800:])
    return dict(zip(["jobs", "ok", "failed", "timed_out", "oom", "errors"],
                    map(int, m.groups())))


def counts_of(results):
    c = {"jobs": len(results), "ok": 0, "failed": 0, "timed_out": 0,
         "oom": 0, "errors": 0}
    for r in results:
        if r["error"] is not None:
            c["errors"] += 1
        elif (r["exit_code"] == 0 and r["signal"] is None and
              not r["timed_out"] and not r["oom"]):
            c["ok"] += 1
        else:
            c["failed"] += 1
            c["timed_out"] += r["timed_out"]
            c["oom"] += r["oom"]
    return c


# ---- result fields ------------------------------------------------------

def parse_rfc3339(text):
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text),
          "started_at %r is not RFC 3339 UTC with milliseconds" % text)
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def check_run_fields(r, before, after, what):
    when = parse_rfc3339(r["started_at"])
    check(before <= when <= after, "%s: started_at %s is not between %s and "
          "%s" % (what, when, before, after))
    check(isinstance(r["pid"], int) and r["pid"] > 0,
          "%s: pid %r" % (what, r["pid"]))
    for k in ("user_cpu_ms", "system_cpu_ms"):
        check(isinstance(r[k], (int, float)) and r[k] >= 0,
              "%s: %s %r" % (what, k, r[k]))
    check(abs(r["user_cpu_ms"] + r["system_cpu_ms"] - r["cpu_ms"]) < 0.01,
          "%s: user + system CPU is not cpu_ms: %r" % (what, r))


def test_result_fields(e):
    # Clocks are read to the millisecond: widen by one on each side.
    ms = datetime.timedelta(milliseconds=1)
    before = datetime.datetime.now(datetime.timezone.utc) - ms
    rc, results, err = batch(e, [job("a", "echo $$ > pid"),
                                 json.dumps({"id": "bad", "argv": []})])
    after = datetime.datetime.now(datetime.timezone.utc) + ms
    r = by_id(results)
    check_run_fields(r["a"], before, after, "batch")
    # The job's shell is a child of the pid capsid reports (its pid
    # namespace's init) or that pid itself: it sees itself as a small pid
    # in its own namespace, so only "a positive number" is comparable.
    check(r["bad"]["pid"] is None and r["bad"]["started_at"] is None,
          "a line that never ran has a pid or a start: %r" % r["bad"])
    check(r["bad"]["user_cpu_ms"] == 0 and r["bad"]["system_cpu_ms"] == 0,
          "a line that never ran has CPU time: %r" % r["bad"])

    before = datetime.datetime.now(datetime.timezone.utc) - ms
    p = subprocess.run([CAPSID, "run", "--json", "--", "sh", "-c",
                        "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"],
                       cwd=e.ws, capture_output=True, text=True, env=e.env,
                       timeout=600)
    after = datetime.datetime.now(datetime.timezone.utc) + ms
    check(p.returncode == 0, "run --json: exit %d %s" % (p.returncode,
                                                        p.stderr))
    r = json.loads(p.stdout)
    check_run_fields(r, before, after, "run --json")
    check(r["user_cpu_ms"] > 0, "a busy loop used no user CPU: %r" % r)


# ---- job log -------------------------------------------------------------

def read_joblog(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t",
                                   quoting=csv.QUOTE_NONE))
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
    check(header == JOBLOG_COLUMNS, "job log header %r" % header)
    return rows


def test_joblog(e):
    log = e.path("joblog")
    lines = [job("ok"), job("fails", "exit 3"), job("killed", "kill -9 $$"),
             json.dumps({"argv": ["sh", "-c", "printf 12345"],
                         "stdin": "abc"}),
             json.dumps({"id": 7, "argv": ["/nonexistent/program"]})]
    rc, results, err = batch(e, lines, "-j", "2", "--joblog", log)
    rows = read_joblog(log)
    check(len(rows) == len(lines), "job log has %d lines for %d jobs"
          % (len(rows), len(lines)))
    res = {r["line"]: r for r in results}
    for row in rows:
        r = res[int(row["Seq"])]
        check(row["Host"] == ":", "Host %r" % row["Host"])
        check(json.loads(row["id"]) == r["id"], "id %r vs %r" % (row["id"],
                                                              r["id"]))
        want = r["exit_code"] if r["exit_code"] is not None else -1
        check(int(row["Exitval"]) == want, "Exitval %r for %r" % (row, r))
        check(int(row["Signal"]) == (r["signal"] or 0), "Signal %r" % row)
        check(row["mode"] == r["mode"], "mode %r" % row)
        check(row["oom"] == "false" and row["timed_out"] == "false",
              "oom/timed_out %r" % row)
        float(row["JobRuntime"])
        if r["error"] is None:
            check(abs(float(row["Starttime"]) -
                      parse_rfc3339(r["started_at"]).timestamp()) < 0.002,
                  "Starttime %r vs %r" % (row["Starttime"], r["started_at"]))
    by_seq = {int(row["Seq"]): row for row in rows}
    check(by_seq[3]["Signal"] == "9" and by_seq[3]["Exitval"] == "-1",
          "a job killed by signal 9: %r" % by_seq[3])
    check(by_seq[4]["Send"] == "3" and by_seq[4]["Receive"] == "5",
          "Send/Receive of a job given 3 bytes writing 5: %r" % by_seq[4])
    check(by_seq[4]["Command"] == "sh -c 'printf 12345'",
          "Command %r" % by_seq[4]["Command"])
    check(by_seq[5]["Exitval"] == "-1" and by_seq[5]["id"] == "7",
          "a program not found: %r" % by_seq[5])


# ---- resume after SIGINT --------------------------------------------------

def interrupted_run(e, lines, extra):
    """Runs lines with -j 2, waits until both slow jobs have started, then
    SIGINT. Returns the results."""
    out = open(e.path("results.jsonl"), "w")
    p = subprocess.Popen([CAPSID, "batch", "-j", "2", "--grace", "0"] + extra,
                         cwd=e.ws, stdin=subprocess.PIPE, stdout=out,
                         stderr=subprocess.PIPE, text=True, env=e.env)
    p.stdin.write("\n".join(lines) + "\n")
    p.stdin.close()
    p.stdin = None
    deadline = time.monotonic() + WAIT_S
    while not {"s5", "s6"} <= set(e.ran()):
        check(time.monotonic() < deadline and p.poll() is None,
              "the slow jobs did not start: ran %r" % e.ran())
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=WAIT_S)
    out.close()
    sanitizer_clean(err)
    check(p.returncode == 130, "interrupted batch exited %d" % p.returncode)
    with open(e.path("results.jsonl")) as f:
        return [json.loads(x) for x in f if x.strip()]


def test_resume(e, source):
    e.reset()
    first = ["q1", "q2", "q3", "q4"]
    lines = ([job(i) for i in first] +
             [job("s5", "sleep 30"), job("s6", "sleep 30")] +
             [job("q%d" % i) for i in range(7, 11)])
    log = e.path("joblog")
    if os.path.exists(log):
        os.unlink(log)
    interrupted_run(e, lines, ["--joblog", log])
    done_before = set(e.ran())
    check(set(first) <= done_before and {"s5", "s6"} <= done_before,
          "before the signal: ran %r" % e.ran())
    # Whatever ran to the end before the signal is done; s5 and s6 were cut
    # short, and the jobs after them may or may not have run.
    finished = set(first) | (done_before - {"s5", "s6"})
    e.reset()
    # The same ids, now quick: resume goes by id, not by the command.
    lines2 = [job(i) for i in first] + [job("s5"), job("s6")] + \
        [job("q%d" % i) for i in range(7, 11)]
    resume_from = log if source == "joblog" else e.path("results.jsonl")
    summary = e.path("summary.json")
    rc, results, err = batch(e, lines2, "-j", "2", "--resume", resume_from,
                             "--json-summary", summary)
    all_ids = set(first) | {"s5", "s6"} | {"q%d" % i for i in range(7, 11)}
    check(sorted(e.ran()) == sorted(all_ids - finished),
          "--resume from the %s ran %r; not done were %r"
          % (source, sorted(e.ran()), sorted(all_ids - finished)))
    check(rc == 0, "resumed batch exited %d: %s" % (rc, err))
    check({r["id"] for r in results} == all_ids - finished,
          "resumed batch wrote results for %r" % [r["id"] for r in results])
    with open(summary) as f:
        s = json.load(f)
    check(sorted(s["skipped_ids"]) == sorted(finished) and
          s["skipped"] == len(finished), "skipped ids %r" % s)
    for i in finished:
        check('"%s"' % i in err, "stderr does not name skipped %s: %s"
              % (i, err))


def test_resume_failed(e):
    e.reset()
    res = e.path("results.jsonl")
    lines = [job("ok1"), job("bad2", "exit 1"), job("ok3"),
             job("slow4", "sleep 30", timeout="200ms")]
    rc, results, err = batch(e, lines)
    with open(res, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in results))
    e.reset()
    rc, results, err = batch(e, lines[:3] + [job("slow4")],
                             "--resume-failed", res)
    check(sorted(e.ran()) == ["bad2", "slow4"],
          "--resume-failed ran %r" % e.ran())


# ---- retries --------------------------------------------------------------

def test_retries(e):
    e.reset()
    # Fails until its third run.
    flaky = job("flaky", "n=$(grep -c flaky ran); [ $n -ge 3 ]")
    lines = [flaky, job("never", "exit 4"), job("fine")]
    rc, results, err = batch(e, lines, "--retries", "5")
    ran = e.ran()
    check(ran.count("flaky") == 3, "flaky ran %d times" % ran.count("flaky"))
    check(ran.count("never") == 5, "a failing job ran %d times with "
          "--retries 5" % ran.count("never"))
    check(ran.count("fine") == 1, "a job that succeeded ran again")
    r = by_id(results)
    check(r["flaky"]["attempt"] == 3 and r["flaky"]["exit_code"] == 0,
          "flaky: %r" % r["flaky"])
    check(r["never"]["attempt"] == 5 and r["never"]["exit_code"] == 4,
          "never: %r" % r["never"])
    check(r["fine"]["attempt"] == 1, "fine: %r" % r["fine"])
    check(", 6 retries" in err, "summary does not count 6 retries: %s" % err)
    # --retries 1 is one attempt.
    e.reset()
    batch(e, [job("never", "exit 4")], "--retries", "1")
    check(e.ran() == ["never"], "--retries 1 ran %r" % e.ran())


# ---- halt ------------------------------------------------------------------

def test_halt(e, when):
    e.reset()
    log = e.path("joblog-halt")
    # "long" starts first; "fails" waits for it, then fails; the rest must
    # never start. Under --halt soon, "long" ends only once the failure is
    # in the job log: capsid writes that line and halts in one step, so
    # "long" cannot free its slot for a later job first, however slow the
    # machine. Under --halt now it would run for 30 s.
    wait_long = "while ! grep -q long ran; do sleep 0.02; done; exit 3"
    if when == "now":
        long_script = "sleep 30; echo finished > long.done"
    else:
        long_script = ("while ! grep -q fails '%s'; do sleep 0.02; done; "
                       "echo finished > long.done" % log)
    lines = [job("long", long_script), job("fails", wait_long)] + \
        [job("later%d" % i) for i in range(6)]
    rc, results, err = batch(e, lines, "-j", "2", "--halt",
                             "%s,fail=1" % when, "--grace", "0",
                             "--joblog", log)
    ran = e.ran()
    check(sorted(ran) == ["fails", "long"], "--halt %s: ran %r" % (when, ran))
    r = by_id(results)
    check(rc == 1, "--halt %s,fail=1 exited %d" % (when, rc))
    check("--halt %s,fail=1" % when in err, "stderr: %s" % err)
    # As in parallel, the jobs it kept from starting have no result (and
    # --resume would run them).
    check(set(r) == {"long", "fails"}, "--halt %s: results for %r"
          % (when, sorted(r)))
    check(" not started" in err, "summary: %s" % err)
    if when == "now":
        check(r["long"]["interrupted"] and r["long"]["signal"] is not None,
              "--halt now did not stop the running job: %r" % r["long"])
        check(not os.path.exists(os.path.join(e.ws, "long.done")),
              "--halt now: the running job finished")
    else:
        check(r["long"]["exit_code"] == 0 and
              not r["long"].get("interrupted"),
              "--halt soon did not let the running job finish: %r"
              % r["long"])
        check(os.path.exists(os.path.join(e.ws, "long.done")),
              "--halt soon: the running job did not finish")
    # A percentage is judged from the third job on: with -j 1 and every
    # job failing, exactly three run.
    e.reset()
    rc, results, err = batch(e, [job("f%d" % i, "exit 1") for i in range(6)],
                             "-j", "1", "--halt", "soon,fail=50%")
    check(e.ran() == ["f0", "f1", "f2"], "fail=50%%: ran %r" % e.ran())
    # A line that cannot run counts as a failure too.
    e.reset()
    rc, results, err = batch(e, [json.dumps({"id": "bad", "argv": []}),
                                 job("y1"), job("y2")],
                             "-j", "1", "--halt", "%s,fail=1" % when)
    check(e.ran() == [] and rc == 1 and [r["id"] for r in results] == ["bad"],
          "an invalid line did not halt: ran %r, exit %d" % (e.ran(), rc))
    # success=1: stops at the first success.
    e.reset()
    rc, results, err = batch(e, [job("x0", "exit 1"), job("x1"),
                                 job("x2"), job("x3")],
                             "-j", "1", "--halt", "now,success=1")
    check(e.ran() == ["x0", "x1"] and rc == 0,
          "success=1: ran %r, exit %d" % (e.ran(), rc))


# ---- defaults ------------------------------------------------------------

def test_defaults(e):
    e.reset()
    other = os.path.join(e.tmp, "other")
    os.makedirs(other, exist_ok=True)
    lines = [
        json.dumps({"id": "inherit", "argv": ["sh", "-c",
                    "echo $A $B; pwd; echo x > w"]}),
        json.dumps({"id": "override", "argv": ["sh", "-c",
                    "echo $A $B; pwd; echo x > w"],
                    "env": {"B": "line"}, "cwd": other,
                    "policy": "workspace-write"}),
        json.dumps({"id": "timeout", "argv": ["sleep", "30"]}),
        json.dumps({"id": "longer", "argv": ["sh", "-c", "sleep 0.3"],
                    "timeout_ms": 60000}),
    ]
    rc, results, err = batch(e, lines, "-C", e.ws, "-e", "A=dflt",
                             "-e", "B=dflt", "-p", "read-only",
                             "-t", "300ms", "-m", "256M", "--mode", "auto")
    r = by_id(results)
    out = r["inherit"]["stdout"].split("\n")
    check(out[0] == "dflt dflt" and out[1] == os.path.realpath(e.ws),
          "inherited defaults: %r" % r["inherit"])
    check("Read-only" in r["inherit"]["stderr"] or
          r["inherit"]["exit_code"] != 0,
          "-p read-only was not inherited: %r" % r["inherit"])
    out = r["override"]["stdout"].split("\n")
    check(out[0] == "dflt line" and out[1] == os.path.realpath(other) and
          r["override"]["exit_code"] == 0,
          "a line's own env/cwd/policy did not win: %r" % r["override"])
    check(r["timeout"]["timed_out"], "-t 300ms not inherited: %r"
          % r["timeout"])
    check(not r["longer"]["timed_out"] and r["longer"]["exit_code"] == 0,
          "a line's timeout_ms did not win over -t: %r" % r["longer"])
    check(not os.path.exists(os.path.join(e.ws, "w")),
          "a read-only default let a job write")


# ---- summary ----------------------------------------------------------------

def test_summary(e):
    e.reset()
    lines = [job("ok1"), job("ok2"), job("exit", "exit 2"),
             job("slow", "sleep 30", timeout="200ms"),
             json.dumps({"id": "badline", "argv": "nope"}),
             "this is not json",
             job("mem", "head -c 100000000 /dev/zero | tail",
                 memory_limit="32M")]
    summary = e.path("summary.json")
    rc, results, err = batch(e, lines, "-j", "3", "--json-summary", summary)
    want = counts_of(results)
    got = summary_of(err)
    check(got == want, "summary %r, results say %r" % (got, want))
    with open(summary) as f:
        s = json.load(f)
    for k, v in want.items():
        check(s[k] == v, "--json-summary %s %r, results say %r" % (k, s[k], v))
    check(s["wall_ms"] > 0 and s["jobs_per_s"] > 0 and s["halted"] is None,
          "summary %r" % s)
    check(want["errors"] == 2 and want["timed_out"] == 1,
          "the mix did not come out as made: %r" % want)


# ---- logging ----------------------------------------------------------------

def test_verbose(e):
    e.reset()
    rc, results, err = batch(e, [job("a"), job("b")], "--verbose")
    for i in ("a", "b"):
        for stage in ("resolve", "prelaunch", "spawn", "exit"):
            check(re.search(r'\[debug\] job "%s": %s [0-9.]+ ms' % (i, stage),
                            err), "--verbose: no %s of %s: %s"
                  % (stage, i, err))
    env = dict(e.env, CAPSID_LOG="info")
    rc, results, err = batch(e, [job("a")], env=env)
    check("[info] job \"a\": started (pid " in err and "[debug]" not in err,
          "CAPSID_LOG=info: %s" % err)
    env = dict(e.env, CAPSID_LOG="warn")
    rc, results, err = batch(e, [job("a")], env=env)
    check("[info]" not in err and "[debug]" not in err,
          "CAPSID_LOG=warn: %s" % err)
    p = subprocess.run([CAPSID, "run", "--verbose", "--", "true"], cwd=e.ws,
                       capture_output=True, text=True, env=e.env, timeout=600)
    for stage in ("resolve", "prelaunch", "spawn", "exit"):
        check(re.search(r"\[debug\] job: %s [0-9.]+ ms" % stage, p.stderr),
              "run --verbose: no %s: %s" % (stage, p.stderr))


# ---- bad values ---------------------------------------------------------------

def test_bad_values(e):
    bad = e.path("bad-results.jsonl")
    with open(bad, "w") as f:
        f.write(json.dumps({"id": "a", "line": 1, "exit_code": 0,
                            "error": None}) + "\n")
        f.write("{not json\n")
    badlog = e.path("bad-joblog")
    with open(badlog, "w") as f:
        f.write("\t".join(JOBLOG_COLUMNS) + "\n1\t:\t0\n")
    cases = [
        (["--halt", "sometimes"], "--halt"),
        (["--halt", "now,fail=0"], "--halt"),
        (["--halt", "soon,fail=150%"], "--halt"),
        (["--retries", "0"], "--retries"),
        (["--retries", "x"], "--retries"),
        (["--resume", "/nonexistent/results.jsonl"], "--resume"),
        (["--resume", bad], "--resume: %s line 2: " % bad),
        (["--resume-failed", badlog], "--resume-failed: %s line 2: "
         % badlog),
        (["--resume", bad, "--resume-failed", bad], "once"),
        (["-t", "soon"], "--timeout"),
        (["-m", "lots"], "--memory-limit"),
        (["--max-processes", "x"], "--max-processes"),
        (["--mode", "root"], "--mode"),
        (["-e", "NOEQUALS"], "--env"),
        (["-p", "{\"mode\":"], "--policy"),
        (["--joblog", "/nonexistent/dir/log"], "--joblog"),
    ]
    for args, needle in cases:
        rc, results, err = batch(e, [job("x")], *args)
        check(rc == 2 and needle in err and not results,
              "batch %r: exit %d, stderr %r" % (args, rc, err))
        check(err.count("\n") == 1, "batch %r: not one line: %r"
              % (args, err))
    rc, results, err = batch(e, [job("x")], env=dict(e.env, CAPSID_LOG="x"))
    check(rc == 2 and "CAPSID_LOG" in err, "CAPSID_LOG=x: %d %r" % (rc, err))


def main():
    e = Env()
    tests = [("result fields", lambda: test_result_fields(e)),
             ("job log", lambda: test_joblog(e)),
             ("resume from results", lambda: test_resume(e, "results")),
             ("resume from the job log", lambda: test_resume(e, "joblog")),
             ("resume failed", lambda: test_resume_failed(e)),
             ("retries", lambda: test_retries(e)),
             ("halt now", lambda: test_halt(e, "now")),
             ("halt soon", lambda: test_halt(e, "soon")),
             ("defaults", lambda: test_defaults(e)),
             ("summary", lambda: test_summary(e)),
             ("verbose", lambda: test_verbose(e)),
             ("bad values", lambda: test_bad_values(e))]
    only = os.environ.get("CAPSID_TEST_ONLY")
    failed = 0
    try:
        for name, t in tests:
            if only and only not in name:
                continue
            try:
                t()
                print("ok   %s" % name)
            except Failure as ex:
                failed += 1
                print("FAIL %s: %s" % (name, ex))
            sys.stdout.flush()
    finally:
        shutil.rmtree(e.tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
