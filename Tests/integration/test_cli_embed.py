"""`trit embed`: one line of floats per text (or OpenAI's JSON), the rows libtrit's trit_embed gives
(the Python binding's Model.embed), options checked with errors naming them."""
import json
import math
import os

from conftest import BIN, FIX, run

TRIT = os.path.join(BIN, "trit")
MODEL = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")


def rows(args):
    r = run([TRIT, "embed", "-m", MODEL] + args)
    return [[float(x) for x in line.split()] for line in r.stdout.splitlines()]


def test_rows_json_pooling_and_dimensions(built):
    two = rows(["-p", "hello world", "-p", "bye"])
    assert len(two) == 2 and len(two[0]) == 256 and two[0] != two[1]
    assert all(abs(math.sqrt(sum(x * x for x in r)) - 1) < 1e-5 for r in two)
    assert rows(["-p", "bye"]) == [two[1]]                    # a batch row is the text embedded alone
    j = json.loads(run([TRIT, "embed", "-m", MODEL, "-p", "hello world", "-p", "bye", "--json"]).stdout)
    assert j["object"] == "list" and [d["embedding"] for d in j["data"]] == two
    assert j["usage"]["prompt_tokens"] == j["usage"]["total_tokens"] > 2
    mean = rows(["-p", "hello world", "--pooling", "mean"])[0]
    assert mean != two[0]
    cut = rows(["-p", "hello world", "--pooling", "mean", "--dimensions", "8"])[0]
    raw = rows(["-p", "hello world", "--pooling", "mean", "--no-normalize"])[0]
    n8 = math.sqrt(sum(x * x for x in raw[:8]))
    assert len(cut) == 8 and max(abs(a - b / n8) for a, b in zip(cut, raw[:8])) < 1e-6
    import trit   # the binding (make python) gives the same rows
    with trit.Model(MODEL) as m:
        want = m.embed(["hello world", "bye"])
        assert max(abs(float(a) - b) for w, r in zip(want, two) for a, b in zip(w, r)) < 1e-6


def test_bad_options_are_named(built):
    for args, word in [(["--pooling", "max"], "--pooling"), (["--dimensions", "0x"], "--dimensions"),
                       (["--dimensions", "4096"], "dimensions"), ([], "no text")]:
        r = run([TRIT, "embed", "-m", MODEL] + (["-p", "hi"] if args else []) + args, check=False)
        assert r.returncode == 1 and r.stdout == "", (args, r.stdout)
        assert r.stderr.startswith("trit embed: error:") and word in r.stderr, (args, r.stderr)
