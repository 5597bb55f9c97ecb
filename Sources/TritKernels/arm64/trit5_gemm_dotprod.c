/* dotprod 5-trit product (sdot into i32); body in trit5_gemm_body.h. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"
#define TK_ARM_DOT 1
#define TK_ARM_TARGET TK_DOTPROD
#define TK_ARM_NAME tk_trit5_gemm_dotprod
#include "trit5_gemm_body.h"
#endif
