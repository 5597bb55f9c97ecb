/* Attention over F32 / F16 / Q8_0 caches through tk_attention_par: every variant equals the twin bit for bit
 * (direct, and chunked then merged), and the twin on 3 threads equals it on one. AttentionKernelTests' shapes. */
#include <math.h>
#include "harness.h"

typedef struct { uint8_t *bytes; int64_t row_bytes; } cache;

static cache make_cache(int32_t type, int64_t positions, int64_t heads, int64_t hd, h_rng *rng, float magnitude) {
    cache c;
    c.row_bytes = heads * tk_kv_head_bytes(type, hd);
    c.bytes = h_alloc((size_t)(positions * c.row_bytes));
    float *raw = h_alloc(4 * (size_t)(heads * hd));
    for (int64_t p = 0; p < positions; p++) {
        for (int64_t i = 0; i < heads * hd; i++) raw[i] = (float)(h_unit(rng) * 2 - 1) * magnitude;
        tk_kv_store(type, raw, heads, hd, c.bytes + p * c.row_bytes);
    }
    free(raw);
    return c;
}

static float *run_fn(tk_attention_fn fn, const float *q, const int64_t *n_kv, int64_t rows, cache kc, cache vc,
                  int32_t kt, int32_t vt, int64_t n_heads, int64_t n_kv_heads, int64_t hd, int threads) {
    const int64_t group = n_heads / n_kv_heads, stride = tk_att_scratch_floats(group, hd);
    int64_t longest = 0;
    for (int64_t t = 0; t < rows; t++) longest = n_kv[t] > longest ? n_kv[t] : longest;
    const int64_t chunks = (longest + TK_ATT_CHUNK - 1) / TK_ATT_CHUNK;
    float *scratch = h_alloc(4 * (size_t)(threads * stride));
    float *partials = h_alloc(4 * (size_t)(chunks * rows * n_heads * tk_att_partial_floats(hd) + 1));
    float *out = h_alloc(4 * (size_t)(rows * n_heads * hd));
    for (int64_t i = 0; i < rows * n_heads * hd; i++) out[i] = NAN;
    const uint8_t **kp = h_alloc(sizeof(void *) * (size_t)rows), **vp = h_alloc(sizeof(void *) * (size_t)rows);
    for (int64_t t = 0; t < rows; t++) { kp[t] = kc.bytes; vp[t] = vc.bytes; }
    tk_pool *pool = threads > 1 ? tk_pool_create(threads) : NULL;
    tk_attention_job job = {
        .fn = fn, .q = q, .out = out, .q_stride = n_heads * hd, .k = kp, .v = vp, .n_kv = n_kv,
        .k_row_bytes = kc.row_bytes, .v_row_bytes = vc.row_bytes, .k_head_stride = tk_kv_head_bytes(kt, hd),
        .v_head_stride = tk_kv_head_bytes(vt, hd), .k_type = kt, .v_type = vt, .n_heads = n_heads, .group = group,
        .hd = hd, .scale = 1.0f / sqrtf((float)hd), .scratch = scratch, .scratch_stride = stride,
        .partials = partials, .max_rows = rows};
    tk_attention_par(pool, &job, rows);
    if (pool) tk_pool_free(pool);
    free(scratch); free(partials); free(kp); free(vp);
    return out;
}

static float *run(const tk_kernels *k, const float *q, const int64_t *n_kv, int64_t rows, cache kc, cache vc,
                  int32_t kt, int32_t vt, int64_t n_heads, int64_t n_kv_heads, int64_t hd, int threads) {
    return run_fn(k->attention, q, n_kv, rows, kc, vc, kt, vt, n_heads, n_kv_heads, hd, threads);
}

/* The int8 form (attention_q8, a Q8_0 K cache) on one case: every variant equals its twin bit for bit, 3 threads
 * equal one, and the twin is near the float form (the query's rounding: |Δ| < 0.03 for these magnitudes). */
static void check_q8(const float *q, const int64_t *n_kv, int64_t rows, cache kc, cache vc, int32_t vt, int64_t nh,
                     int64_t nkvh, int64_t hd, size_t c) {
    const int64_t nq = rows * nh * hd;
    float *ref = run_fn(h_variants[0]->attention_q8, q, n_kv, rows, kc, vc, TK_KV_Q8_0, vt, nh, nkvh, hd, 1);
    float *flt = run_fn(h_variants[0]->attention, q, n_kv, rows, kc, vc, TK_KV_Q8_0, vt, nh, nkvh, hd, 1);
    float worst = 0;
    int same = 1;
    for (int64_t i = 0; i < nq; i++) {
        const float d = fabsf(ref[i] - flt[i]);
        worst = d > worst || d != d ? d : worst;
        same &= ref[i] == flt[i];
    }
    h_check(worst < 0.03f, "attention_q8 scalar case %zu V %d: |int8 - float| %g < 0.03", c, vt, worst);
    h_check(!same || rows == 1, "attention_q8 scalar case %zu V %d: differs from the float form somewhere", c, vt);
    float *thr = run_fn(h_variants[0]->attention_q8, q, n_kv, rows, kc, vc, TK_KV_Q8_0, vt, nh, nkvh, hd, 3);
    h_check_bits(thr, ref, nq, "attention_q8 scalar 3 threads case %zu V %d", c, vt);
    for (int v = 1; v < h_n_variants; v++) {
        float *got = run_fn(h_variants[v]->attention_q8, q, n_kv, rows, kc, vc, TK_KV_Q8_0, vt, nh, nkvh, hd, 1);
        h_check_bits(got, ref, nq, "attention_q8 %s case %zu (hd %lld, %lld/%lld heads) V %d", h_variants[v]->name, c,
                     (long long)hd, (long long)nh, (long long)nkvh, vt);
        free(got);
    }
    free(ref); free(flt); free(thr);
}

