"""trit: run BitNet b1.58 ternary language models on a CPU.

    import trit
    with trit.Model("model.gguf", n_ctx=512) as m:
        print(m.generate("Once upon a time", max_tokens=32, seed=42))
        for piece in m.generate("The sea", stream=True):
            print(piece, end="", flush=True)
        other = m.create_context(n_ctx=256)   # a second conversation on the same weights
"""
import os
import queue
import threading

from ._closing import Closing
from ._errors import TritError
from . import _trit
from ._params import int32, seed as _seed, kv_type_ids as _kv_types
from . import _embedding

__all__ = ["Model", "Context", "Engine", "Tokenizer", "Logits", "TritError", "Grammar", "__version__",
           "bundled_model_path", "default_model_path"]
__version__ = _trit.VERSION

_ERR_ARG, _ERR_STATE = _trit.ERR_ARG, _trit.ERR_STATE


def bundled_model_path():
    """The path of the model bundled with trit, as libtrit finds it (trit_bundled_model_path): the
    wheel's package data (trit/share/trit/), PREFIX/share/trit/ beside an installed library, or a
    source tree's Models/. Raises TritError naming every place looked in when it is missing."""
    return _trit.bundled_model_path()


def default_model_path():
    """The bundled model's path, or None when it is missing (bundled_model_path() says where it looked)."""
    try:
        return bundled_model_path()
    except TritError:
        return None


def _messages(messages):
    """(role, content) pairs from dicts or pairs, with clear errors for anything else."""
    if isinstance(messages, (str, bytes)) or not hasattr(messages, "__iter__"):
        raise TypeError("messages must be a list of {'role': ..., 'content': ...} dicts, "
                        f"got {type(messages).__name__}")
    pairs = []
    for i, m in enumerate(messages):
        if isinstance(m, dict):
            if "role" not in m or "content" not in m:
                raise TypeError(f"messages[{i}] needs 'role' and 'content' keys, got {sorted(m)}")
            role, content = m["role"], m["content"]
        elif isinstance(m, (tuple, list)) and len(m) == 2:
            role, content = m
        else:
            raise TypeError(f"messages[{i}] must be a dict with 'role' and 'content', got {type(m).__name__}")
        if not isinstance(role, str) or not isinstance(content, str):
            raise TypeError(f"messages[{i}]: role and content must be str")
        pairs.append((role, content))
    return pairs


class Logits:
    """Rows of logits, ``(n_rows, n_vocab)`` float32: ``logits[-1]`` is a row (a float32
    memoryview, or a numpy array when numpy is installed), ``logits[i][j]`` a float,
    ``logits.tolist()`` nested lists, ``numpy.asarray(logits)`` an array."""

    def __init__(self, buf, n_rows, n_vocab):
        self._mv = memoryview(buf).cast("B").cast("f")
        self.shape = (n_rows, n_vocab)
        self.format = "f"
        try:
            import numpy
            self._np = numpy.frombuffer(buf, dtype=numpy.float32).reshape(self.shape)
        except ImportError:
            self._np = None

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, i):
        if isinstance(i, tuple):
            r, c = i
            return self[r][c]
        if self._np is not None:
            return self._np[i]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self.shape[0]))]
        n = self.shape[0]
        if not -n <= i < n:
            raise IndexError(f"row {i} out of range for {n} rows")
        i %= n
        return self._mv[i * self.shape[1]:(i + 1) * self.shape[1]]

    def __iter__(self):
        return (self[i] for i in range(self.shape[0]))

    def __array__(self, dtype=None, copy=None):
        import numpy
        a = numpy.frombuffer(self._mv, dtype=numpy.float32).reshape(self.shape)
        return a.astype(dtype) if dtype is not None else a

    def tolist(self):
        v = self.shape[1]
        flat = self._mv.tolist()
        return [flat[i * v:(i + 1) * v] for i in range(self.shape[0])]


