/* dotprod ternary product (sdot: 4 code·q products into each i32 lane); body in ternary_gemm_body.h. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"
#define TK_ARM_DOT 1
#define TK_ARM_TARGET TK_DOTPROD
#define TK_ARM_NAME tk_ternary_gemm_dotprod
#include "ternary_gemm_body.h"
#endif
