/* An f32 multiply-add probe: every pool thread runs 12 independent FMA chains of the widest vectors
 * this CPU has (x86/fma_probe_x86.c, NEON on arm64, else scalar fmaf), so a caller timing it gets the
 * cores' f32 FMA rate at once (`trit bench --concurrency`'s bound for the f32 output head). */
#include <math.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

typedef struct { int64_t iters, lanes; float sums[64]; } fma_job;

static float fma_chains(int64_t iters, int64_t *lanes) {
#if defined(__aarch64__)
    float32x4_t acc[12];
    const float32x4_t m = vdupq_n_f32(0.999999f), a = vdupq_n_f32(1e-7f);
    for (int c = 0; c < 12; c++) acc[c] = vdupq_n_f32((float)c);
    for (int64_t i = 0; i < iters; i++)
        for (int c = 0; c < 12; c++) acc[c] = vfmaq_f32(a, acc[c], m);
    float s = 0;
    for (int c = 0; c < 12; c++) s += vaddvq_f32(acc[c]);
    *lanes = 4;
    return s;
#else
#if defined(__x86_64__)
    if (tk_cpu_has_avx512()) { *lanes = 16; return tk_fma_probe_avx512(iters); }
    if (tk_cpu_has_avx2()) { *lanes = 8; return tk_fma_probe_avx2(iters); }
#endif
    float acc[12];
    for (int c = 0; c < 12; c++) acc[c] = (float)c;
    for (int64_t i = 0; i < iters; i++)
        for (int c = 0; c < 12; c++) acc[c] = fmaf(acc[c], 0.999999f, 1e-7f);
    float s = 0;
    for (int c = 0; c < 12; c++) s += acc[c];
    *lanes = 1;
    return s;
#endif
}

static void fma_worker(void *ctx, int ith, int nth) {
    fma_job *j = ctx;
    int64_t lanes = 1;
    (void)nth;
    j->sums[ith % 64] = fma_chains(j->iters, &lanes);
    if (ith == 0) j->lanes = lanes;
}

int64_t tk_fma_probe(tk_pool *pool, int64_t iters, float *sink) {
    fma_job j = {iters, 1, {0}};
    tk_pool_run(pool, fma_worker, &j);
    float s = 0;
    for (int i = 0; i < 64; i++) s += j.sums[i];
    if (sink) *sink = s;
    return (int64_t)tk_pool_size(pool) * iters * 12 * j.lanes;
}
