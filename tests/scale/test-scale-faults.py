#!/usr/bin/env python3
"""Scale-out under the faults of a fleet, against real redis-server
processes on loopback: a connection that goes silent (a black-hole proxy),
a result larger than Redis takes, an entry larger than the cap, a Redis
outage longer than --claim-idle, two batches on one stream.

Usage: test-scale-faults.py PATH/TO/capsid

Reuses the redis-server, RESP client and worker helpers of
test-scale-out.py. Every wait is bounded; the options shorten the
deadlines (--command-timeout, --claim-idle) so each case stays short.
"""
import collections
import importlib.util
import json
import os
import re
import shutil
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "scale_out", os.path.join(HERE, "test-scale-out.py"))
so = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(so)


class BlackHoleProxy(so.LoopbackProxy):
    """A loopback TCP proxy in front of the module's redis-server. hold()
    makes it a black hole: every connection, old and new, stays open but
    nothing is forwarded either way (what a dead NAT entry or a frozen
    middlebox does). heal() forwards again."""

    def __init__(self):
        self.open = threading.Event()
        self.open.set()
        super().__init__()

    def hold(self):
        self.open.clear()

    def heal(self):
        self.open.set()

    def _passes(self, pair, down):
        # Held: the bytes read are swallowed, as by a dead link.
        return self.open.is_set()


def setUpModule():
    so.setUpModule()


def tearDownModule():
    so.tearDownModule()