void test_attention(void) {
    static const struct { int64_t n_kv[3], rows, hd, heads, kv_heads; } shapes[] = {
        {{1}, 1, 64, 1, 1}, {{7, 1, 31}, 3, 128, 20, 5}, {{33, 32}, 2, 100, 3, 1}, {{5}, 1, 12, 2, 2},
        {{40, 39, 64}, 3, 128, 25, 5}, {{9}, 1, 64, 16, 2}, {{70, 3}, 2, 48, 6, 3}, {{1024, 1025}, 2, 128, 8, 2},
        {{2100, 5, 1500}, 3, 16, 4, 1}, {{50, 17}, 2, 64, 3, 3}, {{40}, 1, 32, 6, 2}, {{96, 47}, 2, 80, 4, 1},
        {{45}, 1, 64, 36, 2}};   /* 18 query heads a KV head: more than the 16 whose alphas share one exp */
    static const int32_t types[][2] = {{TK_KV_F32, TK_KV_F32}, {TK_KV_F16, TK_KV_F16}, {TK_KV_Q8_0, TK_KV_Q8_0},
                                       {TK_KV_Q8_0, TK_KV_F16}, {TK_KV_F16, TK_KV_F32}, {TK_KV_Q8_0, TK_KV_F32}};
    h_rng rng;
    h_seed(&rng, 15);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const int64_t rows = shapes[c].rows, hd = shapes[c].hd, nh = shapes[c].heads, nkvh = shapes[c].kv_heads;
        int64_t longest = 0;
        for (int64_t t = 0; t < rows; t++) longest = shapes[c].n_kv[t] > longest ? shapes[c].n_kv[t] : longest;
        const int64_t nq = rows * nh * hd;
        float *q = h_alloc(4 * (size_t)nq);
        for (int64_t i = 0; i < nq; i++) q[i] = (float)(h_unit(&rng) * 2 - 1) * 3;
        /* several rows: the first row's queries are zero (every score +0; -0 and +0 tie, the first wins) */
        if (rows > 1) for (int64_t i = 0; i < nh * hd; i++) q[i] = 0;
        for (size_t ty = 0; ty < sizeof types / sizeof *types; ty++) {
            const int32_t kt = types[ty][0], vt = types[ty][1];
            cache kc = make_cache(kt, longest, nkvh, hd, &rng, 2), vc = make_cache(vt, longest, nkvh, hd, &rng, 1);
            float *ref = run(h_variants[0], q, shapes[c].n_kv, rows, kc, vc, kt, vt, nh, nkvh, hd, 1);
            int written = 1;
            for (int64_t i = 0; i < nq; i++) written &= !isnan(ref[i]);
            h_check(written, "attention scalar case %zu types %d/%d: every output written", c, kt, vt);
            float *thr = run(h_variants[0], q, shapes[c].n_kv, rows, kc, vc, kt, vt, nh, nkvh, hd, 3);
            h_check_bits(thr, ref, nq, "attention scalar 3 threads case %zu types %d/%d", c, kt, vt);
            free(thr);
            for (int v = 1; v < h_n_variants; v++) {
                float *got = run(h_variants[v], q, shapes[c].n_kv, rows, kc, vc, kt, vt, nh, nkvh, hd, 1);
                h_check_bits(got, ref, nq, "attention %s case %zu (hd %lld, %lld/%lld heads) types %d/%d",
                             h_variants[v]->name, c, (long long)hd, (long long)nh, (long long)nkvh, kt, vt);
                free(got);
            }
            if (kt == TK_KV_Q8_0) check_q8(q, shapes[c].n_kv, rows, kc, vc, vt, nh, nkvh, hd, c);
            free(ref); free(kc.bytes); free(vc.bytes);
        }
        free(q);
    }
    /* the exp polynomial at its ends */
    h_check(tk_att_exp(0) == 1 && tk_att_exp(-0.0f) == 1 && tk_att_exp(5) == 1 && tk_att_exp(-INFINITY) < 1.2e-38f,
            "tk_att_exp ends");
}
