"""Scoring and the lm-eval adapter, offline, on a small local JSONL multiple-choice task."""
import json
import math
import os

import trit
from trit.lm_eval import TritLM

from conftest import FIX

I2S = os.path.join(FIX, "b158-tiny", "model.i2_s.gguf")


class Req:
    def __init__(self, *args):
        self.args = args


def test_score_matches_eval_logits():
    ref = json.load(open(os.path.join(FIX, "b158-tiny", "reference.json")))
    with trit.Model(I2S, n_ctx=64, kv_type="f32") as m:   # compared with transformers' logits
        lp, greedy = m.score(ref["tokens"][:10], ref["tokens"][10:14])
    # the same sum from the reference logits (transformers): log-softmax of rows 9..12
    want = 0.0
    for i, tok in zip(range(9, 13), ref["tokens"][10:14]):
        row = ref["logits"][i]
        mx = max(row)
        want += row[tok] - mx - math.log(sum(math.exp(v - mx) for v in row))
    assert abs(lp - want) < 1e-3
    # greedy: every continuation token is the reference row's argmax
    want_greedy = all(max(range(len(ref["logits"][i])), key=ref["logits"][i].__getitem__) == tok
                      for i, tok in zip(range(9, 13), ref["tokens"][10:14]))
    assert greedy is want_greedy
    # the reference text's own next tokens under greedy decoding are greedy by construction
    g = ref["greedy"]
    lp2, greedy2 = None, None
    with trit.Model(I2S, n_ctx=64) as m:
        lp2, greedy2 = m.score(ref["tokens"], g[:1])
    assert greedy2 is True and lp2 < 0


def test_adapter_on_a_local_jsonl_task(tmp_path):
    task = tmp_path / "task.jsonl"
    rows = [{"context": "Every morning the old", "choices": [" fisherman walked", " xq zz"], "gold": 0},
            {"context": "checked the sky, and", "choices": [" prepared his", " {{{ ]]"], "gold": 0}]
    task.write_text("\n".join(json.dumps(r) for r in rows))
    lm = TritLM(path=I2S, n_ctx=128)
    direct = trit.Model(I2S, n_ctx=128)
    for r in map(json.loads, task.read_text().splitlines()):
        scores = lm.loglikelihood([Req(r["context"], c) for c in r["choices"]])
        assert all(isinstance(s[0], float) and s[0] < 0 for s in scores)
        # the adapter gives exactly the engine's score of the same tokens
        for (lp, greedy), c in zip(scores, r["choices"]):
            # (split as lm-eval's HF adapter does: the whole text's tokens after the context's)
            whole = direct.tokenize(r["context"] + c, add_bos=False)
            ctx = direct.tokenize(r["context"], add_bos=False)
            assert whole[:len(ctx)] == ctx
            want_lp, want_greedy = direct.score([direct.info["bos"]] + ctx, whole[len(ctx):])
            assert lp == want_lp and greedy == want_greedy
    direct.close()
    rolling = lm.loglikelihood_rolling([Req("Every morning the old fisherman walked down to the harbor.")])
    assert rolling[0] < 0
    gen = lm.generate_until([Req("Every morning", {"until": ["\n"], "max_gen_toks": 8})])
    assert isinstance(gen[0], str) and "\n" not in gen[0]
