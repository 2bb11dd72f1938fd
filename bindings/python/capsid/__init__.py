"""A client for `capsid serve` (docs/protocol.md): pure Python, standard
library only, synchronous and asyncio.

    import capsid
    c = capsid.Client("unix:/run/user/1000/capsid/capsid.sock")
    r = c.run(["make", "test"], cwd="/src/ws", timeout_ms=60000)
    print(r.exit_code, r.stdout)

    job = c.submit(["cat"], cwd="/src/ws", stream=True, stdin_stream=True)
    job.write_stdin(b"hello\\n")      # read by the job while it runs
    job.write_stdin(b"", eof=True)
    for stream, data in job.output():
        ...
    print(job.wait().exit_code)

Client() without an address starts a private server over stdio
(`capsid serve --stdio`), found as `capsid` on PATH or given by
capsid_bin=. AsyncClient is the same for asyncio. On Windows the server
listens on a named pipe: Client("pipe:capsid-NAME") (not AsyncClient
yet; not run on a Windows machine so far).
"""
import asyncio
import base64
import io
import itertools
import json
import os
import queue
import socket
import subprocess
import threading

__all__ = ["Client", "AsyncClient", "Job", "AsyncJob", "Result",
           "ServerError", "PROTOCOL_VERSION"]
__version__ = "0.1.0"
PROTOCOL_VERSION = 1


class ServerError(Exception):
    """The server refused a request: .field names what was wrong."""

    def __init__(self, event):
        super().__init__(event.get("message", "request refused"))
        self.field = event.get("field")
        self.event = event


class Result:
    """A job's result: every field of a `capsid batch` result object as an
    attribute (exit_code, signal, timed_out, killed, duration_ms, mode,
    stdout, stderr, error, ...). stdout and stderr are text; the exact
    bytes are stdout_bytes and stderr_bytes."""

    def __init__(self, obj):
        self._obj = obj
        for k, v in obj.items():
            setattr(self, k, v)
        for s in ("stdout", "stderr"):
            raw = obj.get(s + "_b64")
            setattr(self, s + "_bytes", base64.b64decode(raw) if raw
                    else (obj.get(s) or "").encode())

    @property
    def ok(self):
        return self.error is None and self.exit_code == 0

    def as_dict(self):
        return dict(self._obj)

    def __repr__(self):
        return "Result(exit_code=%r, signal=%r, error=%r)" % (
            self.exit_code, self.signal, self.error)


_WINDOWS = os.name == "nt"
_PIPE_PREFIX = "\\\\.\\pipe\\"


def _address(addr):
    r"""("unix", path) for "unix:PATH"; ("pipe", r"\\.\pipe\NAME") for
    "pipe:NAME" (or "pipe:\\.\pipe\NAME"), the form a Windows server
    listens on. ValueError for anything else, or for the other OS's form,
    naming the form this OS serves."""
    form = "pipe:NAME" if _WINDOWS else "unix:/path/to.sock"
    if addr.startswith("pipe:"):
        name = addr[5:]
        if name.startswith(_PIPE_PREFIX):
            name = name[len(_PIPE_PREFIX):]
        # As the server: a name holds no backslash; "/" or ":" would
        # mean a file path.
        if not name or any(c in name for c in "\\/:"):
            raise ValueError("address %r: expected %s" % (addr, form))
        if not _WINDOWS:
            raise ValueError("address %r: named pipes are for a Windows "
                             "server; here expected %s" % (addr, form))
        return "pipe", _PIPE_PREFIX + name
    if addr.startswith("unix:") and len(addr) > 5 and not _WINDOWS:
        return "unix", addr[5:]
    raise ValueError("address %r: expected %s" % (addr, form))


def _socket_path(addr):
    kind, path = _address(addr)
    if kind != "unix":
        raise ValueError("address %r: AsyncClient reaches a Windows named "
                         "pipe not yet; use Client" % addr)
    return path