class _Tokenizing(Closing):
    _handle = None

    def tokenize(self, text, add_bos=True, special=False):
        """Text (str or bytes) to token ids. ``special`` parses control-token texts like <|eot_id|>."""
        if isinstance(text, str):
            data = text.encode("utf-8")
        elif isinstance(text, (bytes, bytearray, memoryview)):
            data = bytes(text)
        else:
            raise TypeError(f"tokenize() takes str or bytes, got {type(text).__name__}")
        return _trit.tokenize(self._live(), data, add_bos, special)

    def detokenize(self, ids, special=False):
        """Token ids to text (invalid UTF-8 from partial tokens is replaced)."""
        if isinstance(ids, (str, bytes)):
            raise TypeError("detokenize() takes a list of token ids")
        return _trit.detokenize(self._live(), list(ids), special).decode("utf-8", errors="replace")

    def token_is_eog(self, token_id):
        return _trit.token_is_eog(self._live(), token_id)

    @property
    def n_vocab(self):
        return _trit.n_vocab(self._live())

    def _live(self):
        if self._handle is None:
            raise TritError(_ERR_STATE, "the object is closed")
        return self._handle


class Tokenizer(_Tokenizing):
    """A tokenizer alone, from a GGUF file (even one without tensors) or a Hugging Face folder."""

    def __init__(self, path):
        self._handle = _trit.tokenizer_load(os.fspath(path))

    def close(self):
        if self._handle is not None:
            h, self._handle = self._handle, None
            _trit.close(h)


