/* The 4-bit certified head (docs/formats.md §7.1): the quantizer and the per-row constants at load,
 * the per-token numbers, and the scalar product every variant is checked against bit for bit. */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

/* The sums below are defined by explicit fmaf and + (the AVX2 form's operations, in its order). */
#pragma STDC FP_CONTRACT OFF

#define U24 (1.0 / 16777216.0)
#define MARGIN (1.0 + 1.0 / 524288.0)   /* 1 + 2^-19, as in head_select.c */

static double gamma_k(int64_t K) { return (double)K * U24 / (1.0 - (double)K * U24); }

/* x rounded up to an f32 (a double above every f32 becomes +inf). */
static float up(double x) {
    float f = (float)x;
    if ((double)f < x) f = nextafterf(f, INFINITY);
    return f;
}

/* The eight lanes added as tk_hsum_ps adds them. */
static float hsum8(const float *v) {
    const float s0 = v[0] + v[4], s1 = v[1] + v[5], s2 = v[2] + v[6], s3 = v[3] + v[7];
    return (s0 + s2) + (s1 + s3);
}

void tk_q4_gemm_scalar(const uint8_t *w, const uint16_t *wscale, int64_t Kp, int64_t r0, int64_t r1,
                       const int8_t *q, const float *s, const int32_t *corr, const float *gn, int64_t n,
                       float *out, float *err, int64_t ldo) {
    const int64_t G = Kp / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = w + r * (Kp / 2);
        const uint16_t *sr = wscale + r * G;
        for (int64_t t = 0; t < n; t++) {
            const int8_t *qt = q + t * Kp;
            const float *gt = gn + t * G;
            float acc[8] = {0}, eacc[8] = {0};
            for (int64_t g = 0; g < G; g++) {
                const float c = tk_f16_to_f32(sr[g]);
                if (g % 8 == 0)
                    for (int j = 0; j < 8; j++) eacc[j] = fmaf(tk_f16_to_f32(sr[g + j]), gt[g + j], eacc[j]);
                for (int j = 0; j < 8; j++) {
                    int32_t p = 0;
                    for (int i = 4 * j; i < 4 * j + 4; i++) {
                        const uint8_t b = wr[g * 16 + (i & 15)];
                        const int u = i < 16 ? (b & 15) : (b >> 4);
                        p += (u - 8) * (int32_t)qt[g * 32 + i];
                    }
                    acc[j] = fmaf(c, (float)p, acc[j]);
                }
            }
            (void)corr;   /* the integer sums are exact: the vector forms' offset correction gives the same p */
            out[t * ldo + r] = hsum8(acc) / s[t];
            err[t * ldo + r] = hsum8(eacc);
        }
    }
}

/* c rounded up to an f16 (0xFFFF: beyond the f16 range). */
static uint16_t up16(double c) {
    const float f = up(c);
    uint16_t h = tk_f32_to_f16(f);
    if ((double)tk_f16_to_f32(h) < c) h++;   /* positive: the next f16 up (0x7C00 is +inf) */
    return h >= 0x7C00 ? 0xFFFF : h;
}

