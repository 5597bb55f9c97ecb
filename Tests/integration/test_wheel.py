"""The wheel (`make wheel`): abi3, tagged manylinux as auditwheel reports, holding libtrit.so.0, the extension
and the bundled model. Installed into a fresh venv and used where the Swift toolchain cannot be reached:
import, generate from the bundled model, `python -m trit.server` on 127.0.0.1 answering the openai client.
The sdist carries the Swift sources and, without Swift, fails saying what is missing."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

import pytest

from conftest import ROOT

MODEL = "trit-bundled-i2_s.gguf"
EMPTY_PATH = tempfile.mkdtemp(prefix="trit-empty-path-")


def version():
    h = open(os.path.join(ROOT, "Include", "trit.h")).read()
    return ".".join(re.search(rf"#define TRIT_VERSION_{p} (\d+)", h).group(1) for p in ("MAJOR", "MINOR", "PATCH"))


def make(target):
    r = subprocess.run(["make", "-s", "-C", ROOT, target], capture_output=True, text=True)
    assert r.returncode == 0, f"make {target} failed:\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="module")
def wheel():
    make("wheel")
    found = glob.glob(os.path.join(ROOT, "build", "wheel", "*.whl"))
    assert len(found) == 1, found
    return found[0]


def toolchain_root():
    swift = shutil.which("swift")
    if swift is None:
        return None
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(swift))))  # <root>/usr/bin/swift
    return None if root in ("/", "/usr", "/usr/local") else root


def without_toolchain():
    """(command prefix, environment, description): PATH naming only an empty folder (no swift, no compiler:
    every program is started by its full path) and no LD_LIBRARY_PATH; and where it is permitted (root,
    unshare), a mount namespace with the toolchain's folder covered by an empty tmpfs."""
    root = toolchain_root()
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "PYTHONPATH", "VIRTUAL_ENV", "CC")}
    env["PATH"] = EMPTY_PATH
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if root and unshare and mount:
        cover = [unshare, "-m", "--propagation", "private", "/bin/sh", "-c",
                 f'{mount} -t tmpfs tmpfs "{root}" && exec "$0" "$@"']
        probe = subprocess.run(cover + ["/bin/sh", "-c", f'test -d "{root}" && test -z "$(/bin/ls -A "{root}")"'],
                               capture_output=True, env=env)
        if probe.returncode == 0:
            return cover, env, f"a mount namespace with {root} covered by an empty tmpfs, PATH={EMPTY_PATH}"
    return [], env, f"PATH={EMPTY_PATH} and LD_LIBRARY_PATH unset (no mount namespace permitted here)"


def test_wheel_name_tags_and_contents(wheel):
    name = os.path.basename(wheel)
    m = re.fullmatch(r"trit-(\d+\.\d+\.\d+)-cp311-abi3-(manylinux_\d+_\d+_x86_64)\.whl", name)
    assert m, name
    assert m.group(1) == version()
    auditwheel = os.path.join(os.path.dirname(sys.executable), "auditwheel")
    shown = subprocess.run([auditwheel, "show", wheel], capture_output=True, text=True, check=True).stdout
    assert f'"{m.group(2)}"' in " ".join(shown.split()), shown
    files = zipfile.ZipFile(wheel).namelist()
    for f in ["trit/lib/libtrit.so.0", "trit/_trit.abi3.so", f"trit/share/trit/{MODEL}",
              f"trit-{version()}.dist-info/licenses/LICENSE", "trit/server/app.py"]:
        assert f in files, f"{f} not in {files}"
    metadata = zipfile.ZipFile(wheel).read(f"trit-{version()}.dist-info/METADATA").decode()
    assert re.search(r"^License(-Expression)?: MIT$", metadata, re.M) and "License-File: LICENSE" in metadata, metadata
    print(f"{name}: {os.path.getsize(wheel) / 1e6:.1f} MB")


