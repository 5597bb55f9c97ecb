/* What the AVX2 and AVX-512 VNNI forms of the group-scaled product share (group_gemm_avx2.c,
 * group_gemm_avx512vnni.c): the tiles' prefetch distance, the activation broadcast and the passes over
 * the tiles. Included by those two files only, inside their x86 guard. */
#ifndef TRIT_GROUP_GEMM_X86_H
#define TRIT_GROUP_GEMM_X86_H
#include <string.h>
#include "simd_x86.h"
#include "../kernels_internal.h"

/* The tiles stream in order: each group's lines are prefetched this far ahead into L1 (farther
 * measured worse). */
#define PF_AHEAD 4096

/* 4 activations as one 32-bit lane value */
TK_ALWAYS_INLINE int32_t act4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The passes over the tiles (TILE: tile256 or tile512): prompts PROMPT_TOKENS tokens a pass, then the
 * last 1-3 tokens of a batch in one pass, so two or three decode rows read the weights once, not once
 * each. */
#define PROMPT_TOKENS 4
#define GROUP_PASSES(TILE)                                                                                      \
    const int64_t tb = tk_group_tile_bytes(G, ONE_BIT);                                                        \
    int64_t t0 = 0;                                                                                            \
    for (; t0 + PROMPT_TOKENS <= n; t0 += PROMPT_TOKENS)                                                       \
        for (int64_t r = r0; r < r1; r += 16)                                                                  \
            TILE(tiles + (r / 16) * n_groups * tb, G, ONE_BIT, n_groups, q + t0 * Kp, Kp, nsum + t0 * n_groups, \
                 s + t0, PROMPT_TOKENS, out + t0 * ldo + r, ldo, r1 - r < 16 ? (int)(r1 - r) : 16);            \
    const int64_t rest = n - t0;                                                                               \
    for (int64_t r = r0; rest > 0 && r < r1; r += 16) {                                                        \
        const uint8_t *tile = tiles + (r / 16) * n_groups * tb;                                                \
        const int nv = r1 - r < 16 ? (int)(r1 - r) : 16;                                                       \
        const int8_t *qt = q + t0 * Kp;                                                                        \
        const int32_t *nt = nsum + t0 * n_groups;                                                              \
        float *o = out + t0 * ldo + r;                                                                         \
        if (rest == 1) TILE(tile, G, ONE_BIT, n_groups, qt, Kp, nt, s + t0, 1, o, ldo, nv);                    \
        else if (rest == 2) TILE(tile, G, ONE_BIT, n_groups, qt, Kp, nt, s + t0, 2, o, ldo, nv);               \
        else TILE(tile, G, ONE_BIT, n_groups, qt, Kp, nt, s + t0, 3, o, ldo, nv);                              \
    }
#endif
