/* The certified head's selection steps in AVX2 (docs/formats.md §7): the same bits as the scalar
 * forms in generic/head_select.c. The bound uses the same f32 operations in the same order (no FMA);
 * the k-th largest is a value, found by skipping 8 values at a time that cannot enter the top k. */
#if defined(__x86_64__)
#include <float.h>
#include <math.h>
#include "simd_x86.h"
#include "../kernels_internal.h"

TK_AVX2 int64_t tk_head_bounds_avx2(const float *l, const float *a, const float *b, float norm, float eps,
                                    float rel, int64_t n, float *lo, float *hi) {
    const __m256 vn = _mm256_set1_ps(norm), ve = _mm256_set1_ps(eps), vr = _mm256_set1_ps(rel);
    const __m256 vabs = _mm256_set1_ps(TK_HEAD_ABS);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 inf = _mm256_set1_ps(INFINITY);
    __m256i bad = _mm256_setzero_si256();
    int64_t r = 0;
    for (; r + 8 <= n; r += 8) {
        const __m256 v = _mm256_loadu_ps(l + r);
        const __m256 av = _mm256_and_ps(v, absmask);
        /* not finite: |v| not < inf (NaN compares false) */
        bad = _mm256_sub_epi32(bad, _mm256_castps_si256(_mm256_cmp_ps(av, inf, _CMP_NLT_UQ)));
        __m256 e = _mm256_mul_ps(_mm256_loadu_ps(a + r), vn);
        e = _mm256_add_ps(e, _mm256_mul_ps(_mm256_loadu_ps(b + r), ve));
        e = _mm256_add_ps(e, _mm256_mul_ps(vr, av));
        e = _mm256_add_ps(e, vabs);
        _mm256_storeu_ps(lo + r, _mm256_sub_ps(v, e));
        _mm256_storeu_ps(hi + r, _mm256_add_ps(v, e));
    }
    int64_t nbad = tk_hsum_i32(bad);
    if (r < n) nbad += tk_head_bounds_scalar(l + r, a + r, b + r, norm, eps, rel, n - r, lo + r, hi + r);
    return nbad;
}

TK_AVX2 float tk_kth_largest_avx2(const float *v, int64_t n, int64_t k, float *top) {
    for (int64_t i = 0; i < k; i++) top[i] = -INFINITY;
    float kth = -INFINITY;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(v + i);
        int mask = _mm256_movemask_ps(_mm256_cmp_ps(x, _mm256_set1_ps(kth), _CMP_GT_OQ));
        while (mask) {
            const int j = __builtin_ctz(mask);
            mask &= mask - 1;
            if (v[i + j] > kth) kth = tk_kth_insert(top, k, v[i + j]);
        }
    }
    for (; i < n; i++)
        if (v[i] > kth) kth = tk_kth_insert(top, k, v[i]);
    return n >= k ? kth : -INFINITY;
}

TK_AVX2 int64_t tk_collect_at_least_avx2(const float *v, int64_t n, float t, int32_t *idx) {
    const __m256 vt = _mm256_set1_ps(t);
    int64_t c = 0, r = 0;
    for (; r + 8 <= n; r += 8) {
        int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(v + r), vt, _CMP_GE_OQ));
        while (mask) {
            idx[c++] = (int32_t)(r + __builtin_ctz(mask));
            mask &= mask - 1;
        }
    }
    for (; r < n; r++)
        if (v[r] >= t) idx[c++] = (int32_t)r;
    return c;
}

/* The per-row constants at load: the scalar form's arithmetic 8 columns at a time (max and integer
 * sums are exact; each |W − c·q| is one FMA, as fmaf). */
TK_AVX2 void tk_head_row_bounds_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                                     const int8_t *q, int64_t Kp, const float *scale, float *a, float *b) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 fmax = _mm256_set1_ps(FLT_MAX);
    const int64_t K8 = K / 8 * 8;
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *qr = q + r * Kp;
        const float sc = scale[r];
        const __m256 nsc = _mm256_set1_ps(-sc);
        __m256 ev = _mm256_setzero_ps(), mv = _mm256_setzero_ps(), badv = _mm256_setzero_ps();
        __m256i lv = _mm256_setzero_si256();
        for (int64_t k = 0; k < K8; k += 8) {
            const __m256 x = tk_dense8(w, dtype, r * K + k);
            const __m256i qi = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(qr + k)));
            const __m256 d = _mm256_and_ps(_mm256_fmadd_ps(nsc, _mm256_cvtepi32_ps(qi), x), absmask);
            const __m256 ax = _mm256_and_ps(x, absmask);
            /* not finite: not <= FLT_MAX (NaN compares false) */
            badv = _mm256_or_ps(badv, _mm256_cmp_ps(d, fmax, _CMP_NLE_UQ));
            badv = _mm256_or_ps(badv, _mm256_cmp_ps(ax, fmax, _CMP_NLE_UQ));
            ev = _mm256_max_ps(ev, d);
            mv = _mm256_max_ps(mv, ax);
            lv = _mm256_add_epi32(lv, _mm256_abs_epi32(qi));
        }
        tk_head_row_rest(w, dtype, K, r, K8, qr, sc, tk_hmax_ps(ev), tk_hmax_ps(mv), tk_hsum_i32(lv),
                         _mm256_movemask_ps(badv) != 0, &a[r], &b[r]);
    }
}
#endif
