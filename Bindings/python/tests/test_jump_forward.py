"""Jump-forward: text a grammar forces (llguidance's fast-forward tokens) goes into the sequence as a
prompt chunk, so it costs no sampling step. Counted in last_result["n_forced_tokens"] and
usage["forced_tokens"]; the output still validates; off, the same request validates too."""
import json
import os

import jsonschema  # the test extras: missing is a failure, not a skip
import pytest

import trit
from trit import _trit

from conftest import FIX

BUNDLED = trit.default_model_path() or os.path.join(os.path.dirname(FIX), "..", "Models", "trit-bundled-i2_s.gguf")

# keys that are long fixed strings: most of the output is forced text
KEYS = ["customer_full_legal_name_as_registered", "preferred_contact_channel_for_notifications",
        "number_of_previous_orders_in_this_calendar_year"]
SCHEMA = {"type": "object", "additionalProperties": False, "required": KEYS,
          "properties": {KEYS[0]: {"type": "string", "maxLength": 12},
                         KEYS[1]: {"enum": ["electronic_mail_message", "short_message_service_text"]},
                         KEYS[2]: {"type": "integer", "minimum": 0, "maximum": 99}}}
PROMPT = "A customer record as JSON: "


@pytest.fixture(scope="module")
def model():
    with trit.Model(BUNDLED, n_ctx=1024) as m:
        yield m


def generate(model, jump_forward, **kw):
    text = model.generate(PROMPT, json_schema=SCHEMA, max_tokens=300, jump_forward=jump_forward, **kw)
    return text, model.last_result


def test_forced_text_costs_no_decode_steps(model):
    text, r = generate(model, True, temperature=0)
    jsonschema.validate(json.loads(text), SCHEMA)
    for k in KEYS:
        assert f'"{k}": ' in text, text   # the forced keys appear exactly
    steps = r["n_generated_tokens"] - r["n_forced_tokens"]
    assert r["stop_reason"] == "eos", r
    assert r["n_forced_tokens"] > 0 and steps < r["n_generated_tokens"], r
    # the keys alone are more tokens than the sampling steps left over for the values
    key_tokens = sum(len(model.tokenize(f'"{k}": ', add_bos=False)) for k in KEYS)
    assert r["n_forced_tokens"] >= key_tokens // 2, (r, key_tokens)
    print(f"jump-forward: {r['n_generated_tokens']} tokens, {steps} decode steps, {r['n_forced_tokens']} forced")


def test_without_jump_forward_every_token_is_sampled_and_validates(model):
    text, r = generate(model, False, temperature=0)
    jsonschema.validate(json.loads(text), SCHEMA)
    assert r["n_forced_tokens"] == 0 and r["n_generated_tokens"] > 0, r
    # greedy on this model: stepping through the forced text picks its canonical tokens, so the
    # outputs agree (in general a model may pick another split of the forced text and differ)
    on, r_on = generate(model, True, temperature=0)
    assert on == text and r_on["n_generated_tokens"] == r["n_generated_tokens"], (on, text)


def test_on_and_off_both_validate_at_temperature_one(model):
    """Both validate; the texts may differ after the first forced span: jump-forward draws no random
    number for a forced token, so the seed's stream shifts (and a sampled split of the forced text
    need not be the canonical one). How often is printed, not asserted."""
    differ = 0
    for seed in range(6):
        on, r_on = generate(model, True, temperature=1.0, seed=seed)
        off, r_off = generate(model, False, temperature=1.0, seed=seed)
        for t, r in ((on, r_on), (off, r_off)):
            assert r["stop_reason"] == "eos", (r, t)
            jsonschema.validate(json.loads(t), SCHEMA)
        assert r_on["n_forced_tokens"] > 0 and r_off["n_forced_tokens"] == 0
        differ += on != off
    print(f"jump-forward on vs off at temperature 1.0: {differ} of 6 texts differ")


def test_engine_requests_report_forced_tokens(model):
    with trit.Engine(model, n_seq=2, n_ctx=512) as e:
        cs = [e.submit(PROMPT, json_schema=SCHEMA, max_tokens=300, temperature=0, jump_forward=jf)
              for jf in (True, False)]
        texts = ["".join(c) for c in cs]
    for c, t in zip(cs, texts):
        assert c.finish_reason == "stop", (c.finish_reason, c.constraint.error)
        jsonschema.validate(json.loads(t), SCHEMA)
    assert cs[0].usage["forced_tokens"] > 0 and cs[1].usage["forced_tokens"] == 0, (cs[0].usage, cs[1].usage)
    assert cs[0].usage["completion_tokens"] > cs[0].usage["forced_tokens"]
    # the generator and the engine force the same text and give the same tokens under greedy sampling
    text, r = generate(model, True, temperature=0)
    assert texts[0] == text and cs[0].usage["forced_tokens"] == r["n_forced_tokens"]


class _Forcing:
    """A hand-made constraint: allows every token and forces `forced` after each."""
    jump_forward = True

    def __init__(self, forced):
        self.forced, self.calls = forced, 0

    def fill_mask(self, address, n_bytes):
        import ctypes
        ctypes.memset(address, 0xFF, n_bytes)

    def accept(self, token):
        pass

    def forced_tokens(self, capacity):
        self.calls += 1
        if isinstance(self.forced, Exception):
            raise self.forced
        return self.forced


def test_bad_forced_tokens_are_errors(model):
    c = model._ctx()._context()
    with pytest.raises(trit.TritError, match="outside the vocabulary"):
        _trit.generate(c, "Hello", None, max_tokens=4, constraint=_Forcing([model.info["n_vocab"] + 5]))
    with pytest.raises(trit.TritError, match="returned 257 tokens"):
        _trit.generate(c, "Hello", None, max_tokens=4, constraint=_Forcing([1] * 300))
    with pytest.raises(RuntimeError, match="boom"):
        _trit.generate(c, "Hello", None, max_tokens=4, constraint=_Forcing(RuntimeError("boom")))
    good = _Forcing(model.tokenize(" a b", add_bos=False))
    r = _trit.generate(c, "Hello", None, max_tokens=7, constraint=good, ignore_eos=True)
    assert r["n_generated_tokens"] == 7 and r["n_forced_tokens"] == 7 - good.calls and good.calls >= 2, r


def test_certified_head_under_the_schema_gives_exact_modes_text(model):
    """The certified head takes its candidates among the allowed tokens: exact mode's output, with
    and without jump-forward, at temperature 0 and 0.8 (top-k 40)."""
    with trit.Model(BUNDLED, n_ctx=1024, head="certified") as cert:
        for kw in ({"temperature": 0}, {"temperature": 0.8, "seed": 5}):
            for jf in (True, False):
                want = generate(model, jf, **kw)
                got = generate(cert, jf, **kw)
                assert got[0] == want[0], (kw, jf, got[0], want[0])
                assert got[1]["n_forced_tokens"] == want[1]["n_forced_tokens"]
        with trit.Engine(cert, n_seq=2, n_ctx=512) as e:
            c = e.submit(PROMPT, json_schema=SCHEMA, max_tokens=300, temperature=0)
            text = "".join(c)
        assert text == generate(model, True, temperature=0)[0] and c.usage["forced_tokens"] > 0, text
