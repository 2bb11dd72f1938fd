#!/usr/bin/env python3
"""Denial reports and deny_read through the command (issue 18).

Usage: test-denials.py PATH/TO/capsid FIXTURE-DIR

A job refused by its sandbox fails with the tool's own words ("Read-only
file system"); capsid adds one stderr line naming the refused paths, their
rules and the writable roots, and every result (run --json, batch) carries
the "sandbox" it ran under and its "denials". Controls: a job that fails
for its own reasons, or is refused by a file's own mode inside its roots,
gets no hint and no denial. Fixtures live outside /tmp, which
workspace-write grants. In the mode `auto` picks here.
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

CAPSID = None
BASE = None
DEADLINE = 300  # seconds; a bound on a hung run, never a measurement


def capsid(*args, env=None, input=""):
    return subprocess.run([CAPSID] + list(args), env=env, input=input,
                          capture_output=True, text=True, errors="replace",
                          timeout=DEADLINE)


class Denials(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(BASE, "denials-%d" % os.getpid())
        shutil.rmtree(self.dir, ignore_errors=True)
        self.ws = os.path.join(self.dir, "ws")
        self.home = os.path.join(self.dir, "home")
        os.makedirs(os.path.join(self.ws, ".git"))
        os.makedirs(os.path.join(self.home, ".ssh"))
        with open(os.path.join(self.home, ".ssh", "id"), "w") as f:
            f.write("secret\n")
        own = os.path.join(self.ws, "own-000")
        with open(own, "w") as f:
            f.write("mine\n")
        os.chmod(own, 0)
        self.env = dict(os.environ, HOME=self.home,
                        CAPSID_STATE_DIR=os.path.join(self.dir, "state"))
        self.env.pop("SUDO_UID", None)
        self.policy = json.dumps({"mode": "workspace-write",
                                  "deny_read": ["@credentials"],
                                  "exclude_slash_tmp": True})

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def hints(self, stderr):
        return [l for l in stderr.splitlines()
                if l.startswith("capsid: the sandbox refused")]

    def test_hint_names_paths_rules_and_roots(self):
        r = capsid("run", "-C", self.ws, "-p", self.policy, "--", "sh", "-c",
                   "echo x > /etc/capsid-denials; touch .git/hook; "
                   "cat ~/.ssh/id; exit 3", env=self.env)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertNotIn("secret", r.stdout + r.stderr)
        hints = self.hints(r.stderr)
        self.assertEqual(len(hints), 1, r.stderr)
        hint = hints[0]
        self.assertIn("write /etc/capsid-denials (outside writable roots)",
                      hint)
        self.assertIn("write %s/.git/hook (protected)" % self.ws, hint)
        self.assertIn("read %s/.ssh/id (deny_read)" % self.home, hint)
        self.assertIn("writable roots: %s" % self.ws, hint)
        self.assertIn("not readable: %s/.ssh" % self.home, hint)

    def test_json_result_fields(self):
        r = capsid("run", "--json", "-C", self.ws, "-p", self.policy, "--",
                   "sh", "-c", "echo x > /etc/capsid-denials; cat own-000; "
                   "true", env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = json.loads(r.stdout)
        sb = res["sandbox"]
        self.assertEqual(sb["policy"], "workspace-write")
        self.assertEqual(sb["writable_roots"], [self.ws])
        # .git exists; .agents and .codex are missing (placeholders): the
        # job could change none of them, so all three are listed, sorted.
        self.assertEqual(sb["protected_paths"],
                         [self.ws + "/.agents", self.ws + "/.codex",
                          self.ws + "/.git"])
        self.assertEqual(sb["deny_read"], [self.home + "/.ssh"])
        self.assertFalse(sb["network"])
        # The file's own mode refused own-000: not the sandbox's doing.
        self.assertEqual(res["denials"],
                         [{"op": "write", "path": "/etc/capsid-denials",
                           "rule": "outside writable roots"}])
        # It succeeded: no hint.
        self.assertEqual(self.hints(r.stderr), [])

    def test_controls_without_hint(self):
        r = capsid("run", "-C", self.ws, "--", "sh", "-c",
                   "cat own-000; exit 4", env=self.env)
        self.assertEqual(r.returncode, 4)
        self.assertIn("Permission denied", r.stderr)
        self.assertEqual(self.hints(r.stderr), [], r.stderr)
        r = capsid("run", "--json", "-C", self.ws, "-p", "read-only", "--",
                   "sh", "-c", "touch made", env=self.env)
        res = json.loads(r.stdout)
        self.assertEqual(res["sandbox"]["writable_roots"], [])
        self.assertEqual(res["denials"],
                         [{"op": "write", "path": self.ws + "/made",
                           "rule": "read-only policy"}])
        self.assertEqual(len(self.hints(r.stderr)), 1, r.stderr)
        self.assertIn("nothing is writable (policy read-only)", r.stderr)

    def test_batch_results(self):
        lines = [json.dumps({"id": "w", "cwd": self.ws, "argv": [
                     "sh", "-c", "echo x > /etc/capsid-denials"]}),
                 json.dumps({"id": "ok", "cwd": self.ws, "argv": ["true"]}),
                 json.dumps({"id": "bad", "cwd": self.ws + "/missing",
                             "argv": ["true"]})]
        r = capsid("batch", input="\n".join(lines) + "\n", env=self.env)
        res = {d["id"]: d for d in map(json.loads, r.stdout.splitlines())}
        self.assertEqual(res["w"]["denials"][0]["path"],
                         "/etc/capsid-denials")
        self.assertEqual(res["w"]["sandbox"]["writable_roots"][0], self.ws)
        self.assertEqual(res["ok"]["denials"], [])
        # Never resolved: no sandbox to report.
        self.assertIsNone(res["bad"]["sandbox"])
        self.assertEqual(res["bad"]["denials"], [])

    def test_deny_read_refusals(self):
        bad = json.dumps({"mode": "workspace-write",
                          "deny_read": [self.dir]})
        r = capsid("run", "-C", self.ws, "-p", bad, "--", "true",
                   env=self.env)
        self.assertEqual(r.returncode, 125)
        self.assertIn("policy.deny_read[0]", r.stderr)
        self.assertIn("working directory", r.stderr)
        r = capsid("run", "-C", self.ws, "-p",
                   '{"mode":"read-only","deny_read":["@secret"]}', "--",
                   "true", env=self.env)
        self.assertEqual(r.returncode, 125)
        self.assertIn('unknown preset "@secret"', r.stderr)


if __name__ == "__main__":
    CAPSID, BASE = sys.argv[1], sys.argv[2]
    os.makedirs(BASE, exist_ok=True)
    unittest.main(argv=sys.argv[:1], verbosity=2)
