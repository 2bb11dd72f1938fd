#!/usr/bin/env python3
"""capsid queue status (table, JSON) and capsid queue web, checked against
what Redis holds during a batch; the web page is loaded in a real headless
browser (Debian's chromium) and what it shows is read from its DOM.

Usage: test-scale-queue.py PATH/TO/capsid
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scalelib import so  # noqa: E402
import scalelib  # noqa: E402

CHROMIUM = None


def redis_up(port):
    """A PING answered (a loading Redis answers LOADING)."""
    try:
        r = so.Resp(port)
        try:
            return r.cmd("PING") == "PONG"
        finally:
            r.close()
    except (OSError, RuntimeError, ConnectionError):
        return False


class Cells(HTMLParser):
    """Text by element id, and the rows of the tables, from a DOM dump."""

    def __init__(self):
        super().__init__()
        self.text = {}
        self.tables = {}
        self.stack = []
        self.table = None
        self.row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append(a.get("id"))
        if tag == "table":
            self.table = a.get("id")
            self.tables[self.table] = []
        elif tag == "tr" and self.table:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.row.append("")

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
        if tag == "tr" and self.row is not None:
            if self.row:
                self.tables[self.table].append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        for i in self.stack:
            if i:
                self.text[i] = self.text.get(i, "") + data
        if self.row is not None and self.row:
            self.row[-1] += data


class Queue(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="capsid-queue-")
        # AOF off on purpose: status must warn about it.
        cls.port = so.free_port()
        cls.redis = subprocess.Popen(
            [so.REDIS, "--port", str(cls.port), "--bind", "127.0.0.1",
             "--dir", cls.tmp, "--save", "", "--appendonly", "no",
             "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        so.wait_for("redis", lambda: redis_up(cls.port), 30)
        cls.url = "redis://127.0.0.1:%d" % cls.port
        cls.r = so.Resp(cls.port)
        # A batch that is half done while the checks run: 4 quick jobs
        # (two fail), then 4 that sleep, held by two workers with -j 2.
        lines = [so.job(0, ["true"]), so.job(1, ["false"]),
                 so.job(2, ["sh", "-c", "exit 3"]), so.job(3, ["true"])]
        lines += [so.job(i, ["sleep", "60"]) for i in range(4, 8)]
        cls.workers = [so.Worker(cls.tmp, "q", "qw%d" % i, "-j", "2",
                                 url=cls.url) for i in range(2)]
        res = so.run("submit", "--redis", cls.url, "--stream", "q",
                     input="".join(l + "\n" for l in lines))
        assert res.returncode == 0, res.stderr
        so.wait_for("4 results and 4 jobs held", lambda:
                    cls.r.cmd("XLEN", "q-results") == 4 and
                    cls.r.cmd("XPENDING", "q", "capsid")[0] == 4, 60)


    @classmethod
    def tearDownClass(cls):
        for w in cls.workers:
            w.kill()
        cls.r.close()
        cls.redis.terminate()
        cls.redis.wait(timeout=30)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def status_json(self):
        res = so.run("queue", "status", "--redis", self.url, "--stream", "q",
                     "--json", timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr)
        return json.loads(res.stdout)

    def test_status_json_matches_redis(self):
        s = self.status_json()
        self.assertEqual(s["stream"], "q")
        self.assertEqual(s["length"], self.r.cmd("XLEN", "q"))
        self.assertEqual(s["group"]["pending"],
                         self.r.cmd("XPENDING", "q", "capsid")[0])
        self.assertEqual(s["group"]["lag"], 0)
        held = {c[0]: int(c[1]) for c in
                self.r.cmd("XPENDING", "q", "capsid")[3]}
        self.assertEqual({c["name"]: c["pending"]
                          for c in s["group"]["consumers"]}, held)
        self.assertEqual(sorted(held), ["qw0", "qw1"])
        self.assertEqual(s["results"]["length"], 4)
        self.assertEqual(s["results"]["last_minute"], 4)
        self.assertEqual(sorted((f["id"], f["exit_code"])
                                for f in s["results"]["failures"]),
                         [("j1", 1), ("j2", 3)])
        self.assertEqual(s["dead_letters"]["length"], 0)
        self.assertIs(s["persistence"]["aof"], False)

    def test_status_table(self):
        res = so.run("queue", "status", "--redis", self.url, "--stream", "q",
                     timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr)
        out = res.stdout
        self.assertIn("q: 8 jobs", out)
        self.assertIn("capsid: 4 pending, 0 not yet delivered", out)
        self.assertIn("q-results: 4, 4 in the last minute", out)
        self.assertIn("AOF OFF", out)
        self.assertIn("warning: without AOF", out)
        self.assertRegex(out, r"\nqw0 +2 ")
        self.assertRegex(out, r"\nqw1 +2 ")
        self.assertRegex(out, r'\n"j1" +qw\d +1 ')
        self.assertRegex(out, r'\n"j2" +qw\d +3 ')

    def test_doctor_warns_when_aof_is_off(self):
        res = so.run("doctor", "--redis", self.url, timeout=60)
        self.assertRegex(res.stdout, r"\n-- +redis persistence +warning: AOF "
                         r"off at 127\.0\.0\.1:%d" % self.port)
        res = so.run("doctor", "--json", "--redis", self.url, timeout=60)
        check = [c for c in json.loads(res.stdout)["checks"]
                 if c["name"] == "redis persistence"]
        self.assertEqual(len(check), 1)
        self.assertIs(check[0]["ok"], False)
        self.assertIn("AOF off", check[0]["detail"])
        # Control: the same Redis with AOF on passes the check.
        self.assertEqual(self.r.cmd("CONFIG", "SET", "appendonly", "yes"),
                         "OK")
        try:
            res = so.run("doctor", "--redis", self.url, timeout=60)
            self.assertRegex(res.stdout, r"\nok +redis persistence +AOF on "
                             r"at 127\.0\.0\.1:%d \(appendfsync " % self.port)
        finally:
            self.r.cmd("CONFIG", "SET", "appendonly", "no")
        # A Redis that cannot be reached fails doctor.
        res = so.run("doctor", "--redis", "redis://127.0.0.1:%d" %
                     so.free_port(), timeout=60)
        self.assertEqual(res.returncode, 1, res.stdout)
        self.assertIn("cannot connect", res.stdout)

    def test_usage_and_unreachable(self):
        for args, code, needle in [
            (["queue"], 2, "expected 'status' or 'web'"),
            (["queue", "status", "--redis", self.url], 2, "--stream NAME"),
            (["queue", "status", "--redis", "http://x", "--stream", "q"], 2,
             "scheme must be"),
            (["queue", "web", "--redis", self.url, "--stream", "q",
              "--listen", "nowhere"], 2, "is not HOST:PORT"),
            (["queue", "status", "--redis", "redis://127.0.0.1:%d" %
              so.free_port(), "--stream", "q"], 1, "cannot connect"),
        ]:
            res = so.run(*args, timeout=60)
            self.assertEqual(res.returncode, code, (args, res.stderr))
            self.assertIn(needle, res.stderr, args)
        res = so.run("queue", "--help")
        self.assertEqual(res.returncode, 0)
        self.assertIn("Usage: capsid queue status", res.stdout)

    def web(self):
        err = open(os.path.join(self.tmp, "web.err"), "w+")
        p = subprocess.Popen([so.CAPSID, "queue", "web", "--redis", self.url,
                              "--stream", "q", "--listen", "127.0.0.1:0"],
                             stdout=subprocess.DEVNULL, stderr=err)
        self.addCleanup(lambda: (p.kill(), p.wait(), err.close()))
        m = so.wait_for("the web address", lambda: re.search(
            r"serving http://127\.0\.0\.1:(\d+)/",
            so.read_text(err.name)), 30)
        return int(m.group(1))

    def test_web_json_and_refusals(self):
        port = self.web()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/status.json")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        s = json.loads(r.read())
        self.assertEqual(s["length"], 8)
        c.close()
        for method, path, status in [("POST", "/status.json", 405),
                                     ("DELETE", "/", 405),
                                     ("GET", "/admin", 404)]:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request(method, path)
            self.assertEqual(c.getresponse().status, status, (method, path))
            c.close()

    def test_worker_metrics(self):
        w = so.Worker(self.tmp, "m", "mw", "-j", "2", "--metrics",
                      "127.0.0.1:0", url=self.url)
        self.addCleanup(w.kill)
        m = so.wait_for("the metrics address", lambda: re.search(
            r"metrics on http://127\.0\.0\.1:(\d+)/metrics", w.stderr()), 30)
        port = int(m.group(1))
        lines = [so.job(0, ["true"]), so.job(1, ["true"]),
                 so.job(2, ["false"]),
                 so.job(3, ["sh", "-c", "kill -KILL $$"]),
                 so.job(4, ["sleep", "60"])]
        res = so.run("submit", "--redis", self.url, "--stream", "m",
                     input="".join(l + "\n" for l in lines))
        self.assertEqual(res.returncode, 0, res.stderr)
        so.wait_for("4 results", lambda:
                    self.r.cmd("XLEN", "m-results") == 4, 60)

        def scrape():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/metrics")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn("text/plain", r.getheader("Content-Type"))
            text = r.read().decode()
            c.close()
            out = {}
            for line in text.splitlines():
                if line and not line.startswith("#"):
                    name, value = line.rsplit(" ", 1)
                    out[name] = float(value)
            return out

        # The result's XADD is seen before the job's bookkeeping ends,
        # and before its XACK (pending counts the job until then).
        v = so.wait_for("the counters", lambda: (lambda v: v if v.get(
            "capsid_job_duration_seconds_count") == 4 and v.get(
                "capsid_queue_pending") == 1 else None)(scrape()), 30)
        self.assertEqual(v['capsid_jobs_total{outcome="ok"}'], 2)
        self.assertEqual(v['capsid_jobs_total{outcome="failed"}'], 1)
        self.assertEqual(v['capsid_jobs_total{outcome="signal"}'], 1)
        self.assertEqual(v['capsid_jobs_total{outcome="timeout"}'], 0)
        self.assertEqual(v['capsid_job_duration_seconds_bucket{le="+Inf"}'],
                         4)
        self.assertEqual(v["capsid_jobs_running"], 1)
        self.assertEqual(v["capsid_redis_up"], 1)
        self.assertEqual(v["capsid_queue_length"], 5)
        self.assertEqual(v["capsid_queue_depth"], 0)
        self.assertEqual(v["capsid_queue_pending"], 1)
        self.assertEqual(v["capsid_dead_letters_total"], 0)
        self.assertEqual(v["capsid_redis_reconnects_total"], 0)
        self.assertEqual(v["capsid_results_rewritten_total"], 0)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/")
        self.assertEqual(c.getresponse().status, 404)
        c.close()

    def test_web_page_in_headless_chromium(self):
        if CHROMIUM is None:
            if os.environ.get("CAPSID_NO_SKIP") == "1":
                self.fail("chromium not found: run scripts/bootstrap.sh")
            self.skipTest("chromium not found (Debian package chromium)")
        port = self.web()
        prof = tempfile.mkdtemp(prefix="chromium-", dir=self.tmp)
        # --no-sandbox: chromium refuses to start as root otherwise; the
        # page is ours. The virtual time budget lets the page's fetch and
        # first refresh run before the DOM is dumped.
        res = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--user-data-dir=" + prof,
             "--virtual-time-budget=5000", "--dump-dom",
             "http://127.0.0.1:%d/" % port],
            capture_output=True, text=True, timeout=90)
        self.assertEqual(res.returncode, 0, res.stderr[-2000:])
        cells = Cells()
        cells.feed(res.stdout)
        self.assertEqual(cells.text.get("error", ""), "", res.stdout)
        self.assertEqual(cells.text.get("stream"), "q")
        self.assertEqual(cells.text.get("length"), "8")
        self.assertEqual(cells.text.get("pending"), "4")
        self.assertEqual(cells.text.get("results"), "4")
        self.assertEqual(cells.text.get("throughput"), "4")
        self.assertEqual(cells.text.get("dead"), "0")
        self.assertIn("AOF off", cells.text.get("persistence", ""))
        workers = {row[0]: row[1] for row in cells.tables["workers"]}
        self.assertEqual(workers, {"qw0": "2", "qw1": "2"})
        fails = sorted((row[0], row[2]) for row in cells.tables["failures"])
        self.assertEqual(fails, [("j1", "1"), ("j2", "3")])


class DataLoss(unittest.TestCase):
    """Redis restarted without persistence mid-batch: the worker and
    collect say DATA LOSS instead of only "connected again"."""

    def start(self, port):
        p = subprocess.Popen(
            [so.REDIS, "--port", str(port), "--bind", "127.0.0.1", "--dir",
             self.tmp, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        so.wait_for("redis", lambda: redis_up(port), 30)
        return p

    def test_restart_without_persistence_is_loud(self):
        self.tmp = tempfile.mkdtemp(prefix="capsid-loss-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        port = so.free_port()
        redis = self.start(port)
        url = "redis://127.0.0.1:%d" % port
        w = so.Worker(self.tmp, "l", "lw", "-j", "2", url=url)
        self.addCleanup(w.kill)
        lines = [so.job(i, ["true"]) for i in range(3)]
        lines += [so.job(i, ["sleep", "60"]) for i in range(3, 6)]
        res = so.run("submit", "--redis", url, "--stream", "l",
                     input="".join(l + "\n" for l in lines))
        self.assertEqual(res.returncode, 0, res.stderr)
        err = open(os.path.join(self.tmp, "collect.err"), "w")
        collect = subprocess.Popen(
            [so.CAPSID, "collect", "--redis", url, "--results", "l-results",
             "--count", "6", "--timeout", "60s"],
            stdout=subprocess.DEVNULL, stderr=err)
        self.addCleanup(lambda: (collect.kill(), collect.wait(), err.close()))
        r = so.Resp(port)
        so.wait_for("3 results", lambda: r.cmd("XLEN", "l-results") == 3, 60)
        r.close()
        time.sleep(1.5)  # collect has read them (it blocks 1 s at most)
        redis.kill()
        redis.wait()
        self.start(port)
        so.wait_for("the worker to say DATA LOSS",
                    lambda: "DATA LOSS" in w.stderr(), 60)
        self.assertIn('consumer group "capsid" of stream "l" was gone',
                      w.stderr())
        so.wait_for("collect to say DATA LOSS",
                    lambda: "DATA LOSS" in so.read_text(err.name), 60)
        self.assertIn('of "l-results" is gone after a reconnect',
                      so.read_text(err.name))


def main():
    global CHROMIUM
    CHROMIUM = shutil.which("chromium")
    return scalelib.main("test-scale-queue.py")


if __name__ == "__main__":
    sys.exit(main())
