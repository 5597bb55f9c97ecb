"""Constrained generation (the `structured` extra, llguidance) through Model.generate, Engine.submit
and the server's response_format, on the bundled model and a fixture model."""
import builtins
import json
import os
import re
import sys
from enum import Enum
from typing import List

import httpx
import jsonschema  # the test extras: missing is a failure, not a skip
import openai
import pydantic
import pytest

import trit

from conftest import FIX
import server_process

BUNDLED = trit.default_model_path() or os.path.join(os.path.dirname(FIX), "..", "Models", "trit-bundled-i2_s.gguf")
FIXTURE = os.path.join(FIX, "llama-ternary-tiny", "hf")   # a SentencePiece vocabulary (the bundled one is BPE)

# bounded schemas: every string, array and number has a bounded length, so max_tokens=400 leaves room
# (a JSON number's digits are bounded by its range and, for a fraction, by multipleOf: a plain
# "number" may run on digit after digit until max_tokens, and is then reported as cut by length)
NAME = {"type": "string", "maxLength": 16}
SCHEMAS = {
    "nested object": {"type": "object", "additionalProperties": False, "required": ["person", "address"],
                      "properties": {"person": {"type": "object", "additionalProperties": False,
                                                "required": ["name", "age"],
                                                "properties": {"name": NAME,
                                                               "age": {"type": "integer", "minimum": 0,
                                                                       "maximum": 130}}},
                                     "address": {"type": "object", "additionalProperties": False,
                                                 "required": ["city"], "properties": {"city": NAME}}}},
    "array": {"type": "object", "additionalProperties": False, "required": ["items"],
              "properties": {"items": {"type": "array", "items": {"type": "integer", "minimum": -50, "maximum": 50},
                                       "minItems": 1, "maxItems": 5}}},
    "enum": {"type": "object", "additionalProperties": False, "required": ["color", "size"],
             "properties": {"color": {"enum": ["red", "green", "blue"]},
                            "size": {"type": "string", "enum": ["S", "M", "L"]}}},
    "required and optional": {"type": "object", "additionalProperties": False, "required": ["id"],
                              "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 9999},
                                             "note": NAME, "ok": {"type": "boolean"}}},
    "number bounds": {"type": "object", "additionalProperties": False, "required": ["x", "y"],
                      "properties": {"x": {"type": "number", "minimum": -1.5, "maximum": 2.5, "multipleOf": 0.25},
                                     "y": {"type": "integer", "exclusiveMinimum": 10, "exclusiveMaximum": 20}}},
}


@pytest.fixture(scope="module")
def model():
    with trit.Model(BUNDLED, n_ctx=1024) as m:
        yield m


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_generations_at_temperature_one_validate(model, name):
    schema = SCHEMAS[name]
    for seed in range(10):
        text = model.generate("Here is the record as JSON: ", json_schema=schema, max_tokens=400, temperature=1.0,
                              seed=seed)
        result = model.last_result
        assert result["stop_reason"] == "eos", (name, seed, text, result)   # finished, not cut by max_tokens
        jsonschema.validate(json.loads(text), schema)


def test_fixture_model_with_a_sentencepiece_vocabulary(tmp_path):
    schema = SCHEMAS["nested object"]
    with trit.Model(FIXTURE, n_ctx=1024) as m:
        for seed in range(5):
            text = m.generate("Data: ", json_schema=json.dumps(schema), max_tokens=400, temperature=1.0, seed=seed)
            assert m.last_result["stop_reason"] == "eos", (seed, text)
            jsonschema.validate(json.loads(text), schema)


def test_regex_and_lark_grammar(model):
    pattern = r"(19|20)\d\d-(0[1-9]|1[0-2])-[0-3]\d"
    for seed in range(5):
        text = model.generate("Date: ", regex=pattern, max_tokens=40, temperature=1.0, seed=seed)
        assert re.fullmatch(pattern, text), text
        assert model.last_result["stop_reason"] == "eos"
    lark = 'start: answer "." \nanswer: "yes" | "no" | "maybe"'
    seen = {model.generate("Answer: ", grammar=lark, max_tokens=10, temperature=1.0, seed=s) for s in range(8)}
    assert seen <= {"yes.", "no.", "maybe."} and seen, seen
    g = trit.Grammar.regex(r"[a-c]{3}")
    assert re.fullmatch(r"[a-c]{3}", model.generate("x", grammar=g, max_tokens=10, temperature=1.0))


