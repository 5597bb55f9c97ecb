"""Embeddings (trit.h's trit_embed): the inputs a caller may give, the rows it gets back, and
llama-cpp-python's create_embedding dict. Used by Context.embed and Model.embed."""
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


def embed(ctx_handle, lists, normalize, dimensions, pooling, seq_id=0):
    """(bytearray of n × width float32, width)."""
    if dimensions is None:
        dimensions = 0
    elif isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
        raise TritError(_trit.ERR_ARG, f"dimensions must be a positive int (or None: all), got {dimensions!r}")
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