class Context(Closing):
    """One sequence's state (KV cache) on a model's weights; make more with Model.create_context().
    A context serves one call at a time; contexts of one model may be used from different threads.
    kv_type: how the cache stores keys and values: "f16" (default), "q8_0" or "f32" (exact);
    type_k / type_v set one of them alone. attn_int8: int8 attention scores over a "q8_0" key cache (the
    query quantized per 32 values, integer K·Q dots, as llama.cpp; logits move slightly); the library
    refuses it (TritError) for other key types."""

    def __init__(self, model, n_ctx=0, n_threads=0, n_batch=128, n_seq=1, kv_type="f16", type_k=None, type_v=None,
                 attn_int8=False):
        tk, tv = _kv_types(kv_type, type_k, type_v)
        self.model = model
        self.kv_type = (type_k or kv_type, type_v or kv_type)
        self.attn_int8 = bool(attn_int8)
        self._ctx, self._stream = None, None   # (stop event, thread) of a stream still running
        # the library checks the sizes (and says what is wrong)
        self._ctx = _trit.context_create(model._live(), int32("n_ctx", n_ctx), int32("n_threads", n_threads),
                                         int32("n_batch", n_batch), int32("n_seq", n_seq), tk, tv, bool(attn_int8))
        self.last_result = None

    def close(self):
        """Free the context now (a running stream is stopped first); safe to call twice."""
        self._stop_stream()
        if self._ctx is not None:
            c, self._ctx = self._ctx, None
            _trit.close(c)

    def _context(self):
        if self._ctx is None:
            raise TritError(_ERR_STATE, "the context is closed")
        self._stop_stream()
        return self._ctx

    def _stop_stream(self):
        """A stream abandoned half-way (break, an exception) stops at its next layer or token; a
        finished one is joined. Either way the abort request is withdrawn once its thread has
        ended, so that the context's next eval/score is not aborted."""
        s, self._stream = self._stream, None
        if s is not None:
            stop, thread = s
            stop.set()
            if self._ctx is not None:
                _trit.abort(self._ctx, True)
            thread.join()
            if self._ctx is not None:
                _trit.abort(self._ctx, False)

    @property
    def n_vocab(self):
        return self.model.info["n_vocab"]

    @property
    def n_ctx(self):
        return _trit.context_size(self._context())[1]

    @property
    def n_past(self):
        return _trit.context_size(self._context())[0]

    @property
    def params(self):
        """The context's parameters as the library resolved them: n_ctx, n_threads, n_batch, n_seq,
        n_cells, type_k, type_v, attn_int8, with every 0 = default replaced by the value in use."""
        return _trit.context_params(self._context())

    @property
    def tokens(self):
        """The tokens the context holds, in order."""
        return _trit.context_tokens(self._context())

    def reset(self):
        """Forget the context's tokens."""
        _trit.reset(self._context())

    def truncate(self, n_keep):
        """Keep the first n_keep tokens."""
        _trit.reset(self._context(), int32("n_keep", n_keep))

    def shift(self, n_keep, n_discard):
        """Context shift: drop positions [n_keep, n_keep + n_discard) and move the later ones down,
        their keys re-rotated to the new positions (llama.cpp's context shift)."""
        _trit.shift(self._context(), int32("n_keep", n_keep), int32("n_discard", n_discard))

    def save_state(self, path=None):
        """The context's tokens, KV cache and last logits: written to ``path``, or returned as bytes.
        Load it into a context of the same model and KV types with load_state()."""
        if path is None:
            return _trit.state_save(self._context())
        _trit.state_file(self._context(), os.fspath(path), True)

    def load_state(self, source):
        """Replace the context's state with a saved one (bytes, or a path). Another model's state,
        another KV type, or a truncated or altered state raises TritError; the context is then
        unchanged."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            _trit.state_load(self._context(), bytes(source))
        else:
            _trit.state_file(self._context(), os.fspath(source), False)

    def eval(self, tokens):
        """Append tokens to the context; returns their logits as Logits (row i = the prediction
        after token i; ``logits[-1]`` is the last row)."""
        tokens = _token_list(tokens)
        buf = _trit.eval(self._context(), tokens, True)
        return Logits(buf, len(tokens), self.n_vocab)

    def score(self, context, continuation):
        """(log p(continuation | context), is_greedy). Strings are tokenized: the context with BOS,
        the continuation without. Resets the context."""
        if isinstance(context, str):
            context = self.model.tokenize(context)
        if isinstance(continuation, str):
            continuation = self.model.tokenize(continuation, add_bos=False)
        return _trit.score(self._context(), _token_list(context), _token_list(continuation))

    def eval_batch(self, tokens, seq_ids):
        """Evaluate rows of several sequences in one pass over the weights (n_seq > 1): row i
        appends tokens[i] to sequence seq_ids[i]. Returns Logits, one row per token."""
        tokens = _token_list(tokens)
        buf = _trit.eval_batch(self._context(), tokens, _token_list(seq_ids))
        return Logits(buf, len(tokens), self.n_vocab)

    def embed(self, input, normalize=True, dimensions=None, pooling=None, prompt_name=None, truncate=False):
        """Embeddings as Model.embed (the same arguments), evaluated on this context, whose tokens must
        be none (reset() it first: TritError otherwise); it holds none afterwards."""
        lists, single = _embedding.prepare(self.model, input, prompt_name, truncate and self.n_ctx)
        buf, width = _embedding.embed(self._context(), lists, normalize, dimensions, pooling)
        return _embedding.rows(buf, len(lists), width, single)

    def generate(self, prompt, max_tokens=128, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05,
                 repeat_penalty=1.0, repeat_last_n=64, seed=0xC0FFEE, stop=None, stream=False,
                 ignore_eos=False, reset=True, special=False, context_shift=False, n_keep=0,
                 json_schema=None, regex=None, grammar=None, gbnf=None, jump_forward=True):
        """Generate from ``prompt`` (str, or a list of token ids). Returns the text, or with
        ``stream=True`` an iterator of text pieces. ``reset`` starts from an empty context;
        ``seed=-1`` picks a random seed. Leaving a stream early stops its generation.
        ``context_shift``: when the context is full, drop the older half of the positions after the
        first ``n_keep`` and go on (llama.cpp's --context-shift) instead of stopping.
        ``json_schema`` (a dict or its JSON text), ``regex`` or ``grammar`` (a Lark grammar as
        llguidance takes it, or a trit.Grammar) or ``gbnf`` (llama.cpp's GBNF text): every token is one
        the constraint allows (needs the ``structured`` extra); ``last_result["stop_reason"]`` says
        "length" when max_tokens cut the text before the grammar was complete, "constraint" when it
        allowed no token. ``jump_forward`` (with a constraint): text the grammar forces is appended as
        a prompt chunk instead of being decoded token by token; ``last_result["n_forced_tokens"]``
        counts those tokens (of ``n_generated_tokens``; the rest were sampling steps)."""
        if isinstance(prompt, (bytes, bytearray)):
            raise TypeError("prompt must be str or a list of token ids, not bytes (decode it first)")
        if not isinstance(prompt, str):
            prompt = _token_list(prompt)
        if isinstance(stop, str):
            stop = [stop]
        kw = dict(max_tokens=int32("max_tokens", max_tokens), temperature=float(temperature),
                  top_k=int32("top_k", top_k), top_p=float(top_p), min_p=float(min_p),
                  repeat_penalty=float(repeat_penalty), repeat_last_n=int32("repeat_last_n", repeat_last_n),
                  seed=_seed(seed), stop=list(stop) if stop else None, ignore_eos=bool(ignore_eos),
                  parse_special=bool(special), context_shift=bool(context_shift), n_keep=int32("n_keep", n_keep))
        grammar = Grammar.from_options(json_schema, regex, grammar, gbnf) if (
            json_schema is not None or regex is not None or grammar is not None or gbnf is not None) else None
        if grammar is not None:
            kw["constraint"] = Constraint(self.model, grammar, jump_forward=jump_forward)
        ctx = self._context()
        if reset:
            _trit.reset(ctx)
        _trit.abort(ctx, False)
        if stream:
            return self._streamed(ctx, prompt, kw)
        parts = []
        self.last_result = _trit.generate(ctx, prompt, lambda b: parts.append(b) or True, **kw)
        return b"".join(parts).decode("utf-8", errors="replace")

    def _streamed(self, ctx, prompt, kw):
        q = queue.Queue()
        stop = threading.Event()

        def on_piece(b):
            q.put(b)
            return not stop.is_set()

        def worker():
            try:
                self.last_result = _trit.generate(ctx, prompt, on_piece, **kw)
                q.put(None)
            except BaseException as e:  # delivered to the consumer
                q.put(e)

        t = threading.Thread(target=worker, daemon=True)
        self._stream = (stop, t)
        t.start()
        return self._pieces(q, stop, t)

    def _pieces(self, q, stop, t):
        try:
            while True:
                item = q.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item.decode("utf-8", errors="replace")
        finally:
            if self._stream is not None and self._stream[1] is t:
                self._stop_stream()
            else:
                stop.set()
                t.join()

    def chat(self, messages, template=None, **kw):
        """Generate the assistant's reply to ``messages`` (dicts with role and content, or
        (role, content) pairs), formatted for the model (``template`` forces bitnet, llama3, chatml or plain)."""
        prompt = self.model.format_chat(messages, template, True)
        kw.setdefault("special", True)
        return self.generate(prompt, **kw)


def _token_list(tokens):
    if isinstance(tokens, (str, bytes, bytearray)):
        raise TypeError(f"expected a list of token ids, got {type(tokens).__name__}")
    return list(tokens)


_HEAD_MODES = ("exact", "int8", "certified", "certified4")   # trit_head_mode's order
_TERNARY_LAYOUTS = ("auto", "2bit", "5trit", "both")           # trit_ternary_layout's order


class Model(_Tokenizing):
    """A model and one context (KV cache) for it; more contexts with create_context().

    path: GGUF file or Hugging Face folder (default: the bundled model).
    n_ctx: context positions (0 = the model's training context, at most 4096).
    n_threads: worker threads (0 = one per core). n_batch: prompt tokens per forward pass.
    head: the output head for generated tokens: "exact" (default), "int8" (faster decoding, logits
    move by ~1e-2) or "certified" (exact mode's tokens at nearly int8's speed: the int8 head finds
    the rows that can win, which are computed exactly; logits rows stay exact) or "certified4" (the
    same tokens found with a 4-bit head: fewer bytes a token, more candidates).
    int8_head: the same as head="int8".
    float_activations: group-scaled models (Q1_0, Q2_0, PQ2_0, PTQ1_0) with float activations, the
    reference's arithmetic (slower); default int8 activations.
    kv_type: the default context's KV cache: "f16" (default), "q8_0" or "f32" (exact); type_k /
    type_v set keys or values alone. attn_int8: int8 attention scores (needs a "q8_0" key cache; see Context).
    ternary_layout: how ternary linears (I2_S, TQ2_0, TQ1_0) are held: "auto" (default: the faster form
    on this CPU), "2bit", "5trit" (1.6 bits a weight: fewer bytes a token, more work to decode them; a
    TQ1_0 file's blocks in place on x86, no converted copy) or "both" (5-trit rows, or a TQ1_0 file's blocks, for
    decoding, 2-bit rows for prompts). Logits are the same in every layout.
    """

    def __init__(self, path=None, n_ctx=0, n_threads=0, n_batch=128, int8_head=False, n_seq=1, head=None,
                 float_activations=False, kv_type="f16", type_k=None, type_v=None, ternary_layout="auto",
                 attn_int8=False):
        # what Python can tell before the load (the sizes are checked by the library, at the context)
        if head is None:
            head = "int8" if int8_head else "exact"
        if head not in _HEAD_MODES:
            raise ValueError(f"head must be one of {', '.join(_HEAD_MODES)}, got {head!r}")
        if ternary_layout not in _TERNARY_LAYOUTS:
            raise ValueError(f"ternary_layout must be one of {', '.join(_TERNARY_LAYOUTS)}, got {ternary_layout!r}")
        _kv_types(kv_type, type_k, type_v)
        if path is None:
            path = bundled_model_path()  # no path given: the bundled model, or an error saying where it looked
        self.path = os.fspath(path)
        self._handle = _trit.model_load(self.path, False, _HEAD_MODES.index(head), bool(float_activations),
                                        _TERNARY_LAYOUTS.index(ternary_layout))
        self.head = head
        self.ternary_layout = ternary_layout
        self.info = _trit.model_info(self._handle)
        # the file's Jinja chat template as written (None without one); trit's generation uses its built-in formats
        # (assign another template's text to render chats with it: create_chat_completion, apply_chat_template)
        self.chat_template = _trit.model_chat_template(self._handle)
        self._file_chat_template = self.chat_template
        self._default = self._embedding_ctx = self._api_engine = None
        try:
            self._default = Context(self, n_ctx, n_threads, n_batch, n_seq, kv_type, type_k, type_v, attn_int8)
        except BaseException:
            self.close()   # a context the library refused frees the weights at once
            raise

    @property
    def kv_type(self):
        """(keys, values) cache types of the default context, e.g. ("f16", "f16")."""
        return self._default.kv_type

    def create_context(self, n_ctx=0, n_threads=0, n_batch=128, n_seq=1, kv_type="f16", type_k=None, type_v=None,
                       attn_int8=False):
        """A new context on this model's weights (nothing is loaded twice)."""
        return Context(self, n_ctx, n_threads, n_batch, n_seq, kv_type, type_k, type_v, attn_int8)

    def close(self):
        """Free the default context and the model; safe to call twice. Contexts made with
        create_context() keep working until closed."""
        for name in ("_api_engine", "_default", "_embedding_ctx"):
            c = getattr(self, name, None)
            if c is not None:
                c.close()
        if self._handle is not None:
            h, self._handle = self._handle, None
            _trit.close(h)

    def _ctx(self):
        if self._default is None or self._handle is None:
            raise TritError(_ERR_STATE, "the model is closed")
        return self._default

    @property
    def context(self):
        """The model's default context (the one Model.generate/eval use)."""
        return self._ctx()

    @property
    def last_result(self):
        return self._ctx().last_result

    n_ctx = property(lambda self: self._ctx().n_ctx)
    n_past = property(lambda self: self._ctx().n_past)
    tokens = property(lambda self: self._ctx().tokens)

    def reset(self):
        self._ctx().reset()

    def truncate(self, n_keep):
        self._ctx().truncate(n_keep)

    def shift(self, n_keep, n_discard):
        self._ctx().shift(n_keep, n_discard)

    def save_state(self, path=None):
        return self._ctx().save_state(path)

    def load_state(self, source):
        self._ctx().load_state(source)

    def eval(self, tokens):
        return self._ctx().eval(tokens)

    def score(self, context, continuation):
        return self._ctx().score(context, continuation)

    def eval_batch(self, tokens, seq_ids):
        return self._ctx().eval_batch(tokens, seq_ids)

    def generate(self, prompt, **kw):
        return self._ctx().generate(prompt, **kw)

    generate.__doc__ = Context.generate.__doc__

    def chat(self, messages, template=None, **kw):
        return self._ctx().chat(messages, template, **kw)

    chat.__doc__ = Context.chat.__doc__

    def _embedder(self):
        """The context embeddings are evaluated on, made at the first embed() with the default
        context's sizes and cache types: the default context's conversation is never touched."""
        if self._embedding_ctx is None:
            p = self._ctx().params
            self._embedding_ctx = Context(self, p["n_ctx"], p["n_threads"], p["n_batch"], 1,
                                          type_k=self.kv_type[0], type_v=self.kv_type[1],
                                          attn_int8=self._default.attn_int8)
        return self._embedding_ctx

    def _embed_lists(self, lists, normalize, dimensions, pooling):
        return _embedding.embed(self._embedder()._context(), lists, normalize, dimensions, pooling)

    def embed(self, input, normalize=True, dimensions=None, pooling=None, prompt_name=None, truncate=False):
        """Embeddings of text or token ids, as llama.cpp embeds: the final hidden state after the
        output norm, pooled over the input's positions. ``input``: a str or a list of token ids
        (one row back), or a list of them (a row each). Texts get BOS / EOS as the vocabulary asks
        (BitNet-embedding appends <|endoftext|>). ``pooling``: "last", "mean" or "cls" (the first
        token); None: the file's (GGUF pooling_type, sentence-transformers' Pooling module), else
        last. ``normalize``: divide each row by its L2 norm. ``dimensions``: keep the first n
        components (Matryoshka truncation; normalized after). ``prompt_name``: a prompt of the HF
        folder's config_sentence_transformers.json (e.g. "query") put before every text; None: its
        default_prompt_name, if any. ``truncate``: cut inputs longer than the context (a text keeps
        its appended EOS) instead of raising. Rows are float32: a numpy array (n, width) when numpy
        is installed (one row: shape (width,)), else lists. Runs on a context of its own (made at
        the first call), not the one generate() uses."""
        lists, single = _embedding.prepare(self, input, prompt_name, truncate and self._embedder().n_ctx)
        buf, width = self._embed_lists(lists, normalize, dimensions, pooling)
        return _embedding.rows(buf, len(lists), width, single)

    def create_embedding(self, input, model=None):
        """llama-cpp-python's create_embedding: ``{"object": "list", "data": [{"object": "embedding",
        "index": i, "embedding": [...]}], "model": ..., "usage": {"prompt_tokens": n, "total_tokens":
        n}}``, rows L2-normalized, last-token pooled."""
        return _embedding.create_embedding(self, input, model or os.path.basename(self.path))

    def format_chat(self, messages, template=None, add_generation_prompt=True):
        return _trit.chat_format(self._live(), _messages(messages), template, add_generation_prompt)

    def apply_chat_template(self, messages, tools=None, add_generation_prompt=True, **kwargs):
        """The prompt text of OpenAI-shaped ``messages`` (dicts, with tool_calls and tool results) as
        create_chat_completion renders it: the file's Jinja template (``self.chat_template``; the 2B4T
        file's broken one excepted) with ``tools`` and the template's ``kwargs`` (e.g. enable_thinking),
        else trit's built-in format. Needs the ``chat`` extra (jinja2, pydantic)."""
        from .openai_api.local import template_prompt
        return template_prompt(self, messages, tools, add_generation_prompt, kwargs)

    def create_chat_completion(self, messages, tools=None, tool_choice=None, temperature=0.2, top_p=0.95, top_k=40,
                               min_p=0.05, stream=False, stop=None, seed=None, response_format=None, max_tokens=None,
                               presence_penalty=0.0, frequency_penalty=0.0, repeat_penalty=1.0, logit_bias=None,
                               logprobs=None, top_logprobs=None, n=None, stream_options=None,
                               parallel_tool_calls=None, chat_template_kwargs=None, grammar=None, json_schema=None,
                               model=None, **kwargs):
        """OpenAI's chat completion, as the server answers it (the same code): a ``chat.completion``
        dict, or with ``stream=True`` an iterator of ``chat.completion.chunk`` dicts. llama-cpp-python's
        keywords and defaults; ``grammar`` is GBNF text or a trit.Grammar (as llama-cpp-python's
        LlamaGrammar), ``json_schema`` a schema (llama.cpp's fields);
        any other OpenAI field goes in ``kwargs`` (one this API does not implement raises
        trit.openai_api.errors.ApiError, a ValueError naming it, as a bad value does). Runs on an engine
        of the model's own (4 slots of the default context's size), made at the first call. Needs the
        ``chat`` extra (and ``structured`` for response_format / tools with a forced choice)."""
        from .openai_api.local import chat_completion
        fields = dict(messages=messages, tools=tools, tool_choice=tool_choice, temperature=temperature,
                      top_p=top_p, top_k=top_k, min_p=min_p, stream=stream, stop=stop, seed=seed,
                      response_format=response_format, max_tokens=max_tokens, presence_penalty=presence_penalty,
                      frequency_penalty=frequency_penalty, repeat_penalty=repeat_penalty, logit_bias=logit_bias,
                      logprobs=logprobs, top_logprobs=top_logprobs, n=n, stream_options=stream_options,
                      parallel_tool_calls=parallel_tool_calls, chat_template_kwargs=chat_template_kwargs,
                      grammar=grammar, json_schema=json_schema, model=model)
        return chat_completion(self, fields, kwargs)

    def create_completion(self, prompt, max_tokens=16, temperature=0.8, top_p=0.95, top_k=40, min_p=0.05,
                          stream=False, stop=None, seed=None, echo=False, logprobs=None, presence_penalty=0.0,
                          frequency_penalty=0.0, repeat_penalty=1.0, logit_bias=None, n=None, stream_options=None,
                          response_format=None, grammar=None, json_schema=None, model=None, **kwargs):
        """OpenAI's (legacy) completion, as the server answers it: a ``text_completion`` dict, or with
        ``stream=True`` an iterator of chunks. llama-cpp-python's keywords and defaults (``logprobs``:
        the number of top tokens with each token); see create_chat_completion."""
        from .openai_api.local import completion
        fields = dict(prompt=prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
                      min_p=min_p, stream=stream, stop=stop, seed=seed, echo=echo, logprobs=logprobs,
                      presence_penalty=presence_penalty, frequency_penalty=frequency_penalty,
                      repeat_penalty=repeat_penalty, logit_bias=logit_bias, n=n, stream_options=stream_options,
                      response_format=response_format, grammar=grammar, json_schema=json_schema, model=model)
        return completion(self, fields, kwargs)


from .engine import Engine, Completion, AsyncCompletion  # noqa: E402  (needs Model above)
from .structured import Grammar, Constraint  # noqa: E402