class Faults(so.ScaleOut):
    def results_per_entry(self, results):
        entries = self.r.cmd("XRANGE", results, "-", "+")
        per = collections.Counter()
        for _, fields in entries:
            f = dict(zip(fields[::2], fields[1::2]))
            per[f.get("entry")] += 1
        return per

    def test_black_hole_is_noticed_and_ridden_out(self):
        stream = "hole"
        proxy = BlackHoleProxy()
        self.addCleanup(proxy.close)
        ws = [self.worker(stream, "h%d" % i, "-j", "2",
                          "--command-timeout", "1s", "--claim-idle", "3s",
                          url=proxy.url()) for i in range(2)]
        entries = self.submit(stream, [so.job(i, ["sleep", "0.3"])
                                       for i in range(30)])
        so.wait_for("the first results",
                    lambda: self.r.cmd("XLEN", stream + "-results") >= 4)
        proxy.hold()
        # Each worker says within its deadline that Redis went silent.
        for w in ws:
            so.wait_for(w.name + " to notice the silence",
                        lambda: "no reply within 1000 ms" in w.stderr()
                        or "no answer to the connection set-up" in
                        w.stderr(), 30)
        time.sleep(2)
        proxy.heal()
        results, _ = self.collect(stream + "-results", 30, timeout="90s")
        self.assertEqual(sorted(r["id"] for r in results),
                         sorted("j%d" % i for i in range(30)))
        self.assert_all_acked(stream)
        per = self.results_per_entry(stream + "-results")
        self.assertEqual(set(per), set(entries))
        for w in ws:
            self.assertIn("connected again", w.stderr())
            self.assertEqual(w.stop(), 0, w.stderr())

    def test_oversized_result_is_dead_lettered_once(self):
        stream = "big"
        # The smallest Redis allows: a 3 MB result cannot be written.
        old = self.r.cmd("CONFIG", "GET", "proto-max-bulk-len")[1]
        self.r.cmd("CONFIG", "SET", "proto-max-bulk-len", "1mb")
        self.addCleanup(lambda: so.Resp(so.SERVER.port).cmd(
            "CONFIG", "SET", "proto-max-bulk-len", old))
        w = self.worker(stream, "b0", "-j", "2")
        big = json.dumps({"id": "big", "output_limit": "8m",
                          "argv": ["head", "-c", "3000000", "/dev/zero"]})
        small = [so.job(i, ["echo", "ok%d" % i]) for i in range(5)]
        self.submit(stream, [big] + small)
        results, _ = self.collect(stream + "-results", 6, timeout="90s")
        by_id = {r["id"]: r for r in results}
        for i in range(5):
            self.assertEqual(by_id["j%d" % i]["stdout"], "ok%d\n" % i)
        err = by_id["big"]["error"]
        self.assertEqual(err["code"], "CAPSID_ECANCELED")
        self.assertIn("result not stored", err["message"])
        dead = self.r.cmd("XRANGE", stream + "-dead", "-", "+")
        self.assertEqual(len(dead), 1)
        f = dict(zip(dead[0][1][::2], dead[0][1][1::2]))
        self.assertIn("result", f["reason"])
        self.assertIn('"big"', f["job"])
        self.assert_all_acked(stream)
        # Not a loop: the worker is still serving and took no more tries.
        time.sleep(2)
        self.assertIsNone(w.proc.poll())
        self.assertEqual(self.r.cmd("XLEN", stream + "-dead"), 1)
        self.assertEqual(w.stop(), 0, w.stderr())

    def test_max_result_bytes_cuts_the_output(self):
        stream = "cut"
        w = self.worker(stream, "c0", "--max-result-bytes", "256k")
        big = json.dumps({"id": "big", "output_limit": "8m",
                          "argv": ["sh", "-c", "yes | head -c 3000000"]})
        self.submit(stream, [big])
        results, _ = self.collect(stream + "-results", 1, timeout="90s")
        r = results[0]
        self.assertIsNone(r["error"])
        self.assertTrue(r["stdout_truncated"])
        self.assertTrue("--max-result-bytes" in r["stdout"],
                        "no marker in the cut output")
        self.assertGreater(r["stdout_dropped"], 2000000)
        raw = self.r.cmd("XRANGE", stream + "-results", "-", "+")[0][1]
        f = dict(zip(raw[::2], raw[1::2]))
        self.assertLessEqual(len(f["result"].encode()), 256 * 1024)
        self.assertEqual(w.stop(), 0, w.stderr())

    def peak_rss_kib(self, w):
        with open("/proc/%d/status" % w.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM for " + w.name)

    def test_oversized_entry_is_refused_without_being_held(self):
        stream = "huge"
        size = 100 << 20
        pad = json.dumps({"id": "huge", "argv": ["true"], "pad": ""})
        huge = pad[:-2] + "x" * (size - len(pad)) + pad[-2:]
        self.r.cmd("XGROUP", "CREATE", stream, "capsid", "0", "MKSTREAM")
        # One delivered to a worker that then died (a claim takes it
        # over), one read fresh (XREADGROUP), small jobs around them.
        first = self.r.cmd("XADD", stream, "*", "job", huge, "line", "1")
        self.r.cmd("EVAL", "redis.call('XREADGROUP', 'GROUP', 'capsid', "
                   "'ghost', 'COUNT', '1', 'STREAMS', KEYS[1], '>') "
                   "return 1", 1, stream)
        self.r.cmd("XADD", stream, "*", "job", so.job(0, ["echo", "a"]))
        second = self.r.cmd("XADD", stream, "*", "job", huge, "line", "3")
        self.r.cmd("XADD", stream, "*", "job", so.job(1, ["echo", "b"]))
        del huge
        w = self.worker(stream, "e0", "-j", "2", "--claim-idle", "1s")
        results, _ = self.collect(stream + "-results", 4, timeout="120s")
        by_entry = {r["entry"]: r for r in results}
        self.assertEqual(set(by_entry), {first, second} | {
            r["entry"] for r in results if r["id"] in ("j0", "j1")})
        for entry in (first, second):
            err = by_entry[entry]["error"]
            self.assertEqual(err["code"], "CAPSID_ECANCELED")
            self.assertIn("job not run", err["message"])
            # The fields' names and values: the job and its line.
            self.assertIn("the entry is %d bytes" % (size + 8),
                          err["message"])
        self.assertEqual(by_entry[first]["line"], 1)
        dead = self.r.cmd("XRANGE", stream + "-dead", "-", "+")
        self.assertEqual(len(dead), 2)
        for _, fields in dead:
            f = dict(zip(fields[::2], fields[1::2]))
            self.assertIn(f["entry"], (first, second))
            self.assertIn("larger than", f["reason"])
            self.assertNotIn("job", f)
        self.assert_all_acked(stream)
        # Never held whole: the worker's peak stays far under the entry.
        peak = self.peak_rss_kib(w)
        self.assertLess(peak, 64 << 10, "worker peak RSS %d KiB" % peak)
        self.assertIn("dropping the connection rather than holding it",
                      w.stderr())
        self.assertRegex(w.stderr(), r"took back [12] jobs delivered by a read")
        self.assertEqual(w.stop(), 0, w.stderr())

    def test_lost_jobs_are_named_and_resubmitted_from_the_manifest(self):
        stream = "lost"
        srv = so.RedisServer(persist=False)
        srv.start()
        self.addCleanup(shutil.rmtree, srv.dir, True)
        self.addCleanup(srv.stop)
        jobs = os.path.join(self.tmp, "jobs.jsonl")
        manifest = os.path.join(self.tmp, "manifest.jsonl")
        n = 60
        with open(jobs, "w") as f:
            for i in range(n):
                f.write(so.job(i, ["sleep", "0.2"]) + "\n")
        res = so.run("submit", "--redis", srv.url(), "--stream", stream,
                     "--manifest", manifest, jobs)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("manifest of the batch written to " + manifest,
                      res.stderr)
        with open(manifest) as f:
            lines = [json.loads(l) for l in f]
        self.assertEqual(lines[0], {"capsid_manifest": 1, "stream": stream,
                                    "batch": res.stdout.strip()})
        entry_of = {l["id"]: l["entry"] for l in lines[1:]}
        self.assertEqual(set(entry_of), {"j%d" % i for i in range(n)})
        # No worker yet: at its timeout, collect names every job.
        res = so.run("collect", "--redis", srv.url(), "--manifest",
                     manifest, "--timeout", "1s")
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("%d of %d jobs of batch" % (n, n), res.stderr)
        self.assertEqual(set(re.findall(
            r'no result: line [0-9]+, id "(j[0-9]+)"', res.stderr)),
            set(entry_of))
        for i in range(2):
            self.worker(stream, "l%d" % i, "-j", "2", url=srv.url())
        collector = so.subprocess.Popen(
            [so.CAPSID, "collect", "--redis", srv.url(), "--manifest",
             manifest, "--resubmit", jobs, "--timeout", "15s"],
            stdout=so.subprocess.PIPE, stderr=so.subprocess.PIPE, text=True)
        r = so.Resp(srv.port)
        so.wait_for("some results",
                    lambda: r.cmd("XLEN", stream + "-results") >= 10)
        r.close()
        # Restarted without persistence: the queue and the results so
        # far are gone.
        srv.stop()
        srv.start()
        out, err = collector.communicate(timeout=240)
        self.assertEqual(collector.returncode, 0, err)
        results = so.parse_lines(out)
        ids = [x["id"] for x in results]
        self.assertEqual(sorted(ids), sorted(entry_of), "each id once")
        missing = set(re.findall(r'no result: line [0-9]+, id "(j[0-9]+)"',
                                 err))
        self.assertTrue(missing, err)
        # Exactly the ones whose result came from a resubmitted entry.
        again = {x["id"] for x in results if x["entry"] != entry_of[x["id"]]}
        self.assertEqual(missing, again)
        self.assertIn("resubmitted %d jobs" % len(missing), err)
        self.assertIn("%d of %d jobs of batch" % (len(missing), n), err)

    def test_outage_longer_than_claim_idle_runs_nothing_twice(self):
        stream = "outage"
        ws = [self.worker(stream, "o%d" % i, "-j", "3", "--claim-idle",
                          "2s", "--command-timeout", "1s")
              for i in range(2)]
        entries = self.submit(stream, [so.job(i, ["sleep", "1"])
                                       for i in range(24)])
        so.wait_for("jobs running on both workers",
                    lambda: all(self.held_by(stream, w.name)
                                for w in ws))
        self.r.close()
        so.SERVER.stop()
        time.sleep(4)  # twice --claim-idle
        so.SERVER.start()
        self.r = so.Resp(so.SERVER.port)
        results, _ = self.collect(stream + "-results", 24, timeout="90s")
        self.assertEqual(len(results), 24)
        self.assert_all_acked(stream)
        per = self.results_per_entry(stream + "-results")
        self.assertEqual(set(per), set(entries))
        again = {e: n for e, n in per.items() if n > 1}
        self.assertEqual(again, {}, "jobs run again after the outage")
        for w in ws:
            self.assertNotIn("took over", w.stderr())
            self.assertEqual(w.stop(), 0, w.stderr())

    def submit_batch(self, stream, lines):
        res = so.run("submit", "--redis", so.SERVER.url(), "--stream",
                     stream, input="".join(l + "\n" for l in lines))
        self.assertEqual(res.returncode, 0, res.stderr)
        return res.stdout.strip()

    def test_two_batches_on_one_stream_collect_their_own(self):
        stream = "batches"
        first = self.submit_batch(stream, [json.dumps(
            {"id": "a%d" % i, "argv": ["echo", "a"]}) for i in range(10)])
        second = self.submit_batch(stream, [json.dumps(
            {"id": "b%d" % i, "argv": ["echo", "b"]}) for i in range(7)])
        self.assertRegex(first, r"^[0-9]+-[0-9a-f]{16}$")
        self.assertNotEqual(first, second)
        # Both batches' results are written after the second began, in
        # one stream: only the batch field tells them apart.
        w = self.worker(stream, "t0", "-j", "4")
        for batch, prefix, n in ((second, "b", 7), (first, "a", 10)):
            res = so.run("collect", "--redis", so.SERVER.url(), "--results",
                         stream + "-results", "--count", str(n), "--batch",
                         batch, "--timeout", "60s")
            self.assertEqual(res.returncode, 0, res.stderr)
            got = so.parse_lines(res.stdout)
            self.assertEqual(sorted(r["id"] for r in got),
                             sorted("%s%d" % (prefix, i) for i in range(n)))
            self.assertTrue(all(r["batch"] == batch for r in got))
            if prefix == "b":
                self.assertIn("results of other batches skipped",
                              res.stderr)
        # Asking one more than the batch holds ends at the timeout, which
        # says how far it got and where to go on from.
        res = so.run("collect", "--redis", so.SERVER.url(), "--results",
                     stream + "-results", "--count", "8", "--batch", second,
                     "--timeout", "2s")
        self.assertEqual(res.returncode, 1)
        self.assertIn("timed out with 7 of 8 results", res.stderr)
        self.assertIn("after 2000 ms", res.stderr)
        self.assertIn("--from", res.stderr)
        self.assertEqual(w.stop(), 0, w.stderr())

    def test_retries_with_backoff_number_the_attempts(self):
        stream = "retry"
        ws = os.path.join(self.tmp, "ws")
        os.mkdir(ws)
        w = self.worker(stream, "r0", "-j", "2", "--retries", "2",
                        "--retry-backoff", "100ms")
        # Fails twice, then succeeds: the count survives in its cwd.
        flaky = ("n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); "
                 "echo $n > count; echo try$n; [ $n -ge 3 ]")
        lines = [json.dumps({"id": "flaky", "cwd": ws,
                             "argv": ["sh", "-c", flaky]}),
                 json.dumps({"id": "bad", "argv": ["sh", "-c", "exit 4"]}),
                 json.dumps({"id": "ok", "argv": ["true"]}),
                 json.dumps({"id": "spec", "argv": []})]
        self.submit(stream, lines)
        results, _ = self.collect(stream + "-results", 4, timeout="90s")
        by_id = {r["id"]: r for r in results}
        self.assertEqual(by_id["flaky"]["exit_code"], 0)
        self.assertEqual(by_id["flaky"]["attempt"], 3)
        self.assertEqual(by_id["flaky"]["stdout"], "try3\n")
        self.assertEqual(by_id["bad"]["exit_code"], 4)
        self.assertEqual(by_id["bad"]["attempt"], 3)
        self.assertEqual(by_id["ok"]["attempt"], 1)
        # A spec error is not cured by running again.
        self.assertEqual(by_id["spec"]["attempt"], 1)
        self.assertEqual(by_id["spec"]["error"]["code"], "CAPSID_ESPEC")
        err = w.stderr()
        self.assertIn("attempt 1 of 3 failed (exit status 4)", err)
        self.assertIn("attempt 2 of 3 failed", err)
        self.assert_all_acked(stream)
        self.assertEqual(w.stop(), 0, err)

    def test_submit_is_idempotent_by_job_id(self):
        stream = "idem"
        lines = [so.job(i, ["echo", "x%d" % i]) for i in range(5)]
        first = self.submit_batch(stream, lines)
        # A second run (a script re-run after a failure) adds only the
        # new ids; a line without an id is added every time.
        res = so.run("submit", "--redis", so.SERVER.url(), "--stream",
                     stream, input="".join(
                         l + "\n" for l in lines[2:] + [
                             so.job(7, ["echo", "x7"]),
                             json.dumps({"argv": ["true"]})]))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("2 jobs added", res.stderr)
        self.assertIn("3 lines skipped", res.stderr)
        self.assertIn("(batch %s); skipped" % first, res.stderr)
        self.assertEqual(self.r.cmd("XLEN", stream), 7)
        # Done jobs keep their id out too; --id-window 0 lets it in.
        w = self.worker(stream, "i0")
        self.collect(stream + "-results", 7, timeout="60s")
        res = so.run("submit", "--redis", so.SERVER.url(), "--stream",
                     stream, input=lines[0] + "\n")
        self.assertIn("0 jobs added", res.stderr)
        res = so.run("submit", "--redis", so.SERVER.url(), "--stream",
                     stream, "--id-window", "0", input=lines[0] + "\n")
        self.assertIn("1 jobs added", res.stderr)
        self.assertEqual(self.r.cmd("XLEN", stream), 8)
        ttl = self.r.cmd("PTTL", stream + ':id:"j0"')
        self.assertGreater(ttl, 23 * 3600 * 1000)
        self.assertEqual(w.stop(), 0, w.stderr())

    def test_retention_trims_acked_jobs_old_results_and_gone_consumers(self):
        stream = "keep"
        self.r.cmd("XGROUP", "CREATE", stream, "capsid", "0", "MKSTREAM")
        # A consumer that is gone: nothing pending, never seen again.
        self.r.cmd("XGROUP", "CREATECONSUMER", stream, "capsid", "ghost")
        w = self.worker(stream, "k0", "-j", "4", "--claim-idle", "300ms",
                        "--results-ttl", "1s")
        lines = [so.job(i, ["echo", "k%d" % i]) for i in range(10)]
        lines.append(json.dumps({"id": "slow", "argv": ["sleep", "6"]}))
        self.submit(stream, lines)
        results, _ = self.collect(stream + "-results", 10, timeout="60s")
        self.assertEqual(len(results), 10)
        # The running job's entry stays (it is pending); the others go,
        # and so do their results once older than --results-ttl.
        so.wait_for("acknowledged jobs trimmed",
                    lambda: self.r.cmd("XLEN", stream) == 1, 30)
        slow = self.r.cmd("XRANGE", stream, "-", "+")[0][1]
        self.assertIn('"slow"', dict(zip(slow[::2], slow[1::2]))["job"])
        self.assertEqual(len(self.held_by(stream, "k0")), 1)
        so.wait_for("old results trimmed", lambda: self.r.cmd(
            "XLEN", stream + "-results") <= 1, 30)
        names = lambda: [c[1] for c in self.r.cmd(
            "XINFO", "CONSUMERS", stream, "capsid")]
        so.wait_for("the gone consumer removed",
                    lambda: "ghost" not in names(), 30)
        self.assertIn("k0", names())
        # Said once the script's reply is in, just after the delete.
        so.wait_for("the removal said",
                    lambda: "removed 1 consumers" in w.stderr(), 30)
        so.wait_for("the slow job done and trimmed",
                    lambda: self.r.cmd("XLEN", stream) == 0 and
                    self.pending(stream) == 0, 60)
        self.assertEqual(w.stop(), 0, w.stderr())

    def test_cancel_by_job_id_and_batch(self):
        stream = "cancel"
        res = so.run("cancel", "--redis", so.SERVER.url(), "--stream",
                     stream, "queued")
        self.assertEqual(res.returncode, 0, res.stderr)
        # "queued" is named before any worker takes it: never run.
        first = self.submit_batch(stream, [
            json.dumps({"id": "running", "argv": ["sleep", "60"]}),
            json.dumps({"id": "queued", "argv": ["echo", "no"]}),
            json.dumps({"id": "kept", "argv": ["echo", "yes"]})])
        w = self.worker(stream, "x0", "-j", "4")
        so.wait_for("the long job running",
                    lambda: len(self.held_by(stream, "x0")) == 1, 30)
        res = so.run("cancel", "--redis", so.SERVER.url(), "--stream",
                     stream, "running")
        self.assertEqual(res.returncode, 0, res.stderr)
        results, _ = self.collect(stream + "-results", 3, timeout="60s")
        by_id = {r["id"]: r for r in results}
        self.assertEqual(by_id["kept"]["stdout"], "yes\n")
        self.assertEqual(by_id["queued"]["error"]["code"], "CAPSID_ECANCELED")
        self.assertEqual(by_id["queued"]["stdout"], "")
        self.assertEqual(by_id["running"]["error"]["code"],
                         "CAPSID_ECANCELED")
        self.assertIn("killed while running",
                      by_id["running"]["error"]["message"])
        # A whole batch, by its id.
        self.assertEqual(w.stop(), 0, w.stderr())
        second = self.submit_batch(stream, [so.job(i, ["echo", "b"])
                                            for i in range(3)])
        self.assertNotEqual(first, second)
        so.run("cancel", "--redis", so.SERVER.url(), "--stream", stream,
               second)
        w = self.worker(stream, "x1")
        res = so.run("collect", "--redis", so.SERVER.url(), "--results",
                     stream + "-results", "--count", "3", "--batch", second,
                     "--timeout", "60s")
        self.assertEqual(res.returncode, 0, res.stderr)
        for r in so.parse_lines(res.stdout):
            self.assertEqual(r["error"]["code"], "CAPSID_ECANCELED")
        self.assertEqual(w.stop(), 0, w.stderr())


# Only the cases above: the inherited ones belong to test-scale-out.py.
for _name in list(vars(so.ScaleOut)):
    if _name.startswith("test_") and _name not in vars(Faults):
        setattr(Faults, _name, None)


if __name__ == "__main__":
    # test-scale-out.py's main: sets the paths in that module and runs
    # the cases of this one (__main__).
    sys.exit(so.main())
