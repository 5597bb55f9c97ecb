import json
import os
import threading
import time

import pytest
import trit

from conftest import FIX

I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")


@pytest.fixture
def model():
    with trit.Model(I2S, n_ctx=128, n_threads=2, kv_type="f32") as m:   # compared with transformers
        yield m


def test_module_attributes():
    assert trit.__version__ == "0.1.0"
    for name in ["Model", "Tokenizer", "TritError"]:
        assert hasattr(trit, name)
    pkg = os.path.dirname(trit.__file__)
    for f in ["__init__.pyi", "py.typed", "lib/libtrit.so.0", "share/trit/trit-bundled-i2_s.gguf"]:
        assert os.path.exists(os.path.join(pkg, f)), f


def test_info(model):
    assert model.info["architecture"] == "bitnet-b1.58"
    assert model.info["n_vocab"] == 1024 and model.n_ctx == 128


def test_tokenize_matches_reference(model):
    ref = json.load(open(os.path.join(FIX, "b158-tiny", "reference.json")))
    assert model.tokenize(ref["text"])[:24] == ref["tokens"]
    assert model.detokenize(model.tokenize("Every morning")) == "Every morning"
    assert model.tokenize("Every", add_bos=False)[0] != 1


def test_eval_returns_reference_logits(model):
    ref = json.load(open(os.path.join(FIX, "b158-tiny", "reference.json")))
    logits = model.eval(ref["tokens"])
    assert logits.shape == (24, 1024) and logits.format == "f"
    rows = logits.tolist()
    worst = max(abs(a - b) for r, rr in zip(rows, ref["logits"]) for a, b in zip(r, rr))
    assert worst < 1e-4
    assert model.n_past == 24
    model.reset()
    assert model.n_past == 0


def test_ternary_layouts_hold_other_bytes_and_give_the_same_logits():
    ref = json.load(open(os.path.join(FIX, "b158-tiny", "reference.json")))
    held, logits = {}, {}
    for layout in ["auto", "2bit", "5trit", "both"]:
        with trit.Model(I2S, n_ctx=64, n_threads=2, ternary_layout=layout) as m:
            assert m.ternary_layout == layout
            held[layout] = m.info["weight_bytes"]
            logits[layout] = m.eval(ref["tokens"]).tolist()
    # 5 trits a byte hold fewer bytes than 2-bit rows; "both" holds the two forms
    assert held["5trit"] < held["2bit"] == held["auto"] < held["both"]
    assert all(logits[k] == logits["auto"] for k in logits)   # bit for bit in every layout
    with pytest.raises(ValueError, match="ternary_layout"):
        trit.Model(I2S, ternary_layout="1.6bit")


def test_tq1_file_in_place_gives_the_i2s_logits():
    # a TQ1_0 file's blocks read in place ("5trit"): fewer bytes held than its converted 2-bit rows ("auto"),
    # the I2_S file's logits bit for bit
    ref = json.load(open(os.path.join(FIX, "b158-tiny", "reference.json")))
    tq1 = os.path.join(FIX, "b158-tiny", "model.tq1_0.gguf")
    held, logits = {}, {}
    for name, path, layout in [("i2s", I2S, "2bit"), ("auto", tq1, "auto"), ("5trit", tq1, "5trit"), ("both", tq1, "both")]:
        with trit.Model(path, n_ctx=64, n_threads=2, ternary_layout=layout) as m:
            held[name] = m.info["weight_bytes"]
            logits[name] = m.eval(ref["tokens"]).tolist()
    assert held["5trit"] < held["auto"] == held["i2s"] < held["both"]
    assert all(logits[k] == logits["i2s"] for k in logits)


def test_generate_is_deterministic_and_streams(model):
    a = model.generate("Every morning", max_tokens=20, seed=9, ignore_eos=True)
    b = model.generate("Every morning", max_tokens=20, seed=9, ignore_eos=True)
    assert a == b and a
    pieces = list(model.generate("Every morning", max_tokens=20, seed=9, ignore_eos=True, stream=True))
    assert "".join(pieces) == a and len(pieces) > 1
    assert model.last_result["n_generated_tokens"] == 20
    greedy = model.generate("Every morning", max_tokens=10, temperature=0, ignore_eos=True)
    assert greedy == model.generate("Every morning", max_tokens=10, temperature=0, seed=123, ignore_eos=True)


