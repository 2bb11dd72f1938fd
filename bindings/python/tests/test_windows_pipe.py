"""The Windows named-pipe path of the Python client, where it can be
checked without Windows: the address forms, and Client over pipe:NAME
against a stand-in for the standard library's _winapi (overlapped
ReadFile/WriteFile on a socket pair, a fake server at the other end).
What only a Windows machine shows -- the real pipe, its DACL, the
impersonation level -- is not run here."""
import json
import socket
import sys
import threading
import types

import pytest

import capsid

PIPE = "\\\\.\\pipe\\"


@pytest.mark.parametrize("windows", [False, True])
def test_address_forms(monkeypatch, windows):
    monkeypatch.setattr(capsid, "_WINDOWS", windows)
    if windows:
        assert capsid._address("pipe:capsid-me") == ("pipe",
                                                     PIPE + "capsid-me")
        assert capsid._address("pipe:" + PIPE + "x") == ("pipe", PIPE + "x")
        with pytest.raises(ValueError, match="expected pipe:NAME"):
            capsid._address("unix:/run/capsid.sock")
    else:
        assert capsid._address("unix:/run/capsid.sock") == (
            "unix", "/run/capsid.sock")
        with pytest.raises(ValueError, match="named pipes are for a Windows"
                           ".*unix:/path/to.sock"):
            capsid._address("pipe:capsid-me")
    form = "pipe:NAME" if windows else "unix:/path/to.sock"
    # What the server refuses too: no name, a separator, a drive.
    for bad in ("pipe:", "pipe:" + PIPE, "pipe:a/b", "pipe:a\\b",
                "pipe:C:x", "unix:", "bogus:x", "/run/capsid.sock"):
        with pytest.raises(ValueError, match="expected " + form):
            capsid._address(bad)


def test_asyncclient_refuses_a_pipe(monkeypatch):
    monkeypatch.setattr(capsid, "_WINDOWS", True)
    with pytest.raises(ValueError, match="use Client"):
        capsid._socket_path("pipe:capsid-me")


class _Overlapped:
    def __init__(self, result, data=b""):
        self._result, self._data = result, data

    def GetOverlappedResult(self, wait):
        assert wait
        return self._result()

    def getbuffer(self):
        return self._data

    def cancel(self):
        pass


def _fake_winapi(sock, opened):
    """_winapi's calls the client makes, on sock."""
    w = types.SimpleNamespace(NULL=0, OPEN_EXISTING=3, ERROR_PIPE_BUSY=231)

    def create_file(path, access, share, sa, disposition, flags, template):
        opened.append((path, access, flags))
        return 42

    def read_file(h, size, overlapped):
        assert h == 42 and overlapped
        ov = _Overlapped(None)

        def result():
            data = sock.recv(size)
            if not data:
                raise BrokenPipeError(109, "The pipe has been ended")
            ov._data = data
            return len(data), 0
        ov._result = result
        return ov, 997          # ERROR_IO_PENDING

    def write_file(h, data, overlapped):
        assert h == 42 and overlapped
        # a short write, so that the client's loop is exercised
        part = bytes(data[:7])
        sock.sendall(part)
        return _Overlapped(lambda: (len(part), 0)), 0

    def close_handle(h):
        sock.shutdown(socket.SHUT_RDWR)

    w.CreateFile, w.ReadFile, w.WriteFile = create_file, read_file, write_file
    w.CloseHandle = close_handle
    return w


def _fake_server(sock, seen):
    """Answers ping, and a run with accepted and exit, until EOF."""
    f = sock.makefile("rwb")
    for line in f:
        req = json.loads(line)
        seen.append(req)
        tag = req.get("tag")
        if req["type"] == "ping":
            out = [{"v": 1, "event": "pong", "tag": tag}]
        else:
            out = [{"v": 1, "event": "accepted", "job": 1, "tag": tag},
                   {"v": 1, "event": "exit", "job": 1,
                    "result": {"exit_code": 0, "error": None,
                               "stdout": "hi\r\n", "stderr": ""}}]
        for ev in out:
            f.write((json.dumps(ev) + "\n").encode())
        f.flush()
    f.close()
    seen.append("eof")


def test_pipe_that_cannot_be_opened(monkeypatch):
    def create_file(*args):
        raise FileNotFoundError(2, "The system cannot find the file")
    w = types.SimpleNamespace(NULL=0, OPEN_EXISTING=3, ERROR_PIPE_BUSY=231,
                              CreateFile=create_file)
    monkeypatch.setattr(capsid, "_WINDOWS", True)
    monkeypatch.setitem(sys.modules, "_winapi", w)
    # The error of the open, and none from closing what was never opened,
    # as the half-made object's finaliser does.
    with pytest.raises(FileNotFoundError) as e:
        capsid.Client("pipe:capsid-none")
    tb = e.value.__traceback__
    while not isinstance(tb.tb_frame.f_locals.get("self"), capsid._PipeIO):
        tb = tb.tb_next
    tb.tb_frame.f_locals["self"].close()


def test_client_over_a_pipe(monkeypatch):
    ours, theirs = socket.socketpair()
    opened, seen = [], []
    monkeypatch.setattr(capsid, "_WINDOWS", True)
    monkeypatch.setitem(sys.modules, "_winapi", _fake_winapi(ours, opened))
    server = threading.Thread(target=_fake_server, args=(theirs, seen))
    server.start()
    with capsid.Client("pipe:capsid-test") as c:
        assert c.ping()["event"] == "pong"
        r = c.run(["cmd", "/c", "echo", "hi"], cwd="/ws")
        assert r.exit_code == 0 and r.stdout == "hi\r\n"
    server.join(timeout=60)
    assert not server.is_alive(), "the client did not end the connection"
    ours.close()
    theirs.close()
    assert seen[-1] == "eof" and seen[1]["job"]["argv"][0] == "cmd"
    # Opened as capsid's own client opens it: read and write-data access
    # but not GENERIC_WRITE (0x40000000, refused to other users by the
    # server's DACL), overlapped, at impersonation level.
    path, access, flags = opened[0]
    assert path == PIPE + "capsid-test"
    assert access == 0x0012018B and not access & 0x40000000
    assert flags == 0x40000000 | 0x00100000 | 0x00020000
