/* Kernel selection: one table per instruction set, chosen once by CPU features. */
#include <string.h>
#include "trit_kernels.h"
#include "kernels_internal.h"

static const tk_kernels k_scalar = {
    .name = "scalar",
    .ternary_gemm = tk_ternary_gemm_scalar,
    .dense_gemm = tk_dense_gemm_scalar,
    .i8_gemm = tk_i8_gemm_scalar,
    .quantize_rows = tk_quantize_rows,
    .attention = tk_attention_scalar,
    .rmsnorm = tk_rmsnorm,
    .quantize_weight_rows = tk_quantize_weight_rows,
    .head_bounds = tk_head_bounds_scalar,
    .kth_largest = tk_kth_largest_scalar,
    .collect_at_least = tk_collect_at_least_scalar,
    .head_row_bounds = tk_head_row_bounds_scalar,
    .group_gemm = tk_group_gemm_scalar,
    .block_gemm = tk_block_gemm_scalar,
};
#if defined(__x86_64__)
static const tk_kernels k_avx2 = {
    .name = "avx2",
    .ternary_gemm = tk_ternary_gemm_avx2,
    .dense_gemm = tk_dense_gemm_avx2,
    .i8_gemm = tk_i8_gemm_avx2,
    .quantize_rows = tk_quantize_rows_avx2,
    .attention = tk_attention_avx2,
    .rmsnorm = tk_rmsnorm_avx2,
    .quantize_weight_rows = tk_quantize_weight_rows_avx2,
    .head_bounds = tk_head_bounds_avx2,
    .kth_largest = tk_kth_largest_avx2,
    .collect_at_least = tk_collect_at_least_avx2,
    .head_row_bounds = tk_head_row_bounds_avx2,
    .group_gemm = tk_group_gemm_avx2,
    .block_gemm = tk_block_gemm_avx2,
};
/* The AVX2 forms where there is no wider one. */
static const tk_kernels k_vnni = {
    .name = "avx512vnni",
    .ternary_gemm = tk_ternary_gemm_avx512vnni,
    .dense_gemm = tk_dense_gemm_avx512,
    .i8_gemm = tk_i8_gemm_avx512vnni,
    .quantize_rows = tk_quantize_rows_avx2,
    .attention = tk_attention_avx512,
    .rmsnorm = tk_rmsnorm_avx2,
    .quantize_weight_rows = tk_quantize_weight_rows_avx2,
    .head_bounds = tk_head_bounds_avx2,
    .kth_largest = tk_kth_largest_avx2,
    .collect_at_least = tk_collect_at_least_avx2,
    .head_row_bounds = tk_head_row_bounds_avx2,
    .group_gemm = tk_group_gemm_avx512vnni,
    .block_gemm = tk_block_gemm_avx512,
};

/* The features of simd_x86.h's targets: TK_AVX2, TK_AVX512, and TK_VNNI. */
int tk_cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
int tk_cpu_has_avx512(void) {
    return tk_cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}
static int cpu_has_vnni(void) { return tk_cpu_has_avx512() && __builtin_cpu_supports("avx512vnni"); }
#endif

const tk_kernels *tk_kernels_named(const char *name) {
    if (!name) return NULL;
    if (strcmp(name, "scalar") == 0) return &k_scalar;
#if defined(__x86_64__)
    if (strcmp(name, "avx2") == 0) return tk_cpu_has_avx2() ? &k_avx2 : NULL;
    if (strcmp(name, "avx512vnni") == 0) return cpu_has_vnni() ? &k_vnni : NULL;
#endif
    return NULL;
}

const tk_kernels *tk_kernels_best(void) {
#if defined(__x86_64__)
    if (cpu_has_vnni()) return &k_vnni;
    if (tk_cpu_has_avx2()) return &k_avx2;
#endif
    return &k_scalar;
}
