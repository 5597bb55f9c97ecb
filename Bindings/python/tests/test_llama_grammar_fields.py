"""llama.cpp's constraints: GBNF grammars (Model.generate(gbnf=...), Engine.submit(gbnf=...)) and the
server's request fields `grammar` (GBNF) and `json_schema`, on the bundled model."""
import json
import os
import re

import httpx
import jsonschema  # the test extras: missing is a failure, not a skip
import pytest

import trit

from conftest import FIX
import server_process

BUNDLED = trit.default_model_path() or os.path.join(os.path.dirname(FIX), "..", "Models", "trit-bundled-i2_s.gguf")
YES_NO = 'root ::= "yes" | "no"'
# character classes, bounded repetition, a rule reference and a comment
CODE = '# a product code\nroot ::= letters "-" [0-9]{2,3}\nletters ::= [A-C] [a-c]?'
SHIRT = {"type": "object", "additionalProperties": False, "required": ["color", "size"],
         "properties": {"color": {"enum": ["red", "green", "blue"]},
                        "size": {"type": "integer", "minimum": 1, "maximum": 9}}}


@pytest.fixture(scope="module")
def model():
    with trit.Model(BUNDLED, n_ctx=512) as m:
        yield m


def test_gbnf_constrains_generate(model):
    seen = set()
    for seed in range(8):
        seen.add(model.generate("Is it raining? ", gbnf=YES_NO, max_tokens=8, temperature=1.0, seed=seed))
        assert model.last_result["stop_reason"] == "eos"
    assert seen and seen <= {"yes", "no"}, seen
    for seed in range(4):
        text = model.generate("Code: ", gbnf=CODE, max_tokens=12, temperature=1.0, seed=seed)
        assert re.fullmatch(r"[A-C][a-c]?-[0-9]{2,3}", text), text
    g = trit.Grammar.gbnf(YES_NO)
    assert g.kind == "gbnf" and model.generate("x", grammar=g, max_tokens=8, temperature=1.0) in ("yes", "no")


def test_bad_gbnf_is_an_error_naming_it(model):
    for bad in ['root ::= "yes', 'root ::= undefined', 'start: "a"', 'rule ::= "a"']:
        with pytest.raises(ValueError, match="gbnf"):
            model.generate("x", gbnf=bad, max_tokens=4)
    with pytest.raises(ValueError, match="gbnf"):
        trit.Grammar.gbnf(3)
    with pytest.raises(ValueError, match="at most one"):
        model.generate("x", gbnf=YES_NO, grammar='start: "a"', max_tokens=4)


def test_engine_requests_take_gbnf(model):
    eng = trit.Engine(model, n_seq=2, n_ctx=256, n_threads=1)
    try:
        reqs = [eng.submit("Answer: ", gbnf=YES_NO, max_tokens=8, temperature=1.0, seed=s) for s in range(2)]
        for r in reqs:
            assert r.text() in ("yes", "no") and r.finish_reason == "stop"
    finally:
        eng.close()


# ---- the server: llama.cpp's request fields ----


@pytest.fixture(scope="module")
def server():
    p, base = server_process.start_server(BUNDLED, "--parallel", "2", "--ctx-size", "1024", "--alias", "bundled")
    yield base
    server_process.stop_server(p)


CHAT = {"messages": [{"role": "user", "content": "Describe a shirt."}], "temperature": 1.0}
COMPLETION = {"prompt": "Shirt: ", "temperature": 1.0}


def post(base, path, body):
    return httpx.post(base + path, json=body, timeout=60)


def text_of(r, path):
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "stop", choice
    return choice["message"]["content"] if path == "/v1/chat/completions" else choice["text"]


