"""One way the tests start `python -m trit.server` on 127.0.0.1 with an ephemeral port and wait (at
most 60 s) until /health answers 200; a server that exits first fails the test with its stderr."""
import socket
import subprocess
import sys
import time

import httpx
import pytest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model, *args, env=None):
    """(process, base URL) of a healthy server on `model` with the extra command-line `args`."""
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "trit.server", "--model", model, "--port", str(port)] + list(args),
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return p, base
        except httpx.HTTPError:
            pass
        assert p.poll() is None, p.stderr.read()
        time.sleep(0.2)
    p.kill()
    pytest.fail("the server did not become healthy")


def stop_server(p):
    p.terminate()
    p.wait(20)
