#!/usr/bin/env python3
"""Redis Sentinel: a failover in the middle of a batch loses nothing.

Usage: test-scale-sentinel.py PATH/TO/capsid

Starts, on loopback ports of its own, a master and a replica
(redis-server, AOF on) and three sentinels (redis-server --sentinel, the
same binary Debian's redis-sentinel runs), then runs a batch through
redis-sentinel:// with two workers and a collector. When about a third of
the results are in, `SENTINEL FAILOVER` promotes the replica; the old
master is turned into a replica and its clients are disconnected. Every
job must still get a result; results run twice (at-least-once: a result
and its XACK written to the old master after the promotion are discarded
with it, so the job is run again) are counted and reported, and collect
prints each job once.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scalelib import so  # noqa: E402
import scalelib  # noqa: E402


def start(args, port, tmp, name):
    log = os.path.join(tmp, name + ".log")
    proc = subprocess.Popen(args + ["--logfile", log],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            r = so.Resp(port)
            try:
                if r.cmd("PING") == "PONG":
                    return proc
            finally:
                r.close()
        except (OSError, RuntimeError, ConnectionError):
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("%s did not start: %s" %
                               (name, so.read_text(log)))
        time.sleep(0.05)


class Sentinel(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="capsid-sent-")
        self.procs = []
        self.workers = []

    def tearDown(self):
        for w in self.workers:
            if w.proc.poll() is None:
                w.kill()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, name, *extra):
        port = so.free_port()
        d = os.path.join(self.tmp, name)
        os.mkdir(d)
        self.procs.append(start(
            [so.REDIS, "--port", str(port), "--bind", "127.0.0.1", "--dir",
             d, "--save", "", "--appendonly", "yes", "--appendfsync",
             "always"] + list(extra), port, d, name))
        return port

    def sentinel(self, i, master_port):
        port = so.free_port()
        conf = os.path.join(self.tmp, "sentinel%d.conf" % i)
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                    "sentinel monitor mymaster 127.0.0.1 %d 2\n"
                    "sentinel down-after-milliseconds mymaster 2000\n"
                    "sentinel failover-timeout mymaster 20000\n"
                    % (port, self.tmp, master_port))
        self.procs.append(start([so.REDIS, conf, "--sentinel"], port,
                                self.tmp, "sentinel%d" % i))
        return port

    @staticmethod
    def ask(port, *cmd):
        r = so.Resp(port)
        try:
            return r.cmd(*cmd)
        finally:
            r.close()

    def test_failover_mid_batch_loses_nothing(self):
        n = 240
        master = self.server("master")
        replica = self.server("replica", "--replicaof", "127.0.0.1",
                              str(master))
        sports = [self.sentinel(i, master) for i in range(3)]
        s0 = so.Resp(sports[0])
        self.addCleanup(s0.close)
        # The sentinels know the replica before anything depends on it.
        so.wait_for("the sentinels to see the replica", lambda: all(
            any(dict(zip(r[::2], r[1::2])).get("flags") == "slave"
                for r in self.ask(p, "SENTINEL", "REPLICAS", "mymaster"))
            for p in sports), 60)
        url = "redis-sentinel://%s/mymaster" % ",".join(
            "127.0.0.1:%d" % p for p in sports)

        for i in range(2):
            self.workers.append(so.Worker(
                self.tmp, "jobs", "w%d" % i, "-j", "4", "--claim-idle",
                "3s", url=url))
        lines = "".join(so.job(i, ["sh", "-c", "sleep 0.2; echo %d" % i]) +
                        "\n" for i in range(n))
        res = so.run("submit", "--redis", url, "--stream", "jobs",
                     input=lines, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        m = so.Resp(master)
        self.addCleanup(m.close)
        # Every job is on the replica before it is promoted (WAIT).
        self.assertEqual(m.cmd("WAIT", 1, 10000), 1)
        out = open(os.path.join(self.tmp, "results.jsonl"), "w")
        err = open(os.path.join(self.tmp, "collect.err"), "w")
        collect = subprocess.Popen(
            [so.CAPSID, "collect", "--redis", url, "--results",
             "jobs-results", "--count", str(n), "--timeout", "100s"],
            stdout=out, stderr=err)
        so.wait_for("a sixth of the results",
                    lambda: m.cmd("XLEN", "jobs-results") >= n // 6, 60)
        self.assertEqual(s0.cmd("SENTINEL", "FAILOVER", "mymaster"), "OK")
        so.wait_for("the replica to be the master", lambda: s0.cmd(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")[1] ==
            str(replica), 60)
        # The failover happened while jobs were left to run.
        self.assertLess(m.cmd("XLEN", "jobs-results"), n)
        rc = collect.wait(timeout=110)
        out.close()
        err.close()
        self.assertEqual(rc, 0, so.read_text(err.name))
        results = so.parse_lines(so.read_text(out.name))
        self.assertEqual(sorted(r["id"] for r in results),
                         sorted("j%d" % i for i in range(n)))
        for r in results:
            self.assertEqual(r["exit_code"], 0, r)
            self.assertEqual(r["stdout"], r["id"][1:] + "\n", r)
        # The new master ends with a result for every job: one written
        # to the old master after the promotion was discarded with it, and
        # its job, never acknowledged there, was run again.
        new = so.Resp(replica)
        self.addCleanup(new.close)

        def per_entry():
            counts = {}
            for _, fields in new.cmd("XRANGE", "jobs-results", "-", "+"):
                f = dict(zip(fields[::2], fields[1::2]))
                counts[f["entry"]] = counts.get(f["entry"], 0) + 1
            return counts

        so.wait_for("a result for every job on the new master",
                    lambda: len(per_entry()) == n, 60)
        so.wait_for("every job acknowledged on the new master",
                    lambda: new.cmd("XPENDING", "jobs", "capsid")[0] == 0,
                    60)
        counts = per_entry()
        dups = sum(c - 1 for c in counts.values())
        print("failover: %d jobs, %d result entries, %d duplicate results"
              % (n, sum(counts.values()), dups), file=sys.stderr)
        # At-least-once: a job runs again only when its result was lost
        # with the old master, so never more than twice here.
        self.assertLessEqual(max(counts.values()), 2)
        for w in self.workers:
            self.assertEqual(w.stop(), 0, w.stderr())
        for w in self.workers:
            self.assertIn("connected again", w.stderr())


def main():
    return scalelib.main("test-scale-sentinel.py")


if __name__ == "__main__":
    sys.exit(main())
