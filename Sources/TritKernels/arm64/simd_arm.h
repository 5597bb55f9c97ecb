/* What the ARM64 kernel variants share (compiled into each with its own target). */
#ifndef TRIT_SIMD_ARM_H
#define TRIT_SIMD_ARM_H
#include <arm_neon.h>
#include "trit_kernels.h"

/* The targets of the ARM variants: NEON (ASIMD, every ARMv8-A CPU, so no attribute), dotprod (sdot, ARMv8.2,
 * HWCAP_ASIMDDP / FEAT_DotProd) and i8mm (smmla, ARMv8.6, HWCAP2_I8MM / FEAT_I8MM), which dispatch.c checks
 * before it hands out a table. No -m/-march flags: the rest of the library stays baseline ARMv8-A. */
#define TK_NEON
#define TK_DOTPROD __attribute__((target("+dotprod")))
#define TK_I8MM __attribute__((target("+dotprod,+i8mm")))
#define TK_ALWAYS_INLINE static inline __attribute__((always_inline))

/* Bytes ahead of the weights being read that the products prefetch into L2 (as the x86 forms do). */
#define TK_ARM_PF_DIST 12288

/* Sums of the four i32 lanes of a[0..4) into one vector (lane t: a[t]'s sum). */
TK_ALWAYS_INLINE int32x4_t tk_hsum4_s32(int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3) {
    return vpaddq_s32(vpaddq_s32(a0, a1), vpaddq_s32(a2, a3));
}
/* The sum of 8 f32 lanes (a0..a3 in lo, a4..a7 in hi) in the scalar twins' order (tk_sum8, the AVX2 tk_hsum_ps):
 * ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)), so a chain's value is the x86 one. */
TK_ALWAYS_INLINE float tk_sum8_f32(float32x4_t lo, float32x4_t hi) {
    const float32x4_t s = vaddq_f32(lo, hi), p = vaddq_f32(s, vextq_f32(s, s, 2));
    return vgetq_lane_f32(p, 0) + vgetq_lane_f32(p, 1);
}
#endif
