"""The endpoints: GET /health, /metrics, /v1/models; POST /v1/completions, /v1/chat/completions.
Each request is read once, checked against its schema, tokenized once, and submitted as tokens."""
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from . import body, streaming
from .errors import ApiError, context_length_error
from .schemas import ChatRequest, CompletionRequest, parse
from .structured import request_grammar
from .tools import CallParser, render, split_calls, tools_of


def finish_reason(c):
    """OpenAI's finish reason; a failed constraint (llguidance's error) is a 500 with its reason."""
    if c.finish_reason == "constraint_error":
        why = c.constraint.error if c.constraint is not None else None
        raise ApiError(500, f"the response_format constraint failed: {why or 'unknown error'}", type_="server_error",
                       code="constraint_error")
    return {"length": "length", "context": "length"}.get(c.finish_reason, "stop")


def usage(c):
    u = c.usage or {"prompt_tokens": 0, "completion_tokens": 0}
    return {"prompt_tokens": u["prompt_tokens"], "completion_tokens": u["completion_tokens"],
            "total_tokens": u["prompt_tokens"] + u["completion_tokens"]}


def budget(n_ctx, n_prompt, wanted):
    """max_tokens for the engine, checked against one request's context as OpenAI does (absent:
    the rest of the context; at least one token must fit)."""
    n_completion = max(n_ctx - n_prompt, 1) if wanted is None else wanted
    if n_prompt + n_completion > n_ctx:
        raise context_length_error(n_ctx, n_prompt, n_completion)
    return n_completion


def no_stream_logprobs(stream, n):
    if stream and n:
        raise ApiError(400, "logprobs are returned with non-streamed requests only", param="logprobs",
                       code="unsupported")


