"""A request body (a dict, as OpenAI's JSON) made ready to run: checked (schemas.parse: a 400 naming the
field), tokenized once, with the engine keywords of each choice and the Responder that shapes the answer.
The server and Model.create_chat_completion / create_completion both go through prepare_chat /
prepare_completion.

n > 1: n engine requests over the same prompt tokens, decoded together in n slots; choice i samples with
seed + i (a random seed each when the seed is absent). The engine reads the prompt once: the other
choices wait for the first to read it and copy its cells (a prompt of at least 33 tokens)."""
import dataclasses
import time
import uuid

from .errors import ApiError, context_length_error
from .prompt import chat_prompt
from .response_format import request_grammar
from .responses import ChatResponder, CompletionResponder
from .schemas import ChatRequest, CompletionRequest, parse
from .tools import tools_of


@dataclasses.dataclass
class Prepared:
    tokens: list
    kws: list           # Engine.submit keywords, one dict per choice
    responder: object   # ChatResponder or CompletionResponder
    stream: bool


def budget(n_ctx, n_prompt, wanted):
    """max_tokens for the engine, checked against one request's context as OpenAI does (absent:
    the rest of the context; at least one token must fit)."""
    n_completion = max(n_ctx - n_prompt, 1) if wanted is None else wanted
    if n_prompt + n_completion > n_ctx:
        raise context_length_error(n_ctx, n_prompt, n_completion)
    return n_completion


def _choices(kw, n):
    """The keywords of each of n choices: the same but for the seed (seed + i; -1 stays random)."""
    seed = kw["seed"]
    return [dict(kw, seed=seed if seed == -1 else (seed + i) % 2**64) for i in range(n)]


def _ids(prefix):
    return prefix + uuid.uuid4().hex, int(time.time())


def _given_grammar(r, grammar, given, tools=None):
    """A trit.Grammar given in Python (llama-cpp-python's grammar=LlamaGrammar), alone or a 400."""
    if given is None:
        return grammar
    if grammar is not None or (tools is not None and tools.rendered):
        raise ApiError(400, "'grammar' (a trit.Grammar) cannot be combined with response_format, json_schema or "
                            'tools (unless tool_choice is "none")', param="grammar", code="invalid_value")
    return given


def prepare_chat(model, body, n_ctx, alias, grammar_object=None):
    """``grammar_object``: a trit.Grammar (Model.create_chat_completion's grammar=), else None."""
    r = parse(ChatRequest, body)
    want_logprobs = bool(r.logprobs)
    top_logprobs = r.top_logprobs or 0
    if top_logprobs and not want_logprobs:
        raise ApiError(400, "'top_logprobs' needs 'logprobs': true", param="top_logprobs", code="invalid_value")
    stream, n = bool(r.stream), r.n or 1
    tools = tools_of(r)
    grammar = _given_grammar(r, request_grammar(r, tools), grammar_object, tools)
    if tools.forced:
        grammar = tools.grammar()
    messages = [m.model_dump(exclude_none=True) for m in r.messages]
    prompt = chat_prompt(model, messages, tools, r.chat_template_kwargs, raw_tools=body.get("tools"))
    kw = r.sampling()
    kw["max_tokens"] = budget(n_ctx, len(prompt.tokens), r.wanted_tokens)
    kw["logprobs"] = max(top_logprobs, 1) if want_logprobs else 0
    kw["grammar"] = grammar
    rid, created = _ids("chatcmpl-")
    # A grammar whose output opens <think> itself (llama.cpp's `grammar` for a thinking model) is split
    # like free text; after a prompt that opened <think>, constrained output is the answer, not reasoning.
    reasoning = prompt.reasoning and (grammar is None or not prompt.thinking_open)
    responder = ChatResponder(model, rid, created, alias, n=n, include_usage=_include_usage(r, stream),
                              logprobs=want_logprobs, top_logprobs=top_logprobs, tools=tools,
                              reasoning=reasoning, thinking_open=prompt.thinking_open)
    return Prepared(prompt.tokens, _choices(kw, n), responder, stream)


def prepare_completion(model, body, n_ctx, alias, grammar_object=None):
    r = parse(CompletionRequest, body)
    stream, n = bool(r.stream), r.n or 1
    tokens = model.tokenize(r.prompt) if isinstance(r.prompt, str) else r.prompt
    kw = r.sampling()
    kw["max_tokens"] = budget(n_ctx, len(tokens), r.wanted_tokens)
    kw["logprobs"] = r.logprobs
    kw["grammar"] = _given_grammar(r, request_grammar(r), grammar_object)
    prefix = (r.prompt if isinstance(r.prompt, str) else model.detokenize(r.prompt)) if r.echo else ""
    rid, created = _ids("cmpl-")
    responder = CompletionResponder(model, rid, created, alias, n=n, include_usage=_include_usage(r, stream),
                                    logprobs=r.logprobs, prefix=prefix)
    return Prepared(tokens, _choices(kw, n), responder, stream)


def _include_usage(r, stream):
    if r.stream_options is not None and not stream:
        raise ApiError(400, "'stream_options' is only allowed when 'stream' is true", param="stream_options",
                       code="invalid_value")
    return stream and bool(r.stream_options and r.stream_options.include_usage)
