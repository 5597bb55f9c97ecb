/* The quantizers, RMSNorm and the certified head's steps (bounds, k-th largest, collection, row constants). */
#include <math.h>
#include "harness.h"

static void quantize_rows(void) {
    static const int64_t shapes[][2] = {{5, 1}, {32, 2}, {100, 3}, {2560, 2}, {6912, 1}, {37, 4}, {15, 2}, {64, 3}};
    h_rng rng;
    h_seed(&rng, 21);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const int64_t cols = shapes[c][0], n = shapes[c][1], kp = (cols + 127) / 128 * 128, cnt = n * cols;
        float *x = h_alloc(sizeof(float) * (size_t)cnt);
        for (int64_t i = 0; i < cnt; i++) x[i] = (float)(h_unit(&rng) * 6 - 3);
        for (int64_t i = 0; i < cnt; i += 7) x[i] = (float)((int)(h_next(&rng) % 255) - 127) / 2;   /* ties */
        if (cols >= 100) { x[3] = NAN; x[cnt - 5] = INFINITY; x[17] = -INFINITY; }
        int8_t *q0 = h_alloc((size_t)(n * kp)), *q1 = h_alloc((size_t)(n * kp));
        float s0[4], s1[4];
        int32_t qs0[4], qs1[4];
        memset(q0, 7, (size_t)(n * kp));
        h_variants[0]->quantize_rows(x, cols, cols, n, q0, kp, s0, qs0);
        for (int v = 1; v < h_n_variants; v++) {
            memset(q1, 7, (size_t)(n * kp));
            h_variants[v]->quantize_rows(x, cols, cols, n, q1, kp, s1, qs1);
            h_check(h_same_bits(q0, q1, (size_t)(n * kp)) && h_same_bits(s0, s1, 4 * (size_t)n) &&
                        h_same_bits(qs0, qs1, 4 * (size_t)n),
                    "quantize_rows %s %lldx%lld", h_variants[v]->name, (long long)cols, (long long)n);
        }
        free(x); free(q0); free(q1);
    }
    /* ties in the vector part of a row (64 values: every variant's full-width loop): half to even */
    {
        float x[64];
        x[0] = 127;
        for (int k = 1; k < 64; k++) x[k] = (float)(k - 32) + 0.5f;
        for (int v = 0; v < h_n_variants; v++) {
            int8_t q[128];
            float s;
            int32_t sum;
            h_variants[v]->quantize_rows(x, 64, 64, 1, q, 128, &s, &sum);
            int ok = s == 1 && q[0] == 127;
            for (int k = 1; k < 64; k++) {   /* n + 1/2 → the even one of n, n + 1 */
                const int n = k - 32;
                ok &= q[k] == (n % 2 == 0 ? n : n + 1);
            }
            h_check(ok, "quantize_rows %s ties half to even in a full row", h_variants[v]->name);
        }
    }
    /* ties round half to even, padding is zero */
    const float x[5] = {127, 0.5f, 1.5f, -2.5f, -127};
    for (int v = 0; v < h_n_variants; v++) {
        int8_t q[128];
        float s;
        int32_t sum;
        h_variants[v]->quantize_rows(x, 5, 5, 1, q, 128, &s, &sum);
        int pad = 1;
        for (int i = 5; i < 128; i++) pad &= q[i] == 0;
        h_check(s == 1 && q[0] == 127 && q[1] == 0 && q[2] == 2 && q[3] == -2 && q[4] == -127 && sum == 0 && pad,
                "quantize_rows %s ties and padding", h_variants[v]->name);
    }
}

static void quantize_weights(void) {
    const int64_t rows = 5, cols = 37, kp = 128;
    h_rng rng;
    h_seed(&rng, 9);
    float w[5 * 37];
    for (int64_t i = 0; i < rows * cols; i++) w[i] = (float)(h_unit(&rng) * 4 - 2);
    for (int64_t k = 0; k < cols; k++) w[2 * cols + k] = 0;
    w[0] = 127; w[1] = 0.5f; w[2] = 1.5f; w[3] = -2.5f;
    uint16_t h[5 * 37];
    for (int64_t i = 0; i < rows * cols; i++) h[i] = tk_f32_to_f16(w[i]);
    const void *forms[2] = {w, h};
    const tk_dtype types[2] = {TK_F32, TK_F16};
    for (int d = 0; d < 2; d++) {
        int8_t o0[5 * 128], o1[5 * 128];
        float sc0[5], sc1[5];
        memset(o0, 9, sizeof o0);
        h_variants[0]->quantize_weight_rows(forms[d], types[d], cols, rows, o0, kp, sc0);
        h_check(o0[0] == 127 && o0[1] == 0 && o0[2] == 2 && o0[3] == -2 && sc0[2] == 1, "weight rows scalar dtype %d", d);
        for (int v = 1; v < h_n_variants; v++) {
            memset(o1, 9, sizeof o1);
            h_variants[v]->quantize_weight_rows(forms[d], types[d], cols, rows, o1, kp, sc1);
            h_check(h_same_bits(o0, o1, sizeof o0) && h_same_bits(sc0, sc1, sizeof sc0), "weight rows %s dtype %d",
                    h_variants[v]->name, d);
        }
    }
}