# What a client other than the server's own user may ask of the pipe
# (serve/win/serve-pipe.h): FILE_GENERIC_READ | FILE_WRITE_DATA |
# FILE_WRITE_ATTRIBUTES. Not GENERIC_WRITE, which the server's DACL
# refuses to other users: open(path, "r+b") asks for it.
_PIPE_ACCESS = 0x00120089 | 0x0002 | 0x0100
_FILE_FLAG_OVERLAPPED = 0x40000000
# Impersonation level: the server opens the job's paths as the client.
_SECURITY_SQOS_IMPERSONATION = 0x00100000 | 0x00020000
_ERROR_OPERATION_ABORTED = 995


class _PipeIO(io.RawIOBase):
    """A client end of a Windows named pipe, opened for overlapped I/O
    with the standard library's _winapi (what asyncio and multiprocessing
    use): the reader thread's pending read must not hold up a request
    being written, which a handle opened for synchronous I/O (open())
    would do, each call waiting for the one before."""

    def __init__(self, path):
        import _winapi
        self._w = _winapi
        self._ov = None
        self._done = True       # until the pipe is open: nothing to close
        # Starting a read and ending the pipe exclude each other, so that
        # no read starts on a handle already closed (and maybe reused).
        self._hlock = threading.Lock()
        for tries in range(3):
            try:
                self._h = _winapi.CreateFile(
                    path, _PIPE_ACCESS, 0, _winapi.NULL,
                    _winapi.OPEN_EXISTING,
                    _FILE_FLAG_OVERLAPPED | _SECURITY_SQOS_IMPERSONATION,
                    _winapi.NULL)
                break
            except OSError as e:
                # Every instance busy: wait for one, as capsid's client.
                if (getattr(e, "winerror", None) != _winapi.ERROR_PIPE_BUSY
                        or tries == 2):
                    raise
                _winapi.WaitNamedPipe(path, 10000)
        self._done = False

    def readable(self):
        return True

    def writable(self):
        return True

    def readinto(self, b):
        try:
            with self._hlock:
                if self._done:
                    return 0
                ov, _ = self._w.ReadFile(self._h, len(b), overlapped=True)
                self._ov = ov
            n, err = ov.GetOverlappedResult(True)
        except OSError:
            return 0            # the server closed the pipe
        finally:
            self._ov = None
        if err == _ERROR_OPERATION_ABORTED:
            return 0            # shutdown() cancelled it
        data = ov.getbuffer()
        b[:len(data)] = data
        return len(data)

    def write(self, data):
        data = bytes(data)
        done = 0
        while done < len(data):
            with self._hlock:
                if self._done:
                    raise BrokenPipeError("the pipe is closed")
                ov, _ = self._w.WriteFile(self._h, data[done:],
                                          overlapped=True)
            n, _ = ov.GetOverlappedResult(True)
            done += n
        return done

    def shutdown(self):
        """Ends the connection: a pending read returns as at the end of
        the pipe, a later write raises BrokenPipeError."""
        with self._hlock:
            if self._done:
                return
            self._done = True
            if self._ov is not None:
                try:
                    self._ov.cancel()
                except OSError:
                    pass
            self._w.CloseHandle(self._h)

    def close(self):
        self.shutdown()
        super().close()


def _job_object(argv, cwd, fields):
    job = dict(fields)
    job["argv"] = list(argv)
    job["cwd"] = os.path.abspath(cwd if cwd is not None else os.getcwd())
    return job


def _run_request(argv, cwd, stream, stdin, stdin_stream, fields, tag):
    req = {"v": PROTOCOL_VERSION, "type": "run", "tag": tag,
           "job": _job_object(argv, cwd, fields)}
    if stream:
        req["stream"] = True
    if stdin_stream:
        req["stdin_stream"] = True
    if stdin is not None:
        if isinstance(stdin, str):
            stdin = stdin.encode()
        req["stdin_b64"] = base64.b64encode(stdin).decode()
    return req


