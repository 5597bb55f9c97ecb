/* NEON 5-trit product (baseline ARMv8-A: smlsl into i16, sadalp into i32); body in trit5_gemm_body.h. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"
#define TK_ARM_DOT 0
#define TK_ARM_TARGET TK_NEON
#define TK_ARM_NAME tk_trit5_gemm_neon
#include "trit5_gemm_body.h"
#endif
