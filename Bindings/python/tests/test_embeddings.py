"""Model.embed / Context.embed / create_embedding (trit_embed): rows, pooling, normalization,
truncation, batches, and the generation context left alone."""
import math
import os

import numpy
import pytest
import trit

from conftest import FIX

I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")
TOKENS = [1, 17, 42, 99, 7, 300, 12]


@pytest.fixture(scope="module")
def model():
    with trit.Model(I2S, n_ctx=64, n_threads=2, kv_type="f32") as m:
        yield m


def norm(row):
    return math.sqrt(sum(float(x) * float(x) for x in row))


def test_rows_are_unit_float32_and_batches_equal_singles(model):
    one = model.embed(TOKENS)
    assert isinstance(one, numpy.ndarray) and one.dtype == numpy.float32 and one.shape == (model.info["n_embd"],)
    assert abs(norm(one) - 1) < 1e-5
    texts = ["The quick brown fox", "jumps over the lazy dog", "x"]
    batch = model.embed(texts)
    assert batch.shape == (3, model.info["n_embd"])
    for i, t in enumerate(texts):
        assert numpy.array_equal(batch[i], model.embed(t)), i
        assert numpy.array_equal(batch[i], model.embed(model.tokenize(t))), i
    assert not numpy.array_equal(batch[0], batch[1])


def test_pooling_normalize_and_dimensions(model):
    raw = model.embed(TOKENS, normalize=False, pooling="mean")
    assert abs(norm(raw) - 1) > 1e-3
    assert numpy.allclose(model.embed(TOKENS, pooling="mean"), raw / norm(raw), atol=1e-6)
    cut = model.embed(TOKENS, pooling="mean", dimensions=8)
    assert cut.shape == (8,)
    assert numpy.allclose(cut, raw[:8] / norm(raw[:8]), atol=1e-6)
    last, cls = model.embed(TOKENS, pooling="last"), model.embed(TOKENS, pooling="cls")
    assert numpy.array_equal(last, model.embed(TOKENS))   # last is the default
    assert not numpy.array_equal(last, cls) and not numpy.allclose(last, raw / norm(raw))
    # cls pools the first position: any continuation leaves it as it was
    assert numpy.array_equal(cls, model.embed(TOKENS[:2], pooling="cls"))


def test_generation_context_is_left_alone(model):
    model.reset()
    model.eval(TOKENS[:3])
    before = model.tokens
    model.embed(["a", "b"])
    assert model.tokens == before and model.n_past == 3
    ctx = model.create_context(n_ctx=32)
    try:
        ctx.eval([1, 2])
        with pytest.raises(trit.TritError) as e:
            ctx.embed(TOKENS)
        assert e.value.status == trit._trit.ERR_STATE and "empty" in e.value.message
        ctx.reset()
        row = ctx.embed(TOKENS)
        assert ctx.n_past == 0 and row.shape == (model.info["n_embd"],)
    finally:
        ctx.close()
    model.reset()


def test_create_embedding_is_openai_shaped(model):
    r = model.create_embedding(["hello world", "goodbye"])
    assert r["object"] == "list" and len(r["data"]) == 2
    assert [d["index"] for d in r["data"]] == [0, 1] and all(d["object"] == "embedding" for d in r["data"])
    assert isinstance(r["data"][0]["embedding"], list) and len(r["data"][0]["embedding"]) == model.info["n_embd"]
    n = len(model.tokenize("hello world")) + len(model.tokenize("goodbye"))
    assert r["usage"] == {"prompt_tokens": n, "total_tokens": n}
    assert numpy.allclose(r["data"][1]["embedding"], model.embed("goodbye"), atol=0)
    assert len(model.create_embedding("hi")["data"]) == 1


def test_bad_input_is_refused(model):
    with pytest.raises(ValueError):
        model.embed([])
    with pytest.raises(ValueError, match="pooling"):
        model.embed(TOKENS, pooling="max")
    with pytest.raises(TypeError):
        model.embed([b"bytes"])
    with pytest.raises(trit.TritError, match="dimensions"):
        model.embed(TOKENS, dimensions=model.info["n_embd"] + 1)
    with pytest.raises(trit.TritError, match="dimensions"):
        model.embed(TOKENS, dimensions=0)
    with pytest.raises(trit.TritError, match="input 1 has no tokens"):
        model.embed([TOKENS, []])
    with pytest.raises(trit.TritError, match="out of range"):
        model.embed([1, model.n_vocab])
    with pytest.raises(trit.TritError) as e:
        model.embed([1] * 65)
    assert e.value.status == trit._trit.ERR_CONTEXT_FULL
    assert model.embed(TOKENS).shape == (model.info["n_embd"],)   # still serving


def test_rows_without_numpy_are_lists(model, monkeypatch):
    want = model.embed(["ab", "cd"])
    monkeypatch.setitem(__import__("sys").modules, "numpy", None)   # `import numpy` raises ImportError
    rows = model.embed(["ab", "cd"])
    assert isinstance(rows, list) and len(rows) == 2 and all(isinstance(r, list) for r in rows)
    assert rows == [[float(x) for x in w] for w in want]
    one = model.embed("ab")
    assert isinstance(one, list) and one == rows[0]
