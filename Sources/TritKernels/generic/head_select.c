/* The certified head (docs/formats.md §7): the bounds of the exact logits around the int8 ones,
 * the threshold a row must reach to stay a candidate, and the candidates. Scalar forms; the AVX2
 * forms (x86/head_select_avx2.c) give the same bits. */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

/* The bound is a sum of rounded f32 steps; contracting them into FMAs would change the bits (not
 * the rigour) between variants. */
#pragma STDC FP_CONTRACT OFF

int64_t tk_head_bounds_scalar(const float *l, const float *a, const float *b, float norm, float eps,
                              float rel, int64_t n, float *lo, float *hi) {
    int64_t bad = 0;
    for (int64_t r = 0; r < n; r++) {
        const float v = l[r];
        bad += !isfinite(v);
        float e = a[r] * norm;
        e = e + b[r] * eps;
        e = e + rel * fabsf(v);
        e = e + TK_HEAD_ABS;
        lo[r] = v - e;
        hi[r] = v + e;
    }
    return bad;
}

/* Keeps the k largest seen so far in scratch, descending; scratch[k-1] is the k-th. */
float tk_kth_insert(float *top, int64_t k, float v) {
    int64_t j = k - 1;
    while (j > 0 && top[j - 1] < v) { top[j] = top[j - 1]; j--; }
    top[j] = v;
    return top[k - 1];
}

float tk_kth_largest_scalar(const float *v, int64_t n, int64_t k, float *top) {
    for (int64_t i = 0; i < k; i++) top[i] = -INFINITY;
    float kth = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (v[i] > kth) kth = tk_kth_insert(top, k, v[i]);
    return n >= k ? kth : -INFINITY;
}

int64_t tk_collect_at_least_scalar(const float *v, int64_t n, float t, int32_t *idx) {
    int64_t c = 0;
    for (int64_t r = 0; r < n; r++)
        if (v[r] >= t) idx[c++] = (int32_t)r;
    return c;
}

/* The rounding unit of f32, and the margin every bound is multiplied by: it covers the f32
 * rounding of the few operations that combine the constants at run time (docs/formats.md §7). */
#define U24 (1.0 / 16777216.0)
#define MARGIN (1.0 + 1.0 / 524288.0)   /* 1 + 2^-19 */

/* x rounded up to an f32 (a double above every f32 becomes +inf). */
static float up(double x) {
    float f = (float)x;
    if ((double)f < x) f = nextafterf(f, INFINITY);
    return f;
}

/* The finishing step shared by the variants: from a row's max |W − c·q| (each difference rounded
 * once: an FMA), max |W| and Σ|q|. A non-finite row gets the largest constant: always a candidate. */
void tk_head_row_finish(float err, float m, int64_t l1, double K, float sc, float *a, float *b) {
    const double gamma = K * U24 / (1.0 - K * U24);
    /* err is each |W − c·q| rounded once (≤ u off); MARGIN covers that too */
    const float av = up(((double)err + gamma * (double)m) * MARGIN);
    const float bv = up((double)sc * (double)l1 * MARGIN);
    *a = av <= FLT_MAX ? av : FLT_MAX;
    *b = bv <= FLT_MAX ? bv : FLT_MAX;
}

void tk_head_row_rest(const void *w, tk_dtype dtype, int64_t K, int64_t r, int64_t k0, const int8_t *qr, float sc,
                      float err, float m, int64_t l1, int bad, float *a, float *b) {
    for (int64_t k = k0; k < K; k++) {
        const float x = tk_dense_element(w, dtype, r * K + k);
        const float d = fabsf(fmaf(-sc, (float)qr[k], x));
        bad |= !(d <= FLT_MAX) || !(fabsf(x) <= FLT_MAX);
        err = d > err ? d : err;
        m = fabsf(x) > m ? fabsf(x) : m;
        l1 += qr[k] < 0 ? -qr[k] : qr[k];
    }
    tk_head_row_finish(bad ? INFINITY : err, m, l1, (double)K, sc, a, b);
}

void tk_head_row_bounds_scalar(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                               const int8_t *q, int64_t Kp, const float *scale, float *a, float *b) {
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *qr = q + r * Kp;
        tk_head_row_rest(w, dtype, K, r, 0, qr, scale[r], 0, 0, 0, 0, &a[r], &b[r]);
    }
}

typedef struct {
    tk_head_row_bounds_fn fn;
    const void *w; tk_dtype dtype; int64_t K, rows;
    const int8_t *q; int64_t Kp; const float *scale; float *a, *b;
    _Atomic int64_t next;
} row_bounds_job;

static void row_bounds_worker(void *p, int ith, int nth) {
    row_bounds_job *j = p;
    (void)ith; (void)nth;
    const int64_t step = 256;
    for (int64_t r0; (r0 = atomic_fetch_add(&j->next, step)) < j->rows;) {
        const int64_t r1 = r0 + step < j->rows ? r0 + step : j->rows;
        j->fn(j->w, j->dtype, j->K, r0, r1, j->q, j->Kp, j->scale, j->a, j->b);
    }
}

void tk_head_row_bounds_par(tk_pool *pool, tk_head_row_bounds_fn fn, const void *w, tk_dtype dtype, int64_t K,
                            int64_t rows, const int8_t *q, int64_t Kp, const float *scale, float *a, float *b) {
    row_bounds_job j = {fn, w, dtype, K, rows, q, Kp, scale, a, b, 0};
    tk_pool_run(pool, row_bounds_worker, &j);
}

int tk_head_act_bounds(const float *h, int64_t K, const int8_t *q, float s, float *norm, float *eps) {
    double l1 = 0, e = 0;
    for (int64_t k = 0; k < K; k++) {
        if (!isfinite(h[k])) return 0;
        l1 += fabs((double)h[k]);
        const double d = fabs((double)h[k] - (double)q[k] / (double)s);
        e = d > e ? d : e;
    }
    /* the double sum of K terms is off by at most K·2^-53 of itself; the margin covers it */
    *norm = up(l1 * MARGIN);
    *eps = up(e * MARGIN);
    return isfinite(*norm) && isfinite(*eps);
}
