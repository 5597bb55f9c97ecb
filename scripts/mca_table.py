#!/usr/bin/env python3
"""Static throughput estimates (llvm-mca, not measurements) of the ternary products' inner loops on ARM64:
trit's dotprod/i8mm kernels against bitnet.cpp's ARM I2_S kernel and llama.cpp's TQ2_0 NEON vec_dot, all
compiled by the same clang with the same flags, in cycles per 1024 weight x token products (for one token:
cycles per 1024 weights).

    scripts/mca_table.py --bitnet BitNet/src/ggml-bitnet-mad.cpp --ggml ggml/src/ggml-cpu/arch/arm/quants.c

Each kernel is compiled for aarch64 (-O3 -march=armv8.2-a+dotprod+i8mm); the script finds the function's
innermost loop that holds the most integer dot products (sdot / smmla), hands that loop to llvm-mca for each CPU
model and divides its cycles per iteration by the products the loop makes (sdot 16, smmla 32), so unrolling does
not change the figure. The others' functions are read from their sources (paths above) and compiled with a short
prelude of their block types; nothing of theirs is kept here."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARM = os.path.join(ROOT, "Sources", "TritKernels", "arm64")
FLAGS = ["--target=aarch64-linux-gnu", "-O3", "-march=armv8.2-a+dotprod+i8mm", "-S", "-o", "-",
         "-fno-asynchronous-unwind-tables"]
INCLUDE = "-I" + os.path.join(ROOT, "Sources", "TritKernels", "include")
MODELS = ["neoverse-n1", "neoverse-v1", "apple-m1"]
HAS_I8MM = {"neoverse-n1": False, "neoverse-v1": True, "apple-m1": False}   # all three have dotprod

# trit's kernels: one configuration of a body header each, as a function of its own
TRIT_PRELUDE = f'''#include "{ARM}/simd_arm.h"
#include "{ARM}/../kernels_internal.h"
'''
TRIT = {
    "trit dotprod ternary, 1 token": ("c", TRIT_PRELUDE + f'''#define TK_ARM_DOT 1
#define TK_ARM_TARGET TK_DOTPROD
#define TK_ARM_NAME tk_unused
#include "{ARM}/ternary_gemm_body.h"
TK_DOTPROD void mca_kernel(const uint8_t *row, const int8_t *q, int64_t kp, int64_t nb, int32_t *sums) {{
    row_tokens(row, q, kp, nb, 1, 1, sums);
}}''', "mca_kernel", 1),
    "trit dotprod ternary, 4 tokens": ("c", TRIT_PRELUDE + f'''#define TK_ARM_DOT 1
#define TK_ARM_TARGET TK_DOTPROD
#define TK_ARM_NAME tk_unused
#include "{ARM}/ternary_gemm_body.h"
TK_DOTPROD void mca_kernel(const uint8_t *row, const int8_t *q, int64_t kp, int64_t nb, int32_t *sums) {{
    row_tokens(row, q, kp, nb, 4, 1, sums);
}}''', "mca_kernel", 4),
    "trit i8mm ternary, 4 rows x 4 tokens": ("c", TRIT_PRELUDE + f'''#include "{ARM}/ternary_gemm_i8mm.c"
TK_I8MM void mca_kernel(const uint8_t *codes, int64_t rb, const int8_t *q, const int8_t *zq, int64_t kp,
                        int64_t nb, int32_t sums[4][4]) {{
    tile(codes, rb, 0, q, kp, zq, nb, 4, 2, 1, 1, sums);
}}''', "mca_kernel", 4),
    "trit dotprod group tile (G=128), 1 token": ("c", TRIT_PRELUDE + f'''#define TK_ARM_DOT 1
#define TK_ARM_TARGET TK_DOTPROD
#define TK_ARM_NAME tk_unused
#include "{ARM}/group_gemm_body.h"
TK_DOTPROD void mca_kernel(const uint8_t *t, int64_t ng, const int8_t *q, int64_t kp, const int32_t *ns,
                           const float *s, float *out, int64_t ldo) {{
    half_tile(t, 0, 128, 0, ng, q, kp, ns, s, 1, out, ldo, 8);
}}''', "mca_kernel", 1),
    "trit dotprod group tile (G=128), 4 tokens": ("c", TRIT_PRELUDE + f'''#define TK_ARM_DOT 1
#define TK_ARM_TARGET TK_DOTPROD
#define TK_ARM_NAME tk_unused
#include "{ARM}/group_gemm_body.h"
TK_DOTPROD void mca_kernel(const uint8_t *t, int64_t ng, const int8_t *q, int64_t kp, const int32_t *ns,
                           const float *s, float *out, int64_t ldo) {{
    half_tile(t, 0, 128, 0, ng, q, kp, ns, s, 4, out, ldo, 8);
}}''', "mca_kernel", 4),
}

# the others' block types and macros (facts of their formats), ahead of their function's text
BITNET_PRELUDE = "#include <arm_neon.h>\n#include <stddef.h>\n#include <stdint.h>\n#define QK_I2_S 64\n"
GGML_PRELUDE = '''#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <assert.h>
#define GGML_RESTRICT __restrict
#define QK_K 256
#define UNUSED(x) (void)(x)
typedef uint16_t ggml_half;
typedef struct { uint8_t qs[QK_K / 4]; ggml_half d; } block_tq2_0;
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;
static inline float GGML_CPU_FP16_TO_FP32(ggml_half h) { __fp16 f; memcpy(&f, &h, 2); return (float)f; }
void ggml_vec_dot_tq2_0_q8_K_generic(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy,
                                     size_t by, int nrc);
'''


def function_text(path, name):
    """The definition of `name` in the file at path (its signature to the matching closing brace)."""
    src = open(path, encoding="utf-8").read()
    m = re.search(r"\bvoid\s+" + re.escape(name) + r"\s*\([^;{]*\)\s*\{", src)
    if not m:
        sys.exit(f"{path}: no definition of {name}")
    depth, i = 0, m.end() - 1
    while True:
        c = src[i]
        depth += c == "{"
        depth -= c == "}"
        i += 1
        if depth == 0:
            return src[m.start():i]


def assembly(lang, text, clang, gcc_dir):
    with tempfile.NamedTemporaryFile("w", suffix=".c" if lang == "c" else ".cpp", delete=False) as f:
        f.write(text)
    try:
        r = subprocess.run([clang, "-x", "c" if lang == "c" else "c++", f"--gcc-install-dir={gcc_dir}", *FLAGS, INCLUDE,
                            f.name], capture_output=True, text=True)
        if r.returncode:
            sys.exit(r.stderr)
        return r.stdout
    finally:
        os.unlink(f.name)


PRODUCTS = {"sdot": 16, "udot": 16, "smmla": 32, "ummla": 32}


def products(lines):
    return sum(PRODUCTS.get(l.split()[0], 0) for l in lines if l.split())


def hot_loop(asm, fn):
    """The instructions of fn's innermost loop with the most products: a label and the last branch back to it."""
    body, inside = [], False
    for line in asm.splitlines():
        if re.match(rf"^{re.escape(fn)}:", line):
            inside = True
            continue
        if inside and re.match(r"^\.Lfunc_end", line):
            break
        if inside:
            body.append(line)
    labels = {m.group(1): i for i, l in enumerate(body) if (m := re.match(r"^(\.LBB\w+):", l))}
    loops = []
    for j, l in enumerate(body):
        m = re.match(r"^\s+(b(?:\.\w+)?|cbn?z|tbn?z)\s+.*?(\.LBB\w+)\s*$", l)
        if m and m.group(2) in labels and labels[m.group(2)] < j:
            loops.append((labels[m.group(2)], j))
    inner = [(a, b) for a, b in loops if not any(a <= c and d <= b and (c, d) != (a, b) for c, d in loops)]
    best = None
    for a, b in inner:
        insns = [l.strip() for l in body[a + 1:b + 1] if l.startswith("\t") and not l.strip().startswith(".")]
        if best is None or products(insns) > products(best):
            best = insns
    if not best or products(best) == 0:
        sys.exit(f"{fn}: no loop with dot products found")
    return best


