"""python -m trit.server --model PATH [options]: serve a model with OpenAI's HTTP API."""
import argparse
import os
import sys

from trit._params import KV_TYPES


def parse(argv=None):
    """(the parsed arguments, the ServerSettings they give)."""
    ap = argparse.ArgumentParser(prog="trit-server", description=__doc__)
    ap.add_argument("--model", "-m", help="GGUF file or Hugging Face folder (default: the bundled model)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--api-key", default=os.environ.get("TRIT_API_KEY"),
                    help="require 'Authorization: Bearer KEY' on /v1 (default: $TRIT_API_KEY; none: open)")
    ap.add_argument("--parallel", "-np", type=int, default=4, help="requests decoded together (engine slots)")
    ap.add_argument("--ctx-size", "-c", type=int, default=0, help="context per request (0: the model's, at most 4096)")
    ap.add_argument("--cache-type-k", "-ctk", choices=list(KV_TYPES), default="f16",
                    help="KV cache type of keys (default f16; f32 is exact)")
    ap.add_argument("--cache-type-v", "-ctv", choices=list(KV_TYPES), default="f16",
                    help="KV cache type of values (default f16)")
    ap.add_argument("--attn-int8", action="store_true",
                    help="int8 attention scores over a q8_0 key cache (-ctk q8_0): the query quantized per 32 values, "
                         "integer K·Q dots as llama.cpp; logits move slightly")
    ap.add_argument("--min-prompt-tokens", type=int, default=16,
                    help="prompt tokens a step takes at least while requests decode (default 16: short gaps between "
                         "the streams' tokens while prompts arrive; the batch size, 128: every step filled, as "
                         "llama-server does, for more tokens/s with many clients)")
    ap.add_argument("--ctx-checkpoints", "-ctxcp", "--swa-checkpoints", type=int, default=4, dest="ctx_checkpoints",
                    help="hybrid models (qwen35): recurrent-state checkpoints each slot keeps at prompt chunk ends, "
                         "so a chat's next turn resumes within the shared prefix (0 to 64, default 4)")
    ap.add_argument("--threads", "-t", type=int, default=0, help="threads (0: one per core)")
    ap.add_argument("--head", choices=["exact", "int8", "certified", "certified4"], default=None,
                    help="output head: exact (default), int8 (faster, logits move by ~1e-2) or certified "
                         "(exact mode's tokens at nearly int8's speed; logprobs requests use the exact head)")
    ap.add_argument("--int8-head", action="store_true", help="the same as --head int8")
    ap.add_argument("--ternary-layout", choices=["auto", "2bit", "5trit", "both"], default="auto",
                    help="how ternary weights are held: auto (default), 2bit, 5trit (1.6 bits a weight) or both "
                         "(5-trit rows for decoding, 2-bit rows for prompts); the logits are the same")
    ap.add_argument("--alias", help="model name reported by /v1/models (default: the file name)")
    ap.add_argument("--queue-limit", type=int, default=64, help="waiting requests beyond which the server answers 429")
    ap.add_argument("--max-body", type=int, default=1 << 20, help="largest request body in bytes (413 beyond)")
    ap.add_argument("--embedding-batch", type=int, default=256, help="inputs one /v1/embeddings request may hold")
    ap.add_argument("--chat-template-file", help="a Jinja chat template to use instead of the model file's")
    ap.add_argument("--cors", action="append", default=[], help="allowed CORS origin (repeatable; none by default)")
    a = ap.parse_args(argv)
    from .settings import ServerSettings
    return a, ServerSettings(model=a.model, api_key=a.api_key, parallel=a.parallel, n_ctx=a.ctx_size,
                             threads=a.threads, int8_head=a.int8_head, head=a.head, ternary_layout=a.ternary_layout,
                             alias=a.alias,
                             queue_limit=a.queue_limit, max_body=a.max_body, cors=a.cors, type_k=a.cache_type_k,
                             type_v=a.cache_type_v, attn_int8=a.attn_int8, checkpoints=a.ctx_checkpoints,
                             min_prompt_tokens=a.min_prompt_tokens,
                             embedding_batch=a.embedding_batch, chat_template_file=a.chat_template_file)


def main(argv=None):
    a, s = parse(argv)
    try:
        import uvicorn
    except ImportError:
        sys.exit('trit.server needs its extras: pip install "./Bindings/python[server]"')
    from .app import create_app
    app = create_app(s)
    server = uvicorn.Server(uvicorn.Config(app, host=a.host, port=a.port, log_level="info"))

    def load_failed(error):   # the loading thread: stop serving; the process then exits non-zero
        server.should_exit = True
    app.state.loader.on_failure = load_failed
    server.run()
    if app.state.loader.error:
        sys.exit(f"trit-server: the model failed to load: {app.state.loader.error}")


if __name__ == "__main__":
    main()
