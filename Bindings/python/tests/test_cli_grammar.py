"""`trit run --json-schema | --grammar | --regex`: the trit command hands the run to trit.cli in the
interpreter TRIT_PYTHON names (here this one, which has the package and llguidance)."""
import json
import os
import re
import subprocess
import sys

import jsonschema
import pytest

from conftest import ROOT

TRIT = os.path.join(ROOT, "build", "bin", "trit")
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["name", "age", "tags"],
          "properties": {"name": {"type": "string", "maxLength": 16},
                         "age": {"type": "integer", "minimum": 0, "maximum": 120},
                         "tags": {"type": "array", "items": {"enum": ["red", "green"]}, "maxItems": 3}}}


def trit(args, python=sys.executable):
    if not os.path.exists(TRIT):
        pytest.fail(f"{TRIT} missing: run `make` first")
    env = dict(os.environ, TRIT_PYTHON=python)
    return subprocess.run([TRIT, "run"] + args, capture_output=True, text=True, env=env, timeout=300)


def test_json_schema_file_gives_valid_json_every_seed(tmp_path):
    path = tmp_path / "person.json"
    path.write_text(json.dumps(SCHEMA))
    for seed in range(5):
        r = trit(["-p", "A person: ", "--json-schema", str(path), "-n", "120", "--temp", "1.0", "-s", str(seed),
                  "--no-echo"])
        assert r.returncode == 0, r.stderr
        jsonschema.validate(json.loads(r.stdout), SCHEMA)
        assert "stopped by  = eos" in r.stderr, r.stderr   # complete, not cut by -n


def test_regex_and_forced_text_are_counted():
    r = trit(["-p", "Call ", "--regex", r"phone: \+1-[0-9]{3}-[0-9]{4}", "-n", "40", "--no-echo", "--temp", "1"])
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"phone: \+1-[0-9]{3}-[0-9]{4}\n", r.stdout), r.stdout
    forced = int(re.search(r"(\d+) forced by the grammar", r.stderr).group(1))
    assert forced > 0, r.stderr     # "phone: +1-" is forced text: appended as a prompt chunk


def test_no_jump_forward_decodes_every_token():
    r = trit(["-p", "Call ", "--regex", r"phone: [0-9]{3}", "-n", "40", "--no-echo", "--no-jump-forward"])
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"phone: [0-9]{3}\n", r.stdout), r.stdout
    assert " 0 forced by the grammar" in r.stderr, r.stderr


def test_gbnf_grammar_file(tmp_path):
    g = tmp_path / "yn.gbnf"
    g.write_text('root ::= "yes" | "no"\n')
    r = trit(["-p", "Answer: ", "--grammar", str(g), "-n", "8", "--no-echo", "--no-timings"])
    assert r.returncode == 0, r.stderr
    assert r.stdout in ("yes\n", "no\n")


def test_lark_grammar_file(tmp_path):
    g = tmp_path / "ab.lark"
    g.write_text('start: "ab" "c"+\n')
    r = trit(["-p", "x", "--grammar", str(g), "-n", "6", "--no-echo", "--no-timings", "--temp", "0"])
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"abc+\n", r.stdout), r.stdout


@pytest.mark.parametrize("args, says", [
    (["--json-schema", "SCHEMA_BAD"], "json_schema is invalid"),
    (["--grammar", "GBNF_BAD"], "gbnf does not parse"),
    (["--regex", "a", "--regex", "b", "--json-schema", "SCHEMA_OK"], "exactly one of"),
    (["--regex", "a", "--prompt-cache", "x.state"], "--prompt-cache is not available"),
    (["--json-schema", "/nonexistent.json"], "cannot read --json-schema"),
    (["--regex", "a", "--temp", "x"], "--temp expects a number"),      # checked by trit before Python
    (["--no-jump-forward"], "applies to a run with a grammar only"),
])
def test_bad_input_is_an_error_naming_it(tmp_path, args, says):
    (tmp_path / "bad.json").write_text('{"type": 5}')
    (tmp_path / "ok.json").write_text('{"type": "string"}')
    (tmp_path / "bad.gbnf").write_text('root ::= "yes\n')
    subst = {"SCHEMA_BAD": str(tmp_path / "bad.json"), "SCHEMA_OK": str(tmp_path / "ok.json"),
             "GBNF_BAD": str(tmp_path / "bad.gbnf")}
    r = trit([subst.get(a, a) for a in args] + ["-n", "4"])
    assert r.returncode != 0
    assert says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_missing_python_or_package_says_what_to_install(tmp_path):
    r = trit(["--regex", "a"], python=str(tmp_path / "no-python"))
    assert r.returncode == 1 and "set TRIT_PYTHON" in r.stderr, r.stderr
    # an interpreter without the package: the system one with -I (isolated: no site-packages of ours)
    bare = tmp_path / "bare-python"
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S \"$@\"\n")
    bare.chmod(0o755)
    r = trit(["--regex", "a"], python=str(bare))
    assert r.returncode == 1 and "pip install 'trit[structured]'" in r.stderr, r.stderr
