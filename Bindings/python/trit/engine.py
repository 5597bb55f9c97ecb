"""trit.Engine: many requests on one model, decoded together (continuous batching in libtrit).

    engine = trit.Engine("model.gguf", n_seq=8)
    for piece in engine.submit("Once upon a time", max_tokens=64):
        print(piece, end="")
    async for piece in engine.submit_async("The sea", max_tokens=32):   # in a coroutine
        ...

The scheduler thread is libtrit's; it never holds the GIL while it computes (it takes it only to
hand a piece of text to Python)."""
import asyncio
import os
import queue
import threading

from ._closing import Closing
from ._errors import TritError
from . import _trit
from ._params import int32, seed as _seed, kv_type_ids
from . import _embedding

_DONE = object()


def _request_kw(max_tokens=128, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0,
                presence_penalty=0.0, frequency_penalty=0.0, penalty_last_n=64, seed=0xC0FFEE, stop=None,
                ignore_eos=False, add_bos=True, special=False, logit_bias=None, logprobs=0):
    if isinstance(stop, str):
        stop = [stop]
    return dict(max_tokens=int32("max_tokens", max_tokens), temperature=float(temperature), top_k=int32("top_k", top_k),
                top_p=float(top_p), min_p=float(min_p), repeat_penalty=float(repeat_penalty),
                presence_penalty=float(presence_penalty), frequency_penalty=float(frequency_penalty),
                penalty_last_n=int32("penalty_last_n", penalty_last_n), seed=_seed(seed),
                stop=list(stop) if stop else None, ignore_eos=bool(ignore_eos), add_special=bool(add_bos),
                parse_special=bool(special), logit_bias=dict(logit_bias) if logit_bias else None,
                logprobs=int32("logprobs", logprobs))


class _Request:
    """What both kinds of request share: the engine, the id, the outcome, cancel()."""

    def __init__(self, engine):
        self._engine = engine
        self.id = None
        self.finish_reason = None
        self.usage = None
        self.logprobs = []   # with logprobs=N: (token, logprob, [(token, logprob)] × N) per token
        self.constraint = None   # a trit.Constraint with json_schema / regex / grammar

    def _logprobs(self, token, lp, top):
        self.logprobs.append((token, lp, top))

    def cancel(self):
        return self._engine.cancel(self.id)


class Completion(_Request):
    """One request: iterate for its text pieces. ``finish_reason`` ("length", "stop", "context",
    "cancelled", "constraint" or "constraint_error") and ``usage`` are set when it ends. Leaving the
    iteration early cancels it. With
    ``stream=False`` at submit the text is collected inside libtrit and arrives whole at the end
    (no Python call per piece): iterate or call text() as usual."""

    def __init__(self, engine):
        super().__init__(engine)
        self._q = queue.Queue()

    def _piece(self, b):
        self._q.put(b)
        return True

    def _done(self, rid, reason, usage, text=None):
        if text:
            self._q.put(text)
        self.finish_reason, self.usage = reason, usage
        self._q.put(_DONE)

    def __iter__(self):
        try:
            while True:
                item = self._q.get()
                if item is _DONE:
                    return
                yield item.decode("utf-8", errors="replace")
        finally:
            if self.finish_reason is None:
                self.cancel()

    def text(self):
        """The whole text (waits for the end)."""
        return "".join(self)


class AsyncCompletion(_Request):
    """One request as an async iterator of text pieces, fed from the scheduler thread through
    the event loop (the loop is never blocked). Leaving the iteration early cancels it."""

    def __init__(self, engine, loop):
        super().__init__(engine)
        self._loop = loop
        self._q = asyncio.Queue()

    def _piece(self, b):
        self._loop.call_soon_threadsafe(self._q.put_nowait, b)
        return True

    def _done(self, rid, reason, usage, text=None):
        def finish():
            if text:
                self._q.put_nowait(text)
            self.finish_reason, self.usage = reason, usage
            self._q.put_nowait(_DONE)
        self._loop.call_soon_threadsafe(finish)

    def __aiter__(self):
        return self._iterate()

    async def _iterate(self):
        try:
            while True:
                item = await self._q.get()
                if item is _DONE:
                    return
                yield item.decode("utf-8", errors="replace")
        finally:
            if self.finish_reason is None:
                self.cancel()

    async def text(self):
        return "".join([p async for p in self])