CHECK_INSTALLED = r"""
import json, os, shutil, socket, subprocess, sys, time, urllib.request
expected_version, hidden = sys.argv[1], sys.argv[2]
assert shutil.which("swift") is None and shutil.which("swiftc") is None, "the toolchain is reachable"
if hidden:
    assert not os.path.exists(os.path.join(hidden, "usr", "bin", "swift")), hidden
import trit
assert trit.__version__ == expected_version, (trit.__version__, expected_version)
model = trit.bundled_model_path()
assert model.startswith(os.path.dirname(trit.__file__)), model
with trit.Model(n_ctx=128) as m:
    text = m.generate("In the beginning", max_tokens=8, temperature=0)
assert text.strip(), repr(text)
print("generate:", repr(text))

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
server = subprocess.Popen([sys.executable, "-m", "trit.server", "--host", "127.0.0.1", "--port", str(port),
                           "--parallel", "1", "--ctx-size", "256"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
try:
    deadline = time.time() + 90
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200:
                break
        except Exception:
            pass
        assert server.poll() is None, server.stdout.read().decode(errors="replace")
        assert time.time() < deadline, "the server did not become healthy"
        time.sleep(0.3)
    import openai
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
    name = client.models.list().data[0].id
    reply = client.completions.create(model=name, prompt="In the beginning", max_tokens=8, temperature=0)
    assert reply.choices[0].text.strip() and reply.usage.completion_tokens > 0, reply
    print("server:", name, repr(reply.choices[0].text))
finally:
    server.terminate()
    server.wait(timeout=30)
"""


def test_wheel_installs_and_runs_without_the_toolchain(wheel):
    prefix, env, how = without_toolchain()
    with tempfile.TemporaryDirectory() as d:
        venv = os.path.join(d, "venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        python = os.path.join(venv, "bin", "python")
        script = os.path.join(d, "check.py")
        open(script, "w").write(CHECK_INSTALLED)
        t0 = time.monotonic()
        r = subprocess.run(prefix + [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel],
                           env=env, cwd=d, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        t1 = time.monotonic()
        r = subprocess.run(prefix + [python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                     f"{wheel}[server]", "openai"], env=env, cwd=d, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        t2 = time.monotonic()
        hidden = toolchain_root() if prefix else ""
        r = subprocess.run(prefix + [python, script, version(), hidden or ""], env=env, cwd=d, capture_output=True,
                           text=True, timeout=300)
        print(f"toolchain unreachable by {how}; pip install: wheel {t1 - t0:.1f} s, [server] + openai {t2 - t1:.1f} s")
        print(r.stdout)
        assert r.returncode == 0, r.stdout + r.stderr


def test_sdist_carries_the_sources_and_says_what_is_missing():
    make("sdist")
    found = glob.glob(os.path.join(ROOT, "build", "sdist", "*.tar.gz"))
    assert len(found) == 1, found
    sdist = tarfile.open(found[0])
    names = sdist.getnames()
    base = f"trit-{version()}"
    assert sdist.getmember(f"{base}/LICENSE").isfile(), "LICENSE must be the file, not a link"
    for f in ["Package.swift", "Include/trit.h", "Sources/TritC/CBundledModel.swift",
              "Sources/Trit/runtime/BundledModel.swift", f"Models/{MODEL}", "Tests/TritTests", "src/_trit.c",
              "src/limited_api.h", "setup.py", "LICENSE"]:
        assert f"{base}/{f}" in names, f"{f} not in the sdist"
    assert not [n for n in names if "libtrit.so" in n], "the sdist packs a prebuilt library"
    prefix, env, how = without_toolchain()
    with tempfile.TemporaryDirectory() as d:
        venv = os.path.join(d, "venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        r = subprocess.run(prefix + [os.path.join(venv, "bin", "python"), "-m", "pip", "install",
                                     "--disable-pip-version-check", found[0]],
                           env=env, cwd=d, capture_output=True, text=True)
        assert r.returncode != 0
        assert "building trit from source needs Swift 6 on the PATH" in r.stdout + r.stderr, r.stdout + r.stderr
