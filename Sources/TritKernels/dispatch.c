/* Kernel selection: one table per instruction set, chosen once by CPU features. */
#include <string.h>
#include "trit_kernels.h"
#include "kernels_internal.h"

static const tk_kernels k_scalar = {"scalar", tk_ternary_gemm_scalar, tk_dense_gemm_scalar, tk_i8_gemm_scalar,
                                   tk_quantize_rows, tk_attention_scalar, tk_rmsnorm,
                                   tk_quantize_weight_rows, tk_head_bounds_scalar, tk_kth_largest_scalar,
                                   tk_collect_at_least_scalar, tk_head_row_bounds_scalar,
                                   tk_group_gemm_scalar};
#if defined(__x86_64__)
static const tk_kernels k_avx2 = {"avx2", tk_ternary_gemm_avx2, tk_dense_gemm_avx2, tk_i8_gemm_avx2,
                                 tk_quantize_rows_avx2, tk_attention_avx2, tk_rmsnorm_avx2,
                                 tk_quantize_weight_rows_avx2, tk_head_bounds_avx2, tk_kth_largest_avx2,
                                 tk_collect_at_least_avx2, tk_head_row_bounds_avx2, tk_group_gemm_avx2};
static const tk_kernels k_vnni = {"avx512vnni", tk_ternary_gemm_avx512vnni, tk_dense_gemm_avx512, tk_i8_gemm_avx512vnni,
                                 tk_quantize_rows_avx2, tk_attention_avx512, tk_rmsnorm_avx2,
                                 tk_quantize_weight_rows_avx2, tk_head_bounds_avx2, tk_kth_largest_avx2,
                                 tk_collect_at_least_avx2, tk_head_row_bounds_avx2, tk_group_gemm_avx512vnni};

static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
static int cpu_has_vnni(void) {
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}
#endif

const tk_kernels *tk_kernels_named(const char *name) {
    if (!name) return NULL;
    if (strcmp(name, "scalar") == 0) return &k_scalar;
#if defined(__x86_64__)
    if (strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &k_avx2 : NULL;
    if (strcmp(name, "avx512vnni") == 0) return cpu_has_vnni() ? &k_vnni : NULL;
#endif
    return NULL;
}

const tk_kernels *tk_kernels_best(void) {
#if defined(__x86_64__)
    if (cpu_has_vnni()) return &k_vnni;
    if (cpu_has_avx2()) return &k_avx2;
#endif
    return &k_scalar;
}
