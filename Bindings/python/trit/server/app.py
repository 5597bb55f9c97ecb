"""The FastAPI application: OpenAI's request and response shapes over trit.Engine."""
import asyncio
import contextlib
import dataclasses
import hmac
import json
import os
import socket
import threading
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, CONTENT_TYPE_LATEST
from starlette.responses import Response

import trit

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclasses.dataclass
class ServerSettings:
    model: str = None
    api_key: str = None
    parallel: int = 4
    n_ctx: int = 0
    threads: int = 0
    int8_head: bool = False
    head: str = None   # "exact", "int8", "certified" (None: int8 when int8_head, else exact)
    alias: str = None
    queue_limit: int = 64
    max_body: int = 1 << 20
    cors: list = dataclasses.field(default_factory=list)
    replica: str = None      # sent as X-Trit-Replica on every response (default host:pid)
    type_k: str = "f16"      # KV cache of keys / values: f16, q8_0 or f32
    type_v: str = "f16"


class ApiError(Exception):
    """An OpenAI-shaped error: HTTP status, message, type, param, code."""

    def __init__(self, status, message, type_="invalid_request_error", param=None, code=None, headers=None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code, self.headers = status, message, type_, param, code, headers

    def response(self):
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("trit_requests", "HTTP requests by endpoint and status", ["endpoint", "status"], registry=r)
        self.prompt_tokens = Counter("trit_prompt_tokens", "prompt tokens of finished requests", registry=r)
        self.generated_tokens = Counter("trit_generated_tokens", "generated tokens", registry=r)
        self.ttft = Histogram("trit_time_to_first_token_seconds", "time to first token", buckets=LATENCY_BUCKETS, registry=r)
        self.itl = Histogram("trit_inter_token_latency_seconds", "time between streamed pieces", buckets=LATENCY_BUCKETS,
                             registry=r)
        self.queue = Gauge("trit_queue_depth", "requests waiting for a slot", registry=r)
        self.running = Gauge("trit_running_sequences", "requests holding a slot", registry=r)
        self.cells = Gauge("trit_kv_cells_used", "KV cache positions held", registry=r)


def _type_error(param, want):
    return ApiError(400, f"'{param}' must be {want}", param=param, code="invalid_type")


def _number(body, key, default, lo=None, hi=None, integer=False):
    v = body.get(key, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise _type_error(key, "an integer" if integer else "a number")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ApiError(400, f"'{key}' must be between {lo} and {hi}, got {v}", param=key, code="invalid_value")
    return v


def _sampling(body):
    """The sampling fields of a completion or chat request, validated."""
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            stop = [stop]
        elif not isinstance(stop, list) or not all(isinstance(x, str) for x in stop) or len(stop) > 16:
            raise _type_error("stop", "a string or a list of at most 16 strings")
    bias = body.get("logit_bias")
    if bias is not None:
        if not isinstance(bias, dict):
            raise _type_error("logit_bias", "an object of token id to bias")
        try:
            bias = {int(k): float(v) for k, v in bias.items()}
        except (TypeError, ValueError):
            raise _type_error("logit_bias", "an object of token id to bias")
        if any(not -100 <= v <= 100 for v in bias.values()):
            raise ApiError(400, "'logit_bias' values must be between -100 and 100", param="logit_bias", code="invalid_value")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _type_error("seed", "an integer")
    n = _number(body, "n", 1, 1, 1, integer=True)  # one choice per request
    del n
    ignore_eos = body.get("ignore_eos", False)   # llama.cpp server's extension
    if not isinstance(ignore_eos, bool):
        raise _type_error("ignore_eos", "a boolean")
    return dict(ignore_eos=ignore_eos, temperature=_number(body, "temperature", 1.0, 0, 2),
                top_p=_number(body, "top_p", 1.0, 0, 1) or 1e-6,
                top_k=_number(body, "top_k", 0, 0, 1 << 20, integer=True),
                min_p=_number(body, "min_p", 0.0, 0, 1),
                repeat_penalty=_number(body, "repeat_penalty", 1.0, 0.01, 10),
                presence_penalty=_number(body, "presence_penalty", 0.0, -2, 2),
                frequency_penalty=_number(body, "frequency_penalty", 0.0, -2, 2),
                seed=-1 if seed is None else seed % (2**63), stop=stop, logit_bias=bias)


def create_app(settings: ServerSettings = None):
    settings = settings or ServerSettings()
    @contextlib.asynccontextmanager
    async def lifespan(app):
        app.state.start()   # uvicorn: load the model once the server runs
        yield

    app = FastAPI(title="trit", version=trit.__version__, lifespan=lifespan)
    metrics = Metrics()
    state = {"engine": None, "model": None, "error": None}
    alias = settings.alias or os.path.basename(os.path.normpath(settings.model or "trit-bundled-i2_s.gguf"))

    if settings.cors:
        from fastapi.middleware.cors import CORSMiddleware
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors, allow_methods=["*"], allow_headers=["*"])

    loading = threading.Lock()
    loaded = threading.Event()

    def load():
        try:
            m = trit.Model(settings.model, n_ctx=8, n_threads=1, int8_head=settings.int8_head, head=settings.head)
            state["engine"] = trit.Engine(m, n_seq=settings.parallel, n_ctx=settings.n_ctx, n_threads=settings.threads,
                                          queue_limit=settings.queue_limit, type_k=settings.type_k, type_v=settings.type_v)
            state["model"] = m
        except Exception as e:  # reported by /health and every request
            state["error"] = str(e)
        finally:
            loaded.set()

    def start():
        """Starts loading the model (once), in the process that serves: uvicorn's startup, or a
        Ray Serve replica's constructor."""
        with loading:
            if not state.get("started"):
                state["started"] = True
                threading.Thread(target=load, daemon=True).start()

    def wait_loaded(timeout=None):
        """Starts loading and waits for it (a Ray Serve replica is routed to once it returns)."""
        start()
        loaded.wait(timeout)
        if state["error"]:
            raise RuntimeError(f"the model failed to load: {state['error']}")

    app.state.start = start
    app.state.wait_loaded = wait_loaded

    def engine():
        if state["error"]:
            raise ApiError(500, f"the model failed to load: {state['error']}", type_="server_error")
        if state["engine"] is None:
            raise ApiError(503, "the model is loading", type_="server_error", headers={"Retry-After": "1"})
        return state["engine"]

    class Guard:
        """Key and body-size checks, the replica header and request metrics, as plain ASGI (a
        BaseHTTPMiddleware would add a task and a copy per request)."""

        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                return await self.inner(scope, receive, send)
            endpoint = scope["path"]
            status = [500]
            # computed here, in the serving process (a Ray Serve replica unpickles the app)
            replica = (settings.replica or f"{socket.gethostname()}:{os.getpid()}").encode()

            async def send_with_header(message):
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                    message["headers"] = list(message.get("headers", [])) + [(b"x-trit-replica", replica)]
                await send(message)
            try:
                if endpoint.startswith("/v1"):
                    headers = dict(scope["headers"])
                    if settings.api_key:
                        auth = headers.get(b"authorization", b"").decode("latin-1")
                        given = auth[7:] if auth.lower().startswith("bearer ") else ""
                        if not hmac.compare_digest(given.encode(), settings.api_key.encode()):
                            raise ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)",
                                           type_="authentication_error", code="invalid_api_key")
                    length = headers.get(b"content-length")
                    if length is not None and (not length.isdigit() or int(length) > settings.max_body):
                        raise ApiError(413, f"the request body is larger than {settings.max_body} bytes",
                                       code="body_too_large")
                await self.inner(scope, receive, send_with_header)
            except ApiError as e:
                await e.response()(scope, receive, send_with_header)
            finally:
                metrics.requests.labels(endpoint, str(status[0])).inc()

    app.add_middleware(Guard)

    @app.exception_handler(ApiError)
    async def api_error(request, e: ApiError):
        return e.response()

    async def read_json(request):
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_body:
                raise ApiError(413, f"the request body is larger than {settings.max_body} bytes", code="body_too_large")
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ApiError(400, "the request body is not valid UTF-8", code="invalid_json")
        except json.JSONDecodeError as e:
            raise ApiError(400, f"the request body is not valid JSON: {e}", code="invalid_json")
        if not isinstance(data, dict):
            raise ApiError(400, "the request body must be a JSON object", code="invalid_json")
        model = data.get("model")
        if model is not None and not isinstance(model, str):
            raise _type_error("model", "a string")
        if model not in (None, alias):
            raise ApiError(404, f"the model '{model}' does not exist (this server has '{alias}')", param="model",
                           code="model_not_found")
        return data

    @app.get("/health")
    async def health():
        if state["error"]:
            return JSONResponse({"status": "error", "error": state["error"]}, status_code=500)
        if state["engine"] is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus():
        e = state["engine"]
        if e is not None:
            s = e.stats()
            metrics.queue.set(s["waiting"])
            metrics.running.set(s["running"])
            metrics.cells.set(s["cells_used"])
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": alias, "object": "model", "created": 0, "owned_by": "trit"}]}

    def budget(eng, prompt_tokens, body):
        """max_tokens, checked against the context as OpenAI does (400 naming both counts)."""
        n_ctx = eng_ctx(eng)
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
        if max_tokens is None:
            max_tokens = n_ctx - prompt_tokens
        elif isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ApiError(400, "'max_tokens' must be an integer of at least 1", param="max_tokens", code="invalid_value")
        if prompt_tokens + max_tokens > n_ctx:
            raise ApiError(400, f"This model's maximum context length is {n_ctx} tokens. However, you requested "
                                f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the prompt, {max_tokens} "
                                f"in the completion).", param="max_tokens", code="context_length_exceeded")
        return max_tokens

    def eng_ctx(eng):
        return eng.stats()["cells_total"] // max(settings.parallel, 1)

    async def run(eng, prompt, kw, stream_chunks, make_final, http_request):
        """Submits; returns the streaming response or the whole text."""
        try:
            c = eng.submit_async(prompt, stream=stream_chunks is not None, **kw)
        except trit.TritError as e:
            if e.status == 11:
                raise ApiError(429, "the server is busy: too many requests are waiting", type_="rate_limit_error",
                               code="rate_limited", headers={"Retry-After": "1"})
            if e.status == 7:
                raise ApiError(400, e.message, code="context_length_exceeded")
            raise ApiError(400, e.message)
        t0 = time.perf_counter()

        async def pieces():
            last = None
            async for piece in c:
                now = time.perf_counter()
                if last is None:
                    metrics.ttft.observe(now - t0)
                else:
                    metrics.itl.observe(now - last)
                last = now
                yield piece

        def account():
            if c.usage:
                metrics.prompt_tokens.inc(c.usage["prompt_tokens"])
                metrics.generated_tokens.inc(c.usage["completion_tokens"])

        if stream_chunks is not None:
            async def events():
                try:
                    async for chunk in stream_chunks(pieces(), c):
                        if await http_request.is_disconnected():
                            c.cancel()
                            return
                        yield json.dumps(chunk)
                    yield "[DONE]"
                finally:
                    c.cancel()   # a client gone mid-stream frees its slot (no-op when finished)
                    account()
            return EventSourceResponse(events(), ping=15)
        text = "".join([p async for p in pieces()])
        account()
        return make_final(text, c)

    def finish(c):
        return {"length": "length", "context": "length"}.get(c.finish_reason, "stop")

    def usage(c):
        u = c.usage or {"prompt_tokens": 0, "completion_tokens": 0}
        return {"prompt_tokens": u["prompt_tokens"], "completion_tokens": u["completion_tokens"],
                "total_tokens": u["prompt_tokens"] + u["completion_tokens"]}

    def piece(t):
        return state["model"].detokenize([t])

    def no_stream_logprobs(stream, n):
        if stream and n:
            raise ApiError(400, "logprobs are returned with non-streamed requests only", param="logprobs", code="unsupported")

    @app.post("/v1/completions")
    async def completions(request: Request):
        body = await read_json(request)
        eng = engine()
        n_logprobs = body.get("logprobs")
        if n_logprobs is None or n_logprobs is False:
            n_logprobs = 0
        if isinstance(n_logprobs, bool) or not isinstance(n_logprobs, int) or not 0 <= n_logprobs <= 20:
            raise ApiError(400, "'logprobs' must be an integer between 0 and 20", param="logprobs", code="invalid_value")
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if isinstance(prompt, str):
            n_prompt = len(state["model"].tokenize(prompt))
        elif isinstance(prompt, list) and prompt and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt):
            n_prompt = len(prompt)
            if any(t < 0 or t >= state["model"].info["n_vocab"] for t in prompt):
                raise ApiError(400, "'prompt' has a token id outside the vocabulary", param="prompt", code="invalid_value")
        else:
            raise _type_error("prompt", "a string or a non-empty list of token ids")
        echo = body.get("echo", False)
        if not isinstance(echo, bool):
            raise _type_error("echo", "a boolean")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise _type_error("stream", "a boolean")
        no_stream_logprobs(stream, n_logprobs)
        kw = _sampling(body)
        kw["max_tokens"] = budget(eng, n_prompt, body)
        kw["logprobs"] = n_logprobs
        prefix = (prompt if isinstance(prompt, str) else state["model"].detokenize(prompt)) if echo else ""
        rid, created = "cmpl-" + uuid.uuid4().hex, int(time.time())

        def chunk(text, reason=None):
            return {"id": rid, "object": "text_completion", "created": created, "model": alias,
                    "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": reason}]}

        async def stream_chunks(pieces, c):
            if prefix:
                yield chunk(prefix)
            async for p in pieces:
                yield chunk(p)
            yield chunk("", finish(c))

        def final(text, c):
            out = chunk(prefix + text, finish(c))
            out["usage"] = usage(c)
            if n_logprobs:   # OpenAI's legacy shape: parallel lists over the generated tokens
                tokens, offsets, at = [], [], len(prefix)
                for t, _, _ in c.logprobs:
                    tokens.append(piece(t))
                    offsets.append(at)
                    at += len(tokens[-1])
                out["choices"][0]["logprobs"] = {
                    "tokens": tokens, "token_logprobs": [lp for _, lp, _ in c.logprobs],
                    "top_logprobs": [{piece(i): v for i, v in top} for _, _, top in c.logprobs], "text_offset": offsets}
            return out

        return await run(eng, prompt, kw, stream_chunks if stream else None, final, request)

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await read_json(request)
        eng = engine()
        want_logprobs = body.get("logprobs") or False
        if not isinstance(want_logprobs, bool):
            raise _type_error("logprobs", "a boolean")
        top_logprobs = _number(body, "top_logprobs", 0, 0, 20, integer=True)
        if top_logprobs and not want_logprobs:
            raise ApiError(400, "'top_logprobs' needs 'logprobs': true", param="top_logprobs", code="invalid_value")
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise _type_error("messages", "a non-empty list of messages")
        pairs = []
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise _type_error(f"messages[{i}]", "an object with a 'role'")
            if m["role"] not in ("system", "user", "assistant", "developer"):
                raise ApiError(400, f"'messages[{i}].role' must be system, user or assistant", param=f"messages[{i}].role",
                               code="invalid_value")
            content = m.get("content")
            if isinstance(content, list):   # multi-part: the text parts, joined
                if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content):
                    raise ApiError(400, f"'messages[{i}].content' parts must be text parts", param=f"messages[{i}].content",
                                   code="invalid_value")
                content = "".join(p["text"] for p in content)
            if not isinstance(content, str):
                raise _type_error(f"messages[{i}].content", "a string or a list of text parts")
            pairs.append(("system" if m["role"] == "developer" else m["role"], content))
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise _type_error("stream", "a boolean")
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) if stream else False
        prompt = state["model"].format_chat(pairs)
        n_prompt = len(state["model"].tokenize(prompt, special=True))
        no_stream_logprobs(stream, want_logprobs)
        kw = _sampling(body)
        kw["max_tokens"] = budget(eng, n_prompt, body)
        kw["special"] = True
        kw["logprobs"] = max(top_logprobs, 1) if want_logprobs else 0
        rid, created = "chatcmpl-" + uuid.uuid4().hex, int(time.time())

        def chunk(delta, reason=None):
            return {"id": rid, "object": "chat.completion.chunk", "created": created, "model": alias,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]}

        async def stream_chunks(pieces, c):
            yield chunk({"role": "assistant", "content": ""})
            async for p in pieces:
                yield chunk({"content": p})
            yield chunk({}, finish(c))
            if include_usage:
                yield {"id": rid, "object": "chat.completion.chunk", "created": created, "model": alias, "choices": [],
                       "usage": usage(c)}

        def entry(t, lp):
            p = piece(t)
            return {"token": p, "logprob": lp, "bytes": list(p.encode("utf-8"))}

        def final(text, c):
            lps = None
            if want_logprobs:
                lps = {"content": [dict(entry(t, lp), top_logprobs=[entry(i, v) for i, v in top[:top_logprobs]])
                                   for t, lp, top in c.logprobs]}
            return {"id": rid, "object": "chat.completion", "created": created, "model": alias,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": lps,
                                 "finish_reason": finish(c)}],
                    "usage": usage(c)}

        return await run(eng, prompt, kw, stream_chunks if stream else None, final, request)

    app.state.trit = state
    return app
