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
    with trit.Model(I2S, n_ctx=64) as m:
        lp, greedy = m.score(ref["tokens"][:10], ref["tokens"][10:14])
    # the same sum from the reference logits (transformers): log-softmax of rows 9..12
    want = 0.0
    for i, tok in zip(range(9, 13), ref["tokens"][10:14]):
        row = ref["logits"][i]
        mx = max(row)
        want += row[tok] - mx - math.log(sum(math.exp(v - mx) for v in row))
    assert abs(lp - want) < 1e-3
    assert greedy is False or greedy is True


def test_adapter_on_a_local_jsonl_task(tmp_path):
    task = tmp_path / "task.jsonl"
    rows = [{"context": "Every morning the old", "choices": [" fisherman walked", " xq zz"], "gold": 0},
            {"context": "checked the sky, and", "choices": [" prepared his", " {{{ ]]"], "gold": 0}]
    task.write_text("\n".join(json.dumps(r) for r in rows))
    lm = TritLM(path=I2S, n_ctx=128)
    correct = 0
    for r in map(json.loads, task.read_text().splitlines()):
        scores = lm.loglikelihood([Req(r["context"], c) for c in r["choices"]])
        assert all(isinstance(s[0], float) and s[0] < 0 for s in scores)
        correct += max(range(len(scores)), key=lambda i: scores[i][0]) == r["gold"]
    assert 0 <= correct <= len(rows)
    rolling = lm.loglikelihood_rolling([Req("Every morning the old fisherman walked down to the harbor.")])
    assert rolling[0] < 0
    gen = lm.generate_until([Req("Every morning", {"until": ["\n"], "max_gen_toks": 8})])
    assert isinstance(gen[0], str) and "\n" not in gen[0]