def mca_cycles(insns, model, mca):
    out = subprocess.run([mca, "-mtriple=aarch64", f"-mcpu={model}", "-mattr=+dotprod,+i8mm", "-iterations=500"],
                         input="\n".join(insns) + "\n", check=True, capture_output=True, text=True).stdout
    total = int(re.search(r"Total Cycles:\s+(\d+)", out).group(1))
    iters = int(re.search(r"Iterations:\s+(\d+)", out).group(1))
    return total / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bitnet", required=True, help="bitnet.cpp's src/ggml-bitnet-mad.cpp")
    ap.add_argument("--ggml", required=True, help="ggml's src/ggml-cpu/arch/arm/quants.c (or llama.cpp's copy)")
    ap.add_argument("--clang", default="clang")
    ap.add_argument("--mca", default="llvm-mca-19")
    cross = "/usr/lib/gcc-cross/aarch64-linux-gnu"
    ap.add_argument("--gcc-install-dir", default=os.path.join(cross, max(os.listdir(cross), key=int, default=""))
                    if os.path.isdir(cross) else "", help="the aarch64 cross GCC (its sysroot headers)")
    a = ap.parse_args()
    kernels = dict(TRIT)
    kernels["bitnet.cpp I2_S (ggml_vec_dot_i2_i8_s_1x1), 1 token"] = (
        "c++", BITNET_PRELUDE + 'extern "C" {\n' + function_text(a.bitnet, "ggml_vec_dot_i2_i8_s_1x1") + "\n}\n",
        "ggml_vec_dot_i2_i8_s_1x1", 1)
    kernels["llama.cpp TQ2_0 (ggml_vec_dot_tq2_0_q8_K), 1 token"] = (
        "c", GGML_PRELUDE + function_text(a.ggml, "ggml_vec_dot_tq2_0_q8_K"), "ggml_vec_dot_tq2_0_q8_K", 1)
    ver = re.search(r"LLVM version [\w.]+", subprocess.run([a.mca, "--version"], capture_output=True,
                                                          text=True).stdout).group(0)
    cver = subprocess.run([a.clang, "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip()
    print(f"cycles per 1024 weight x token products (static llvm-mca estimates, not measurements)\n"
          f"llvm-mca: {ver}; compiler: {cver}; flags: {' '.join(FLAGS[:3])}\n")
    print(f"| kernel | loop products | " + " | ".join(MODELS) + " |")
    print("|---|---:|" + "---:|" * len(MODELS))
    for name, (lang, text, fn, _) in kernels.items():
        loop = hot_loop(assembly(lang, text, a.clang, a.gcc_install_dir), fn)
        n = products(loop)
        i8mm = any(l.split()[0] in ("smmla", "ummla") for l in loop if l.split())
        cells = [f"{mca_cycles(loop, m, a.mca) / n * 1024:.1f}" if HAS_I8MM[m] or not i8mm else "(no i8mm)"
                 for m in MODELS]
        print(f"| {name} | {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