static void rmsnorm(void) {
    static const int64_t sizes[] = {1, 9, 2560, 6917, 16, 33};
    h_rng rng;
    h_seed(&rng, 22);
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        const int64_t n = sizes[c];
        float *x = h_alloc(4 * (size_t)n), *g = h_alloc(4 * (size_t)n), *y0 = h_alloc(4 * (size_t)n),
              *y1 = h_alloc(4 * (size_t)n);
        for (int64_t i = 0; i < n; i++) { x[i] = (float)(h_unit(&rng) * 8 - 4); g[i] = (float)h_unit(&rng); }
        h_variants[0]->rmsnorm(x, g, n, 1e-5f, y0);
        for (int v = 1; v < h_n_variants; v++) {
            h_variants[v]->rmsnorm(x, g, n, 1e-5f, y1);
            int ok = 1;
            for (int64_t i = 0; i < n; i++) ok &= fabsf(y1[i] - y0[i]) <= fabsf(y0[i]) * 1e-6f + 1e-7f;
            h_check(ok, "rmsnorm %s n=%lld", h_variants[v]->name, (long long)n);
        }
        free(x); free(g); free(y0); free(y1);
    }
}

/* qwen35's delta-rule decode row: state and output bit for bit, dv a multiple of the vector width or not */
static void delta_step(void) {
    static const int64_t shapes[][2] = {{128, 128}, {32, 32}, {16, 48}, {8, 20}, {3, 1}};
    h_rng rng;
    h_seed(&rng, 23);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const int64_t dk = shapes[c][0], dv = shapes[c][1];
        float *s0 = h_alloc(4 * (size_t)(dk * dv)), *s1 = h_alloc(4 * (size_t)(dk * dv)), q[128], k[128], v[128],
              o0[128], o1[128], d[128];
        for (int64_t i = 0; i < dk * dv; i++) s0[i] = (float)(h_unit(&rng) * 2 - 1);
        for (int64_t i = 0; i < 128; i++) {
            q[i] = (float)(h_unit(&rng) - 0.5); k[i] = (float)(h_unit(&rng) - 0.5); v[i] = (float)(h_unit(&rng) * 4 - 2);
        }
        for (int v_ = 1; v_ < h_n_variants; v_++) {
            float *ref = h_alloc(4 * (size_t)(dk * dv));
            memcpy(ref, s0, 4 * (size_t)(dk * dv));
            memcpy(s1, s0, 4 * (size_t)(dk * dv));
            for (int step = 0; step < 3; step++) {   /* a few rows on the same state */
                h_variants[0]->delta_step(ref, q, k, v, 0.93f, 0.61f, o0, d, dk, dv);
                h_variants[v_]->delta_step(s1, q, k, v, 0.93f, 0.61f, o1, d, dk, dv);
            }
            h_check(h_same_bits(ref, s1, 4 * (size_t)(dk * dv)) && h_same_bits(o0, o1, 4 * (size_t)dv),
                    "delta_step %s dk=%lld dv=%lld", h_variants[v_]->name, (long long)dk, (long long)dv);
            free(ref);
        }
        free(s0); free(s1);
    }
}

void test_quantize_norm(void) {
    quantize_rows();
    quantize_weights();
    rmsnorm();
    delta_step();
}

