"""Reference values of ggml's block types for trit's block decoders and block product (Tests/TritTests/kernels/
BlockGemmTests.swift), from an outside implementation: gguf-py's `gguf.quants` (numpy, ggml's dequantize_row_*).

For each of Q4_0, Q8_0, Q4_K, Q5_K, Q6_K: random blocks (random code bytes, f16 scales drawn from a moderate range so
no weight is inf/NaN), written as <type>.bin (the raw blocks) and <type>.f32 (their weights as little-endian f32, from
gguf.quants.dequantize). Run with /work/fixvenv/bin/python (gguf 0.19.0, numpy); seed fixed, output deterministic."""
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

BLOCKS = {T.Q4_0: (32, 18), T.Q8_0: (32, 34), T.Q4_K: (256, 144), T.Q5_K: (256, 176), T.Q6_K: (256, 210)}
N_BLOCKS = 12

def f16_bytes(rng, n, lo, hi):
    v = (rng.uniform(lo, hi, n) * rng.choice([-1.0, 1.0], n)).astype(np.float16)
    return v.view(np.uint8).reshape(n, 2)

def blocks(rng, t):
    elems, size = BLOCKS[t]
    b = rng.integers(0, 256, (N_BLOCKS, size), dtype=np.uint8)
    if t in (T.Q4_0, T.Q8_0):
        b[:, 0:2] = f16_bytes(rng, N_BLOCKS, 1e-3, 2e-2)
    elif t in (T.Q4_K, T.Q5_K):   # d and dmin first; scales/mins are any 6-bit values
        b[:, 0:2] = np.abs(f16_bytes(rng, N_BLOCKS, 1e-4, 1e-3).view(np.float16)).view(np.uint8).reshape(-1, 2)
        b[:, 2:4] = np.abs(f16_bytes(rng, N_BLOCKS, 1e-4, 1e-3).view(np.float16)).view(np.uint8).reshape(-1, 2)
    else:                          # Q6_K: d last
        b[:, 208:210] = f16_bytes(rng, N_BLOCKS, 1e-5, 5e-4)
    return b

rng = np.random.default_rng(3131)
for t in BLOCKS:
    b = blocks(rng, t)
    w = dequantize(b.reshape(-1), t).astype(np.float32).reshape(-1)
    assert w.size == N_BLOCKS * BLOCKS[t][0] and np.isfinite(w).all()
    name = t.name.lower()
    b.tofile(f"{name}.bin")
    w.astype("<f4").tofile(f"{name}.f32")
    print(name, b.nbytes, "bytes,", w.size, "weights, max |w|", float(np.abs(w).max()))
