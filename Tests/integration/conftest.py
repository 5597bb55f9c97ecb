import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build", "bin")
FIX = os.path.join(ROOT, "Tests", "Fixtures")


def run(args, input=None, check=True, cwd=None):
    r = subprocess.run(args, input=input, capture_output=True, text=True, errors="replace", cwd=cwd or ROOT, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError(f"{args} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="session")
def built():
    for p in ["trit", "simple", "stream", "chat", "tokenize"]:
        assert os.path.exists(os.path.join(BIN, p)), f"build/bin/{p} missing: run `make` first"
    return BIN
