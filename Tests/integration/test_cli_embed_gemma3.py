"""`trit embed` on the Gemma3 backbone: the gemma3-tiny fixture's HF folders and GGUFs give
transformers' normalized last-token rows (F32 cache), causal and bidirectional, and
`trit synth --preset bitnet-embedding-270m-tiny` writes a model it embeds."""
import json
import math
import os

from conftest import BIN, FIX, run

TRIT = os.path.join(BIN, "trit")
GEMMA = os.path.join(FIX, "gemma3-tiny")


def rows(model, texts, extra=()):
    args = [TRIT, "embed", "-m", model, "-ctk", "f32", "-ctv", "f32", "-t", "2"] + list(extra)
    for t in texts:
        args += ["-p", t]
    r = run(args)
    return [[float(x) for x in line.split()] for line in r.stdout.splitlines()]


def test_fixture_rows_equal_transformers(built):
    ref = json.load(open(os.path.join(GEMMA, "reference.json")))
    texts = [t["text"] for t in ref["texts"]]
    for form, files in (("plain", ["hf", "model.f32.gguf"]), ("bidir", ["hf", "model.f32.gguf"])):
        want = [r["normalized"] for r in ref[form]]
        for f in files:
            got = rows(os.path.join(GEMMA, form, f), texts)
            assert len(got) == len(want)
            worst = max(abs(a - b) for g, w in zip(got, want) for a, b in zip(g, w))
            assert worst <= 1e-5, (form, f, worst)


def test_synth_preset_embeds(built, tmp_path):
    out = str(tmp_path / "g.gguf")
    run([TRIT, "synth", "--preset", "bitnet-embedding-270m-tiny", "-o", out])
    got = rows(out, ["hello world", "a longer text past the sliding window of four positions"])
    assert len(got) == 2 and len(got[0]) == 256 and got[0] != got[1]
    assert all(abs(math.sqrt(sum(x * x for x in r)) - 1) < 1e-5 for r in got)
