#!/usr/bin/env python3
"""Redis Sentinel: a failover in the middle of a batch loses nothing, in clear
and with TLS everywhere.

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

The TLS case runs the same batch through rediss-sentinel:// against
servers and sentinels that listen on TLS ports only (certificates made
here with openssl, client certificates required, replication and the
sentinels' own links over TLS: `tls-replication yes`).
"""
import http.client
import importlib.util
import re
import ssl
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scalelib import so  # noqa: E402
import scalelib  # noqa: E402


_spec = importlib.util.spec_from_file_location(
    "scale_transport", os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "test-scale-transport.py"))
tr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tr)


class TlsResp(so.Resp):
    """so.Resp over TLS, with the test's client certificate."""

    def __init__(self, port, ctx):
        raw = so.socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.buf = b""


class SwitchProxy(so.LoopbackProxy):
    """A loopback proxy that plays a failover at the worst instant for a
    worker: it forwards to the server at port `first` until a client sends
    an XADD to `stream`; then it calls promote() (the replica stops
    following `first`), forwards that XADD, lets its reply through but
    nothing more the client sends, and half a second later cuts every
    connection. From then on it forwards to `second`. The worker has a
    result confirmed by a server that is no longer the master, and the
    rest of its writes go to the new one."""

    def __init__(self, first, second, stream, promote):
        self.upstream = first
        self.second = second
        self.stream = stream.encode()
        self.promote = promote
        self.armed = True
        self.switched = threading.Event()
        super().__init__()

    def upstream_port(self):
        return self.upstream

    def _up(self, pair):
        client, up = pair
        try:
            for name, raw in self._commands(client):
                with self.lock:
                    switch = (self.armed and name == b"XADD" and
                              raw.split(b"\r\n")[4] == self.stream)
                    if switch:
                        self.armed = False
                if not switch:
                    up.sendall(raw)
                    continue
                self.promote()
                up.sendall(raw)
                # What the client sends next is lost with the connection;
                # the XADD's reply reaches it.
                time.sleep(0.5)
                self.upstream = self.second
                self.cut_all()
                self.switched.set()
                return
        except OSError:
            pass
        self._cut(pair)


