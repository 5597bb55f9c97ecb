/* The gated delta rule's decode row (generic/delta_step.h) compiled for AVX2 and AVX-512: the scalar
 * form's arithmetic element for element, 8 or 16 elements a vector, never fused (the pragma), so the bits
 * are the scalar form's. The state, 3 MiB a layer at 27B, is read and written once a token: with 16 lanes
 * it streams in 0.6x the scalar form's time on one Zen 4 core. */
#if defined(__x86_64__)
#include "simd_x86.h"
#include "../kernels_internal.h"
#include "../generic/delta_step.h"
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

TK_AVX2 void tk_delta_step_avx2(TK_DELTA_STEP_PARAMS) { TK_DELTA_STEP_BODY }

TK_AVX512 void tk_delta_step_avx512(TK_DELTA_STEP_PARAMS) { TK_DELTA_STEP_BODY }
#endif
