"""The Python client against a real `capsid serve` (CAPSID_BIN names the
capsid binary; the package is imported from this source tree or from an
installed copy). Run: CAPSID_BIN=build/capsid python3 -m pytest
bindings/python/tests"""
import asyncio
import os
import subprocess
import threading
import time

import pytest

import capsid

CAPSID = os.environ.get("CAPSID_BIN", "capsid")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("serve")
    env = dict(os.environ, CAPSID_STATE_DIR=str(base / "state"))
    env.pop("CAPSID_SERVER", None)
    sock = base / "capsid.sock"
    p = subprocess.Popen([CAPSID, "serve", "-q", "--socket", str(sock)],
                         env=env)
    for _ in range(600):
        if sock.exists():
            break
        time.sleep(0.05)
    assert sock.exists(), "capsid serve did not listen"
    ws = base / "ws"
    ws.mkdir()
    yield "unix:" + str(sock), str(ws), env
    p.terminate()
    assert p.wait(timeout=120) == 0


def test_run_result_attributes(server):
    addr, ws, _ = server
    with capsid.Client(addr) as c:
        r = c.run(["sh", "-c", "echo out; echo err >&2; exit 3"], cwd=ws)
    assert r.exit_code == 3
    assert r.stdout == "out\n" and r.stderr == "err\n"
    assert r.error is None and r.signal is None and not r.timed_out
    assert r.mode in ("unprivileged", "elevated", "landlock-only")
    assert not r.ok


def test_binary_output_and_stdin(server):
    addr, ws, _ = server
    with capsid.Client(addr) as c:
        r = c.run(["cat"], cwd=ws, stdin=b"\xff\x00bytes")
    assert r.stdout_bytes == b"\xff\x00bytes"


def test_job_fields_and_timeout(server):
    addr, ws, _ = server
    with capsid.Client(addr) as c:
        r = c.run(["sleep", "30"], cwd=ws, timeout_ms=200)
    assert r.timed_out and r.exit_code is None


def test_refusal_names_the_field(server):
    addr, ws, _ = server
    with capsid.Client(addr) as c:
        r = c.run(["true"], cwd=ws, timeout_ms="soon")
        assert r.error["field"] == "timeout_ms"
        with pytest.raises(capsid.ServerError) as e:
            c._request({"v": 1, "type": "cancel", "job": 987654})
        assert e.value.field == "job"


def test_submit_stream_stdin_cancel(server):
    addr, ws, _ = server
    with capsid.Client(addr) as c:
        job = c.submit(["sh", "-c", "cat; echo done"], cwd=ws, stream=True,
                       stdin_stream=True)
        job.write_stdin(b"line one\n")
        job.write_stdin("line two\n", eof=True)
        got = b"".join(d for s, d in job.output() if s == "stdout")
        assert got == b"line one\nline two\ndone\n"
        assert job.wait().exit_code == 0

        slow = c.submit(["sleep", "600"], cwd=ws)
        slow.cancel(grace_ms=0)
        r = slow.wait(timeout=120)
        assert r.killed and r.interrupted
        st = c.status()
        assert st["jobs"] == []


def test_interactive_stdin(server):
    """The job answers a line before its stdin ends; its pid is known
    while it runs."""
    addr, ws, _ = server
    with capsid.Client(addr) as c:
        job = c.submit(["sh", "-c", 'read a; echo "got $a"; read b; '
                        'echo "then $b"'], cwd=ws, stream=True,
                       stdin_stream=True)
        job.write_stdin("one\n")
        out = job.output()
        stream, data = next(out)
        assert (stream, data) == ("stdout", b"got one\n")
        assert isinstance(job.pid, int) and job.pid > 0
        assert os.path.exists("/proc/%d" % job.pid)
        job.write_stdin(b"two\n", eof=True)
        assert b"".join(d for s, d in out) == b"then two\n"
        assert job.wait().exit_code == 0


