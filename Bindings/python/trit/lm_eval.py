"""An lm-eval (EleutherAI lm-evaluation-harness) model adapter for trit.

    lm_eval --model trit --model_args path=Models/trit-bundled-i2_s.gguf,n_ctx=512 --tasks ...

or from Python: ``TritLM(path=...)``. lm-eval is optional: the class works with any request
objects that carry ``.args`` as lm-eval's Instance does, so it is tested without lm-eval.
"""
from . import Model

try:  # register with lm-eval when it is installed
    from lm_eval.api.model import LM as _Base
    from lm_eval.api.registry import register_model as _register
except Exception:  # pragma: no cover - lm-eval absent
    _Base = object

    def _register(*names):
        return lambda cls: cls


@_register("trit")
class TritLM(_Base):
    def __init__(self, path=None, n_ctx=2048, n_threads=0, max_gen_toks=128, **kw):
        if _Base is not object:
            super().__init__()
        self.model = Model(path, n_ctx=int(n_ctx), n_threads=int(n_threads))
        self.max_gen_toks = int(max_gen_toks)

    @classmethod
    def create_from_arg_string(cls, arg_string, additional_config=None):
        args = dict(kv.split("=", 1) for kv in arg_string.split(",") if kv)
        return cls(**args)

    def _bos(self):
        bos = self.model.info["bos"]
        return [bos] if bos >= 0 else []

    def loglikelihood(self, requests, disable_tqdm=True):
        """[(log p(continuation | context), is_greedy)] for requests with args (context, continuation)."""
        out = []
        for r in requests:
            context, continuation = r.args[0], r.args[1]
            # tokenize the whole text and split where the context ends, as lm-eval's HF adapter does
            whole = self.model.tokenize(context + continuation, add_bos=False)
            ctx = self.model.tokenize(context, add_bos=False) if context else []
            cont = whole[len(ctx):] if whole[:len(ctx)] == ctx else self.model.tokenize(continuation, add_bos=False)
            out.append(tuple(self.model.score(self._bos() + ctx, cont)))
        return out

    def loglikelihood_rolling(self, requests, disable_tqdm=True):
        """Total log-likelihood of each text (args[0]), in windows of n_ctx tokens."""
        out = []
        n_ctx = self.model.n_ctx
        for r in requests:
            toks = self.model.tokenize(r.args[0], add_bos=False)
            total, start = 0.0, 0
            while start < len(toks):
                window = toks[start:start + n_ctx - 1]
                lp, _ = self.model.score(self._bos(), window)
                total += lp
                start += len(window)
            out.append(total)
        return out

    def generate_until(self, requests, disable_tqdm=True):
        out = []
        for r in requests:
            context, gen_kwargs = r.args[0], (r.args[1] if len(r.args) > 1 else {})
            until = gen_kwargs.get("until", [])
            if isinstance(until, str):
                until = [until]
            text = self.model.generate(context, max_tokens=int(gen_kwargs.get("max_gen_toks", self.max_gen_toks)),
                                       temperature=float(gen_kwargs.get("temperature", 0.0)), stop=until or None)
            out.append(text)
        return out
