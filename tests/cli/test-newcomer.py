#!/usr/bin/env python3
"""A newcomer's first hour with capsid, as tests.

Usage: test-newcomer.py PATH/TO/capsid [README.md]

What a stranger does first: runs every subcommand's --help, follows the
README's examples, makes typos, points capsid at a missing directory,
feeds it an empty file, a JSON line with a trailing comma, a huge output,
^D on a terminal, and asks `capsid doctor`. Each case here once surprised
someone (issue 14); each asserts what the binary does now. Every wait has a
generous deadline so the suite is bounded in time, but no assertion
depends on how fast anything runs.
"""
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

CAPSID = None
README = None
DEADLINE = 300  # seconds; a bound on a hung run, never a measurement

# The subcommands `capsid help` lists, and the modes a result can report
# when a job was confined.
COMMANDS = ["run", "batch", "bench", "acl", "audit", "doctor", "setup",
            "uninstall"]
SCALE_OUT = ["worker", "submit", "collect"]
CONFINED_MODES = {"elevated", "unprivileged", "landlock-only"}


def run(*args, cwd=None, env=None, input="", timeout=DEADLINE):
    return subprocess.run([CAPSID] + list(args), cwd=cwd, env=env,
                          input=input, capture_output=True, text=True,
                          errors="replace", timeout=timeout)


# What AddressSanitizer prints about the job's clone child switching
# stacks (google/sanitizers#189): not capsid's words, so not checked.
ASAN_NOISE = re.compile(r"^(==\d+==WARNING: ASan is ignoring.*|False positive "
                        r"error reports may follow|For details see "
                        r"https://github.com/google/sanitizers/.*)\n",
                        re.M)


def batch_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def reads_cleanly(test, msg):
    """One clean sentence: no word twice in a row ("policy: policy:") and
    no three-word phrase said twice ("no such file or directory: No such
    file or directory")."""
    words = [w.lower() for w in re.split(r"[\s:,;()\"']+", msg) if w]
    for a, b in zip(words, words[1:]):
        test.assertNotEqual(a, b, "%r says %r twice in a row" % (msg, a))
    phrases = [tuple(words[i:i + 3]) for i in range(len(words) - 2)]
    for i, p in enumerate(phrases):
        test.assertNotIn(p, phrases[i + 1:], "%r repeats %r" % (msg, p))


def under(path, root):
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def fixture_base():
    """The build tree, unless it lies under /tmp (a clone there) or
    $TMPDIR: workspaces there draw the shared-tmp warning, which only the
    case about it expects. /var/tmp then, as the smoke suites do."""
    for base in (os.getcwd(), "/var/tmp"):
        if not under(base, "/tmp") and not (
                os.environ.get("TMPDIR") and under(base,
                                                   os.environ["TMPDIR"])):
            return base
    raise RuntimeError("the build tree and /var/tmp are both under /tmp "
                       "or $TMPDIR; unset TMPDIR")


