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


EMB = os.path.join(FIX, "qwen3-bitnet-embedding-tiny")


def test_embedding_model_file_pooling_and_bench(built):
    """BitNet-embedding: the file's pooling (last) and EOS without options, transformers' row;
    `trit bench --embed` measures it; the generation bench refuses it by name."""
    ref = json.load(open(os.path.join(EMB, "reference.json")))["inputs"][0]
    r = run([TRIT, "embed", "-m", os.path.join(EMB, "model.i2_s.gguf"), "-ctk", "f32", "-ctv", "f32",
             "-p", ref["text"], "--json"])
    j = json.loads(r.stdout)
    assert j["usage"]["prompt_tokens"] == len(ref["tokens"])
    assert max(abs(a - b) for a, b in zip(j["data"][0]["embedding"], ref["last"])) <= 1e-5
    b = json.loads(run([TRIT, "bench", "--embed", "-m", os.path.join(EMB, "hf"), "-p", "16", "--texts", "4",
                        "-r", "1", "-t", "1", "--json"]).stdout)
    assert [x["test"] for x in b] == ["embed 4x16"] and b[0]["texts"] == 4 and b[0]["tokens_per_second"] > 0
    r = run([TRIT, "bench", "-m", os.path.join(EMB, "model.i2_s.gguf"), "-p", "8", "-n", "0", "-r", "1", "-t", "1",
             "--no-bandwidth"], check=False)
    assert r.returncode == 1 and "embedding model" in r.stderr, r.stderr
    r = run([TRIT, "bench", "--embed", "-m", os.path.join(EMB, "hf"), "--texts", "0"], check=False)
    assert r.returncode == 1 and "--texts" in r.stderr, r.stderr
