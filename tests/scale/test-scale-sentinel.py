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
import importlib.util
import ssl
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
                    "sentinel down-after-milliseconds mymaster 2000\n"
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
            self.workers.append(so.Worker(
                self.tmp, "jobs", "w%d" % i, "-j", "4", "--claim-idle",
                "3s", url=url))
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
