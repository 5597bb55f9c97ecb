"""trit: run BitNet b1.58 ternary language models on a CPU.

    import trit
    with trit.Model("model.gguf", n_ctx=512) as m:
        print(m.generate("Once upon a time", max_tokens=32, seed=42))
        for piece in m.generate("The sea", stream=True):
            print(piece, end="", flush=True)
"""
import os
import queue
import threading

from ._errors import TritError
from . import _trit

__all__ = ["Model", "Tokenizer", "TritError", "__version__", "default_model_path"]
__version__ = _trit.VERSION


def default_model_path():
    """The bundled model, if this package sits in a trit checkout (Models/trit-bundled-i2_s.gguf)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in [os.getcwd()] + [os.path.join(here, *[".."] * k) for k in range(1, 5)]:
        p = os.path.join(d, "Models", "trit-bundled-i2_s.gguf")
        if os.path.exists(p):
            return os.path.abspath(p)
    return None


class _Tokenizing:
    _handle = None

    def tokenize(self, text, add_bos=True, special=False):
        """Text (str or bytes) to token ids. ``special`` parses control-token texts like <|eot_id|>."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        return _trit.tokenize(self._live(), data, add_bos, special)

    def detokenize(self, ids, special=False):
        """Token ids to text (invalid UTF-8 from partial tokens is replaced)."""
        return _trit.detokenize(self._live(), list(ids), special).decode("utf-8", errors="replace")

    def token_is_eog(self, token_id):
        return _trit.token_is_eog(self._live(), token_id)

    @property
    def n_vocab(self):
        return _trit.n_vocab(self._live())

    def _live(self):
        if self._handle is None:
            raise TritError(6, "the object is closed")
        return self._handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Tokenizer(_Tokenizing):
    """A tokenizer alone, from a GGUF file (even one without tensors) or a Hugging Face folder."""

    def __init__(self, path):
        self._handle = _trit.tokenizer_load(os.fspath(path))

    def close(self):
        if self._handle is not None:
            h, self._handle = self._handle, None
            _trit.close(h)


class Model(_Tokenizing):
    """A model and one context (KV cache) for it.

    path: GGUF file or Hugging Face folder (default: the bundled model).
    n_ctx: context positions (0 = the model's training context, at most 4096).
    n_threads: worker threads (0 = one per core). n_batch: prompt tokens per forward pass.
    int8_head: int8 output head (faster decoding, logits move by ~1e-2; default exact).
    """

    def __init__(self, path=None, n_ctx=0, n_threads=0, n_batch=128, int8_head=False, n_seq=1):
        if path is None:
            path = default_model_path()
            if path is None:
                raise TritError(1, "no model path given and the bundled model was not found")
        self.path = os.fspath(path)
        self._handle = _trit.model_load(self.path, int8_head)
        self._ctx = _trit.context_create(self._handle, n_ctx, n_threads, n_batch, n_seq)
        self.info = _trit.model_info(self._handle)

    def close(self):
        """Free the context and the model; safe to call twice."""
        if getattr(self, "_ctx", None) is not None:
            c, self._ctx = self._ctx, None
            _trit.close(c)
        if self._handle is not None:
            h, self._handle = self._handle, None
            _trit.close(h)

    def _context(self):
        if self._ctx is None:
            raise TritError(6, "the model is closed")
        return self._ctx

    @property
    def n_ctx(self):
        return _trit.context_size(self._context())[1]

    @property
    def n_past(self):
        return _trit.context_size(self._context())[0]

    def reset(self):
        """Forget the context's tokens."""
        _trit.reset(self._context())

    def eval(self, tokens):
        """Append tokens to the context; returns their logits as a (len(tokens), n_vocab) float32
        memoryview (row i = prediction after token i)."""
        tokens = list(tokens)
        buf = _trit.eval(self._context(), tokens, self.info["n_vocab"], True)
        return memoryview(buf).cast("B").cast("f", (len(tokens), self.info["n_vocab"]))

    def score(self, context, continuation):
        """(log p(continuation | context), is_greedy). Strings are tokenized: the context with BOS,
        the continuation without. Resets the context."""
        if isinstance(context, str):
            context = self.tokenize(context)
        if isinstance(continuation, str):
            continuation = self.tokenize(continuation, add_bos=False)
        return _trit.score(self._context(), list(context), list(continuation))

    def eval_batch(self, tokens, seq_ids):
        """Evaluate rows of several sequences in one pass over the weights (n_seq > 1): row i
        appends tokens[i] to sequence seq_ids[i]. Returns a (len(tokens), n_vocab) memoryview."""
        tokens = list(tokens)
        buf = _trit.eval_batch(self._context(), tokens, list(seq_ids), self.info["n_vocab"])
        return memoryview(buf).cast("B").cast("f", (len(tokens), self.info["n_vocab"]))

    def generate(self, prompt, max_tokens=128, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05,
                 repeat_penalty=1.0, repeat_last_n=64, seed=0xC0FFEE, stop=None, stream=False,
                 ignore_eos=False, reset=True, special=False):
        """Generate from ``prompt`` (str, or a list of token ids). Returns the text, or with
        ``stream=True`` an iterator of text pieces. ``reset`` starts from an empty context."""
        if reset:
            self.reset()
        kw = dict(max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                  repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                  stop=list(stop) if stop else None, ignore_eos=ignore_eos, parse_special=special)
        if not isinstance(prompt, str):
            prompt = list(prompt)
        if stream:
            return self._stream(prompt, kw)
        parts = []
        self.last_result = _trit.generate(self._context(), prompt, lambda b: parts.append(b) or True, **kw)
        return b"".join(parts).decode("utf-8", errors="replace")

    def _stream(self, prompt, kw):
        q = queue.Queue()
        stop_flag = threading.Event()
        ctx = self._context()

        def on_piece(b):
            q.put(b)
            return not stop_flag.is_set()

        def worker():
            try:
                self.last_result = _trit.generate(ctx, prompt, on_piece, **kw)
                q.put(None)
            except BaseException as e:  # delivered to the consumer
                q.put(e)

        t = threading.Thread(target=worker, daemon=True)
        t.start()
        try:
            while True:
                item = q.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item.decode("utf-8", errors="replace")
        finally:
            stop_flag.set()
            t.join()

    def chat(self, messages, template=None, **kw):
        """Generate the assistant's reply to ``messages`` (dicts with role and content, or
        (role, content) pairs), formatted for the model (``template`` forces bitnet, llama3 or plain)."""
        pairs = [(m["role"], m["content"]) if isinstance(m, dict) else tuple(m) for m in messages]
        prompt = _trit.chat_format(self._handle, pairs, template, True)
        kw.setdefault("special", True)
        return self.generate(prompt, **kw)

    def format_chat(self, messages, template=None, add_generation_prompt=True):
        pairs = [(m["role"], m["content"]) if isinstance(m, dict) else tuple(m) for m in messages]
        return _trit.chat_format(self._handle, pairs, template, add_generation_prompt)
