/* NEON ternary product (baseline ARMv8-A: smlal into i16, sadalp into i32); body in ternary_gemm_body.h. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"
#define TK_ARM_DOT 0
#define TK_ARM_TARGET TK_NEON
#define TK_ARM_NAME tk_ternary_gemm_neon
#include "ternary_gemm_body.h"
#endif
