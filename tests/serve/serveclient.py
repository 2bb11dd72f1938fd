"""Test helpers for capsid serve: a client that runs as any uid.

Agent(sock, uid) starts a small Python process with that uid (and that
uid as its only group) which connects to the server's socket and relays
request lines from the test to the server and event lines back, so a
test can hold connections of several users at once."""
import json
import os
import subprocess
import sys
import threading
import queue

AGENT = r'''
import os, socket, sys, threading
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    sys.stdout.write('{"agent":"connect-failed","errno":%d}\n' % e.errno)
    sys.stdout.flush()
    sys.exit(0)
def up():
    for line in sys.stdin.buffer:
        if line.strip() == b"CLOSE":
            s.shutdown(socket.SHUT_RDWR)
            return
        s.sendall(line)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
f = s.makefile("rb")
for line in f:
    sys.stdout.buffer.write(line)
    sys.stdout.flush()
sys.stdout.write('{"agent":"closed"}\n')
sys.stdout.flush()
os._exit(0)  # the stdin thread may sit in a read
'''


class Agent:
    def __init__(self, sock, uid=None, gid=None):
        def drop():
            if uid is not None:
                g = uid if gid is None else gid
                os.setgroups([])
                os.setresgid(g, g, g)
                os.setresuid(uid, uid, uid)
        # Another uid may not reach a Python under root's home.
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
            else sys.executable
        self.p = subprocess.Popen([py, "-c", AGENT, sock],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  preexec_fn=drop)
        self.events = queue.Queue()
        self.backlog = []
        t = threading.Thread(target=self._pump, daemon=True)
        t.start()

    def _pump(self):
        for line in self.p.stdout:
            self.events.put(json.loads(line))
        self.events.put({"agent": "eof"})

    def send(self, **req):
        req.setdefault("v", 1)
        self.p.stdin.write((json.dumps(req) + "\n").encode())
        self.p.stdin.flush()

    def send_raw(self, text):
        self.p.stdin.write(text.encode() + b"\n")
        self.p.stdin.flush()

    def next(self, pred=lambda e: True, timeout=120):
        for i, e in enumerate(self.backlog):
            if pred(e):
                return self.backlog.pop(i)
        while True:
            e = self.events.get(timeout=timeout)
            if pred(e):
                return e
            self.backlog.append(e)
            if e.get("agent") in ("eof", "closed", "connect-failed"):
                return e

    def close(self):
        try:
            self.p.stdin.write(b"CLOSE\n")
            self.p.stdin.flush()
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait(timeout=60)

    # Whole jobs.
    def run(self, job, **extra):
        tag = "t%d" % id(job)
        self.send(type="run", tag=tag, job=job, **extra)
        acc = self.next(lambda e: e.get("tag") == tag or "agent" in e)
        if acc.get("event") != "accepted":
            return acc
        n = acc["job"]
        return self.next(lambda e: e.get("event") == "exit" and
                         e.get("job") == n or "agent" in e)

    def submit(self, job, **extra):
        tag = "s%d" % id(job)
        self.send(type="run", tag=tag, job=job, **extra)
        acc = self.next(lambda e: e.get("tag") == tag)
        assert acc.get("event") == "accepted", acc
        return acc["job"]