def test_a_generation_cut_by_length_is_reported_as_such(model):
    schema = SCHEMAS["nested object"]
    text = model.generate("Record: ", json_schema=schema, max_tokens=4, temperature=1.0, seed=1)
    assert model.last_result["stop_reason"] == "length" and model.last_result["n_generated_tokens"] == 4
    with pytest.raises(ValueError):
        json.loads(text)   # the grammar is not complete: the text is a prefix of a valid one
    fixed = '{"person": {"name": "'   # what the schema forces first
    assert text and (fixed.startswith(text) or text.startswith(fixed)), text


def test_bad_grammars_are_errors_naming_the_option(model):
    with pytest.raises(ValueError, match="json_schema"):
        model.generate("x", json_schema={"type": "no-such-type"}, max_tokens=4)
    with pytest.raises(ValueError, match="json_schema"):
        model.generate("x", json_schema="{not json", max_tokens=4)
    with pytest.raises(ValueError, match="grammar"):
        model.generate("x", grammar="start: undefined_rule", max_tokens=4)
    with pytest.raises(ValueError, match="at most one"):
        model.generate("x", regex="a", grammar='start: "a"', max_tokens=4)


def test_without_the_extra_the_options_name_it(model, monkeypatch):
    real_import = builtins.__import__

    def no_llguidance(name, *args, **kw):
        if name == "llguidance" or name.startswith("llguidance."):
            raise ImportError("No module named 'llguidance'")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_llguidance)
    monkeypatch.delitem(sys.modules, "llguidance", raising=False)
    for option in ({"json_schema": {"type": "object"}}, {"regex": "a+"}, {"grammar": 'start: "a"'}):
        with pytest.raises(ImportError, match=r"trit\[structured\]"):
            model.generate("x", max_tokens=4, **option)
    assert model.generate("x", max_tokens=2, temperature=0)   # unconstrained generation is unaffected


def test_engine_requests_carry_the_constraint(model):
    eng = trit.Engine(model, n_seq=3, n_ctx=512, n_threads=1)
    try:
        schema = SCHEMAS["enum"]
        reqs = [eng.submit("Shirt: ", json_schema=schema, max_tokens=100, temperature=1.0, seed=s) for s in range(3)]
        reqs.append(eng.submit("Year: ", regex=r"[12]\d{3}", max_tokens=20, temperature=1.0, seed=7))
        texts = [r.text() for r in reqs]
        for r, t in zip(reqs[:3], texts[:3]):
            assert r.finish_reason == "stop", (r.finish_reason, t)
            jsonschema.validate(json.loads(t), schema)
        assert re.fullmatch(r"[12]\d{3}", texts[3]) and reqs[3].finish_reason == "stop"
        cut = eng.submit("Shirt: ", json_schema=schema, max_tokens=3, temperature=1.0)
        cut.text()
        assert cut.finish_reason == "length"
    finally:
        eng.close()


# ---- the server: response_format through the official client ----


def start_server(env=None):
    return server_process.start_server(BUNDLED, "--parallel", "2", "--ctx-size", "1024", "--alias", "bundled", env=env)


@pytest.fixture(scope="module")
def server():
    p, base = start_server()
    yield base
    p.terminate()
    p.wait(20)


def client(base):
    return openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=60)


class Size(str, Enum):
    small = "small"
    large = "large"


class City(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=16)
    population: int = pydantic.Field(ge=0, le=10_000_000)


class Country(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=16)
    size: Size
    capital: City
    cities: List[City] = pydantic.Field(max_length=3)
    rating: float = pydantic.Field(ge=0, le=5, multiple_of=0.01)


class Flag(pydantic.BaseModel):
    done: bool
    count: int = pydantic.Field(ge=1, le=99)


def test_parse_returns_parsed_objects(server):
    c = client(server)
    msgs = [{"role": "user", "content": "Describe a country."}]
    for fmt in (Country, Flag):
        for seed in range(3):
            r = c.chat.completions.parse(model="bundled", messages=msgs, response_format=fmt, max_tokens=600,
                                         temperature=1.0, seed=seed)
            parsed = r.choices[0].message.parsed
            assert isinstance(parsed, fmt) and r.choices[0].finish_reason == "stop", r
            assert fmt.model_validate_json(r.choices[0].message.content) == parsed


