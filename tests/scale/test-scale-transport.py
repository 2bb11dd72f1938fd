#!/usr/bin/env python3
"""TLS (rediss://) and unix sockets (unix://), end to end, against real
redis-server processes.

Usage: test-scale-transport.py PATH/TO/capsid

Each case starts its own redis-server on loopback: one with TLS only
(tls-port, certificates made here with openssl, client certificates
required) and one on a unix socket only. The batch goes through
`capsid submit`, two `capsid worker`s and `capsid collect`; the refusals
(an untrusted CA, a name that does not match, a missing CA file) must end
the command with a message saying so, not retry for ever.
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scalelib import so  # noqa: E402
import scalelib  # noqa: E402

OPENSSL = None


def openssl(tmp, *args):
    subprocess.run([OPENSSL] + list(args), cwd=tmp, check=True,
                   capture_output=True, timeout=60)


def make_ca(tmp, name):
    openssl(tmp, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
            "2", "-subj", "/CN=" + name, "-keyout", name + ".key", "-out",
            name + ".pem")


def make_cert(tmp, ca, name, san):
    """A certificate for name signed by ca, with subjectAltName san."""
    openssl(tmp, "req", "-newkey", "rsa:2048", "-nodes", "-subj",
            "/CN=" + name, "-keyout", name + ".key", "-out", name + ".csr")
    with open(os.path.join(tmp, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\n" % san)
    openssl(tmp, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
            "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
            "-extfile", name + ".ext", "-out", name + ".pem")


class Server:
    """redis-server with the given transport arguments; ready when a PING
    over connect() answers."""

    def __init__(self, tmp, args, connect):
        self.dir = tmp
        self.proc = subprocess.Popen(
            [so.REDIS, "--bind", "127.0.0.1", "--dir", tmp, "--save", "",
             "--appendonly", "yes", "--logfile", "redis.log"] + args,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                with connect() as sock:
                    sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except (OSError, ssl.SSLError):
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("redis-server did not start: " +
                                   so.read_text(os.path.join(tmp,
                                                             "redis.log")))
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


class Transport(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="capsid-tr-")
        self.workers = []

    def tearDown(self):
        for w in self.workers:
            if w.proc.poll() is None:
                w.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def batch(self, url, stream, n=60):
        """n jobs through submit, two workers and collect at url."""
        for i in range(2):
            w = so.Worker(self.tmp, stream, "w%d" % i, "-j", "4", url=url)
            self.workers.append(w)
        lines = "".join(so.job(i, ["echo", "out%d" % i]) + "\n"
                        for i in range(n))
        res = so.run("submit", "--redis", url, "--stream", stream,
                     input=lines, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        res = so.run("collect", "--redis", url, "--results",
                     stream + "-results", "--count", str(n), "--timeout",
                     "100s", timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        results = so.parse_lines(res.stdout)
        self.assertEqual(sorted(r["id"] for r in results),
                         sorted("j%d" % i for i in range(n)))
        for r in results:
            self.assertEqual(r["exit_code"], 0, r)
            self.assertEqual(r["stdout"], "out%s\n" % r["id"][1:], r)
        for w in self.workers:
            self.assertEqual(w.stop(), 0, w.stderr())

    def tls_server(self):
        make_ca(self.tmp, "ca")
        make_cert(self.tmp, "ca", "server", "IP:127.0.0.1,DNS:localhost")
        make_cert(self.tmp, "ca", "client", "DNS:capsid-worker")
        port = so.free_port()
        ctx = ssl.create_default_context(cafile=os.path.join(self.tmp,
                                                             "ca.pem"))
        ctx.load_cert_chain(os.path.join(self.tmp, "client.pem"),
                            os.path.join(self.tmp, "client.key"))

        def connect():
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            return ctx.wrap_socket(raw, server_hostname="127.0.0.1")

        p = os.path.join
        srv = Server(self.tmp, [
            "--port", "0", "--tls-port", str(port),
            "--tls-cert-file", p(self.tmp, "server.pem"),
            "--tls-key-file", p(self.tmp, "server.key"),
            "--tls-ca-cert-file", p(self.tmp, "ca.pem"),
            "--tls-auth-clients", "yes"], connect)
        self.addCleanup(srv.stop)
        return port

    def test_tls_batch_with_client_certificate(self):
        port = self.tls_server()
        ca, crt, key = (os.path.join(self.tmp, f)
                        for f in ("ca.pem", "client.pem", "client.key"))
        url = "rediss://127.0.0.1:%d?ca=%s&cert=%s&key=%s" % (port, ca, crt,
                                                              key)
        self.batch(url, "tls")
        # The name checked can be a DNS name of the certificate (SNI).
        self.batch(url + "&sni=localhost", "tls-sni", n=10)
        # Control: the same port without TLS gets nowhere.
        res = so.run("collect", "--redis", "redis://127.0.0.1:%d" % port,
                     "--results", "x", "--count", "1", "--timeout", "3s",
                     timeout=60)
        self.assertNotEqual(res.returncode, 0)

    def test_tls_refusals_end_the_command(self):
        port = self.tls_server()
        make_ca(self.tmp, "other")
        crt, key = (os.path.join(self.tmp, f)
                    for f in ("client.pem", "client.key"))
        base = "rediss://127.0.0.1:%d?cert=%s&key=%s" % (port, crt, key)
        cases = [
            (base + "&ca=" + os.path.join(self.tmp, "other.pem"),
             "certificate is not trusted"),
            (base + "&ca=" + os.path.join(self.tmp, "ca.pem") +
             "&sni=wrong.example.org", "certificate is not trusted"),
            (base + "&ca=" + os.path.join(self.tmp, "missing.pem"),
             "cannot load ca"),
        ]
        for url, needle in cases:
            res = so.run("collect", "--redis", url, "--results", "r",
                         "--count", "1", "--timeout", "60s", timeout=90)
            self.assertEqual(res.returncode, 1, (url, res.stderr))
            self.assertIn(needle, res.stderr, url)
            res = so.run("submit", "--redis", url, "--stream", "s",
                         input=so.job(0, ["true"]) + "\n", timeout=90)
            self.assertEqual(res.returncode, 1, (url, res.stderr))
            self.assertIn(needle, res.stderr, url)
            w = so.Worker(self.tmp, "s", "wt", url=url)
            self.workers.append(w)
            self.assertEqual(w.proc.wait(timeout=90), 1)
            w.err.close()
            self.assertIn(needle, w.stderr(), url)
            self.assertIn("retrying cannot help", w.stderr(), url)

    def test_unix_socket_batch(self):
        path = os.path.join(self.tmp, "redis.sock")

        def connect():
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(path)
            return s

        srv = Server(self.tmp, ["--port", "0", "--unixsocket", path,
                                "--unixsocketperm", "700"], connect)
        self.addCleanup(srv.stop)
        self.batch("unix://" + path, "ux")
        # A database number comes as ?db=N; the batch lands there.
        self.batch("unix://%s?db=3" % path, "ux3", n=10)
        s = connect()
        s.sendall(b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
                  b"*2\r\n$4\r\nXLEN\r\n$3\r\nux3\r\n")
        time.sleep(0.2)
        self.assertIn(b":10\r\n", s.recv(256))
        s.close()


def main():
    def need_openssl():
        global OPENSSL
        OPENSSL = shutil.which("openssl")
        if OPENSSL is None:
            print("openssl not found: run scripts/bootstrap.sh",
                  file=sys.stderr)
            return 1
        return 0
    return scalelib.main("test-scale-transport.py", need_openssl)


if __name__ == "__main__":
    sys.exit(main())