def test_cancel_a_job_that_does_not_read_its_stdin(server):
    """A job that never reads: its stdin is held by the server, and the
    cancel on the same connection still gets through and ends it."""
    addr, ws, _ = server
    with capsid.Client(addr) as c:
        job = c.submit(["sleep", "600"], cwd=ws, stdin_stream=True)
        done = threading.Event()

        def feed_then_cancel():
            for _ in range(3):
                job.write_stdin(b"z" * (1 << 20))
            job.cancel("SIGKILL")
            done.set()
        threading.Thread(target=feed_then_cancel, daemon=True).start()
        # An older server read nothing more on this connection: the third
        # write blocked, and no cancel could follow it.
        assert done.wait(timeout=60), "the writes and the cancel hung"
        assert job.wait(timeout=60).killed


def test_stdin_needs_stdin_stream(server):
    """Bytes written to a job whose stdin is not a stream are refused, not
    dropped; the job reads the empty stdin it was given."""
    addr, ws, _ = server
    with capsid.Client(addr) as c:
        job = c.submit(["sh", "-c", 'read a; echo "got:$a"'], cwd=ws)
        with pytest.raises(ValueError, match="stdin_stream"):
            job.write_stdin(b"lost\n", eof=True)
        assert job.wait().stdout == "got:\n"

    async def main():
        async with await capsid.AsyncClient.connect(addr) as c:
            job = await c.submit(["true"], cwd=ws)
            with pytest.raises(ValueError, match="stdin_stream"):
                await job.write_stdin(b"lost\n")
            assert (await job.wait()).exit_code == 0

    asyncio.run(main())


def test_async_interactive_stdin(server):
    addr, ws, _ = server

    async def main():
        async with await capsid.AsyncClient.connect(addr) as c:
            job = await c.submit(["head", "-n", "1"], cwd=ws, stream=True,
                                 stdin_stream=True)
            await job.write_stdin("only\n")
            seen = [d async for s, d in job]
            assert b"".join(seen) == b"only\n"
            assert job.pid is not None
            assert (await job.wait()).exit_code == 0

    asyncio.run(main())


def test_private_server_over_stdio(server):
    _, ws, env = server
    with capsid.Client(capsid_bin=CAPSID, env=env) as c:
        assert c.ping()["event"] == "pong"
        assert c.run(["echo", "private"], cwd=ws).stdout == "private\n"


def test_private_server_close_kills_unfinished_jobs(server):
    # serve --stdio lets jobs finish when its input ends (a file of
    # requests); a client's close still ends them, as on a socket.
    _, ws, env = server
    c = capsid.Client(capsid_bin=CAPSID, env=env)
    job = c.submit(["sleep", "600"], cwd=ws)
    c.close()
    assert job.wait(timeout=60).killed

    async def main():
        p = await capsid.AsyncClient.connect(capsid_bin=CAPSID, env=env)
        slow = await p.submit(["sleep", "600"], cwd=ws)
        await p.close()
        assert (await asyncio.wait_for(slow.wait(), 60)).killed

    asyncio.run(main())


def test_asyncio(server):
    addr, ws, env = server

    async def main():
        async with await capsid.AsyncClient.connect(addr) as c:
            r = await c.run(["sh", "-c", "echo a; exit 2"], cwd=ws)
            assert r.exit_code == 2 and r.stdout == "a\n"
            job = await c.submit(["sh", "-c", "echo x; echo y >&2"],
                                 cwd=ws, stream=True)
            seen = [(s, d) async for s, d in job]
            assert (b"".join(d for s, d in seen if s == "stdout") == b"x\n")
            assert (b"".join(d for s, d in seen if s == "stderr") == b"y\n")
            assert (await job.wait()).exit_code == 0
            slow = await c.submit(["sleep", "600"], cwd=ws)
            await slow.cancel(grace_ms=0)
            assert (await slow.wait()).killed
        async with await capsid.AsyncClient.connect(
                capsid_bin=CAPSID, env=env) as p:
            r = await p.run(["echo", "stdio"], cwd=ws)
            assert r.stdout == "stdio\n"

    asyncio.run(main())
