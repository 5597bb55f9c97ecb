/* dotprod int8 head product (sdot); body in i8_gemm_body.h. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"
#define TK_ARM_DOT 1
#define TK_ARM_TARGET TK_DOTPROD
#define TK_ARM_NAME tk_i8_gemm_dotprod
#include "i8_gemm_body.h"
#endif
