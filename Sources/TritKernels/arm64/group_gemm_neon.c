/* NEON group-scaled product (smlal into i16 lanes); body in group_gemm_body.h. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"
#define TK_ARM_DOT 0
#define TK_ARM_TARGET TK_NEON
#define TK_ARM_NAME tk_group_gemm_neon
#include "group_gemm_body.h"
#endif
