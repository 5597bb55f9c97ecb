"""The README's quick starts, as printed, run from a folder outside the checkout: the C program built
against the checkout's build/trit.pc, and the Python snippets with the package `make python` installed
(test_install.py runs the C quick start against an installed PREFIX)."""
import os
import re
import subprocess
import sys
import tempfile

import pytest

from conftest import ROOT


def code_block(section, language):
    text = open(os.path.join(ROOT, "README.md")).read()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    m = re.search(rf"```{language}\n(.*?)```", text[start:end], re.S)
    assert m, f"no {language} block in README section {section!r}"
    return m.group(1)


def run_python_elsewhere(code):
    with tempfile.TemporaryDirectory() as elsewhere:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=elsewhere, timeout=300)


def test_c_quick_start_against_the_build_tree_from_another_folder():
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as elsewhere:
        src = os.path.join(work, "app.c")
        open(src, "w").write(code_block("C quick start", "c"))
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(ROOT, "build"))
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "trit"], capture_output=True, text=True, env=env,
                               check=True).stdout.split()
        subprocess.run(["cc", "-std=c11", src, "-o", os.path.join(work, "app"), *flags], check=True, cwd=work)
        r = subprocess.run([os.path.join(work, "app")], capture_output=True, text=True, cwd=elsewhere)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip(), r.stdout


# The snippet streams a generate, then calls eval on the same context (it used to raise "the evaluation
# was aborted by the abort callback": issue 28).
def test_python_quick_start_from_another_folder():
    r = run_python_elsewhere(code_block("Python quick start", "python"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), r.stdout


def test_engine_snippet_from_another_folder():
    r = run_python_elsewhere(code_block("Serving many requests", "python"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), r.stdout