static int desc(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void selection(void) {
    static const int64_t sizes[] = {1, 7, 8, 9, 100, 1001, 4096, 3, 17};
    h_rng rng;
    h_seed(&rng, 3);
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        const int64_t n = sizes[c];
        float *l = h_alloc(4 * (size_t)n), *a = h_alloc(4 * (size_t)n), *b = h_alloc(4 * (size_t)n),
              *bad = h_alloc(4 * (size_t)n), *sorted = h_alloc(4 * (size_t)n);
        float *lo0 = h_alloc(4 * (size_t)n), *hi0 = h_alloc(4 * (size_t)n), *lo1 = h_alloc(4 * (size_t)n),
              *hi1 = h_alloc(4 * (size_t)n), top[256];
        for (int64_t i = 0; i < n; i++) l[i] = (float)(h_unit(&rng) * 20 - 10);
        for (int64_t i = 0; i < n; i += 5) l[i] = l[i / 2];   /* repeats */
        for (int64_t i = 0; i < n; i++) { a[i] = (float)(h_unit(&rng) * 0.01); b[i] = (float)(h_unit(&rng) * 0.1); }
        memcpy(bad, l, 4 * (size_t)n);
        if (n > 8) { bad[3] = NAN; bad[n - 1] = INFINITY; bad[n / 2] = -INFINITY; }
        memcpy(sorted, l, 4 * (size_t)n);
        qsort(sorted, (size_t)n, 4, desc);
        const float rel = 8.0f / 16777216.0f;
        const int64_t r0 = h_variants[0]->head_bounds(l, a, b, 3.5f, 0.02f, rel, n, lo0, hi0);
        const int64_t rb = h_variants[0]->head_bounds(bad, a, b, 3.5f, 0.02f, rel, n, lo1, hi1);
        h_check(r0 == 0 && rb == (n > 8 ? 3 : 0), "head_bounds scalar non-finite count n=%lld", (long long)n);
        int32_t *idx = h_alloc(4 * (size_t)n);
        for (int v = 0; v < h_n_variants; v++) {
            const tk_kernels *k = h_variants[v];
            if (v > 0) {
                h_check(k->head_bounds(l, a, b, 3.5f, 0.02f, rel, n, lo1, hi1) == 0, "head_bounds %s n=%lld", k->name,
                        (long long)n);
                h_check_bits(lo1, lo0, n, "head_bounds %s lo n=%lld", k->name, (long long)n);
                h_check_bits(hi1, hi0, n, "head_bounds %s hi n=%lld", k->name, (long long)n);
                h_check(k->head_bounds(bad, a, b, 3.5f, 0.02f, rel, n, lo1, hi1) == rb, "head_bounds %s non-finite n=%lld",
                        k->name, (long long)n);
            }
            static const int64_t ks[] = {1, 2, 40, 256};
            for (size_t j = 0; j < 4; j++) {
                if (ks[j] > n) continue;
                const float got = k->kth_largest(l, n, ks[j], top);
                h_check(got == sorted[ks[j] - 1], "kth_largest %s k=%lld n=%lld", k->name, (long long)ks[j], (long long)n);
            }
            const float t = sorted[n - 1 < n / 3 ? n - 1 : n / 3];
            const int64_t cnt = k->collect_at_least(l, n, t, idx);
            int ok = 1;
            int64_t want = 0;
            for (int64_t i = 0; i < n; i++)
                if (l[i] >= t) { ok &= want < cnt && idx[want] == i; want++; }
            h_check(ok && want == cnt, "collect_at_least %s n=%lld", k->name, (long long)n);
        }
        free(l); free(a); free(b); free(bad); free(sorted); free(lo0); free(hi0); free(lo1); free(hi1); free(idx);
    }
}

static void row_bounds(void) {
    static const int64_t shapes[][2] = {{5, 7}, {9, 64}, {17, 1001}, {3, 2560}, {6, 15}};
    static const tk_dtype types[3] = {TK_F32, TK_F16, TK_BF16};
    h_rng rng;
    h_seed(&rng, 4);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const int64_t rows = shapes[c][0], cols = shapes[c][1], kp = (cols + 127) / 128 * 128;
        float *w = h_alloc(4 * (size_t)(rows * cols));
        for (int64_t i = 0; i < rows * cols; i++) w[i] = (float)(h_unit(&rng) * 2 - 1) * (h_unit(&rng) < 0.01 ? 30 : 1);
        if (rows > 4) { w[cols + 2] = NAN; w[2 * cols + cols - 1] = INFINITY; }
        void *forms[3] = {w, h_alloc(2 * (size_t)(rows * cols)), h_alloc(2 * (size_t)(rows * cols))};
        for (int64_t i = 0; i < rows * cols; i++) {
            uint32_t bits;
            memcpy(&bits, &w[i], 4);
            ((uint16_t *)forms[1])[i] = tk_f32_to_f16(w[i]);
            ((uint16_t *)forms[2])[i] = (uint16_t)(bits >> 16);
        }
        for (int d = 0; d < 3; d++) {
            int8_t *q = h_alloc((size_t)(rows * kp));
            float *sc = h_alloc(4 * (size_t)rows), *a0 = h_alloc(4 * (size_t)rows), *b0 = h_alloc(4 * (size_t)rows),
                  *a1 = h_alloc(4 * (size_t)rows), *b1 = h_alloc(4 * (size_t)rows);
            tk_quantize_weight_rows(forms[d], types[d], cols, rows, q, kp, sc);
            h_variants[0]->head_row_bounds(forms[d], types[d], cols, 0, rows, q, kp, sc, a0, b0);
            int ok = 1;
            for (int64_t r = 0; r < rows; r++) ok &= a0[r] > 0 && isfinite(a0[r]) && isfinite(b0[r]);
            if (rows > 4) ok &= a0[1] == 3.40282347e38f && a0[2] == 3.40282347e38f;
            h_check(ok, "head_row_bounds scalar dtype %d %lldx%lld", d, (long long)rows, (long long)cols);
            for (int v = 1; v < h_n_variants; v++) {
                h_variants[v]->head_row_bounds(forms[d], types[d], cols, 0, rows, q, kp, sc, a1, b1);
                h_check_bits(a1, a0, rows, "head_row_bounds %s dtype %d %lldx%lld a", h_variants[v]->name, d,
                             (long long)rows, (long long)cols);
                h_check_bits(b1, b0, rows, "head_row_bounds %s dtype %d %lldx%lld b", h_variants[v]->name, d,
                             (long long)rows, (long long)cols);
            }
            free(q); free(sc); free(a0); free(b0); free(a1); free(b1);
        }
        free(w); free(forms[1]); free(forms[2]);
    }
}

void test_head_select(void) {
    selection();
    row_bounds();
}
