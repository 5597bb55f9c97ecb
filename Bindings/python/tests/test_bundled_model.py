"""trit.bundled_model_path(): the model the package carries (trit/share/trit/), found by libtrit beside
itself; trit.Model() without a path loads it, and says where it looked when it is missing."""
import os
import shutil
import subprocess
import sys

import trit


def test_bundled_model_is_package_data():
    path = trit.bundled_model_path()
    assert path == os.path.join(os.path.dirname(os.path.realpath(trit.__file__)), "share", "trit",
                                "trit-bundled-i2_s.gguf")
    assert os.path.getsize(path) > 1_000_000
    assert trit.default_model_path() == path


def test_model_without_a_path_loads_it():
    with trit.Model(n_ctx=64, n_threads=1) as m:
        assert m.path == trit.bundled_model_path()
        assert m.generate("In the beginning", max_tokens=4, temperature=0).strip()


def test_a_missing_bundled_model_says_where_it_looked(tmp_path):
    # a copy of the installed package without its share/ folder
    pkg = tmp_path / "site" / "trit"
    shutil.copytree(os.path.dirname(os.path.realpath(trit.__file__)), pkg,
                    ignore=shutil.ignore_patterns("share", "__pycache__"))
    code = ("import trit\n"
            "assert trit.default_model_path() is None\n"
            "try:\n    trit.Model()\nexcept trit.TritError as e:\n    print(e.status, e.message)\n"
            "else:\n    raise SystemExit('loaded a model that is not there')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path),
                       env=dict(os.environ, PYTHONPATH=str(tmp_path / "site")))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("2 ") and "was not found; looked in" in r.stdout, r.stdout
    assert str(pkg / "share" / "trit" / "trit-bundled-i2_s.gguf") in r.stdout, r.stdout
