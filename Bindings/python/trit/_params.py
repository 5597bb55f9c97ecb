"""Python values to the C API's types. Only what a C parameter's type demands is checked here (an
int that fits int32, a seed that fits uint64, a cache type's name); every rule about what a value
may be (ranges, limits) is the library's, which refuses with its own message."""
from ._errors import TritError
from . import _trit

_INT32 = (-2**31, 2**31 - 1)

# the names llama.cpp's -ctk / -ctv take, to trit.h's trit_kv_type ids
KV_TYPES = {"f32": _trit.KV_F32, "f16": _trit.KV_F16, "q8_0": _trit.KV_Q8_0}


def int32(name, value):
    """value as a C int32_t: an int (not a bool) that fits, else TypeError / TritError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not _INT32[0] <= value <= _INT32[1]:
        raise TritError(_trit.ERR_ARG, f"{name} = {value} does not fit in a 32-bit int")
    return value


def seed(value):
    """llama-cpp-python's convention: -1 (or None) is a random seed (trit.h's TRIT_SEED_RANDOM);
    otherwise an int that fits uint64_t."""
    if value is None or (value == -1 and not isinstance(value, bool)):
        return _trit.SEED_RANDOM
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise TritError(_trit.ERR_ARG, f"seed must be -1 (random) or an int in [0, 2**64), got {value!r}")
    return value


def kv_type_ids(kv_type, type_k, type_v):
    """The (keys, values) trit_kv_type ids of kv_type / type_k / type_v (names as llama.cpp's -ctk)."""
    ids = []
    for name, v in [("type_k", type_k if type_k is not None else kv_type),
                    ("type_v", type_v if type_v is not None else kv_type)]:
        if not isinstance(v, str) or v.lower() not in KV_TYPES:
            raise ValueError(f"{name} must be one of {', '.join(KV_TYPES)}, got {v!r}")
        ids.append(KV_TYPES[v.lower()])
    return ids
