"""Model.create_chat_completion / create_completion: llama-cpp-python's signatures, turned into the
request body the server would get and run through the same code (requests.prepare_*, run.run) on an
engine of the model's own (made at the first call: 4 slots of the default context's size, sharing the
weights)."""
import os
import threading

try:
    import pydantic  # noqa: F401  (the request checks)
except ImportError as e:
    raise ImportError(f"Model.create_chat_completion / create_completion need pydantic and jinja2: "
                      f"pip install 'trit[chat]' ({e})") from None

from .requests import prepare_chat, prepare_completion  # noqa: E402
from .run import run  # noqa: E402

ENGINE_SLOTS = 4
_MADE = threading.Lock()   # two threads' first calls make one engine


def _engine(model):
    with _MADE:
        return _made_engine(model)


def _made_engine(model):
    e = getattr(model, "_api_engine", None)
    if e is None:
        from ..engine import Engine
        p = model.context.params
        e = Engine(model, n_seq=ENGINE_SLOTS, n_ctx=p["n_ctx"], n_batch=p["n_batch"], n_threads=p["n_threads"],
                   type_k=model.kv_type[0], type_v=model.kv_type[1])
        model._api_engine = e
    return e


def _body(fields, extra):
    """(request body, a trit.Grammar given as grammar= or None)."""
    from ..structured import Grammar
    body = {k: v for k, v in fields.items() if v is not None}
    given = body.pop("grammar") if isinstance(body.get("grammar"), Grammar) else None
    if isinstance(body.get("logit_bias"), dict):   # llama-cpp-python takes token ids as ints, OpenAI as strings
        body["logit_bias"] = {str(k): v for k, v in body["logit_bias"].items()}
    overlap = set(extra) & set(body)
    if overlap:
        raise TypeError(f"{sorted(overlap)[0]!r} given twice")
    body.update(extra)   # anything else is checked (and refused by name) as the server does
    return body, given


def _alias(model, name):
    return name or os.path.basename(os.path.normpath(model.path))


def chat_completion(model, fields, extra):
    engine = _engine(model)
    body, given = _body(fields, extra)
    p = prepare_chat(model, body, engine.stats()["n_ctx_slot"], _alias(model, body.get("model")), given)
    return run(engine, p)


def completion(model, fields, extra):
    engine = _engine(model)
    body, given = _body(fields, extra)
    p = prepare_completion(model, body, engine.stats()["n_ctx_slot"], _alias(model, body.get("model")), given)
    return run(engine, p)


def template_prompt(model, messages, tools, add_generation_prompt, kwargs):
    """Model.apply_chat_template: the messages and tools checked as a request's, then rendered."""
    from .prompt import render_chat
    from .schemas import ChatRequest, parse
    from .tools import tools_of
    body = {"messages": messages}
    if tools is not None:
        body["tools"] = tools
    r = parse(ChatRequest, body)
    msgs = [m.model_dump(exclude_none=True) for m in r.messages]
    return render_chat(model, msgs, tools_of(r), kwargs, add_generation_prompt, raw_tools=tools)[0]
