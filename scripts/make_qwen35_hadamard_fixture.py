#!/usr/bin/env python3
"""The Hadamard-folded pair of the qwen35 fixture (Tests/Fixtures/qwen35-ternary-g128-tiny/hadamard/).

- model.pq2_0.gguf: the fixture's PQ2_0 file (same ternary codes, same seed) with `prism.hadamard.*` keys
  (version 1, block 128, explicit random ±1 signs per input width) listing every ternary linear: its
  weights W_file as stored, to be read with x' = H·(s ⊙ x) before each product
  (../shared/spec/group-ternary.md §7).
- model.twin.f32.gguf: the unfolded twin, each listed weight stored as F32 W = W_file·H·diag(s), no keys.

The two compute the same function, so trit's logits on them must agree (within float rounding) when the
folded file applies the transform; without it they differ grossly. Written with the fixture script's own
GGUF writer (scripts/make_qwen35_fixture.py).

usage: /work/fixvenv/bin/python scripts/make_qwen35_hadamard_fixture.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_qwen35_fixture as fx  # noqa: E402

BLOCK = 128
OUT = os.path.join(fx.OUT, "hadamard")


def hadamard(n):
    h = np.array([[1.0]])
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h / np.sqrt(n)


def main():
    rng = np.random.default_rng(fx.SEED)
    lin, other = fx.weights(rng)   # the fixture's weights (same seed, same order)
    srng = np.random.default_rng(3502)
    widths = sorted({cs.shape[1] for cs, _ in lin.values()})
    signs = {w: srng.choice([-1, 1], size=w) for w in widths}
    hb = hadamard(BLOCK)
    os.makedirs(OUT, exist_ok=True)
    listed = []

    # the folded file: the PQ2_0 bytes as they are, the keys added at write time
    class FoldedWriter(fx.Writer):
        def write(self, path):
            self.add("prism.hadamard.version", 4, 1)
            self.add("prism.hadamard.block_size", 4, BLOCK)
            self.add("prism.hadamard.transform", 8, "normalized-sylvester-walsh-hadamard")
            self.add("prism.hadamard.axis", 8, "input-last-dimension")
            self.add("prism.hadamard.sign_mode", 8, "explicit")
            self.add("prism.hadamard.sign_widths", 9, (5, widths))
            self.add("prism.hadamard.sign_values", 9, (5, [int(v) for w in widths for v in signs[w]]))
            self.add("prism.hadamard.weight_names", 9, (8, [t[0] for t in self.tensors if t[2] == 142]))
            self.add("prism.hadamard.gdn_v_grouped", 7, False)
            listed.extend(t[0] for t in self.tensors if t[2] == 142)
            super().write(path)

    fx.Writer = FoldedWriter
    fx.write_gguf(lin, other, os.path.join(OUT, "model.pq2_0.gguf"), 128, 142)

    # the twin: each linear as F32 W_file·H·diag(s) (blockwise H), through the same writer
    def dense_twin(codes, scales, group):
        w = fx.dense(codes, scales).astype(np.float64)
        cols = w.shape[1]
        hfull = np.kron(np.eye(cols // BLOCK), hb)
        return (w @ hfull @ np.diag(signs[cols])).astype(np.float32).tobytes()

    fx.Writer = fx.Writer.__mro__[1]
    fx.pack2 = dense_twin
    fx.write_gguf(lin, other, os.path.join(OUT, "model.twin.f32.gguf"), 128, 0)
    print(f"{len(listed)} folded weights, widths {widths}", file=sys.stderr)


if __name__ == "__main__":
    main()
