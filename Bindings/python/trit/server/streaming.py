"""Running a prepared request (trit.openai_api.requests) on the engine from the event loop: submit its
choices, then either collect the texts or stream the Responder's chunks as server-sent events. A client
that goes away mid-stream frees its slots. trit.openai_api.run is the loop-free twin."""
import asyncio
import json
import time

from sse_starlette.sse import EventSourceResponse

import trit

from .errors import from_trit_error


def submit_all(engine, p, n_ctx):
    """Queues each choice (the tokenized prompt); a libtrit refusal becomes its HTTP answer."""
    cs = []
    try:
        for kw in p.kws:
            cs.append(engine.submit_async(p.tokens, stream=p.stream, **kw))
    except trit.TritError as e:
        for c in cs:
            c.cancel()
        raise from_trit_error(e, n_ctx=n_ctx, n_prompt=len(p.tokens), n_completion=p.kws[0]["max_tokens"])
    return cs


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


async def _collect(c, metrics, t0):
    return "".join([piece async for piece in _timed(c, metrics, t0)])


async def _events(cs, metrics, t0):
    """(i, piece) as the choices' pieces arrive, and (i, None) when choice i ends."""
    if len(cs) == 1:
        async for piece in _timed(cs[0], metrics, t0):
            yield 0, piece
        yield 0, None
        return
    q = asyncio.Queue()

    async def pump(i, c):
        try:
            async for piece in _timed(c, metrics, t0):
                await q.put((i, piece))
            await q.put((i, None))
        except BaseException as e:
            await q.put((i, e))
    tasks = [asyncio.ensure_future(pump(i, c)) for i, c in enumerate(cs)]
    try:
        left = len(cs)
        while left:
            i, item = await q.get()
            if isinstance(item, BaseException):
                raise item
            if item is None:
                left -= 1
            yield i, item
    finally:
        for t in tasks:
            t.cancel()


async def run(engine, p, n_ctx, metrics, http_request):
    """The answer: the Responder's final dict, or with p.stream an SSE response ending in [DONE]."""
    cs = submit_all(engine, p, n_ctx)
    t0 = time.perf_counter()
    r = p.responder
    if not p.stream:
        try:
            texts = await asyncio.gather(*[_collect(c, metrics, t0) for c in cs])
        finally:
            for c in cs:
                c.cancel()   # no-op when finished
                metrics.account(c.usage)
        return r.final(texts, cs)

    async def chunks():
        for x in r.start():
            yield x
        async for i, piece in _events(cs, metrics, t0):
            for x in (r.done(i, cs[i]) if piece is None else r.piece(i, piece, cs[i])):
                yield x
        for x in r.end(cs):
            yield x

    async def events():
        try:
            async for chunk in chunks():
                if await http_request.is_disconnected():
                    return
                yield json.dumps(chunk)
            yield "[DONE]"
        finally:
            for c in cs:
                c.cancel()   # a client gone mid-stream frees its slot (no-op when finished)
                metrics.account(c.usage)
    return EventSourceResponse(events(), ping=15)
