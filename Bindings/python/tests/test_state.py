"""Saved states and context shift from Python."""
import os

import pytest
import trit

from conftest import FIX

I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")
TOKENS = [(i * 53 + 7) % 1000 for i in range(30)]


def test_state_round_trip_bytes_and_file(tmp_path):
    with trit.Model(I2S, n_ctx=64) as a, trit.Model(I2S, n_ctx=64) as b:
        a.eval(TOKENS)
        b.load_state(a.save_state())
        assert b.n_past == 30
        assert a.eval([77]).tolist() == b.eval([77]).tolist()
        path = tmp_path / "s.bin"
        a.save_state(path)
        b.reset()
        b.load_state(path)
        assert b.n_past == 31
        # the same text from the loaded state as from the original
        assert a.generate([5], max_tokens=8, temperature=0, reset=False) == b.generate([5], max_tokens=8, temperature=0, reset=False)


def test_bad_states_raise_and_change_nothing(tmp_path):
    with trit.Model(I2S, n_ctx=64) as a, trit.Model(I2S, n_ctx=64, kv_type="q8_0") as q:
        a.eval(TOKENS)
        s = a.save_state()
        q.eval([1, 2, 3])
        with pytest.raises(trit.TritError, match="KV cache"):
            q.load_state(s)
        for cut in [0, 10, len(s) // 2, len(s) - 1]:
            with pytest.raises(trit.TritError):
                a.load_state(s[:cut])
        assert q.n_past == 3 and a.n_past == 30
        with pytest.raises(trit.TritError):
            a.load_state(tmp_path / "missing.bin")


def test_context_shift_and_generation_past_the_context():
    with trit.Model(I2S, n_ctx=32) as m:
        m.eval(TOKENS)
        m.shift(4, 10)
        assert m.n_past == 20
        with pytest.raises(trit.TritError):
            m.shift(15, 10)
        with pytest.raises(trit.TritError):
            m.shift(-1, 2)
        text = m.generate("Every morning", max_tokens=60, temperature=0, ignore_eos=True, context_shift=True, n_keep=2)
        assert m.last_result["stop_reason"] == "length" and m.last_result["n_generated_tokens"] == 60, m.last_result
        assert text
        with pytest.raises(trit.TritError):
            m.generate("x", max_tokens=4, context_shift=True, n_keep=-1)