def _output_of(ev):
    if "data_b64" in ev:
        return base64.b64decode(ev["data_b64"])
    return ev.get("data", "").encode()


def _stdin_request(job, data, eof):
    req = {"v": PROTOCOL_VERSION, "type": "stdin", "job": job, "eof": eof}
    if data:
        if isinstance(data, str):
            data = data.encode()
        req["data_b64"] = base64.b64encode(data).decode()
    return req


def _cancel_request(job, signal, grace_ms):
    req = {"v": PROTOCOL_VERSION, "type": "cancel", "job": job,
           "signal": signal}
    if grace_ms is not None:
        req["grace_ms"] = grace_ms
    return req


def _kills_for_close(jobs):
    """A private server (serve --stdio) lets its jobs finish when its
    input ends, as a file of requests wants; a client that closes wants
    its unfinished jobs ended, as a socket server does on hang-up: a
    SIGKILL cancel for each job whose result was not taken (one that
    ended already answers an error nobody waits for)."""
    return [_cancel_request(n, "SIGKILL", None)
            for n, job in list(jobs.items()) if job._result is None]


def _take_event(job, ev):
    """One event of job's queue, for Job and AsyncJob alike: the exit sets
    job._result, a closed connection raises; returns (stream, bytes) for
    output that has bytes, else None."""
    name = ev.get("event")
    if name == "output":
        data = _output_of(ev)
        return (ev["stream"], data) if data else None
    if name == "exit":
        job._result = Result(ev["result"])
    elif name == "closed":
        raise ConnectionError("the server closed the connection")
    return None


def _answer(ev):
    """The answer to a request, or the error it was: ServerError for a
    refusal, ConnectionError when the connection closed first."""
    if ev.get("event") == "error":
        raise ServerError(ev)
    if ev.get("event") == "closed":
        raise ConnectionError("the server closed the connection")
    return ev


def _check_streams_stdin(job):
    """The server answers a stdin request for a job that does not read a
    stream with an error event no request waits for: said here instead,
    rather than the bytes going nowhere."""
    if not job.streams_stdin:
        raise ValueError("job %s was submitted without stdin_stream=True: "
                         "its stdin cannot be written" % job.id)


def _route(ev, jobs, waiting, new_job):
    """Where an event goes: (the job's event queue or the waiter of the
    request it answers, what to give it). An accepted event makes the
    job."""
    name = ev.get("event")
    if name == "accepted":
        job = jobs[ev["job"]] = new_job(ev["job"])
        return waiting.pop(ev.get("tag"), None), {"event": "accepted",
                                                  "job_obj": job}
    if name in ("started", "output", "exit") and "job" in ev:
        job = jobs.pop(ev["job"], None) if name == "exit" \
            else jobs.get(ev["job"])
        if name == "started" and job is not None:
            job.pid, job.mode = ev.get("pid"), ev.get("mode")
        return (job._events if job is not None else None), ev
    return waiting.pop(ev.get("tag"), None), ev


# ---------------------------------------------------------------------------
# Synchronous


