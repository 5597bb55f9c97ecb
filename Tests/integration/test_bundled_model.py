"""trit_bundled_model_path() and `trit` without -m: the model beside the library or the command (the source
tree's Models/ for build/; PREFIX/share/trit/ when installed, see test_install.py), and an error that names
every place looked in when it is missing."""
import os
import shutil
import subprocess
import tempfile

from conftest import BIN, ROOT

PROBE = r"""
#include <stdio.h>
#include <trit.h>
int main(void) {
    const char *path = "unset";
    trit_status st = trit_bundled_model_path(&path);
    printf("%d|%s|", (int)st, path ? path : "NULL");
    printf("%s|", trit_last_error());
    trit_status null_arg = trit_bundled_model_path(NULL);
    printf("%d|%s\n", (int)null_arg, trit_last_error());
    return 0;
}
"""


def probe(libdir, work):
    src = os.path.join(work, "probe.c")
    open(src, "w").write(PROBE)
    exe = os.path.join(work, "probe")
    subprocess.run(["cc", "-std=c11", src, "-o", exe, f"-I{ROOT}/Include", f"-L{os.path.join(ROOT, 'build', 'lib')}",
                    "-ltrit"], check=True)
    r = subprocess.run([exe], capture_output=True, text=True, cwd=work, env={"LD_LIBRARY_PATH": libdir})
    assert r.returncode == 0, r.stderr
    return r.stdout.rstrip("\n").split("|")


def test_found_in_the_source_tree():
    with tempfile.TemporaryDirectory() as work:
        st, path, err, null_st, null_err = probe(os.path.join(ROOT, "build", "lib"), work)
        assert (st, path) == ("0", os.path.join(os.path.realpath(ROOT), "Models", "trit-bundled-i2_s.gguf"))
        assert (null_st, null_err) == ("1", "path is NULL")


def test_missing_names_every_place_looked_in():
    with tempfile.TemporaryDirectory() as work:
        lib = os.path.join(work, "prefix", "lib")
        os.makedirs(lib)
        shutil.copy2(os.path.join(ROOT, "build", "lib", "libtrit.so.0"), lib)
        st, path, err, _, _ = probe(lib, work)
        real = os.path.realpath(work)
        assert (st, path) == ("2", "NULL")
        assert "was not found; looked in" in err and f"{real}/prefix/share/trit/trit-bundled-i2_s.gguf" in err, err
        assert f"{real}/Models/trit-bundled-i2_s.gguf" in err, err


def test_trit_command_without_a_model_says_where_it_looked():
    with tempfile.TemporaryDirectory() as work:
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        shutil.copy2(os.path.join(BIN, "trit"), bindir)
        r = subprocess.run([os.path.join(bindir, "trit"), "run", "-p", "x", "-n", "1"], capture_output=True, text=True,
                           cwd=work)
        assert r.returncode != 0
        real = os.path.realpath(work)
        assert f"looked in {real}/share/trit/trit-bundled-i2_s.gguf" in r.stderr, r.stderr
        assert "pass -m PATH" in r.stderr, r.stderr
