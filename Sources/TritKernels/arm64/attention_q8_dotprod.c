/* dotprod int8 attention over a Q8_0 key cache; body in attention_q8_body.h. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"
#define TK_ARM_DOT 1
#define TK_ARM_TARGET TK_DOTPROD
#define TK_ARM_NAME tk_attention_q8_dotprod
#include "attention_q8_body.h"
#endif