def add_routes(app: FastAPI, settings, loader, metrics, alias):
    """Adds the endpoints to the app (directly: their paths are the /metrics labels)."""

    async def read_json(request):
        return await body.read_json(request, settings.max_body, alias)

    @app.get("/health")
    async def health():
        if loader.error:
            return JSONResponse({"status": "error", "error": loader.error}, status_code=500)
        if loader.engine is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus():
        text, media_type = metrics.exposition(loader.engine.stats() if loader.engine is not None else None)
        return Response(text, media_type=media_type)

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": alias, "object": "model", "created": 0, "owned_by": "trit"}]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        r = parse(CompletionRequest, await read_json(request))
        eng, model = loader.ready(), loader.model
        stream = bool(r.stream)
        no_stream_logprobs(stream, r.logprobs)
        tokens = model.tokenize(r.prompt) if isinstance(r.prompt, str) else r.prompt
        kw = r.sampling()
        kw["max_tokens"] = budget(loader.n_ctx_slot, len(tokens), r.wanted_tokens)
        kw["logprobs"] = r.logprobs
        kw["grammar"] = request_grammar(r)
        prefix = (r.prompt if isinstance(r.prompt, str) else model.detokenize(r.prompt)) if r.echo else ""
        include_usage = stream and bool(r.stream_options and r.stream_options.include_usage)
        rid, created = "cmpl-" + uuid.uuid4().hex, int(time.time())

        def chunk(text, reason=None):
            return {"id": rid, "object": "text_completion", "created": created, "model": alias,
                    "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": reason}]}

        async def chunks(pieces, c):
            if prefix:
                yield chunk(prefix)
            async for p in pieces:
                yield chunk(p)
            yield chunk("", finish_reason(c))
            if include_usage:
                yield {"id": rid, "object": "text_completion", "created": created, "model": alias, "choices": [],
                       "usage": usage(c)}

        def final(text, c):
            out = chunk(prefix + text, finish_reason(c))
            out["usage"] = usage(c)
            if r.logprobs:   # OpenAI's legacy shape: parallel lists over the generated tokens
                piece = lambda t: model.detokenize([t])   # noqa: E731
                tokens_out, offsets, at = [], [], len(prefix)
                for t, _, _ in c.logprobs:
                    tokens_out.append(piece(t))
                    offsets.append(at)
                    at += len(tokens_out[-1])
                out["choices"][0]["logprobs"] = {
                    "tokens": tokens_out, "token_logprobs": [lp for _, lp, _ in c.logprobs],
                    "top_logprobs": [{piece(i): v for i, v in top} for _, _, top in c.logprobs], "text_offset": offsets}
            return out

        return await streaming.run(eng, tokens, kw, loader.n_ctx_slot, metrics, request,
                                   chunks=chunks if stream else None, final=final)

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        r = parse(ChatRequest, await read_json(request))
        eng, model = loader.ready(), loader.model
        want_logprobs = bool(r.logprobs)
        top_logprobs = r.top_logprobs or 0
        if top_logprobs and not want_logprobs:
            raise ApiError(400, "'top_logprobs' needs 'logprobs': true", param="top_logprobs", code="invalid_value")
        stream = bool(r.stream)
        no_stream_logprobs(stream, want_logprobs)
        include_usage = stream and bool(r.stream_options and r.stream_options.include_usage)
        tools = tools_of(r)
        grammar = request_grammar(r, tools)
        if tools.forced:
            grammar = tools.grammar()
        tokens = model.tokenize(model.format_chat(render(r.messages, tools)), special=True)
        kw = r.sampling()
        kw["max_tokens"] = budget(loader.n_ctx_slot, len(tokens), r.wanted_tokens)
        kw["logprobs"] = max(top_logprobs, 1) if want_logprobs else 0
        kw["grammar"] = grammar
        rid, created = "chatcmpl-" + uuid.uuid4().hex, int(time.time())

        def chunk(delta, reason=None):
            return {"id": rid, "object": "chat.completion.chunk", "created": created, "model": alias,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]}

        def reason_with(c, has_calls):
            reason = finish_reason(c)
            return "tool_calls" if has_calls and reason == "stop" else reason

        async def chunks(pieces, c):
            yield chunk({"role": "assistant", "content": ""})
            if not tools.rendered:
                async for p in pieces:
                    yield chunk({"content": p})
                yield chunk({}, finish_reason(c))
            else:   # content as it comes; each call in one delta (id, name and the whole arguments)
                parser, n_sent = CallParser(tools.functions, tools.parse_many), [0]

                def deltas(events):
                    for kind, x in events:
                        if kind == "content":
                            yield chunk({"content": x})
                        else:
                            yield chunk({"tool_calls": [{"index": n_sent[0], **x}]})
                            n_sent[0] += 1
                async for p in pieces:
                    for d in deltas(parser.feed(p)):
                        yield d
                for d in deltas(parser.finish()):
                    yield d
                yield chunk({}, reason_with(c, parser.n_calls > 0))
            if include_usage:
                yield {"id": rid, "object": "chat.completion.chunk", "created": created, "model": alias, "choices": [],
                       "usage": usage(c)}

        def entry(t, lp):
            p = model.detokenize([t])
            return {"token": p, "logprob": lp, "bytes": list(p.encode("utf-8"))}

        def final(text, c):
            lps = None
            if want_logprobs:
                lps = {"content": [dict(entry(t, lp), top_logprobs=[entry(i, v) for i, v in top[:top_logprobs]])
                                   for t, lp, top in c.logprobs]}
            message, calls = {"role": "assistant", "content": text}, []
            if tools.rendered:
                message["content"], calls = split_calls(text, tools.functions, tools.parse_many)
                if calls:
                    message["tool_calls"] = calls
            return {"id": rid, "object": "chat.completion", "created": created, "model": alias,
                    "choices": [{"index": 0, "message": message, "logprobs": lps,
                                 "finish_reason": reason_with(c, bool(calls))}],
                    "usage": usage(c)}

        return await streaming.run(eng, tokens, kw, loader.n_ctx_slot, metrics, request,
                                   chunks=chunks if stream else None, final=final)