def start(args, port, tmp, name, resp=so.Resp):
    log = os.path.join(tmp, name + ".log")
    proc = subprocess.Popen(args + ["--logfile", log],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while True:
        try:
            r = resp(port)
            try:
                if r.cmd("PING") == "PONG":
                    return proc
            finally:
                r.close()
        except (OSError, RuntimeError, ConnectionError, ssl.SSLError):
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
        self.tls = None
        self.resp = so.Resp

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
            [so.REDIS] + self.listen(port) + [
                "--bind", "127.0.0.1", "--dir", d, "--save", "",
                "--appendonly", "yes", "--appendfsync", "always"] +
            list(extra), port, d, name, self.resp))
        return port

    def listen(self, port):
        """The options that make a server listen on port (TLS only once
        use_tls ran)."""
        if self.tls is None:
            return ["--port", str(port)]
        return ["--port", "0", "--tls-port", str(port)] + self.tls

    def use_tls(self):
        """Certificates for the servers, the sentinels and capsid; every
        server and sentinel started after this speaks TLS only."""
        tr.OPENSSL = shutil.which("openssl")
        tr.make_ca(self.tmp, "ca")
        tr.make_cert(self.tmp, "ca", "server", "IP:127.0.0.1,DNS:localhost")
        tr.make_cert(self.tmp, "ca", "client", "DNS:capsid-worker")
        p = lambda f: os.path.join(self.tmp, f)
        self.tls = ["--tls-cert-file", p("server.pem"),
                    "--tls-key-file", p("server.key"),
                    "--tls-ca-cert-file", p("ca.pem"),
                    "--tls-auth-clients", "yes",
                    # Replicas and sentinels reach the servers over TLS,
                    # presenting the server certificate as a client one.
                    "--tls-replication", "yes"]
        ctx = ssl.create_default_context(cafile=p("ca.pem"))
        ctx.load_cert_chain(p("client.pem"), p("client.key"))
        self.resp = lambda port: TlsResp(port, ctx)
        return "?ca=%s&cert=%s&key=%s" % (p("ca.pem"), p("client.pem"),
                                          p("client.key"))

    def sentinel(self, i, master_port):
        port = so.free_port()
        conf = os.path.join(self.tmp, "sentinel%d.conf" % i)
        with open(conf, "w") as f:
            if self.tls is None:
                f.write("port %d\n" % port)
            else:
                f.write("port 0\ntls-port %d\n" % port)
                for k, v in zip(self.tls[::2], self.tls[1::2]):
                    f.write("%s %s\n" % (k[2:], v))
            f.write("bind 127.0.0.1\ndir %s\n"
                    "sentinel monitor mymaster 127.0.0.1 %d 2\n"
                    # Only the failover the test asks for: a master slow
                    # to answer on a loaded machine (CI) must not be
                    # taken for dead and fail over again on its own.
                    "sentinel down-after-milliseconds mymaster 60000\n"
                    "sentinel failover-timeout mymaster 20000\n"
                    % (self.tmp, master_port))
        self.procs.append(start([so.REDIS, conf, "--sentinel"], port,
                                self.tmp, "sentinel%d" % i, self.resp))
        return port

    def ask(self, port, *cmd):
        r = self.resp(port)
        try:
            return r.cmd(*cmd)
        finally:
            r.close()

    def test_failover_mid_batch_loses_nothing(self):
        self.failover_mid_batch("redis-sentinel://", "")

    def test_tls_failover_mid_batch_loses_nothing(self):
        query = self.use_tls()
        self.failover_mid_batch("rediss-sentinel://", query)

    def test_result_confirmed_by_the_old_master_is_written_again(self):
        # A failover between a job's XADD (confirmed by the old master,
        # lost with it) and its XACK (sent, after the reconnect, to the
        # new master) must not acknowledge a job whose result the new
        # master never had.
        master = self.server("master")
        replica = self.server("replica", "--replicaof", "127.0.0.1",
                              str(master))
        so.wait_for("the replica to follow the master", lambda:
                    "master_link_status:up" in self.ask(
                        replica, "INFO", "replication"), 30)
        m = self.resp(master)
        self.addCleanup(m.close)

        def promote():
            # Everything but the XADD about to go is on the replica.
            self.assertEqual(m.cmd("WAIT", 1, 10000), 1)
            self.assertEqual(self.ask(replica, "REPLICAOF", "NO", "ONE"),
                             "OK")

        proxy = SwitchProxy(master, replica, "jobs-results", promote)
        self.addCleanup(proxy.close)
        res = so.run("submit", "--redis", "redis://127.0.0.1:%d" % master,
                     "--stream", "jobs", input="".join(
                         so.job(i, ["sh", "-c", "echo %d" % i]) + "\n"
                         for i in range(2)))
        self.assertEqual(res.returncode, 0, res.stderr)
        # A --claim-idle far away: no other worker's claim pass may stand
        # in for the owner writing its result again.
        self.workers.append(so.Worker(self.tmp, "jobs", "w0", "-j", "1",
                                      "--claim-idle", "120s", "--metrics",
                                      "127.0.0.1:0", url=proxy.url()))
        self.assertTrue(proxy.switched.wait(60), "no XADD was seen")
        new = self.resp(replica)
        self.addCleanup(new.close)
        entries = [e for e, _ in new.cmd("XRANGE", "jobs", "-", "+")]

        def have():
            return {dict(zip(f[::2], f[1::2]))["entry"]
                    for _, f in new.cmd("XRANGE", "jobs-results", "-", "+")}

        try:
            so.wait_for("a result for every job on the new master",
                        lambda: have() == set(entries), 30)
        except AssertionError:
            self.explain_missing(new, have())
            raise
        so.wait_for("every job acknowledged on the new master",
                    lambda: new.cmd("XPENDING", "jobs", "capsid")[0] == 0,
                    30)
        w = self.workers[0]
        # Operators see it in the metrics too.
        port = int(re.search(r"metrics on http://127\.0\.0\.1:(\d+)/",
                             w.stderr()).group(1))
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        self.assertIn("\ncapsid_results_rewritten_total 1\n", text)
        self.assertEqual(w.stop(), 0, w.stderr())
        self.assertIn("not on the server", w.stderr())

    def failover_mid_batch(self, scheme, query):
        n = 240
        master = self.server("master")
        replica = self.server("replica", "--replicaof", "127.0.0.1",
                              str(master))
        sports = [self.sentinel(i, master) for i in range(3)]
        s0 = self.resp(sports[0])
        self.addCleanup(s0.close)
        # The sentinels know the replica before anything depends on it.
        so.wait_for("the sentinels to see the replica", lambda: all(
            any(dict(zip(r[::2], r[1::2])).get("flags") == "slave"
                for r in self.ask(p, "SENTINEL", "REPLICAS", "mymaster"))
            for p in sports), 60)
        url = scheme + "%s/mymaster" % ",".join(
            "127.0.0.1:%d" % p for p in sports) + query

        for i in range(2):
            # --verbose: each entry's delivery, run and XACK are logged,
            # for explain_runs.
            self.workers.append(so.Worker(
                self.tmp, "jobs", "w%d" % i, "-j", "4", "--claim-idle",
                "3s", "--verbose", url=url))
        lines = "".join(so.job(i, ["sh", "-c", "sleep 0.2; echo %d" % i]) +
                        "\n" for i in range(n))
        res = so.run("submit", "--redis", url, "--stream", "jobs",
                     input=lines, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        m = self.resp(master)
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
        epoch = self.epoch(s0)
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
        new = self.resp(replica)
        self.addCleanup(new.close)

        def per_entry():
            counts = {}
            for _, fields in new.cmd("XRANGE", "jobs-results", "-", "+"):
                f = dict(zip(fields[::2], fields[1::2]))
                counts[f["entry"]] = counts.get(f["entry"], 0) + 1
            return counts

        try:
            so.wait_for("a result for every job on the new master",
                        lambda: len(per_entry()) == n, 60)
        except AssertionError:
            self.explain_missing(new, per_entry())
            raise
        so.wait_for("every job acknowledged on the new master",
                    lambda: new.cmd("XPENDING", "jobs", "capsid")[0] == 0,
                    60)
        counts = per_entry()
        dups = sum(c - 1 for c in counts.values())
        again = sum(w.stderr().count("writing it again")
                    for w in self.workers)
        print("failover: %d jobs, %d result entries, %d duplicate results, "
              "%d results written again after the XACK check"
              % (n, sum(counts.values()), dups, again), file=sys.stderr)
        # At-least-once: a job runs again only when its result was lost
        # with the old master, so at most once more per failover (one,
        # unless the sentinels made another on their own: counted).
        failovers = self.epoch(s0) - epoch
        print("failover: %d failovers (config epochs)" % failovers,
              file=sys.stderr)
        self.assertGreaterEqual(failovers, 1)
        if max(counts.values()) > 1 + failovers:
            self.explain_runs(new, counts)
        self.assertLessEqual(max(counts.values()), 1 + failovers)
        for w in self.workers:
            self.assertEqual(w.stop(), 0, w.stderr())
        for w in self.workers:
            self.assertIn("connected again", w.stderr())

    def epoch(self, s):
        """The sentinels' configuration epoch of the master: one more per
        failover."""
        f = s.cmd("SENTINEL", "MASTER", "mymaster")
        return int(dict(zip(f[::2], f[1::2]))["config-epoch"])

    def explain_runs(self, new, counts):
        """Each result of a job with more than two on the new master: who
        wrote it, and its attempt; then what the workers said."""
        for rid, fields in new.cmd("XRANGE", "jobs-results", "-", "+"):
            f = dict(zip(fields[::2], fields[1::2]))
            if counts.get(f["entry"], 0) > 2:
                print("entry %s: result %s by %s: %s" % (
                    f["entry"], rid, f.get("worker"), f["result"][:160]),
                    file=sys.stderr)
        many = {e for e, c in counts.items() if c > 2}
        for w in self.workers:
            lines = [l for l in w.stderr().splitlines()
                     if "[debug]" not in l or "redis" in l or
                     any(e in l for e in many)]
            print("--- %s stderr (on those entries) ---\n%s" % (
                w.name, "\n".join(lines[-200:])), file=sys.stderr)

    def explain_missing(self, new, have):
        """What the new master knows of each job without a result there,
        and what the workers said: the difference between a job lost
        for good and one still waiting to run again."""
        pending = {}
        for p in new.cmd("XPENDING", "jobs", "capsid", "-", "+", 10000):
            pending[p[0]] = p[1:]
        for eid, fields in new.cmd("XRANGE", "jobs", "-", "+"):
            if eid in have:
                continue
            f = dict(zip(fields[::2], fields[1::2]))
            print("no result on the new master for entry %s (%s): %s" % (
                eid, f.get("job", "")[:40],
                "pending [consumer, idle ms, deliveries] %r" % (
                    pending[eid],) if eid in pending else "not pending"),
                file=sys.stderr)
        print("group: %r" % (new.cmd("XINFO", "GROUPS", "jobs"),),
              file=sys.stderr)
        for w in self.workers:
            print("--- %s stderr ---\n%s" % (w.name, w.stderr()[-4000:]),
                  file=sys.stderr)


def main():
    return scalelib.main("test-scale-sentinel.py")


if __name__ == "__main__":
    sys.exit(main())
