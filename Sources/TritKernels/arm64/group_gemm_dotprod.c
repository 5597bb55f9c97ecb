/* dotprod group-scaled product (sdot by lane); body in group_gemm_body.h. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"
#define TK_ARM_DOT 1
#define TK_ARM_TARGET TK_DOTPROD
#define TK_ARM_NAME tk_group_gemm_dotprod
#include "group_gemm_body.h"
#endif