def test_the_readme_example(server, capsys):
    """The README's structured-output example, run against this server (its code block, with this address)."""
    readme = open(os.path.join(os.path.dirname(FIX), "..", "README.md"), encoding="utf-8").read()
    start = readme.index("  ```python\n  from pydantic import BaseModel, Field\n  from openai import OpenAI")
    block = readme[start:readme.index("  ```\n", start + 10)].splitlines()[1:]
    code = "\n".join(line[2:] for line in block).replace("http://127.0.0.1:8080", server)
    code = code.replace('model="trit-bundled-i2_s.gguf"', 'model="bundled"')   # this server's alias
    assert "chat.completions.parse(" in code and "response_format=City" in code and '"bundled"' in code, code
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    r, city = scope["r"], scope["city"]
    assert r.choices[0].finish_reason == "stop" and isinstance(city, scope["City"]), r
    assert len(city.name) <= 20 and 0 <= city.population <= 40_000_000
    assert capsys.readouterr().out == f"{city.name} {city.population}\n"   # what the example prints


def test_json_object_and_completions(server):
    c = client(server)
    r = c.chat.completions.create(model="bundled", messages=[{"role": "user", "content": "JSON please"}],
                                  response_format={"type": "json_object"}, max_tokens=300, temperature=1.0, seed=2)
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(r.choices[0].message.content), dict)
    else:
        assert r.choices[0].finish_reason == "length"   # an unbounded object may run out of tokens: said so
    schema = SCHEMAS["enum"]
    body = {"model": "bundled", "prompt": "Shirt: ", "max_tokens": 100, "temperature": 1.0,
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "shirt", "schema": schema, "strict": True}}}
    r = httpx.post(server + "/v1/completions", json=body, timeout=60)
    assert r.status_code == 200, r.text
    jsonschema.validate(json.loads(r.json()["choices"][0]["text"]), schema)
    r = httpx.post(server + "/v1/completions", json=dict(body, stream=True, max_tokens=3), timeout=60)
    events = [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:") and "[DONE]" not in line]
    assert events[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize("response_format,param", [
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "no-such-type"}}},
     "response_format.json_schema.schema"),
    ({"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}, "response_format.json_schema.name"),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": [1]}}, "response_format.json_schema.schema"),
    ({"type": "json_schema", "json_schema": {"name": "x", "strict": "yes"}}, "response_format.json_schema.strict"),
    ({"type": "json_schema"}, "response_format.json_schema"),
    ({"type": "xml"}, "response_format.type"),
    ("json", "response_format"),
])
def test_an_invalid_response_format_is_a_400_naming_the_field(server, response_format, param):
    for path, body in [("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}]}),
                       ("/v1/completions", {"prompt": "Hi"})]:
        r = httpx.post(server + path, json=dict(body, max_tokens=4, response_format=response_format), timeout=60)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["param"] == param, r.json()


def test_completions_refuse_tools(server):   # chat takes them (test_server_tools.py)
    tools = [{"type": "function", "function": {"name": "f"}}]
    for field, value in [("tools", tools), ("tool_choice", "auto"), ("parallel_tool_calls", True)]:
        r = httpx.post(server + "/v1/completions", json={"prompt": "Hi", "max_tokens": 4, field: value}, timeout=60)
        assert r.status_code == 400 and r.json()["error"]["param"] == field, r.text


def test_a_server_without_the_extra_names_it(tmp_path):
    """llguidance made unimportable (a package of that name that raises ImportError, first on the path)."""
    shim = tmp_path / "llguidance"
    shim.mkdir()
    (shim / "__init__.py").write_text("raise ImportError('llguidance is hidden for this test')\n")
    path = [str(tmp_path)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    p, base = start_server(env)
    try:
        fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
        r = httpx.post(base + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}],
                                                            "max_tokens": 4, "response_format": fmt}, timeout=60)
        assert r.status_code == 400, r.text
        e = r.json()["error"]
        assert e["param"] == "response_format.json_schema.schema" and "trit[structured]" in e["message"], e
        for field, value in [("grammar", 'root ::= "a"'), ("json_schema", {"type": "object"})]:   # llama.cpp's
            r = httpx.post(base + "/v1/completions", json={"prompt": "Hi", "max_tokens": 4, field: value}, timeout=60)
            assert r.status_code == 400, r.text
            e = r.json()["error"]
            assert e["param"] == field and "trit[structured]" in e["message"], e
        r = httpx.post(base + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}],
                                                            "max_tokens": 4}, timeout=60)
        tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
        r = httpx.post(base + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}],
                                                            "max_tokens": 4, "tools": tools,
                                                            "tool_choice": "required"}, timeout=60)
        assert r.status_code == 400, r.text   # a forced call needs the grammar engine
        e = r.json()["error"]
        assert e["param"] == "tool_choice" and "trit[structured]" in e["message"], e
        r = httpx.post(base + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}],
                                                            "max_tokens": 4, "tools": tools}, timeout=60)
        assert r.status_code == 200, r.text   # everything else works, tools with "auto" too
    finally:
        p.terminate()
        p.wait(20)
