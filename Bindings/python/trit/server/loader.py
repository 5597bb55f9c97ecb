"""The model and engine of a server, loaded once in the background (/health answers 503 meanwhile,
as Ray Serve expects). A failed load is kept for /health and reported to `on_failure`, which
`python -m trit.server` uses to end the process."""
import logging
import threading

import trit

from .errors import ApiError

log = logging.getLogger("trit.server")


class Loader:
    def __init__(self, settings):
        self.settings = settings
        self.model = self.engine = self.error = None
        self.n_ctx_slot = None     # positions one request may hold (the engine's, resolved)
        self.on_failure = None     # called with the error text when the load fails
        self._started = False
        self._lock = threading.Lock()
        self._loaded = threading.Event()

    def _load(self):
        s = self.settings
        try:
            m = trit.Model(s.model, n_ctx=8, n_threads=1, int8_head=s.int8_head, head=s.head,
                           ternary_layout=s.ternary_layout)
            try:   # the template is read and compiles (jinja2 is there) before the first request
                if s.chat_template_file:
                    with open(s.chat_template_file, encoding="utf-8") as f:
                        m.chat_template = f.read()
                from ..chat_template import for_model
                for_model(m)
            except BaseException:
                m.close()
                raise
            try:
                e = trit.Engine(m, n_seq=s.parallel, n_ctx=s.n_ctx, n_threads=s.threads, queue_limit=s.queue_limit,
                                type_k=s.type_k, type_v=s.type_v, attn_int8=s.attn_int8, checkpoints=s.checkpoints,
                                min_prompt_tokens=s.min_prompt_tokens)
            except BaseException:
                m.close()
                raise
            self.n_ctx_slot = e.stats()["n_ctx_slot"]
            try:   # response_format's view of the vocabulary, made once, before the first request
                from ..structured import tokenizer_for
                tokenizer_for(m)
            except ImportError:
                pass   # without the structured extra a response_format is a 400 naming it
            self.model, self.engine = m, e
        except Exception as e:
            self.error = str(e)
            log.error("the model failed to load: %s", self.error)
        finally:
            self._loaded.set()
        if self.error and self.on_failure is not None:
            self.on_failure(self.error)

    def start(self):
        """Starts loading (once), in the process that serves: uvicorn's startup, or a Ray Serve
        replica's constructor."""
        with self._lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._load, daemon=True, name="trit-load").start()

    def wait(self, timeout=None):
        """Starts loading and waits for it (a Ray Serve replica is routed to once it returns)."""
        self.start()
        self._loaded.wait(timeout)
        if self.error:
            raise RuntimeError(f"the model failed to load: {self.error}")

    def ready(self):
        """The engine, or ApiError: 503 while loading, 500 after a failed load."""
        if self.error:
            raise ApiError(500, f"the model failed to load: {self.error}", type_="server_error")
        if self.engine is None:
            raise ApiError(503, "the model is loading", type_="server_error", headers={"Retry-After": "1"})
        return self.engine
