"""The model file's own chat template, read through the library (trit_model_get_chat_template)."""
import json
import os
import shutil

import trit

from conftest import FIX

TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|a|>{% endif %}"


def test_hf_folder_template_is_read_as_written(tmp_path):
    src = os.path.join(FIX, "qwen3-ternary-tiny", "hf")
    plain = str(tmp_path / "plain")
    shutil.copytree(src, plain)
    with trit.Model(plain, n_ctx=16) as m:
        base = m.chat_template   # the fixture's own, if any
    for form in (TEMPLATE, [{"name": "tool_use", "template": "x"}, {"name": "default", "template": TEMPLATE}]):
        d = str(tmp_path / f"t{len(str(form))}")
        shutil.copytree(src, d)
        cfg_path = os.path.join(d, "tokenizer_config.json")
        cfg = json.load(open(cfg_path))
        cfg["chat_template"] = form
        json.dump(cfg, open(cfg_path, "w"))
        with trit.Model(d, n_ctx=16) as m:
            assert m.chat_template == TEMPLATE
    assert base != TEMPLATE


def test_gguf_without_template_gives_none():
    with trit.Model(os.path.join(FIX, "b158-tiny", "model.i2_s.gguf"), n_ctx=16) as m:
        assert m.chat_template is None