class Job:
    """A submitted job: wait(), cancel(), write_stdin(), output(). pid and
    mode are its first process's host pid and its mode once it has
    started (None before)."""

    def __init__(self, client, number):
        self._client = client
        self.id = number
        self.pid = self.mode = None
        self.streams_stdin = False
        self._events = queue.Queue()
        self._result = None

    def output(self):
        """Yields (stream, bytes) as the job writes (submit(stream=True)),
        until it ends."""
        while self._result is None:
            out = _take_event(self, self._events.get())
            if out:
                yield out

    def wait(self, timeout=None):
        """The job's Result, once it ends."""
        while self._result is None:
            _take_event(self, self._events.get(timeout=timeout))
        return self._result

    def cancel(self, signal="SIGTERM", grace_ms=None):
        """Asks the job to stop (SIGTERM, SIGINT, SIGHUP; SIGKILL kills at
        once); it is killed when grace_ms passes first."""
        self._client._request(_cancel_request(self.id, signal, grace_ms))

    def write_stdin(self, data, eof=False):
        """Feeds a job submitted with stdin_stream=True while it runs;
        eof=True ends its stdin. While the server holds 1 MiB the job has
        not read, the connection's requests wait (cancels excepted) and
        the server reads ahead at most 24 MiB; past that this call blocks
        until the job reads (back-pressure). ValueError for a job
        submitted without stdin_stream (its stdin was given whole, or is
        empty)."""
        _check_streams_stdin(self)
        self._client._send(_stdin_request(self.id, data, eof))