static void q4_row(const void *w, tk_dtype dtype, int64_t K, int64_t r, uint8_t *nib, uint16_t *sc, int64_t Kp,
                   float *b, float *t, uint8_t *bad) {
    const int64_t G = Kp / 32;
    uint8_t *nr = nib + r * (Kp / 2);
    uint16_t *sr = sc + r * G;
    double l1 = 0, rho = 0, mu = 0;
    int isbad = 0;
    for (int64_t g = 0; g < G; g++) {
        float x[32] = {0};   /* the group's weights (zeros past K) */
        double m = 0;
        for (int64_t i = 0; i < 32 && g * 32 + i < K; i++) {
            x[i] = tk_dense_element(w, dtype, r * K + g * 32 + i);
            if (!(fabsf(x[i]) <= FLT_MAX)) isbad = 1;
            else if (fabs((double)x[i]) > m) m = fabs((double)x[i]);
        }
        const uint16_t h = m > 0 ? up16(m / 7.5) : 0;
        if (h == 0xFFFF) isbad = 1;
        sr[g] = h == 0xFFFF ? 0 : h;
        const double c = tk_f16_to_f32(sr[g]), inv = c > 0 ? 1.0 / c : 0;
        int8_t qv[32] = {0};
        double e = 0, a = 0, l1g = 0;
        for (int64_t i = 0; i < 32 && c > 0; i++) {
            /* q may round the other way at a tie (inv is rounded): ρ below is measured, not assumed */
            double v = nearbyint((double)x[i] * inv);
            v = v > 7 ? 7 : v < -7 ? -7 : v;
            qv[i] = (int8_t)v;
            l1g += fabs(v);
            /* c·v and x − c·v are exact in double (c has 11 bits, v 3, x 24, |x| ≤ 7.5c) */
            const double d = fabs((double)x[i] - c * v);
            e = d > e ? d : e;
            a = fabs((double)x[i]) > a ? fabs((double)x[i]) : a;
        }
        if (c > 0) {
            l1 += c * l1g;
            /* the quotients are off by 2^-53 of themselves: the margin below covers them */
            rho = e / c > rho ? e / c : rho;
            mu = a / c > mu ? a / c : mu;
        }
        for (int i = 0; i < 16; i++) nr[g * 16 + i] = (uint8_t)((qv[i] + 8) | (qv[i + 16] + 8) << 4);
    }
    if (isbad) {
        for (int64_t i = 0; i < Kp / 2; i++) nr[i] = 0x88;
        for (int64_t g = 0; g < G; g++) sr[g] = 0;
        l1 = rho = mu = 0;
    }
    /* the double sums and quotients are off by a few 2^-53 of themselves: the margin covers them */
    b[r] = up(l1 * MARGIN);
    t[r] = up((rho + gamma_k(Kp) * mu) * MARGIN);
    bad[r] = (uint8_t)isbad;
}

typedef struct {
    const void *w; tk_dtype dtype; int64_t K, rows;
    uint8_t *nib; uint16_t *sc; int64_t Kp; float *b, *t; uint8_t *bad;
    _Atomic int64_t next;
} q4_job;

static void q4_worker(void *p, int ith, int nth) {
    q4_job *j = p;
    (void)ith; (void)nth;
    for (int64_t r0; (r0 = atomic_fetch_add(&j->next, 256)) < j->rows;) {
        const int64_t r1 = r0 + 256 < j->rows ? r0 + 256 : j->rows;
        for (int64_t r = r0; r < r1; r++) q4_row(j->w, j->dtype, j->K, r, j->nib, j->sc, j->Kp, j->b, j->t, j->bad);
    }
}

void tk_q4_quantize_par(tk_pool *pool, const void *w, tk_dtype dtype, int64_t K, int64_t rows, uint8_t *nib,
                        uint16_t *sc, int64_t Kp, float *b, float *t, uint8_t *bad) {
    q4_job j = {w, dtype, K, rows, nib, sc, Kp, b, t, bad, 0};
    tk_pool_run(pool, q4_worker, &j);
}

float tk_head4_alpha(float tmax, int64_t Kp) {
    return up((double)tmax / (1.0 - gamma_k(Kp)) * MARGIN);
}

int tk_head4_act(const float *h, int64_t K, const int8_t *q, int64_t Kp, float s, int32_t *corr, float *gn,
                 float *eps) {
    double e = 0;
    for (int64_t g = 0; g < Kp / 32; g++) {
        double l1 = 0;
        for (int64_t k = g * 32; k < g * 32 + 32 && k < K; k++) {
            if (!isfinite(h[k])) return 0;
            l1 += fabs((double)h[k]);
            const double d = fabs((double)h[k] - (double)q[k] / (double)s);
            e = d > e ? d : e;
        }
        gn[g] = up(l1 * MARGIN);
    }
    for (int64_t j = 0; j < Kp / 4; j++) corr[j] = 8 * (q[4 * j] + q[4 * j + 1] + q[4 * j + 2] + q[4 * j + 3]);
    /* + the f32 sum of the group products' rounding: γ_Kp · Σ_g |c_g p_g| ≤ γ_Kp · (127/s) · b_r */
    *eps = up((e + gamma_k(Kp) * 127.0 / (double)s) * MARGIN);
    return isfinite(*eps);
}