def streamed_text(r, path):
    assert r.status_code == 200, r.text
    events = [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:") and "[DONE]" not in line]
    assert events[-1]["choices"][0]["finish_reason"] == "stop", events[-1]
    key = (lambda c: c["delta"].get("content") or "") if path == "/v1/chat/completions" else (lambda c: c["text"])
    return "".join(key(e["choices"][0]) for e in events if e["choices"])


@pytest.mark.parametrize("path,body", [("/v1/chat/completions", CHAT), ("/v1/completions", COMPLETION)])
def test_json_schema_field_output_validates(server, path, body):
    for seed in range(3):
        text = text_of(post(server, path, dict(body, json_schema=SHIRT, max_tokens=60, seed=seed)), path)
        jsonschema.validate(json.loads(text), SHIRT)
    text = streamed_text(post(server, path, dict(body, json_schema=SHIRT, max_tokens=60, stream=True)), path)
    jsonschema.validate(json.loads(text), SHIRT)


@pytest.mark.parametrize("path,body", [("/v1/chat/completions", CHAT), ("/v1/completions", COMPLETION)])
def test_grammar_field_is_gbnf(server, path, body):
    seen = {text_of(post(server, path, dict(body, grammar=YES_NO, max_tokens=8, seed=s)), path) for s in range(6)}
    assert seen and seen <= {"yes", "no"}, seen
    text = text_of(post(server, path, dict(body, grammar=CODE, max_tokens=12, seed=1)), path)
    assert re.fullmatch(r"[A-C][a-c]?-[0-9]{2,3}", text), text
    assert streamed_text(post(server, path, dict(body, grammar=YES_NO, max_tokens=8, stream=True)), path) in (
        "yes", "no")
    # a response_format of type "text" constrains nothing, so it goes with either field
    r = post(server, path, dict(body, grammar=YES_NO, max_tokens=8, response_format={"type": "text"}))
    assert text_of(r, path) in ("yes", "no")


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize("extra,param,named", [
    ({"json_schema": SHIRT, "grammar": YES_NO}, "grammar", ["json_schema"]),
    ({"json_schema": SHIRT, "response_format": {"type": "json_object"}}, "json_schema", ["response_format"]),
    ({"grammar": YES_NO, "response_format": {"type": "json_object"}}, "grammar", ["response_format"]),
    ({"json_schema": {"type": "no-such-type"}}, "json_schema", []),
    ({"json_schema": [1]}, "json_schema", []),
    ({"json_schema": "{\"type\": \"object\"}"}, "json_schema", []),
    ({"grammar": 'root ::= "yes'}, "grammar", ["GBNF"]),
    ({"grammar": "root ::= undefined"}, "grammar", ["GBNF"]),
    ({"grammar": 'start: "a"'}, "grammar", ["GBNF"]),
    ({"grammar": 5}, "grammar", []),
])
def test_bad_llama_fields_are_400s_naming_them(server, extra, param, named):
    for path, body in [("/v1/chat/completions", CHAT), ("/v1/completions", COMPLETION)]:
        r = post(server, path, dict(body, max_tokens=4, **extra))
        assert r.status_code == 400, r.text
        e = r.json()["error"]
        assert e["param"] == param and param in e["message"], e
        assert all(n in e["message"] for n in named), e


def test_llama_fields_with_tools_are_400s(server):
    for choice in ("auto", "required", {"type": "function", "function": {"name": "f"}}):
        for field, value in [("grammar", YES_NO), ("json_schema", SHIRT)]:
            r = post(server, "/v1/chat/completions", dict(CHAT, max_tokens=4, tools=TOOLS, tool_choice=choice,
                                                          **{field: value}))
            assert r.status_code == 400, r.text
            e = r.json()["error"]
            assert e["param"] == field and "tools" in e["message"], e
    # with tool_choice "none" the tools are not rendered and the grammar applies
    r = post(server, "/v1/chat/completions", dict(CHAT, max_tokens=8, tools=TOOLS, tool_choice="none", grammar=YES_NO))
    assert text_of(r, "/v1/chat/completions") in ("yes", "no")