class Client:
    def __init__(self, address=None, capsid_bin="capsid", env=None):
        self._proc = self._pipe = None
        self._lock = threading.Lock()
        self._tags = itertools.count(1)
        self._waiting = {}      # tag -> queue for the answer
        self._jobs = {}         # job number -> Job
        self._closed = False
        if address is None:
            self._proc = subprocess.Popen(
                [capsid_bin, "serve", "--stdio", "-q"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            self._wfile = self._proc.stdin
            self._rfile = self._proc.stdout
        else:
            kind, path = _address(address)
            if kind == "pipe":
                self._pipe = _PipeIO(path)
                self._wfile = self._pipe
                self._rfile = io.BufferedReader(self._pipe)
            else:
                self._sock = socket.socket(socket.AF_UNIX,
                                           socket.SOCK_STREAM)
                self._sock.connect(path)
                self._wfile = self._sock.makefile("wb")
                self._rfile = self._sock.makefile("rb")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self):
        for line in self._rfile:
            ev = json.loads(line)
            self._dispatch(ev)
        self._closed = True
        with self._lock:
            for q in self._waiting.values():
                q.put({"event": "closed"})
            for job in self._jobs.values():
                job._events.put({"event": "closed"})

    def _dispatch(self, ev):
        with self._lock:
            target, item = _route(ev, self._jobs, self._waiting,
                                  lambda n: Job(self, n))
        if target is not None:
            target.put(item)

    def _send(self, req):
        data = (json.dumps(req) + "\n").encode()
        with self._lock:
            self._wfile.write(data)
            self._wfile.flush()

    def _request(self, req):
        tag = "py%d" % next(self._tags)
        req["tag"] = tag
        q = queue.Queue()
        with self._lock:
            self._waiting[tag] = q
        self._send(req)
        return _answer(q.get())

    def submit(self, argv, cwd=None, stream=False, stdin=None,
               stdin_stream=False, **fields):
        """Starts a job and returns its Job handle. fields are the job
        object's (policy, writable_roots, env, timeout_ms, mode, ...)."""
        ev = self._request(_run_request(argv, cwd, stream, stdin,
                                        stdin_stream, fields, None))
        ev["job_obj"].streams_stdin = bool(stdin_stream)
        return ev["job_obj"]

    def run(self, argv, cwd=None, stdin=None, **fields):
        """Runs a job to its end and returns its Result."""
        return self.submit(argv, cwd=cwd, stdin=stdin, **fields).wait()

    def status(self):
        return self._request({"v": PROTOCOL_VERSION, "type": "status"})

    def ping(self):
        return self._request({"v": PROTOCOL_VERSION, "type": "ping"})

    def shutdown(self):
        return self._request({"v": PROTOCOL_VERSION, "type": "shutdown"})

    def close(self):
        """Ends the connection (the server kills this client's unfinished
        jobs) and, for a private server, waits for it to exit."""
        try:
            if self._proc is not None:
                for req in _kills_for_close(self._jobs):
                    self._send(req)
                self._proc.stdin.close()
            elif self._pipe is not None:
                self._pipe.shutdown()
            else:
                self._sock.shutdown(socket.SHUT_RDWR)
                self._sock.close()
        except OSError:
            pass
        if self._proc is not None:
            self._proc.wait()
            self._proc.stdout.close()


# ---------------------------------------------------------------------------
# asyncio


class AsyncJob:
    def __init__(self, client, number):
        self._client = client
        self.id = number
        self.pid = self.mode = None
        self.streams_stdin = False
        self._events = asyncio.Queue()
        self._result = None

    async def output(self):
        """Async iterator of (stream, bytes) until the job ends."""
        while self._result is None:
            out = _take_event(self, await self._events.get())
            if out:
                yield out

    def __aiter__(self):
        return self.output()

    async def wait(self):
        while self._result is None:
            _take_event(self, await self._events.get())
        return self._result

    async def cancel(self, signal="SIGTERM", grace_ms=None):
        await self._client._request(_cancel_request(self.id, signal,
                                                    grace_ms))

    async def write_stdin(self, data, eof=False):
        _check_streams_stdin(self)
        await self._client._send(_stdin_request(self.id, data, eof))


class AsyncClient:
    """await AsyncClient.connect("unix:/path") (or no address: a private
    server over stdio); then run(), submit(), status(), close()."""

    def __init__(self):
        self._tags = itertools.count(1)
        self._waiting = {}
        self._jobs = {}
        self._proc = None

    @classmethod
    async def connect(cls, address=None, capsid_bin="capsid", env=None):
        self = cls()
        if address is None:
            self._proc = await asyncio.create_subprocess_exec(
                capsid_bin, "serve", "--stdio", "-q",
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                limit=64 << 20)
            self._reader, self._writer = self._proc.stdout, self._proc.stdin
        else:
            self._reader, self._writer = await asyncio.open_unix_connection(
                _socket_path(address), limit=64 << 20)
        self._task = asyncio.ensure_future(self._read())
        return self

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def _read(self):
        while True:
            line = await self._reader.readline()
            if not line:
                break
            self._dispatch(json.loads(line))
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_result({"event": "closed"})
        for job in self._jobs.values():
            job._events.put_nowait({"event": "closed"})

    def _dispatch(self, ev):
        target, item = _route(ev, self._jobs, self._waiting,
                              lambda n: AsyncJob(self, n))
        if isinstance(target, asyncio.Future):
            if not target.done():
                target.set_result(item)
        elif target is not None:
            target.put_nowait(item)

    async def _send(self, req):
        self._writer.write((json.dumps(req) + "\n").encode())
        await self._writer.drain()

    async def _request(self, req):
        tag = "py%d" % next(self._tags)
        req["tag"] = tag
        fut = asyncio.get_running_loop().create_future()
        self._waiting[tag] = fut
        await self._send(req)
        return _answer(await fut)

    async def submit(self, argv, cwd=None, stream=False, stdin=None,
                     stdin_stream=False, **fields):
        ev = await self._request(_run_request(argv, cwd, stream, stdin,
                                              stdin_stream, fields, None))
        ev["job_obj"].streams_stdin = bool(stdin_stream)
        return ev["job_obj"]

    async def run(self, argv, cwd=None, stdin=None, **fields):
        job = await self.submit(argv, cwd=cwd, stdin=stdin, **fields)
        return await job.wait()

    async def status(self):
        return await self._request({"v": PROTOCOL_VERSION,
                                    "type": "status"})

    async def ping(self):
        return await self._request({"v": PROTOCOL_VERSION, "type": "ping"})

    async def shutdown(self):
        return await self._request({"v": PROTOCOL_VERSION,
                                    "type": "shutdown"})

    async def close(self):
        try:
            if self._proc is not None:
                for req in _kills_for_close(self._jobs):
                    await self._send(req)
            self._writer.close()
        except OSError:
            pass
        if self._proc is not None:
            await self._proc.wait()
        await self._task
