#!/usr/bin/env python3
"""capsid serve's protocol (docs/protocol.md): malformed requests get an
error event naming the field; stdin streams into a running job (it
answers before EOF; one that stops reading wedges nothing; a cancel
gets past stdin held for a job that never reads); started
carries the job's pid; a client that disconnects has its jobs
killed; a client that does not read cannot make the server buffer
without bound (its streamed output is dropped and counted, its exit
events still come); stdio mode; socket activation (LISTEN_FDS).

  test-serve-protocol.py CAPSID"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serveclient import Agent  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from checks import Failure, check, measurable_memory, run_main  # noqa: E402


def pids_with(marker):
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(p))
        except OSError:
            pass
    return found


def wait_for(cond, what, limit=120):
    # A bound on how long to wait for something that must happen, not a
    # measure of how fast it happens.
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise Failure("never happened: " + what)


def vm_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def test_malformed(sock, ws):
    a = Agent(sock)
    cases = [
        ("not json", "request"),
        (json.dumps({"type": "ping"}), "v"),
        (json.dumps({"v": 2, "type": "ping"}), "v"),
        (json.dumps({"v": 1}), "type"),
        (json.dumps({"v": 1, "type": "launch"}), "type"),
        (json.dumps({"v": 1, "type": "ping", "tagg": 1}), "tagg"),
        (json.dumps({"v": 1, "type": "run"}), "job"),
        (json.dumps({"v": 1, "type": "run", "job": {"argv": ["true"]},
                     "stream": "yes"}), "stream"),
        (json.dumps({"v": 1, "type": "cancel", "job": "x"}), "job"),
        (json.dumps({"v": 1, "type": "cancel", "job": 999999}), "job"),
        (json.dumps({"v": 1, "type": "cancel", "job": 1,
                     "signal": "SIGSTOP"}), "signal"),
        (json.dumps({"v": 1, "type": "stdin", "job": 999999}), "job"),
        (json.dumps({"v": 1, "type": "stdin", "job": 1, "eof": 1}), "eof"),
    ]
    for text, field in cases:
        a.send_raw(text)
        e = a.next()
        check(e.get("event") == "error" and e.get("field") == field,
              "%s: expected an error naming %s, got %s" % (text, field, e))
    print("ok   %d malformed requests, each an error naming its field"
          % len(cases))
    r = a.run({"argv": ["true"], "cwd": ws, "timeout_ms": "soon"})
    err = r["result"]["error"]
    check(err["field"] == "timeout_ms", "a bad job field: %s" % r)
    r = a.run({"argv": [], "cwd": ws})
    check(r["result"]["error"]["field"] == "argv", "no argv: %s" % r)
    print("ok   a bad job object ends in an exit event naming the field")
    a.send(type="ping", tag="p")
    check(a.next().get("event") == "pong", "no pong after the errors")
    print("ok   the connection still serves after every error")
    a.close()


def ancestors(pid):
    """pid and the pids above it, from /proc/PID/stat."""
    chain = []
    while pid > 1:
        chain.append(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return chain


def test_interactive_stdin(sock, ws, server_pid):
    """A job reads its stdin while it runs: it answers the first line
    before the second is sent, and EOF comes last. Its started event
    carries the pid of its first process."""
    marker = "capsid-serve-" + uuid.uuid4().hex
    a = Agent(sock)
    n = a.submit({"argv": ["sh", "-c", 'read a; echo "got $a"; read b; '
                           'echo "then $b"; read c || echo eof; : ' + marker],
                  "cwd": ws}, stream=True, stdin_stream=True)
    st = a.next(lambda e: e.get("event") == "started" and e.get("job") == n)
    pid = st.get("pid")
    check(isinstance(pid, int) and pid > 0 and pid != server_pid,
          "started carries no pid of the job: %s" % st)
    wait_for(lambda: pids_with(marker), "the job to run")
    for p in pids_with(marker):
        check(pid in ancestors(p), "the job's process %d is not the pid "
              "%d of its started event or below it" % (p, pid))
    check(server_pid in ancestors(pid), "pid %d is not a process of the "
          "server %d" % (pid, server_pid))
    print("ok   started carries the job's pid (%d, the job's process or "
          "its parent)" % pid)
    a.send(type="stdin", job=n, data="one\n")
    e = a.next(lambda e: e.get("event") == "output" and e.get("job") == n
               or e.get("event") == "exit")
    check(e.get("event") == "output" and e.get("data") == "got one\n",
          "the job did not answer a line before EOF: %s" % e)
    a.send(type="stdin", job=n, data="two\n")
    e = a.next(lambda e: e.get("event") == "output" and e.get("job") == n
               or e.get("event") == "exit")
    check(e.get("data") == "then two\n", "no answer to the second line: %s"
          % e)
    a.send(type="stdin", job=n, eof=True)
    e = a.next(lambda e: e.get("event") == "exit" and e.get("job") == n)
    check(e["result"]["stdout"] == "got one\nthen two\neof\n" and
          e["result"]["exit_code"] == 0, "interactive job: %s" % e)
    a.send(type="stdin", job=n, tag="late", data="x")
    e = a.next(lambda e: e.get("tag") == "late")
    check(e.get("event") == "error" and e.get("field") == "job",
          "stdin for an ended job was not refused: %s" % e)
    m = a.submit({"argv": ["cat"], "cwd": ws})
    a.send(type="stdin", job=m, tag="ns", data="x")
    e = a.next(lambda e: e.get("tag") == "ns")
    check(e.get("event") == "error" and e.get("field") == "job",
          "stdin for a job without stdin_stream: %s" % e)
    print("ok   an interactive job answers each line before EOF is sent")
    a.close()


def test_stdin_reader_gone(sock, ws):
    """The job reads one line and exits while megabytes of stdin are
    still coming: more than its queue holds, so the server holds the rest
    and stops reading the connection, then lets go when the job ends
    (EPIPE). Nothing wedges: the exit comes, the connection serves on."""
    a = Agent(sock)
    n = a.submit({"argv": ["head", "-n", "1"], "cwd": ws},
                 stdin_stream=True)
    a.send(type="stdin", job=n, data="first\n")
    chunk = base64.b64encode(b"y" * (1 << 20)).decode()
    for _ in range(8):
        a.send(type="stdin", job=n, data_b64=chunk)
    a.send(type="stdin", job=n, data="last\n", eof=True)
    e = a.next(lambda e: e.get("event") == "exit" and e.get("job") == n)
    check(e["result"]["exit_code"] == 0 and
          e["result"]["stdout"] == "first\n",
          "the job that stopped reading: %s" % e)
    a.send(type="ping", tag="p")
    e = a.next(lambda e: e.get("tag") == "p")
    check(e.get("event") == "pong", "no pong after a job's EPIPE: %s" % e)
    r = a.run({"argv": ["echo", "after"], "cwd": ws})
    check(r["result"]["stdout"] == "after\n", "the next job: %s" % r)
    print("ok   a job that exits before reading 8 MiB of stdin: no wedge, "
          "no crash, the connection serves on")
    a.close()


class Events:
    """The events read from f (a connection, or a --stdio server's
    stdout), collected in order by a thread of their own."""

    def __init__(self, f):
        self.events = []
        self.got = threading.Condition()
        threading.Thread(target=self._read, args=(f,), daemon=True).start()

    def _read(self, f):
        for line in f:
            with self.got:
                self.events.append(json.loads(line))
                self.got.notify_all()
        with self.got:
            self.events.append({"agent": "eof"})
            self.got.notify_all()

    def index(self, pred):
        """The position of the first event pred accepts, or None."""
        with self.got:
            return next((i for i, e in enumerate(self.events) if pred(e)),
                        None)

    def wait_event(self, pred, what, timeout=120):
        """The first event pred accepts; fails once the events end or
        timeout passes without one."""
        with self.got:
            self.got.wait_for(
                lambda: any(pred(e) or e.get("agent") == "eof"
                            for e in self.events), timeout=timeout)
            last = self.events[-3:]
        i = self.index(pred)
        check(i is not None, "%s: not seen (last events: %s)" % (what, last))
        return self.events[i]


class RawConn(Events):
    """A connection of its own whose bytes the test writes as it likes
    (sendall in a thread: it may block on a server that stops reading)."""

    def __init__(self, sock):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(sock)
        self.sender = None
        Events.__init__(self, self.s.makefile("rb"))

    def send(self, data):
        def send():
            try:
                self.s.sendall(data)
            except OSError:
                pass
        self.sender = threading.Thread(target=send, daemon=True)
        self.sender.start()

    def request(self, **req):
        req.setdefault("v", 1)
        self.s.sendall((json.dumps(req) + "\n").encode())

    def start_sleeper(self, ws, tag):
        """Runs `sleep 600` with a streamed stdin; returns its number once
        it started."""
        self.request(type="run", tag=tag, stdin_stream=True,
                     job={"argv": ["sleep", "600"], "cwd": ws})
        n = self.wait_event(lambda e: e.get("tag") == tag, "accepted")["job"]
        self.wait_event(lambda e: e.get("event") == "started" and
                        e.get("job") == n, "started")
        return n

    def close(self):
        self.s.close()


def stdin_flood(job, mib):
    """mib requests of 1 MiB of stdin each for job."""
    chunk = base64.b64encode(b"z" * (1 << 20)).decode()
    return b"".join((json.dumps({"v": 1, "type": "stdin", "job": job,
                                 "data_b64": chunk}) + "\n").encode()
                    for _ in range(mib))


def test_stdin_bounded(sock, ws):
    """A job that never reads its stdin: the server takes one request
    past its queue, holds it, and reads ahead no more than the request
    limit (24 MiB), so it cannot be made to buffer a flood: the rest of a
    40 MiB flood stays unsent. A ping behind the flood is answered only
    once the job is gone (cancelled from a second connection of the same
    user); then the connection serves again."""
    a = RawConn(sock)
    n = a.start_sleeper(ws, "j")
    a.send(stdin_flood(n, 30) + b'{"v":1,"type":"ping","tag":"p"}\n')
    b = Agent(sock)
    b.send(type="status", tag="st")
    st = b.next(lambda e: e.get("tag") == "st")
    check([j["job"] for j in st["jobs"]] == [n], "status: %s" % st)
    check(a.index(lambda e: e.get("tag") == "p") is None,
          "the ping behind 40 MiB of stdin for a job that never reads was "
          "answered: the server buffered it all")
    a.sender.join(timeout=2)
    check(a.sender.is_alive(), "the server read all 40 MiB of the flood "
          "for a job that never reads")
    b.send(type="cancel", job=n, grace_ms=0, tag="c")
    check(b.next(lambda e: e.get("tag") == "c").get("event") == "ok",
          "the second connection could not cancel the job")
    a.wait_event(lambda e: e.get("event") == "exit" and e.get("job") == n,
                 "the job's exit")
    check(a.wait_event(lambda e: e.get("tag") == "p",
                       "the ping").get("event") == "pong",
          "the connection did not serve again after the job ended")
    a.sender.join(timeout=120)
    check(not a.sender.is_alive(), "the rest of the flood was never read")
    b.close()
    a.close()
    print("ok   stdin for a job that never reads: the connection waits "
          "(a ping behind it answered only after the job ended), bounded")


def test_cancel_passes_held_stdin(sock, ws):
    """The same job cancelled from its own connection: the cancel gets
    past the held stdin (and the ping before it) and ends the job; the
    held stdin is then dropped (the job no longer reads, as a pipe drops
    it) and the ping answered, after the cancel: the requests other than
    cancels keep their order."""
    a = RawConn(sock)
    n = a.start_sleeper(ws, "j")
    a.send(stdin_flood(n, 4) + b'{"v":1,"type":"ping","tag":"p"}\n' +
           (json.dumps({"v": 1, "type": "cancel", "job": n,
                        "signal": "SIGKILL", "tag": "c"}) + "\n").encode())
    # The old server never read the cancel: the job would sleep on.
    ok = a.wait_event(lambda e: e.get("tag") == "c", "the cancel's answer",
                      timeout=60)
    check(ok.get("event") == "ok", "cancel: %s" % ok)
    ex = a.wait_event(lambda e: e.get("event") == "exit" and
                      e.get("job") == n, "the job's exit")
    check(ex["result"].get("signal") == 9, "exit: %s" % ex["result"])
    pong = a.wait_event(lambda e: e.get("tag") == "p", "the ping")
    check(pong.get("event") == "pong", "ping: %s" % pong)
    check(a.index(lambda e: e.get("tag") == "p") >
          a.index(lambda e: e.get("tag") == "c"),
          "the ping behind the held stdin was answered before the cancel "
          "let the job go")
    a.sender.join(timeout=120)
    check(not a.sender.is_alive(), "the rest of the flood was never read")
    a.close()
    print("ok   a cancel on the connection whose stdin is held gets through; "
          "the ping before it waits its turn")


def test_disconnect(sock, ws):
    marker = "capsid-serve-" + uuid.uuid4().hex
    a = Agent(sock)
    n = a.submit({"argv": ["sh", "-c", "sleep 600; : " + marker],
                  "cwd": ws})
    a.next(lambda e: e.get("event") == "started" and e.get("job") == n)
    wait_for(lambda: pids_with(marker), "the job to start")
    a.close()
    wait_for(lambda: not pids_with(marker),
             "the job of a client that went away to be killed")
    print("ok   a client that disconnects has its jobs killed")


def test_backpressure(sock, ws, server_pid):
    total = 64 << 20
    before = vm_hwm(server_pid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(sock)
    req = {"v": 1, "type": "run", "stream": True,
           "job": {"argv": ["sh", "-c", "yes | head -c %d" % total],
                   "cwd": ws}}
    s.sendall((json.dumps(req) + "\n").encode())
    watcher = Agent(sock)

    def job_done():
        watcher.send(type="status", tag="st")
        st = watcher.next(lambda e: e.get("tag") == "st")
        return st.get("running") == 0 and st.get("queued") == 0
    # The client reads nothing until its job has ended.
    time.sleep(0.5)
    wait_for(job_done, "the streaming job to end", limit=600)
    f = s.makefile("rb")
    got = dropped = 0
    exit_ev = None
    for line in f:
        e = json.loads(line)
        if e.get("event") == "output":
            got += len(e.get("data", "").encode())
            dropped += e.get("dropped", 0)
        elif e.get("event") == "exit":
            exit_ev = e
            break
    s.close()
    watcher.close()
    grew = vm_hwm(server_pid) - before
    check(exit_ev is not None and exit_ev["result"]["exit_code"] == 0,
          "no exit event for the slow client: %s" % exit_ev)
    check(dropped > 0, "nothing was dropped for a client that read "
          "nothing (%d bytes came)" % got)
    check(got < total, "all %d bytes were queued" % got)
    check(got + dropped == total, "streamed %d + dropped %d is not the "
          "%d bytes written" % (got, dropped, total))
    check(grew < total // 2, "the server grew by %d bytes for %d bytes "
          "of output" % (grew, total))
    print("ok   a slow client: %d of %d bytes streamed, the rest dropped "
          "and counted in later events, server peak grew %d KiB, exit "
          "event delivered" % (got, total, grew // 1024))


def test_stdio(capsid, env, ws):
    p = subprocess.Popen([capsid, "serve", "--stdio"], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    req = {"v": 1, "type": "run", "job": {"argv": ["echo", "hi"],
                                          "cwd": ws}}
    p.stdin.write((json.dumps(req) + "\n").encode())
    p.stdin.flush()
    ev = None
    for line in p.stdout:
        ev = json.loads(line)
        if ev.get("event") == "exit":
            break
    p.stdin.close()
    check(p.wait(timeout=120) == 0, "serve --stdio did not exit 0 at EOF")
    check(ev and ev["result"]["stdout"] == "hi\n", "stdio: %s" % ev)
    print("ok   serve --stdio runs a job and exits at the client's EOF")


def stdio_events(capsid, env, stdin, out_path=None):
    """Runs serve --stdio with stdin (a pipe's bytes, or an open file) and
    stdout a pipe, or the file out_path; returns its exit code and its
    events."""
    out = open(out_path, "wb") if out_path else subprocess.PIPE
    try:
        if isinstance(stdin, bytes):
            p = subprocess.run([capsid, "serve", "--stdio"], env=env,
                               input=stdin, stdout=out, timeout=120)
        else:
            p = subprocess.run([capsid, "serve", "--stdio"], env=env,
                               stdin=stdin, stdout=out, timeout=120)
    finally:
        if out_path:
            out.close()
    text = p.stdout
    if out_path:
        with open(out_path, "rb") as f:
            text = f.read()
    return p.returncode, [json.loads(l) for l in text.splitlines()]


def test_stdio_answers_after_eof(capsid, env, base, ws):
    """Requests written all at once and the input closed: every job still
    ends and its exit event comes before the server exits (the input's
    end is not a hang-up when stdout still reads). The same from a file
    (`< requests.jsonl`, which cannot be polled), whose last line has no
    newline; and a job fed by stdin requests reads EOF when the input
    ends."""
    reqs = [{"v": 1, "type": "run", "tag": "slow",
             "job": {"argv": ["sh", "-c", "sleep 0.5; echo slow"],
                     "cwd": ws}},
            {"v": 1, "type": "run", "tag": "cat", "stdin_stream": True,
             "job": {"argv": ["cat"], "cwd": ws}},
            {"v": 1, "type": "stdin", "job": 2, "data": "fed\n"},
            {"v": 1, "type": "run", "tag": "last",
             "job": {"argv": ["echo", "last"], "cwd": ws}}]
    text = "\n".join(json.dumps(r) for r in reqs)
    path = os.path.join(base, "requests.jsonl")
    with open(path, "w") as f:
        f.write(text)
    for how in ("pipe", "file"):
        if how == "pipe":
            rc, evs = stdio_events(capsid, env, (text + "\n").encode())
        else:
            # A file in, a file out: neither can be polled.
            with open(path, "rb") as f:
                rc, evs = stdio_events(capsid, env, f,
                                       os.path.join(base, "events.jsonl"))
        check(rc == 0, "serve --stdio from a %s exited %s" % (how, rc))
        tags = {e["job"]: e["tag"] for e in evs
                if e.get("event") == "accepted"}
        out = {tags.get(e["job"]): e["result"]["stdout"] for e in evs
               if e.get("event") == "exit"}
        check(out == {"slow": "slow\n", "cat": "fed\n", "last": "last\n"},
              "serve --stdio from a %s: exit events %s" % (how, out))
    print("ok   serve --stdio answers every request when its input ends "
          "first, pipe to pipe and file to file")


def test_stdio_file_past_the_job_limit(capsid, env, base, ws):
    """A file of more run requests than a connection may have jobs (1024)
    is a batch: on --stdio the runs past the limit wait for a slot
    instead of being refused, and every one gets its exit event."""
    n = 1100
    path = os.path.join(base, "many.jsonl")
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"v": 1, "type": "run", "tag": i,
                                "job": {"argv": ["true"], "cwd": ws}}) + "\n")
    with open(path, "rb") as f:
        rc, evs = stdio_events(capsid, env, f,
                               os.path.join(base, "many.out"))
    errors = [e for e in evs if e.get("event") == "error"]
    exits = [e for e in evs if e.get("event") == "exit" and
             e["result"]["exit_code"] == 0]
    check(rc == 0 and not errors and len(exits) == n,
          "serve --stdio, %d runs from a file: exit %s, %d exit events, "
          "errors %s" % (n, rc, len(exits), errors[:2]))
    print("ok   serve --stdio runs a file of %d runs (past the 1024 jobs a "
          "connection may have) without refusing one" % n)


def test_stdio_cancel_passes_deferred_run(capsid, env, ws):
    """On --stdio a run past the 1024 jobs a connection may have waits,
    with the requests after it; a cancel among those gets past and frees
    the slot the waiting run needs: it is accepted."""
    p = subprocess.Popen([capsid, "serve", "--stdio"], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    events = Events(p.stdout)
    try:
        runs = b"".join((json.dumps({"v": 1, "type": "run", "tag": i,
                                     "job": {"argv": ["sleep", "600"],
                                             "cwd": ws}}) + "\n").encode()
                        for i in range(1024))
        runs += (json.dumps({"v": 1, "type": "run", "tag": "last",
                             "job": {"argv": ["true"], "cwd": ws}}) +
                 "\n").encode()
        p.stdin.write(runs)
        p.stdin.flush()
        first = events.wait_event(lambda e: e.get("event") == "accepted" and
                                  e.get("tag") == 0,
                                  "the first accepted")["job"]
        events.wait_event(lambda e: e.get("event") == "accepted" and
                          e.get("tag") == 1023, "the 1024th accepted")
        p.stdin.write((json.dumps({"v": 1, "type": "cancel", "job": first,
                                   "signal": "SIGKILL", "tag": "c"}) +
                       "\n").encode())
        p.stdin.flush()
        # The old server read nothing past the waiting run: it waited for
        # a sleep to end.
        ev = events.wait_event(lambda e: e.get("tag") in ("c", "last"),
                               "the cancel's answer")
        check(ev.get("tag") == "c" and ev.get("event") == "ok",
              "serve --stdio: the waiting run went before the cancel: %s"
              % ev)
        events.wait_event(lambda e: e.get("tag") == "last" and
                          e.get("event") == "accepted",
                          "the waiting run accepted")
    finally:
        p.terminate()
        p.wait(timeout=120)
    print("ok   serve --stdio: a cancel gets past a run waiting for a slot "
          "and frees it")


def test_activation(capsid, env, base, ws):
    """What systemd does: a bound, listening socket on fd 3, LISTEN_FDS=1
    and LISTEN_PID naming the server's own pid."""
    path = os.path.join(base, "activated.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(16)
    fd = ls.fileno()
    env = dict(env, LISTEN_FDS="1")
    # LISTEN_PID must be the server's pid: set in the child before exec.
    # fd 3 is kept open across exec (pass_fds), the socket moved there
    # first; --socket is not given, and a server that finds no socket on
    # fd 3 refuses to start rather than take the default path.
    p = subprocess.Popen(["/bin/sh", "-c", 'LISTEN_PID=$$ exec "$0" serve -q',
                          capsid], env=env, pass_fds=(3,),
                         preexec_fn=lambda: os.dup2(fd, 3))
    ls.close()
    a = Agent(path)
    r = a.run({"argv": ["echo", "activated"], "cwd": ws})
    check(r.get("result", {}).get("stdout") == "activated\n",
          "a job through the activated socket: %s" % r)
    a.send(type="shutdown", tag="x")
    a.next(lambda e: e.get("tag") == "x")
    a.close()
    check(p.wait(timeout=120) == 0, "the activated server did not exit 0")
    print("ok   socket activation: the server takes fd 3 (LISTEN_FDS, "
          "LISTEN_PID), serves and shuts down")


def test_systemd(capsid, env, base, ws):
    """PID 1 is not systemd in every test machine (containers): the units
    are checked with systemd-analyze, and activation is run by
    systemd-socket-activate, systemd's own tool that passes a listening
    socket the way systemd does."""
    units = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "..", "..", "contrib", "systemd")
    tool = shutil.which("systemd-socket-activate")
    analyze = shutil.which("systemd-analyze")
    if tool is None or analyze is None:
        print("skip systemd: systemd-socket-activate or systemd-analyze "
              "is not installed")
        if os.environ.get("CAPSID_NO_SKIP") == "1":
            raise Failure("CAPSID_NO_SKIP is set and systemd tools are "
                          "missing")
        return
    d = os.path.join(base, "units")
    os.mkdir(d)
    for name in ("capsid.socket", "capsid.service", "capsid-user.service"):
        with open(os.path.join(units, name)) as f:
            text = f.read().replace("/usr/local/bin/capsid", capsid)
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    v = subprocess.run([analyze, "verify"] +
                       [os.path.join(d, n) for n in sorted(os.listdir(d))],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check(v.returncode == 0, "systemd-analyze verify: %s" % v.stdout)
    print("ok   contrib/systemd units pass systemd-analyze verify")
    path = os.path.join(base, "sd.sock")
    p = subprocess.Popen([tool, "-l", path, "-E", "CAPSID_STATE_DIR",
                          capsid, "serve", "-q"], env=env,
                         stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(path), "systemd-socket-activate")
    a = Agent(path)
    r = a.run({"argv": ["echo", "via systemd"], "cwd": ws})
    check(r.get("result", {}).get("stdout") == "via systemd\n",
          "a job through systemd-socket-activate: %s" % r)
    a.send(type="shutdown", tag="x")
    a.next(lambda e: e.get("tag") == "x")
    a.close()
    check(p.wait(timeout=120) == 0, "capsid serve under "
          "systemd-socket-activate did not exit 0")
    print("ok   started by systemd-socket-activate, served, stopped")


def main():
    capsid = os.path.abspath(sys.argv[1])
    base = tempfile.mkdtemp(prefix="capsid-serve-proto-")
    env = dict(os.environ)
    env["CAPSID_STATE_DIR"] = os.path.join(base, "state")
    ws = os.path.join(base, "ws")
    os.mkdir(ws)
    sock = os.path.join(base, "s", "capsid.sock")
    # test_backpressure bounds the server's peak memory.
    p = subprocess.Popen([capsid, "serve", "-q", "--socket", sock],
                         env=measurable_memory(env))
    try:
        wait_for(lambda: os.path.exists(sock), "the socket")
        check(os.stat(sock).st_mode & 0o777 == 0o600,
              "the default socket mode is not 0600")
        test_malformed(sock, ws)
        test_interactive_stdin(sock, ws, p.pid)
        test_stdin_reader_gone(sock, ws)
        test_stdin_bounded(sock, ws)
        test_cancel_passes_held_stdin(sock, ws)
        test_disconnect(sock, ws)
        test_backpressure(sock, ws, p.pid)
        a = Agent(sock)
        a.send(type="shutdown", tag="x")
        a.next(lambda e: e.get("tag") == "x")
        a.close()
        check(p.wait(timeout=120) == 0, "capsid serve did not exit 0")
        test_stdio(capsid, env, ws)
        test_stdio_answers_after_eof(capsid, env, base, ws)
        test_stdio_file_past_the_job_limit(capsid, env, base, ws)
        test_stdio_cancel_passes_deferred_run(capsid, env, ws)
        test_activation(capsid, env, base, ws)
        test_systemd(capsid, env, base, ws)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    run_main(main)
