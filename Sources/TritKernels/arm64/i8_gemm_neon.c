/* NEON int8 head product (smull, sadalp); body in i8_gemm_body.h. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"
#define TK_ARM_DOT 0
#define TK_ARM_TARGET TK_NEON
#define TK_ARM_NAME tk_i8_gemm_neon
#include "i8_gemm_body.h"
#endif
