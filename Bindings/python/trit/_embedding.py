"""Embeddings (trit.h's trit_embed): the inputs a caller may give, the rows it gets back, and
llama-cpp-python's create_embedding dict. Used by Context.embed and Model.embed."""
import json
import os

from ._errors import TritError
from . import _trit
from ._params import int32

# trit.h's trit_pooling ids ("first" is "cls")
POOLINGS = {None: 0, "last": 1, "mean": 2, "cls": 3, "first": 3}


def pooling_id(pooling):
    if isinstance(pooling, str):
        pooling = pooling.lower()
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be 'last', 'mean' or 'cls' (None: the model's default), got {pooling!r}")
    return POOLINGS[pooling]


def token_lists(model, inputs):
    """(list of token lists, single): a str or one token list is a single input; a list of them a
    batch. Texts are tokenized with BOS as the vocabulary asks."""
    def one(x, i):
        if isinstance(x, str):
            return model.tokenize(x)
        if isinstance(x, (bytes, bytearray)):
            raise TypeError(f"input {i} is bytes: give text as str, or token ids")
        try:
            ids = list(x)
        except TypeError:
            raise TypeError(f"input {i} must be a str or a list of token ids, got {type(x).__name__}") from None
        for j, t in enumerate(ids):
            if isinstance(t, bool) or not isinstance(t, int):
                raise TypeError(f"token {j} of input {i} must be an int, got {type(t).__name__}")
        return ids
    if isinstance(inputs, str):
        return [one(inputs, 0)], True
    inputs = list(inputs)
    if not inputs:
        raise ValueError("no inputs to embed")
    if all(isinstance(t, int) and not isinstance(t, bool) for t in inputs):
        return [inputs], True
    return [one(x, i) for i, x in enumerate(inputs)], False


def prompts(model):
    """({name: prefix}, default name or None) of sentence-transformers' config_sentence_transformers.json in
    the model's HF folder (query/document prefixes); ({}, None) for a GGUF file or a folder without one."""
    path = os.path.join(model.path, "config_sentence_transformers.json")
    if not os.path.isfile(path):
        return {}, None
    with open(path, encoding="utf-8") as f:
        c = json.load(f)
    found = c.get("prompts") or {}
    if not isinstance(found, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
        raise ValueError(f"{path}: 'prompts' is not an object of strings")
    return found, c.get("default_prompt_name")


def with_prompt(model, inputs, prompt_name):
    """The inputs with the named prompt before each text (token lists as given), as sentence-transformers'
    encode(prompt_name=...); prompt_name None: the file's default_prompt_name, if any."""
    found, default = prompts(model)
    name = prompt_name if prompt_name is not None else default
    if name is None:
        return inputs
    if name not in found:
        have = ", ".join(sorted(found)) or "none"
        raise ValueError(f"prompt_name {name!r} is not among the model's prompts ({have}; "
                         f"config_sentence_transformers.json of an HF folder)")
    prefix = found[name]
    if isinstance(inputs, str):
        return prefix + inputs
    if isinstance(inputs, (list, tuple)):
        return [prefix + x if isinstance(x, str) else x for x in inputs]
    return inputs


def prepare(model, input, prompt_name, n_ctx):
    """(token lists, single) of Model.embed's input: the prompt before every text, then (n_ctx not
    None / 0) each list truncated to n_ctx tokens."""
    input = with_prompt(model, input, prompt_name)
    lists, single = token_lists(model, input)
    if n_ctx:
        if isinstance(input, str):
            texts = [True]
        elif single:
            texts = [False]
        else:
            texts = [isinstance(x, str) for x in input]
        lists = truncated(model, lists, texts, n_ctx)
    return lists, single


def truncated(model, lists, texts, n_ctx):
    """Each list cut to n_ctx tokens; a text keeps the tokens the vocabulary appends (EOS for
    last-token pooling) at its end, as a Hugging Face tokenizer truncates."""
    full, bare = model.tokenize("a"), model.tokenize("a", add_bos=False)
    suffix = []
    for i in range(len(full) - len(bare) + 1):
        if full[i:i + len(bare)] == bare:
            suffix = full[i + len(bare):]
            break
    out = []
    for ids, is_text in zip(lists, texts):
        if len(ids) <= n_ctx:
            out.append(ids)
        elif is_text and suffix and ids[-len(suffix):] == suffix and n_ctx > len(suffix):
            out.append(ids[:n_ctx - len(suffix)] + suffix)
        else:
            out.append(ids[:n_ctx])
    return out


def dimensions_arg(dimensions):
    """trit_embed_params.dimensions: 0 for None, else a positive int."""
    if dimensions is None:
        return 0
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
        raise TritError(_trit.ERR_ARG, f"dimensions must be a positive int (or None: all), got {dimensions!r}")
    return int32("dimensions", dimensions)


def embed(ctx_handle, lists, normalize, dimensions, pooling, seq_id=0):
    """(bytearray of n × width float32, width)."""
    dimensions = dimensions_arg(dimensions)
    flat = [t for ids in lists for t in ids]
    return _trit.embed(ctx_handle, flat, [len(ids) for ids in lists], pooling_id(pooling), bool(normalize),
                       int32("dimensions", dimensions), int32("seq_id", seq_id))


def rows(buf, n, width, single):
    """A (n, width) float32 numpy array (a row when single) when numpy is installed, else lists."""
    try:
        import numpy
    except ImportError:
        flat = memoryview(buf).cast("B").cast("f").tolist()
        out = [flat[i * width:(i + 1) * width] for i in range(n)]
    else:
        out = numpy.frombuffer(buf, dtype=numpy.float32).reshape(n, width)
    return out[0] if single else out


def create_embedding(model, input, model_name):
    """llama-cpp-python's create_embedding: OpenAI's embeddings response as a dict."""
    lists, single = token_lists(model, input)
    buf, width = model._embed_lists(lists, True, None, None)
    flat = memoryview(buf).cast("B").cast("f").tolist()
    n_tokens = sum(len(t) for t in lists)
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": flat[i * width:(i + 1) * width]}
                 for i in range(len(lists))],
        "model": model_name,
        "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens},
    }
