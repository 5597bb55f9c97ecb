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
    .trit5_gemm = tk_trit5_gemm_scalar,
    .q4_gemm = tk_q4_gemm_scalar,
    .delta_step = tk_delta_step_scalar,
    .tq1_gemm = tk_tq1_gemm_scalar,
    .attention_q8 = tk_attention_q8_scalar,
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
    .trit5_gemm = tk_trit5_gemm_avx2,
    .q4_gemm = tk_q4_gemm_avx2,
    .delta_step = tk_delta_step_avx2,
    .tq1_gemm = tk_tq1_gemm_avx2,
    .attention_q8 = tk_attention_q8_avx2,
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
    .trit5_gemm = tk_trit5_gemm_avx512vnni,
    .q4_gemm = tk_q4_gemm_avx2,
    .delta_step = tk_delta_step_avx512,
    .tq1_gemm = tk_tq1_gemm_avx512vnni,
    .attention_q8 = tk_attention_q8_avx512vnni,
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
#if defined(__aarch64__)
/* The ARM tables: NEON (every ARMv8-A CPU), dotprod (sdot), i8mm (smmla); a slot without a wider form takes
 * the narrower one. */
static const tk_kernels k_neon = {
    .name = "neon",
    .ternary_gemm = tk_ternary_gemm_neon,
    .dense_gemm = tk_dense_gemm_neon,
    .i8_gemm = tk_i8_gemm_neon,
    .quantize_rows = tk_quantize_rows_neon,
    .attention = tk_attention_neon,
    .rmsnorm = tk_rmsnorm_neon,
    .quantize_weight_rows = tk_quantize_weight_rows_neon,
    .head_bounds = tk_head_bounds_neon,
    .kth_largest = tk_kth_largest_neon,
    .collect_at_least = tk_collect_at_least_neon,
    .head_row_bounds = tk_head_row_bounds_neon,
    .group_gemm = tk_group_gemm_neon,
    .block_gemm = tk_block_gemm_neon,
    .trit5_gemm = tk_trit5_gemm_neon,
    .q4_gemm = tk_q4_gemm_scalar,   /* no NEON form yet */
    .delta_step = tk_delta_step_scalar,
    .tq1_gemm = tk_tq1_gemm_scalar,   /* no NEON form yet */
    .attention_q8 = tk_attention_q8_neon,
};
static const tk_kernels k_dotprod = {
    .name = "dotprod",
    .ternary_gemm = tk_ternary_gemm_dotprod,
    .dense_gemm = tk_dense_gemm_neon,
    .i8_gemm = tk_i8_gemm_dotprod,
    .quantize_rows = tk_quantize_rows_neon,
    .attention = tk_attention_neon,
    .rmsnorm = tk_rmsnorm_neon,
    .quantize_weight_rows = tk_quantize_weight_rows_neon,
    .head_bounds = tk_head_bounds_neon,
    .kth_largest = tk_kth_largest_neon,
    .collect_at_least = tk_collect_at_least_neon,
    .head_row_bounds = tk_head_row_bounds_neon,
    .group_gemm = tk_group_gemm_dotprod,
    .block_gemm = tk_block_gemm_neon,
    .trit5_gemm = tk_trit5_gemm_dotprod,
    .q4_gemm = tk_q4_gemm_scalar,   /* no NEON form yet */
    .delta_step = tk_delta_step_scalar,
    .tq1_gemm = tk_tq1_gemm_scalar,   /* no NEON form yet */
    .attention_q8 = tk_attention_q8_dotprod,
};
static const tk_kernels k_i8mm = {
    .name = "i8mm",
    .ternary_gemm = tk_ternary_gemm_i8mm,
    .dense_gemm = tk_dense_gemm_neon,
    .i8_gemm = tk_i8_gemm_dotprod,
    .quantize_rows = tk_quantize_rows_neon,
    .attention = tk_attention_neon,
    .rmsnorm = tk_rmsnorm_neon,
    .quantize_weight_rows = tk_quantize_weight_rows_neon,
    .head_bounds = tk_head_bounds_neon,
    .kth_largest = tk_kth_largest_neon,
    .collect_at_least = tk_collect_at_least_neon,
    .head_row_bounds = tk_head_row_bounds_neon,
    .group_gemm = tk_group_gemm_dotprod,
    .block_gemm = tk_block_gemm_neon,
    .trit5_gemm = tk_trit5_gemm_dotprod,
    .q4_gemm = tk_q4_gemm_scalar,   /* no NEON form yet */
    .delta_step = tk_delta_step_scalar,
    .tq1_gemm = tk_tq1_gemm_scalar,   /* no NEON form yet */
    .attention_q8 = tk_attention_q8_dotprod,
};

/* The CPU's optional features: the kernel's auxiliary vector on Linux, sysctl on Apple platforms. */
#if defined(__linux__)
#include <sys/auxv.h>
#define TK_HWCAP_ASIMDDP (1ul << 20)   /* <asm/hwcap.h>'s HWCAP_ASIMDDP */
#define TK_HWCAP2_I8MM (1ul << 13)     /* HWCAP2_I8MM */
static int cpu_has_dotprod(void) { return (getauxval(AT_HWCAP) & TK_HWCAP_ASIMDDP) != 0; }
static int cpu_has_i8mm(void) { return cpu_has_dotprod() && (getauxval(AT_HWCAP2) & TK_HWCAP2_I8MM) != 0; }
#elif defined(__APPLE__)
#include <sys/sysctl.h>
static int sysctl_flag(const char *name) {
    int v = 0;
    size_t n = sizeof v;
    return sysctlbyname(name, &v, &n, NULL, 0) == 0 && v != 0;
}
static int cpu_has_dotprod(void) { return sysctl_flag("hw.optional.arm.FEAT_DotProd"); }
static int cpu_has_i8mm(void) { return cpu_has_dotprod() && sysctl_flag("hw.optional.arm.FEAT_I8MM"); }
#else
static int cpu_has_dotprod(void) { return 0; }   /* no way to ask: the NEON table */
static int cpu_has_i8mm(void) { return 0; }
#endif
#endif

const tk_kernels *tk_kernels_named(const char *name) {
    if (!name) return NULL;
    if (strcmp(name, "scalar") == 0) return &k_scalar;
#if defined(__x86_64__)
    if (strcmp(name, "avx2") == 0) return tk_cpu_has_avx2() ? &k_avx2 : NULL;
    if (strcmp(name, "avx512vnni") == 0) return cpu_has_vnni() ? &k_vnni : NULL;
#endif
#if defined(__aarch64__)
    if (strcmp(name, "neon") == 0) return &k_neon;
    if (strcmp(name, "dotprod") == 0) return cpu_has_dotprod() ? &k_dotprod : NULL;
    if (strcmp(name, "i8mm") == 0) return cpu_has_i8mm() ? &k_i8mm : NULL;
#endif
    return NULL;
}

const tk_kernels *tk_kernels_best(void) {
#if defined(__x86_64__)
    if (cpu_has_vnni()) return &k_vnni;
    if (tk_cpu_has_avx2()) return &k_avx2;
#endif
#if defined(__aarch64__)
    if (cpu_has_i8mm()) return &k_i8mm;
    if (cpu_has_dotprod()) return &k_dotprod;
    return &k_neon;
#endif
    return &k_scalar;
}
