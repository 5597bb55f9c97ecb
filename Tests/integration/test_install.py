"""`make install PREFIX=... [DESTDIR=...]` and `make uninstall`: the installed tree is enough to build and
run a C program with pkg-config from any folder, and the installed `trit` and the C quick start find the
bundled model in PREFIX/share/trit/."""
import os
import re
import subprocess
import tempfile

import pytest

from conftest import ROOT

MODEL = "trit-bundled-i2_s.gguf"


def make(*args):
    r = subprocess.run(["make", "-s", "-C", ROOT, *args], capture_output=True, text=True)
    assert r.returncode == 0, f"make {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r


def version():
    h = open(os.path.join(ROOT, "Include", "trit.h")).read()
    return ".".join(re.search(rf"#define TRIT_VERSION_{p} (\d+)", h).group(1) for p in ("MAJOR", "MINOR", "PATCH"))


def compile_against(prefix, source, out, cwd):
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "trit"], capture_output=True, text=True, env=env,
                           check=True).stdout.split()
    assert f"-I{prefix}/include" in flags and f"-L{prefix}/lib" in flags, flags
    subprocess.run(["cc", "-std=c11", "-Wall", source, "-o", out, *flags], check=True, cwd=cwd)


@pytest.fixture(scope="module")
def prefix():
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "prefix")
        make("install", f"PREFIX={p}")
        yield p
        make("uninstall", f"PREFIX={p}")
        left = [os.path.join(r, f) for r, _, fs in os.walk(p) for f in fs]
        assert left == [], f"make uninstall left {left}"


def test_the_tree_and_its_links(prefix):
    v = version()
    lib = os.path.join(prefix, "lib")
    assert os.readlink(os.path.join(lib, "libtrit.so")) == "libtrit.so.0"
    assert os.readlink(os.path.join(lib, "libtrit.so.0")) == f"libtrit.so.{v}"
    soname = subprocess.run(["readelf", "-d", os.path.join(lib, f"libtrit.so.{v}")], capture_output=True, text=True,
                            check=True).stdout
    assert "Library soname: [libtrit.so.0]" in soname
    for rel in ["include/trit.h", "bin/trit", f"share/trit/{MODEL}", "lib/pkgconfig/trit.pc"]:
        assert os.path.isfile(os.path.join(prefix, rel)), rel
    pc = open(os.path.join(lib, "pkgconfig", "trit.pc")).read()
    assert f"prefix={prefix}\n" in pc and f"Version: {v}\n" in pc, pc


def test_simple_c_builds_with_pkg_config_and_runs_from_another_folder(prefix):
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as elsewhere:
        exe = os.path.join(work, "simple")
        compile_against(prefix, os.path.join(ROOT, "Examples", "simple.c"), exe, work)
        model = os.path.join(prefix, "share", "trit", MODEL)
        r = subprocess.run([exe, model, "In the beginning", "8", "1"], capture_output=True, text=True, cwd=elsewhere,
                           env={"PATH": "/usr/bin:/bin"})
        assert r.returncode == 0, r.stderr
        assert len(r.stdout.strip()) > 0, r.stdout


def readme_c_quick_start():
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text[text.index("## C quick start"):]
    return re.search(r"```c\n(.*?)```", section, re.S).group(1)


def test_readme_c_quick_start_finds_the_installed_model_from_any_folder(prefix):
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as elsewhere:
        src = os.path.join(work, "app.c")
        open(src, "w").write(readme_c_quick_start())
        exe = os.path.join(work, "app")
        compile_against(prefix, src, exe, work)
        r = subprocess.run([exe], capture_output=True, text=True, cwd=elsewhere, env={"PATH": "/usr/bin:/bin"})
        assert r.returncode == 0, r.stderr
        assert len(r.stdout.strip()) > 0, r.stdout


def test_installed_trit_uses_the_installed_model(prefix):
    with tempfile.TemporaryDirectory() as elsewhere:
        r = subprocess.run([os.path.join(prefix, "bin", "trit"), "run", "-p", "In the beginning", "-n", "4"],
                           capture_output=True, text=True, cwd=elsewhere, env={"PATH": "/usr/bin:/bin"})
        assert r.returncode == 0, r.stderr
        assert os.path.join(prefix, "share", "trit", MODEL) in r.stderr, r.stderr


def test_destdir_stages_under_the_final_prefix():
    with tempfile.TemporaryDirectory() as stage:
        make("install", f"DESTDIR={stage}", "PREFIX=/opt/trit-staged")
        root = os.path.join(stage, "opt", "trit-staged")
        assert os.path.isfile(os.path.join(root, "share", "trit", MODEL))
        assert "prefix=/opt/trit-staged\n" in open(os.path.join(root, "lib", "pkgconfig", "trit.pc")).read()
        make("uninstall", f"DESTDIR={stage}", "PREFIX=/opt/trit-staged")
        assert not os.path.exists(os.path.join(root, "lib", "libtrit.so.0"))
        assert not os.path.exists("/opt/trit-staged")
