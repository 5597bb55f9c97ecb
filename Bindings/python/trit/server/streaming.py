"""Running one request on the engine: submit, then either collect the text or stream it as
server-sent events. A client that goes away mid-stream frees its slot."""
import json
import time

from sse_starlette.sse import EventSourceResponse

import trit

from .errors import from_trit_error


def submit(engine, tokens, kw, stream, n_ctx):
    """Queues the (tokenized) prompt; a libtrit refusal becomes its HTTP answer (errors.STATUS_HTTP)."""
    try:
        return engine.submit_async(tokens, stream=stream, **kw)
    except trit.TritError as e:
        raise from_trit_error(e, n_ctx=n_ctx, n_prompt=len(tokens), n_completion=kw["max_tokens"])


async def _timed(completion, metrics, t0):
    """The completion's pieces, observing time to first token and between pieces."""
    last = None
    async for piece in completion:
        now = time.perf_counter()
        if last is None:
            metrics.ttft.observe(now - t0)
        else:
            metrics.itl.observe(now - last)
        last = now
        yield piece


async def run(engine, tokens, kw, n_ctx, metrics, http_request, chunks=None, final=None):
    """With `chunks` (an async generator of JSON objects over the pieces and the completion): an
    SSE response ending in [DONE]. Otherwise `final(text, completion)`, the whole answer."""
    c = submit(engine, tokens, kw, stream=chunks is not None, n_ctx=n_ctx)
    t0 = time.perf_counter()
    if chunks is None:
        text = "".join([p async for p in _timed(c, metrics, t0)])
        metrics.account(c.usage)
        return final(text, c)

    async def events():
        try:
            async for chunk in chunks(_timed(c, metrics, t0), c):
                if await http_request.is_disconnected():
                    return
                yield json.dumps(chunk)
            yield "[DONE]"
        finally:
            c.cancel()   # a client gone mid-stream frees its slot (no-op when finished)
            metrics.account(c.usage)
    return EventSourceResponse(events(), ping=15)