def test_stop_strings(model):
    full = model.generate("Every morning", max_tokens=30, seed=4, ignore_eos=True)
    ascii_at = next(i for i in range(2, len(full) - 1) if full[i].isascii() and full[i + 1].isascii() and full[i:i+2].strip())
    stop = full[ascii_at:ascii_at + 2]
    cut = model.generate("Every morning", max_tokens=30, seed=4, ignore_eos=True, stop=[stop])
    assert full.startswith(cut) and stop not in cut
    assert model.last_result["stop_reason"] == "stop"


def test_stream_can_be_abandoned(model):
    it = model.generate("Every", max_tokens=200, seed=1, ignore_eos=True, stream=True)
    next(it)
    it.close()
    # stopped at once: by the abort (between tokens) or by the piece callback, never run to the end
    assert model.last_result["stop_reason"] in ("aborted", "callback"), model.last_result
    assert model.last_result["n_generated_tokens"] < 200
    assert model.generate("Every", max_tokens=3, seed=1, ignore_eos=True)


def test_errors_raise_trit_error(model, tmp_path):
    with pytest.raises(trit.TritError) as e:
        model.eval([5000])
    assert e.value.status == 1 and "out of range" in e.value.message
    with pytest.raises(trit.TritError) as e:
        trit.Model(str(tmp_path / "missing.gguf"))
    assert e.value.status == 2
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" * 10)
    with pytest.raises(trit.TritError) as e:
        trit.Model(str(bad))
    assert e.value.status == 3 and "not a GGUF file" in e.value.message
    with pytest.raises(trit.TritError):
        model.generate("x" * 5000, max_tokens=1)
    with pytest.raises(trit.TritError):
        model.generate("hi", top_p=0)


def test_close_twice_and_use_after_close():
    m = trit.Model(I2S, n_ctx=32)
    m.close()
    m.close()
    with pytest.raises(trit.TritError):
        m.generate("hi")


def test_threads_share_nothing_and_agree():
    """Three models generating at once on three threads give one text; a thread that raises or
    hangs fails the test (its exception is collected, every join has a deadline)."""
    models = [trit.Model(I2S, n_ctx=64, n_threads=1) for _ in range(3)]
    out, errors = [None] * 3, []

    def work(i):
        try:
            out[i] = models[i].generate("Every morning", max_tokens=16, seed=2, ignore_eos=True)
        except BaseException as e:   # noqa: B902 (reported below, with the thread's number)
            errors.append((i, e))

    ts = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(3)]
    [t.start() for t in ts]
    deadline = time.monotonic() + 120
    for t in ts:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in ts), "a generating thread did not finish within 120 s"
    try:
        assert errors == []
        assert out[0] is not None and out[0] == out[1] == out[2]
        assert out[0] == models[0].generate("Every morning", max_tokens=16, seed=2, ignore_eos=True)
    finally:
        [m.close() for m in models]   # (a hung thread's model is left open: closing would wait for it)


def test_tokenizer_only_and_chat(tmp_path):
    t = trit.Tokenizer(os.path.join(FIX, "b158-tiny", "hf-bitlinear"))
    assert t.n_vocab == 1024 and t.detokenize(t.tokenize("hello world")) == "hello world"
    t.close()
    with trit.Model(I2S, n_ctx=128) as m:
        text = m.format_chat([{"role": "user", "content": "Hi"}])
        assert text == "User: Hi\nAssistant:"
        assert m.format_chat([("user", "Hi")], template="bitnet") == "User: Hi<|eot_id|>Assistant: "
        assert isinstance(m.chat([{"role": "user", "content": "Hi"}], max_tokens=5, seed=1), str)
        with pytest.raises(trit.TritError):
            m.format_chat([("user", "Hi")], template="nope")


def test_eval_batch_matches_separate_sequences():
    with trit.Model(I2S, n_ctx=32, n_seq=2) as m:
        rows = m.eval_batch([1, 1, 426, 50], [0, 1, 0, 1]).tolist()
    with trit.Model(I2S, n_ctx=32) as a:
        alone = a.eval([1, 50]).tolist()
    assert max(abs(x - y) for x, y in zip(rows[3], alone[1])) < 1e-5
