"""POST /v1/embeddings (OpenAI's schema): `input` as a string, a list of strings, a token list or a
list of token lists; `encoding_format` "float" or "base64" (little-endian float32); `dimensions`
(Matryoshka truncation, renormalized); `usage.prompt_tokens`. Rows are the model's final hidden
states after the output norm, pooled as the model says and L2-normalized (trit.h's trit_embed).
Each input is an engine request (Engine.embed_async): the engine batches the inputs of concurrent
requests in its steps, next to generation. At most half the engine's queue_limit inputs are in it
at once, so an embedding batch does not fill the queue that generation requests share. An input
the engine refuses for its shape (the certified head; a bidirectional model's input over n_batch;
an input of exactly n_ctx tokens, one more than an engine request holds) is embedded as before:
on a context of the server's own, on a thread of its own, one input at a time."""
import asyncio
import base64
import concurrent.futures
import sys
from array import array
from typing import Any, Literal, Optional

from fastapi import FastAPI, Request
from pydantic import Field, field_validator

import trit
from trit import _trit

from .._embedding import embed
from .body import read_json
from .errors import ApiError
from ..openai_api.schemas import _Strict, parse


class EmbeddingRequest(_Strict):
    model: Optional[str] = None
    input: Any
    encoding_format: Optional[Literal["float", "base64"]] = None
    dimensions: Optional[int] = Field(None, ge=1)
    user: Optional[str] = None

    @field_validator("input")
    @classmethod
    def _input(cls, v):
        def tokens(x):
            return isinstance(x, list) and x and all(isinstance(t, int) and not isinstance(t, bool) for t in x)
        if isinstance(v, str):
            v = [v]
        elif tokens(v):
            v = [v]
        if not isinstance(v, list) or not v:
            raise ValueError("must be a string, a list of strings, a list of token ids or a list of token id lists")
        for i, x in enumerate(v):
            if isinstance(x, str):
                if not x:
                    raise ValueError(f"item {i} is an empty string")
                if "\0" in x:
                    raise ValueError(f"item {i} holds a NUL character")
            elif not tokens(x):
                raise ValueError(f"item {i} must be a non-empty string or a non-empty list of token ids")
        return v


def float32_base64(buf, start, width):
    """Row [start, start + width) of a float32 buffer as base64 of little-endian float32 (OpenAI's)."""
    row = array("f")
    row.frombytes(bytes(memoryview(buf)[start * 4:(start + width) * 4]))
    if sys.byteorder != "little":
        row.byteswap()
    return base64.b64encode(row.tobytes()).decode("ascii")


def row_bytes(row):
    """An engine row (numpy float32 row, or a list of floats without numpy) as native float32 bytes."""
    if hasattr(row, "tobytes"):
        return row.astype("float32", copy=False).tobytes()
    return array("f", row).tobytes()


# the engine's refusals of an input's shape, answered by the context path instead (see the module's doc)
ENGINE_REFUSALS = {_trit.ERR_UNSUPPORTED, _trit.ERR_ARG, _trit.ERR_CONTEXT_FULL}


def add_embedding_routes(app: FastAPI, settings, loader, alias):
    # the fallback: one thread runs the inputs the engine refuses, in arrival order, on one context;
    # both are made at the first such input, in the serving process (the model loads in the background;
    # a Ray Serve replica unpickles the app, and a thread pool does not pickle)
    made = {}

    def worker():
        if "worker" not in made:
            made["worker"] = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="trit-embed")
        return made["worker"]

    def run(lists, dimensions):
        ctx = made.get("ctx")
        if ctx is None:
            ctx = made["ctx"] = loader.model.create_context(
                n_ctx=loader.n_ctx_slot, n_threads=settings.threads, type_k=settings.type_k, type_v=settings.type_v,
                attn_int8=settings.attn_int8)
        return embed(ctx._context(), lists, True, dimensions, None)

    def in_flight():
        # made in the serving process's event loop, at the first request
        if "sem" not in made:
            made["sem"] = asyncio.Semaphore(max(1, settings.queue_limit // 2))
        return made["sem"]

    async def one(engine, ids, dimensions):
        """One input's row as native float32 bytes: through the engine, or the context path
        when the engine refuses the input's shape."""
        if not made.get("context_only"):
            async with in_flight():
                try:
                    return row_bytes((await engine.embed_async([ids], dimensions=dimensions))[0])
                except trit.TritError as e:
                    if e.status not in ENGINE_REFUSALS:
                        raise
                    if e.status == _trit.ERR_UNSUPPORTED:   # the certified head: never through the engine
                        made["context_only"] = True
        buf, width = await asyncio.get_running_loop().run_in_executor(worker(), run, [ids], dimensions)
        return bytes(memoryview(buf).cast("B")[:width * 4])

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        r = parse(EmbeddingRequest, await read_json(request, settings.max_body, alias))
        engine = loader.ready()
        model = loader.model
        if len(r.input) > settings.embedding_batch:
            raise ApiError(400, f"'input' holds {len(r.input)} items; this server embeds at most "
                                f"{settings.embedding_batch} per request", param="input", code="invalid_value")
        n_embd, n_vocab = model.info["n_embd"], model.info["n_vocab"]
        if r.dimensions is not None and r.dimensions > n_embd:
            raise ApiError(400, f"'dimensions' must be at most the model's {n_embd}", param="dimensions",
                           code="invalid_value")
        lists = []
        for i, x in enumerate(r.input):
            ids = model.tokenize(x) if isinstance(x, str) else x
            param = "input" if len(r.input) == 1 else f"input[{i}]"
            bad = next((t for t in ids if not 0 <= t < n_vocab), None)
            if bad is not None:
                raise ApiError(400, f"'{param}' holds the token id {bad}, outside the vocabulary (0..{n_vocab - 1})",
                               param=param, code="invalid_value")
            if len(ids) > loader.n_ctx_slot:
                raise ApiError(400, f"'{param}' has {len(ids)} tokens; this model's maximum context length is "
                                    f"{loader.n_ctx_slot} tokens per input", param=param, code="context_length_exceeded")
            lists.append(ids)
        raw = await asyncio.gather(*(one(engine, ids, r.dimensions) for ids in lists))
        if r.encoding_format == "base64":
            rows = [float32_base64(b, 0, len(b) // 4) for b in raw]
        else:
            rows = [memoryview(b).cast("f").tolist() for b in raw]
        n_tokens = sum(len(t) for t in lists)
        return {"object": "list", "model": alias,
                "data": [{"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)],
                "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens}}
