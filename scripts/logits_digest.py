#!/usr/bin/env python3
"""Digest of every fixture's logits, per kernel variant and KV type, through libtrit's C API.

Run before and after a change that must not move a number: the two outputs must be equal
line for line. `python3 scripts/logits_digest.py [path/to/libtrit.so]` (default build/lib).
Variants the CPU lacks are reported as such, not skipped silently.
"""
import ctypes, hashlib, json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
KV = {"f32": 0, "f16": 1, "q8_0": 8}
# trit_model_params.ternary_layout (0 auto, 1 2-bit, 2 5-trit, 3 both): every layout must print the same lines
LAYOUT = int(os.environ.get("TRIT_DIGEST_TERNARY_LAYOUT", "0"))


def models():
    for fam in sorted(os.listdir(FIX)):
        d = os.path.join(FIX, fam)
        ref = os.path.join(d, "reference.json")
        if not os.path.isfile(ref):
            continue
        j = json.load(open(ref))
        # the embedding fixtures list texts / inputs (pooled hidden states): the tokens of their
        # longest one that fits the 64-position context below
        listed = [t["tokens"] for t in j.get("texts", j.get("inputs", [])) if len(t["tokens"]) <= 64]
        tokens = j["tokens"] if "tokens" in j else max(listed, key=len)
        yield from files(d, fam, tokens)
        # gemma3-tiny keeps its forms (plain/, bidir/, bitnet/) one folder down
        for sub in sorted(os.listdir(d)):
            p = os.path.join(d, sub)
            if os.path.isdir(p) and not os.path.isfile(os.path.join(p, "config.json")):
                yield from files(p, f"{fam}/{sub}", tokens)


def files(d, label, tokens):
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if name.endswith(".gguf") or (os.path.isdir(p) and os.path.isfile(os.path.join(p, "config.json"))):
            yield f"{label}/{name}", p, tokens


def child(lib_path, kernel):
    lib = ctypes.CDLL(lib_path)

    class CtxParams(ctypes.Structure):
        _fields_ = [("size", ctypes.c_uint32), ("n_ctx", ctypes.c_int32), ("n_threads", ctypes.c_int32),
                    ("n_batch", ctypes.c_int32), ("n_seq", ctypes.c_int32), ("abort_callback", ctypes.c_void_p),
                    ("abort_user_data", ctypes.c_void_p), ("n_cells", ctypes.c_int32),
                    ("type_k", ctypes.c_int32), ("type_v", ctypes.c_int32)]

    class ModelParams(ctypes.Structure):
        _fields_ = [("size", ctypes.c_uint32), ("progress", ctypes.c_void_p), ("progress_user_data", ctypes.c_void_p),
                    ("int8_head", ctypes.c_bool), ("head", ctypes.c_int32), ("float_activations", ctypes.c_bool),
                    ("ternary_layout", ctypes.c_int32)]

    lib.trit_last_error.restype = ctypes.c_char_p
    for label, path, tokens in models():
        for fa in (False, True):
            mp = ModelParams(size=ctypes.sizeof(ModelParams), float_activations=fa, ternary_layout=LAYOUT)
            m = ctypes.c_void_p()
            st = lib.trit_model_load(path.encode(), ctypes.byref(mp), ctypes.byref(m))
            if st != 0:
                print(f"{kernel} {label} fa={int(fa)} load-error {st} {lib.trit_last_error().decode()}")
                continue
            for kv, kid in KV.items():
                for nb in (128, 5):
                    cp = CtxParams(size=ctypes.sizeof(CtxParams), n_ctx=64, n_threads=2, n_batch=nb, n_seq=1,
                                   type_k=kid, type_v=kid)
                    c = ctypes.c_void_p()
                    assert lib.trit_context_create(m, ctypes.byref(cp), ctypes.byref(c)) == 0, lib.trit_last_error()
                    toks = (ctypes.c_int32 * len(tokens))(*tokens)
                    nv = 1 << 20
                    buf = (ctypes.c_float * (len(tokens) * 1024 * 160))()
                    st = lib.trit_eval(c, toks, len(tokens), buf)
                    vocab = ctypes.c_int32()
                    lp = ctypes.POINTER(ctypes.c_float)()
                    lib.trit_get_logits(c, ctypes.byref(lp), ctypes.byref(vocab))
                    raw = bytes(ctypes.string_at(buf, len(tokens) * vocab.value * 4))
                    print(f"{kernel} {label} fa={int(fa)} kv={kv} nb={nb} st={st} "
                          f"{hashlib.sha256(raw).hexdigest()[:16]}")
                    lib.trit_context_free(c)
            lib.trit_model_free(m)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], os.environ.get("TRIT_KERNEL", "auto"))
        sys.exit(0)
    lib_path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "lib", "libtrit.so"))
    for kernel in ("scalar", "avx2", "avx512vnni"):
        r = subprocess.run([sys.executable, __file__, "--child", lib_path], env={**os.environ, "TRIT_KERNEL": kernel},
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{kernel}: not run here ({(r.stderr.strip().splitlines() or ['?'])[-1]})")
        else:
            sys.stdout.write(r.stdout)