class Engine(Closing):
    """Continuous batching on one model: up to ``n_seq`` requests decoded together, prompts read
    in chunks between decode steps, finished conversations' tokens kept for prefix reuse.

    model: a trit.Model (its weights are shared) or a path (default: the bundled model).
    n_seq: requests decoded together. n_ctx: positions per request (0: the model's, at most 4096).
    n_batch: tokens per step. queue_limit: waiting requests beyond which submit raises TritError
    (status 11, busy). n_cells: positions all requests hold together (0: n_seq × n_ctx).
    kv_type: the KV cache: "f16" (default), "q8_0" or "f32" (exact); type_k / type_v set one alone.
    checkpoints: hybrid models (qwen35): copies of a request's recurrent state kept at prompt chunk ends
    (0 to 64, default 4; llama-server's --ctx-checkpoints), so a chat's next turn resumes from the
    longest one within the shared prefix; with 0 a slot is reused only when its whole sequence prefixes
    the new prompt.
    min_prompt_tokens: prompt tokens a step takes at least while requests decode (default 16: short
    inter-token gaps while prompts are read; n_batch: every step filled, as llama-server does, for more
    tokens/s with many requests).
    attn_int8: int8 attention scores over a "q8_0" key cache (the query quantized per 32 values, integer
    K·Q dots, as llama.cpp); refused (TritError) with another key type.
    """

    def __init__(self, model=None, n_seq=4, n_ctx=0, n_batch=128, n_threads=0, queue_limit=256, n_cells=0,
                 int8_head=False, head=None, kv_type="f16", type_k=None, type_v=None, checkpoints=4,
                 min_prompt_tokens=16, attn_int8=False):
        from . import Model, bundled_model_path
        tk, tv = kv_type_ids(kv_type, type_k, type_v)
        self._h = None
        if isinstance(model, Model):
            self.model = model
        else:
            path = model if model is not None else bundled_model_path()
            self.model = Model(os.fspath(path), n_ctx=8, n_threads=1, int8_head=int8_head, head=head, kv_type="f32")
        # the library checks the sizes (and says what is wrong)
        try:
            self._h = _trit.engine_create(self.model._live(), int32("n_seq", n_seq), int32("n_ctx", n_ctx),
                                          int32("n_batch", n_batch), int32("n_threads", n_threads),
                                          int32("queue_limit", queue_limit), int32("n_cells", n_cells), tk, tv,
                                          int32("checkpoints", checkpoints),
                                          int32("min_prompt_tokens", min_prompt_tokens), bool(attn_int8))
        except BaseException:
            if self.model is not model:   # a model loaded here is freed at once
                self.model.close()
            raise

    def _live(self):
        if self._h is None:
            raise TritError(_trit.ERR_STATE, "the engine is closed")
        return self._h

    def _prompt(self, prompt):
        if isinstance(prompt, (bytes, bytearray)):
            raise TypeError("prompt must be str or a list of token ids, not bytes")
        return prompt if isinstance(prompt, str) else list(prompt)

    def _constraint(self, kw):
        """The request's constraint from json_schema / regex / grammar / gbnf (removed from kw), or None."""
        options = {k: kw.pop(k) for k in ("json_schema", "regex", "grammar", "gbnf") if k in kw}
        jump_forward = kw.pop("jump_forward", True)
        if all(v is None for v in options.values()):
            return None
        from .structured import Grammar, Constraint
        return Constraint(self.model, Grammar.from_options(**options), jump_forward=jump_forward)

    def submit(self, prompt, stream=True, **kw):
        """Queue a request (prompt: str or token ids); returns a Completion to iterate. Keywords:
        max_tokens, temperature, top_k, top_p, min_p, repeat_penalty, presence_penalty,
        frequency_penalty, penalty_last_n, seed (-1: random), stop, ignore_eos, add_bos, special,
        logit_bias ({token id: bias}), logprobs (N: the N most likely tokens with each token, in
        .logprobs), json_schema / regex / grammar / gbnf (a constraint, as Model.generate: finish_reason
        "constraint" when it allowed no token, "constraint_error" when it failed, the reason in
        .constraint.error), jump_forward (default True: forced text goes in as a prompt chunk;
        usage["forced_tokens"] counts it). stream=False: the text arrives whole at the end."""
        constraint = self._constraint(kw)
        c = Completion(self)
        c.constraint = constraint
        c.id = _trit.engine_submit(self._live(), self._prompt(prompt), c._piece if stream else None, c._done,
                                   on_logprobs=c._logprobs, constraint=constraint, **_request_kw(**kw))
        return c

    def submit_async(self, prompt, stream=True, **kw):
        """As submit, for asyncio: returns an AsyncCompletion (``async for piece in ...``).
        Call it from a coroutine (it uses the running event loop)."""
        constraint = self._constraint(kw)
        c = AsyncCompletion(self, asyncio.get_running_loop())
        c.constraint = constraint
        c.id = _trit.engine_submit(self._live(), self._prompt(prompt), c._piece if stream else None, c._done,
                                   on_logprobs=c._logprobs, constraint=constraint, **_request_kw(**kw))
        return c

    def _submit_embeddings(self, input, normalize, dimensions, pooling, prompt_name, truncate, finish):
        """Queues one embedding request per input; finish() is called (scheduler thread) as each ends.
        Returns (lists, single, rows, reasons), rows and reasons filled as they end."""
        n_ctx = self.stats()["n_ctx_slot"]
        lists, single = _embedding.prepare(self.model, input, prompt_name, truncate and n_ctx - 1)
        spec = (_embedding.pooling_id(pooling), bool(normalize), _embedding.dimensions_arg(dimensions))
        rows, reasons, ids = [None] * len(lists), [None] * len(lists), []

        def callbacks(i):
            def on_row(b):
                rows[i] = b

            def on_done(rid, reason, usage, text):
                reasons[i] = reason
                finish()
            return on_row, on_done
        try:
            for i, ids_i in enumerate(lists):
                on_row, on_done = callbacks(i)
                ids.append(_trit.engine_submit(self._live(), ids_i, None, on_done, embedding=spec, on_embedding=on_row))
        except BaseException:
            for rid in ids:
                self.cancel(rid)
            raise
        return lists, single, rows, reasons

    @staticmethod
    def _rows(lists, single, rows, reasons):
        for i, why in enumerate(reasons):
            if why != "stop" or rows[i] is None:
                raise TritError(_trit.ERR_STATE, f"embedding input {i} did not finish (finish reason {why})")
        width = len(rows[0]) // 4
        return _embedding.rows(bytearray(b"".join(rows)), len(lists), width, single)

    def embed(self, input, normalize=True, dimensions=None, pooling=None, prompt_name=None, truncate=False):
        """Embeddings as Model.embed (same arguments and rows), as engine requests: their prompt chunks
        share the scheduler's steps with the generation requests (nothing of them stays cached).
        Inputs up to a request's n_ctx − 1 tokens (truncate=True cuts longer ones). Blocks until every
        row is in (the GIL is free meanwhile)."""
        cond, done = threading.Condition(), [0]

        def finish():
            with cond:
                done[0] += 1
                cond.notify_all()
        lists, single, rows, reasons = self._submit_embeddings(input, normalize, dimensions, pooling, prompt_name,
                                                               truncate, finish)
        with cond:
            cond.wait_for(lambda: done[0] == len(lists))
        return self._rows(lists, single, rows, reasons)

    async def embed_async(self, input, normalize=True, dimensions=None, pooling=None, prompt_name=None,
                          truncate=False):
        """As embed, for asyncio (call it from a coroutine): awaits the rows without blocking the loop."""
        loop = asyncio.get_running_loop()
        fut, done, total = loop.create_future(), [0], [None]

        def step():
            done[0] += 1
            if done[0] == total[0] and not fut.done():
                fut.set_result(None)

        def finish():
            loop.call_soon_threadsafe(step)
        lists, single, rows, reasons = self._submit_embeddings(input, normalize, dimensions, pooling, prompt_name,
                                                               truncate, finish)
        total[0] = len(lists)   # step() runs on this loop, after this coroutine yields
        await fut
        return self._rows(lists, single, rows, reasons)

    def cancel(self, request_id):
        """Stop a request at the next step; False if it is unknown or has finished."""
        if request_id is None or self._h is None:
            return False
        return _trit.engine_cancel(self._h, request_id)

    def stats(self):
        """running, waiting, cells_used, cells_total, tokens_generated, prompt_tokens_evaluated,
        requests_finished, n_ctx_slot (the positions one request may hold)."""
        return _trit.engine_stats(self._live())

    def close(self):
        """Cancel every request and stop the scheduler thread; safe to call twice."""
        h, self._h = getattr(self, "_h", None), None
        if h is not None:
            _trit.close(h)

