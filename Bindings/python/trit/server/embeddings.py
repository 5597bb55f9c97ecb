"""POST /v1/embeddings (OpenAI's schema): `input` as a string, a list of strings, a token list or a
list of token lists; `encoding_format` "float" or "base64" (little-endian float32); `dimensions`
(Matryoshka truncation, renormalized); `usage.prompt_tokens`. Rows are the model's final hidden
states after the output norm, last-token pooled and L2-normalized (trit.h's trit_embed). Requests
are evaluated one at a time on a context of their own (not the engine's slots), on a thread of their
own: waiting embeddings hold neither the event loop nor the default executor's threads."""
import asyncio
import base64
import concurrent.futures
import sys
from array import array
from typing import Any, Literal, Optional

from fastapi import FastAPI, Request
from pydantic import Field, field_validator

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


def add_embedding_routes(app: FastAPI, settings, loader, alias):
    # one thread runs every embedding, in arrival order, on one context; both are made at the first
    # request, in the serving process (the model loads in the background; a Ray Serve replica
    # unpickles the app, and a thread pool does not pickle)
    made = {}

    def worker():
        if "worker" not in made:
            made["worker"] = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="trit-embed")
        return made["worker"]

    def run(lists, dimensions):
        ctx = made.get("ctx")
        if ctx is None:
            ctx = made["ctx"] = loader.model.create_context(
                n_ctx=loader.n_ctx_slot, n_threads=settings.threads, type_k=settings.type_k, type_v=settings.type_v)
        return embed(ctx._context(), lists, True, dimensions, None)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        r = parse(EmbeddingRequest, await read_json(request, settings.max_body, alias))
        loader.ready()
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
        buf, width = await asyncio.get_running_loop().run_in_executor(worker(), run, lists, r.dimensions)
        if r.encoding_format == "base64":
            rows = [float32_base64(buf, i * width, width) for i in range(len(lists))]
        else:
            flat = memoryview(buf).cast("B").cast("f").tolist()
            rows = [flat[i * width:(i + 1) * width] for i in range(len(lists))]
        n_tokens = sum(len(t) for t in lists)
        return {"object": "list", "model": alias,
                "data": [{"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)],
                "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens}}