class Newcomer(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="capsid-newcomer-",
                                    dir=fixture_base())
        self.ws = os.path.join(self.tmp, "ws")
        os.mkdir(self.ws)
        self.env = dict(os.environ)
        self.env["CAPSID_STATE_DIR"] = os.path.join(self.tmp, "state")
        self.env.pop("TMPDIR", None)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def capsid(self, *args, **kw):
        kw.setdefault("cwd", self.ws)
        kw.setdefault("env", self.env)
        res = run(*args, **kw)
        res.stderr = ASAN_NOISE.sub("", res.stderr)
        return res

    def write(self, name, text):
        path = os.path.join(self.ws, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # ---- help ----------------------------------------------------------

    def test_every_help_text(self):
        res = self.capsid("help")
        self.assertEqual(res.returncode, 0)
        usage = res.stdout.split("\n\n", 2)[1]
        listed = [c for c in COMMANDS + SCALE_OUT
                  if re.search(r"\b%s\b" % c, res.stdout)]
        for cmd in COMMANDS:
            self.assertRegex(usage, r"\b%s\b" % cmd)
        for cmd in listed:
            a = self.capsid(cmd, "--help")
            b = self.capsid("help", cmd)
            self.assertEqual(a.returncode, 0, (cmd, a.stderr))
            self.assertEqual(b.returncode, 0, (cmd, b.stderr))
            self.assertTrue(a.stdout.startswith("Usage: capsid " + cmd),
                            (cmd, a.stdout[:80]))
            self.assertEqual(a.stdout, b.stdout, cmd)
            # Confinement landed; no help text may say otherwise.
            self.assertNotIn("does not confine", a.stdout, cmd)
        self.assertEqual(self.capsid().returncode, 2)
        for v in ("--version", "version"):
            res = self.capsid(v)
            self.assertEqual(res.returncode, 0)
            self.assertRegex(res.stdout, r"^capsid \d+\.\d+\.\d+\n$")

    def test_unknown_help_topic_exits_2_and_lists_topics(self):
        res = self.capsid("help", "foo")
        self.assertEqual(res.returncode, 2)
        self.assertEqual(res.stdout, "")
        self.assertIn("unknown help topic 'foo'", res.stderr)
        for cmd in COMMANDS:
            self.assertIn(cmd, res.stderr)
        res = self.capsid("help", "btach")
        self.assertEqual(res.returncode, 2)
        self.assertIn("did you mean 'batch'", res.stderr)

    def test_typos_get_a_suggestion(self):
        cases = [
            (["runn", "--", "true"], 2, "did you mean 'run'"),
            (["-v"], 2, "--version"),
            (["run", "--polcy", "read-only", "--", "true"], 125,
             "did you mean '--policy'"),
            (["run", "-p", "read-onyl", "--", "true"], 125,
             'did you mean "read-only"'),
            (["batch", "--progres"], 2, "did you mean '--progress'"),
            (["doctor", "--jsn"], 2, "did you mean '--json'"),
        ]
        for args, code, needle in cases:
            res = self.capsid(*args)
            self.assertEqual(res.returncode, code, (args, res.stderr))
            self.assertIn(needle, res.stderr, args)
            self.assertEqual(res.stderr.count("\n"), 1, (args, res.stderr))
            reads_cleanly(self, res.stderr)

    # ---- durations -----------------------------------------------------

    def test_bare_duration_is_seconds(self):
        # -t 60 once meant 60 ms: a job sleeping 0.1 s was always killed.
        res = self.capsid("run", "-t", "60", "--", "sh", "-c",
                          "sleep 0.1; echo done")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout, "done\n")
        for t in ("1.5s", "2m", "1h", "0.5"):
            res = self.capsid("run", "-t", t, "--", "true")
            self.assertEqual(res.returncode, 0, (t, res.stderr))
        # A suffix still means what it says: 100ms ends a 60 s sleep.
        res = self.capsid("run", "-t", "100ms", "--", "sleep", "60")
        self.assertEqual(res.returncode, 124, res.stderr)
        self.assertIn("timed out after 100 ms", res.stderr)
        # The batch line: "timeout" is a duration, "timeout_ms" is ms.
        jobs = self.write("jobs.jsonl", "\n".join([
            json.dumps({"id": "s", "timeout": "60",
                        "argv": ["sh", "-c", "sleep 0.1"]}),
            json.dumps({"id": "ms", "timeout_ms": 100,
                        "argv": ["sleep", "60"]}),
        ]) + "\n")
        res = self.capsid("batch", jobs)
        by_id = {r["id"]: r for r in batch_lines(res.stdout)}
        self.assertFalse(by_id["s"]["timed_out"])
        self.assertEqual(by_id["s"]["exit_code"], 0)
        self.assertTrue(by_id["ms"]["timed_out"])
        for cmd in (["run"], ["audit"], ["collect"], ["worker"]):
            res = self.capsid("help", *cmd)
            if res.returncode == 0 and "DURATION" in res.stdout:
                self.assertIn("bare", res.stdout, cmd)

    def test_memory_limit_kill_is_explained(self):
        # Passed through, an OOM kill was a bare exit 137.
        checks = json.loads(self.capsid("doctor", "--json").stdout)["checks"]
        if not any(c["name"] == "cgroups" and c["ok"] for c in checks):
            if os.environ.get("CAPSID_NO_SKIP"):
                self.fail("no cgroups here: memory limits are rlimits")
            self.skipTest("no cgroups here: memory limits are rlimits, "
                          "which fail allocations instead of killing")
        res = self.capsid("run", "-m", "16M", "--", "sh", "-c",
                          "x=$(head -c 100000000 /dev/zero | tr '\\0' a)")
        self.assertEqual(res.returncode, 137, res.stderr)
        self.assertIn("went over its memory limit (16777216 bytes)",
                      res.stderr)

    # ---- output --------------------------------------------------------

    def test_output_limit_binds_when_passed_through(self):
        script = "head -c 100000 /dev/zero | tr '\\0' a; echo tail >&2"
        res = self.capsid("run", "--output-limit", "1k", "--", "sh", "-c",
                          script)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout, "a" * 1024)
        self.assertIn("tail", res.stderr)
        self.assertIn("stdout passed --output-limit (1024 bytes): the "
                      "last 98976 bytes were not shown", res.stderr)
        # Control: without the option everything passes through.
        res = self.capsid("run", "--", "sh", "-c", script)
        self.assertEqual(len(res.stdout), 100000)
        self.assertNotIn("not shown", res.stderr)
        self.assertIn("--output-limit", self.capsid("help", "run").stdout)

    def test_result_line_stays_bounded_whatever_the_bytes(self):
        # 5 MB of each kind through a 1 MB cap: the line once reached
        # 4.3 MB for invalid UTF-8 and 6 MB for NULs.
        five = "head -c 5242880"
        kinds = {
            "random": five + " /dev/urandom",
            "ff": five + " /dev/zero | tr '\\0' '\\377'",
            "multibyte": "yes 'caf\u00e9 \u20ac \U0001F600' | " + five,
            "nul": five + " /dev/zero",
        }
        lines = [json.dumps({"id": k, "argv": ["sh", "-c", v],
                             "output_limit": "1M"})
                 for k, v in kinds.items()]
        jobs = self.write("big.jsonl", "\n".join(lines) + "\n")
        out = os.path.join(self.tmp, "out.jsonl")
        with open(out, "wb") as f:
            res = subprocess.run([CAPSID, "batch", "-j", "2", jobs],
                                 cwd=self.ws, env=self.env, stdout=f,
                                 stderr=subprocess.PIPE, timeout=DEADLINE)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(out, "rb") as f:
            raw = f.read().splitlines()
        self.assertEqual(len(raw), len(kinds))
        cap = (1 << 20) + 64  # the kept bytes and the marker line
        for line in raw:
            r = json.loads(line)
            self.assertIsNone(r["error"], r["id"])
            self.assertGreater(r["stdout_dropped"], 0, r["id"])
            self.assertLessEqual(len(line), 3 * cap + 4096,
                                 "%s: a %d-byte line" % (r["id"], len(line)))
            if r["id"] == "multibyte":
                # Valid text stays whole (the cap may split a character
                # where it cuts, which then comes as U+FFFD).
                self.assertGreater(len(r["stdout"].encode()), cap - 64)

    # ---- README and help samples ---------------------------------------

    def readme_blocks(self, lang):
        with open(README, encoding="utf-8") as f:
            text = f.read()
        return re.findall(r"```%s\n(.*?)```" % lang, text, re.S)

    def prepare_readme_workspace(self):
        """What the README's examples assume exists: a project with a
        Makefile and npm tests in the cwd, a git checkout at ~/src/app,
        and jobs.jsonl made of the README's own job line."""
        home = os.path.join(self.ws, "home")
        app = os.path.join(home, "src", "app")
        os.makedirs(app)
        self.write("Makefile", "all:\n\t@echo built\n")
        self.write("package.json", json.dumps(
            {"name": "x", "version": "1.0.0",
             "scripts": {"test": "echo tested"}}))
        git = ["git", "-C", app, "-c", "user.name=n", "-c", "user.email=e@x"]
        subprocess.run(["git", "init", "-q", app], check=True)
        with open(os.path.join(app, "f"), "w") as f:
            f.write("1\n")
        subprocess.run(git + ["add", "f"], check=True)
        subprocess.run(git + ["commit", "-qm", "f"], check=True)
        env = dict(self.env, HOME=home)
        if shutil.which("npm") is None:
            # The example is about capsid's options, not about npm.
            bindir = os.path.join(self.tmp, "bin")
            os.mkdir(bindir)
            with open(os.path.join(bindir, "npm"), "w") as f:
                f.write("#!/bin/sh\necho tested\n")
            os.chmod(os.path.join(bindir, "npm"), 0o755)
            env["PATH"] = bindir + ":" + env["PATH"]
        return env

    def readme_job(self):
        jobs = [json.loads(b) for b in self.readme_blocks("json")
                if '"argv"' in b]
        self.assertEqual(len(jobs), 1)
        job = jobs[0]
        job["cwd"] = self.ws
        return job

    def test_readme_shell_examples_run(self):
        env = self.prepare_readme_workspace()
        self.write("jobs.jsonl", json.dumps(self.readme_job()) + "\n")
        ran = 0
        for block in self.readme_blocks("sh"):
            for line in block.splitlines():
                cmd = line.split("#", 1)[0].strip()
                if not cmd:
                    continue
                if cmd.startswith("./scripts/"):
                    # Set-up steps that build and test the whole project
                    # (CI runs them): here only that they are there.
                    root = os.path.dirname(os.path.abspath(README))
                    path = os.path.join(root, cmd.split()[0])
                    self.assertTrue(os.access(path, os.X_OK), cmd)
                    continue
                self.assertTrue(cmd.startswith("capsid "), cmd)
                shell = "'%s'%s" % (CAPSID, cmd[len("capsid"):])
                res = subprocess.run(["sh", "-c", shell], cwd=self.ws,
                                     env=env, capture_output=True, text=True,
                                     errors="replace", timeout=DEADLINE)
                self.assertEqual(res.returncode, 0, (cmd, res.stderr))
                if "--json" in cmd:
                    obj = json.loads(res.stdout)
                    self.assertIn(obj.get("mode", obj.get("auto_mode")),
                                  CONFINED_MODES, cmd)
                ran += 1
        self.assertGreaterEqual(ran, 4)
        with open(os.path.join(self.ws, "results.jsonl")) as f:
            results = batch_lines(f.read())
        self.assertEqual(len(results), 1)
        self.assertEqual(results[0]["stdout"], "built\n")

    def assert_sample_matches(self, sample, where):
        job = self.readme_job()
        res = self.capsid("batch", input=json.dumps(job) + "\n")
        real = batch_lines(res.stdout)
        self.assertEqual(len(real), 1, res.stderr)
        self.assertIsNone(real[0]["error"])
        self.assertEqual(list(sample.keys()), list(real[0].keys()), where)
        self.assertIn(sample["mode"], CONFINED_MODES, where)
        self.assertIn(real[0]["mode"], CONFINED_MODES)

    def test_readme_result_sample_is_what_batch_prints(self):
        samples = [json.loads(b) for b in self.readme_blocks("json")
                   if '"exit_code"' in b]
        self.assertEqual(len(samples), 1)
        self.assert_sample_matches(samples[0], "README.md")

    def test_help_result_sample_is_what_batch_prints(self):
        text = self.capsid("help", "batch").stdout
        at = text.index("Result line:")
        start = text.index("{", at)
        depth, end = 0, start
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                break
        sample = json.loads(text[start:end + 1])
        self.assert_sample_matches(sample, "capsid help batch")

    # ---- errors --------------------------------------------------------

    def test_errors_read_as_one_clean_sentence(self):
        afile = self.write("afile", "x")
        cases = [
            (["run", "-C", os.path.join(self.tmp, "missing"), "--", "true"],
             125, "no such file or directory"),
            (["run", "-p", "root", "--", "true"], 125, "unknown policy"),
            (["run", "-w", os.path.join(self.tmp, "missing"), "--", "true"],
             125, "no such file or directory"),
            (["run", "--", "capsid-no-such-program"], 127, "not found"),
            (["run", "--", afile], 126, "not executable"),
            (["run", "-r", "new/../../x", "--", "true"], 125,
             "read-only path"),
        ]
        for args, code, needle in cases:
            res = self.capsid(*args)
            self.assertEqual(res.returncode, code, (args, res.stderr))
            self.assertIn(needle, res.stderr.lower(), args)
            self.assertEqual(res.stderr.count("\n"), 1, res.stderr)
            reads_cleanly(self, res.stderr)

    # ---- batch input ---------------------------------------------------

    def test_batch_inputs_a_stranger_tries(self):
        empty = self.write("empty.jsonl", "")
        res = self.capsid("batch", empty)
        self.assertEqual((res.returncode, res.stdout), (0, ""))
        res = self.capsid("batch", os.path.join(self.ws, "missing.jsonl"))
        self.assertEqual(res.returncode, 2)
        self.assertIn("cannot open", res.stderr)
        comma = self.write("comma.jsonl", '{"argv":["true"],}\n'
                           '{"argv":["echo","next"]}\n')
        res = self.capsid("batch", "-j", "1", comma)
        self.assertEqual(res.returncode, 1)
        by_line = {r["line"]: r for r in batch_lines(res.stdout)}
        self.assertEqual(by_line[1]["error"]["code"], "CAPSID_EJSON")
        self.assertIn("line 1", by_line[1]["error"]["message"])
        reads_cleanly(self, by_line[1]["error"]["message"])
        self.assertEqual(by_line[2]["stdout"], "next\n")
        res = self.capsid("run")
        self.assertEqual(res.returncode, 125)
        self.assertIn("no program given", res.stderr)

    def test_ctrl_d_ends_batch_from_a_terminal(self):
        master, slave = pty.openpty()
        proc = subprocess.Popen([CAPSID, "batch"], cwd=self.ws, env=self.env,
                                stdin=slave, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        os.close(slave)
        try:
            os.write(master, b'{"id":"t","argv":["echo","typed"]}\n')
            os.write(master, b"\x04")  # ^D at the start of a line: EOF
            out, err = proc.communicate(timeout=DEADLINE)
        finally:
            os.close(master)
        self.assertEqual(proc.returncode, 0, err)
        results = batch_lines(out.decode())
        self.assertEqual([r["stdout"] for r in results], ["typed\n"])
        # Someone who typed just the command is told what it waits for.
        self.assertIn(b"end with ^D", err)

    # ---- progress ------------------------------------------------------

    def test_progress_counts_the_running_job_between_jobs(self):
        # -j 1: the second job holds its slot until the test lets it go,
        # so every frame drawn while it runs must say "1 running"; the bar
        # once said 0 from the first job's end until the next one's.
        jobs = self.write("p.jsonl", "\n".join([
            json.dumps({"id": 1, "argv": ["true"]}),
            json.dumps({"id": 2, "argv": [
                "sh", "-c", "while [ ! -e go ]; do sleep 0.05; done"]}),
            json.dumps({"id": 3, "argv": ["true"]}),
        ]) + "\n")
        master, slave = pty.openpty()
        proc = subprocess.Popen([CAPSID, "batch", "-j", "1", "--progress",
                                 jobs], cwd=self.ws, env=self.env,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        drawn = b""
        end = time.monotonic() + DEADLINE
        released = False
        try:
            while time.monotonic() < end:
                ready, _, _ = select.select([master], [], [], 1)
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    drawn += chunk
                frames = re.findall(rb"(\d+)/3 done, (\d+) running", drawn)
                if not released and \
                        sum(1 for d, _ in frames if d == b"1") >= 3:
                    open(os.path.join(self.ws, "go"), "w").close()
                    released = True
                if proc.poll() is not None and not ready:
                    break
            proc.communicate(timeout=DEADLINE)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
        self.assertTrue(released, drawn[-500:])
        self.assertEqual(proc.returncode, 0)
        frames = re.findall(rb"(\d+)/3 done, (\d+) running", drawn)
        between = [int(r) for d, r in frames if d == b"1"]
        self.assertGreaterEqual(len(between), 3)
        self.assertEqual(set(between), {1}, drawn[-500:])
        self.assertEqual(frames[-1], (b"3", b"0"))

    # ---- doctor --------------------------------------------------------

    def test_doctor_json(self):
        text = self.capsid("doctor")
        res = self.capsid("doctor", "--json")
        self.assertIn(res.returncode, (0, 1), res.stderr)
        self.assertEqual(res.returncode, text.returncode)
        self.assertEqual(res.stdout.count("\n"), 1)
        obj = json.loads(res.stdout)
        self.assertIn(obj["auto_mode"], CONFINED_MODES | {"none"})
        self.assertIn("auto mode: " + obj["auto_mode"], text.stdout)
        names = []
        for check in obj["checks"]:
            self.assertIsInstance(check["name"], str)
            self.assertIsInstance(check["ok"], bool)
            self.assertIsInstance(check["detail"], str)
            names.append(check["name"])
        lines = [l for l in text.stdout.splitlines()
                 if not l.startswith("auto mode")]
        self.assertEqual(len(names), len(lines))
        for name, line in zip(names, lines):
            self.assertIn(name, line)
        self.assertIn("--json", self.capsid("help", "doctor").stdout)
        res = self.capsid("doctor", os.path.join(self.tmp, "missing"))
        self.assertEqual(res.returncode, 2)
        self.assertIn("not an existing directory", res.stderr)

    # ---- /tmp ----------------------------------------------------------

    def test_workspace_under_tmp_is_warned_about(self):
        shared = tempfile.mkdtemp(prefix="capsid-newcomer-", dir="/tmp")
        try:
            a = os.path.join(shared, "a")
            b = os.path.join(shared, "b")
            os.mkdir(a)
            os.mkdir(b)
            res = self.capsid("run", "-C", a, "--", "true")
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertEqual(res.stderr.count("warning"), 1, res.stderr)
            self.assertIn(os.path.realpath(a), res.stderr)
            self.assertIn("another workspace", res.stderr)
            self.assertIn("exclude_slash_tmp", res.stderr)
            # batch: once per workspace, however many jobs it has.
            lines = [json.dumps({"cwd": d, "argv": ["true"]})
                     for d in (a, a, b, a, b)]
            res = self.capsid("batch", "-j", "2",
                              input="\n".join(lines) + "\n")
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertEqual(len(batch_lines(res.stdout)), 5)
            self.assertEqual(res.stderr.count("warning"), 2, res.stderr)
            # $TMPDIR is a writable root too.
            env = dict(self.env, TMPDIR=self.tmp)
            res = self.capsid("run", "--", "true", env=env)
            self.assertIn("exclude_tmpdir_env_var", res.stderr)
            # Controls: no warning once the policy leaves the tmp dirs
            # out, for read-only jobs, or for a workspace elsewhere.
            for policy in (
                    '{"mode":"workspace-write","exclude_slash_tmp":true,'
                    '"exclude_tmpdir_env_var":true}', "read-only"):
                res = self.capsid("run", "-C", a, "-p", policy, "--",
                                  "true", env=env)
                self.assertEqual((res.returncode, res.stderr), (0, ""))
            res = self.capsid("run", "--", "true")
            self.assertEqual((res.returncode, res.stderr), (0, ""))
        finally:
            shutil.rmtree(shared, ignore_errors=True)


def main():
    global CAPSID, README
    if len(sys.argv) < 2:
        print("usage: test-newcomer.py PATH/TO/capsid [README.md]",
              file=sys.stderr)
        return 2
    CAPSID = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    README = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else \
        os.path.join(here, "..", "..", "README.md")
    prog = unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:],
                         exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
