"""python -m trit.cli run [options]: ``trit run`` with a grammar. The ``trit`` command hands a run
with --json-schema, --grammar or --regex to this module (the grammar engine, llguidance, is a Python
wheel: ``pip install 'trit[structured]'``); the options are ``trit run``'s, the text goes to stdout as
it is produced, the timings to stderr."""
import argparse
import json
import sys

from ._params import KV_TYPES

# trit run's options that this path does not take: an error names them instead of ignoring them
_REFUSED = {"prompt_cache": "--prompt-cache"}


def _parser():
    ap = argparse.ArgumentParser(prog="trit run", description=__doc__)
    ap.add_argument("-m", "--model", help="GGUF file or Hugging Face folder (default: the bundled model)")
    ap.add_argument("-p", "--prompt", default="Once upon a time")
    ap.add_argument("-f", "--file", help="read the prompt from a file")
    ap.add_argument("-t", "--threads", type=int, default=0)
    ap.add_argument("-c", "--ctx-size", type=int, default=0)
    ap.add_argument("-ctk", "--cache-type-k", choices=list(KV_TYPES), default="f16")
    ap.add_argument("-ctv", "--cache-type-v", choices=list(KV_TYPES), default="f16")
    ap.add_argument("--attn-int8", action="store_true", help="int8 attention scores (needs -ctk q8_0)")
    ap.add_argument("-n", "--n-predict", type=int, default=128)
    ap.add_argument("--temp", type=float, default=0.8)
    ap.add_argument("--top-k", type=int, default=40)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--min-p", type=float, default=0.05)
    ap.add_argument("--repeat-penalty", type=float, default=1.0)
    ap.add_argument("--repeat-last-n", type=int, default=64)
    ap.add_argument("-s", "--seed", type=int, default=0xC0FFEE)
    ap.add_argument("--stop", action="append", default=[])
    ap.add_argument("--ignore-eos", action="store_true")
    ap.add_argument("--context-shift", action="store_true")
    ap.add_argument("--keep", type=int, default=0)
    ap.add_argument("--no-bos", action="store_true")
    ap.add_argument("--special", action="store_true")
    ap.add_argument("--no-echo", action="store_true")
    ap.add_argument("--no-timings", action="store_true")
    ap.add_argument("--prompt-cache")
    ap.add_argument("--head", choices=["exact", "int8", "certified"], default=None)
    ap.add_argument("--int8-head", action="store_true")
    ap.add_argument("--float-activations", action="store_true")
    ap.add_argument("--json-schema", metavar="FILE", help="a JSON schema (file) the output must follow")
    ap.add_argument("--grammar", metavar="FILE",
                    help="a grammar file: llama.cpp's GBNF, or llguidance's Lark when the name ends in .lark")
    ap.add_argument("--regex", metavar="R", help="a regular expression the whole output must match")
    ap.add_argument("--no-jump-forward", action="store_true",
                    help="decode text the grammar forces token by token instead of as one prompt chunk")
    return ap


def _read(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(f"trit run: error: cannot read {what} {path}: {e}")


def _grammar(a):
    """The trit.Grammar of the options (ValueError names the option's kind when it does not parse)."""
    from .structured import Grammar
    given = [o for o in ("json_schema", "grammar", "regex") if getattr(a, o) is not None]
    if len(given) != 1:
        raise SystemExit("trit run: error: give exactly one of --json-schema, --grammar, --regex")
    if a.json_schema is not None:
        text = _read(a.json_schema, "--json-schema")
        try:
            schema = json.loads(text)
        except ValueError as e:
            raise SystemExit(f"trit run: error: --json-schema {a.json_schema} is not valid JSON: {e}")
        return Grammar.json_schema(schema)
    if a.grammar is not None:
        text = _read(a.grammar, "--grammar")
        return Grammar.lark(text) if a.grammar.endswith(".lark") else Grammar.gbnf(text)
    return Grammar.regex(a.regex)


def run(argv):
    a = _parser().parse_args(argv)
    for key, name in _REFUSED.items():
        if getattr(a, key) is not None:
            raise SystemExit(f"trit run: error: {name} is not available with a grammar (--json-schema, "
                             "--grammar, --regex)")
    if a.n_predict == 0 or a.n_predict < -1:
        raise SystemExit(f"trit run: error: option -n expects at least 1 (or -1), got {a.n_predict}")
    import trit
    try:
        grammar = _grammar(a)
    except ImportError as e:
        raise SystemExit(f"trit run: error: {e}")
    except ValueError as e:
        raise SystemExit(f"trit run: error: {e}")
    prompt = _read(a.file, "-f") if a.file else a.prompt
    head = "int8" if a.int8_head else a.head
    model = trit.Model(a.model, n_ctx=a.ctx_size, n_threads=a.threads, head=head,
                       float_activations=a.float_activations, type_k=a.cache_type_k, type_v=a.cache_type_v,
                       attn_int8=a.attn_int8)
    try:
        source = model.tokenize(prompt, add_bos=not a.no_bos, special=a.special) if (a.no_bos or a.special) else prompt
        if not a.no_echo:
            sys.stdout.write(prompt)
            sys.stdout.flush()
        for piece in model.generate(source, max_tokens=a.n_predict, temperature=a.temp, top_k=a.top_k,
                                    top_p=a.top_p, min_p=a.min_p, repeat_penalty=a.repeat_penalty,
                                    repeat_last_n=a.repeat_last_n, seed=a.seed, stop=a.stop or None, stream=True,
                                    ignore_eos=a.ignore_eos, context_shift=a.context_shift, n_keep=a.keep,
                                    grammar=grammar, jump_forward=not a.no_jump_forward):
            sys.stdout.write(piece)
            sys.stdout.flush()
        print()
        r = model.last_result
        if not a.no_timings:
            _timings(r)
        if r["stop_reason"] == "constraint":
            sys.stderr.write("trit run: the grammar allowed no token\n")
    finally:
        model.close()


def _timings(r):
    def rate(n, s):
        return f"{n / s:.2f}" if s > 0 else "-"
    steps = r["n_generated_tokens"] - r["n_forced_tokens"]
    sys.stderr.write(f"\nprompt eval = {r['prompt_seconds'] * 1000:.2f} ms / {r['n_prompt_tokens']} tokens "
                     f"({rate(r['n_prompt_tokens'], r['prompt_seconds'])} tokens/s)\n"
                     f"generation  = {r['generation_seconds'] * 1000:.2f} ms / {r['n_generated_tokens']} tokens "
                     f"({rate(r['n_generated_tokens'], r['generation_seconds'])} tokens/s), "
                     f"{r['n_forced_tokens']} forced by the grammar, {steps} sampled\n"
                     f"stopped by  = {r['stop_reason']}\n")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "run":
        raise SystemExit("usage: python -m trit.cli run [trit run's options] (--json-schema FILE | --grammar FILE "
                         "| --regex R)")
    try:
        run(argv[1:])
    except KeyboardInterrupt:
        sys.stderr.write("\n[interrupted]\n")
        raise SystemExit(130)
    except Exception as e:  # the library's and the grammar's errors, named as the trit command names them
        raise SystemExit(f"trit run: error: {e}")


if __name__ == "__main__":
    main()
