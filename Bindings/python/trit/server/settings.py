"""What a server runs with: the model, the engine's sizes, the HTTP limits."""
import dataclasses


@dataclasses.dataclass
class ServerSettings:
    model: str = None
    api_key: str = None
    parallel: int = 4
    n_ctx: int = 0
    threads: int = 0
    int8_head: bool = False
    head: str = None   # "exact", "int8", "certified", "certified4" (None: int8 when int8_head, else exact)
    ternary_layout: str = "auto"   # ternary linears held as "auto", "2bit", "5trit" or "both" (trit.Model's)
    alias: str = None
    queue_limit: int = 64
    max_body: int = 1 << 20
    cors: list = dataclasses.field(default_factory=list)
    replica: str = None      # sent as X-Trit-Replica on every response (default host:pid)
    type_k: str = "f16"      # KV cache of keys / values: f16, q8_0 or f32
    type_v: str = "f16"
    attn_int8: bool = False  # int8 attention scores (needs type_k q8_0; trit.Engine's attn_int8)
    min_prompt_tokens: int = 16   # prompt tokens a step takes at least while requests decode (Engine's)
    checkpoints: int = 4     # hybrid models: recurrent-state checkpoints a slot keeps (llama.cpp's --ctx-checkpoints)
    embedding_batch: int = 256   # inputs one /v1/embeddings request may hold
    chat_template_file: str = None   # a Jinja chat template used instead of the model file's (llama.cpp's flag)
