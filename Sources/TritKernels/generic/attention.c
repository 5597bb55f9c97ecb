/* Attention over a typed KV cache (the scalar twin, which defines the arithmetic every variant
 * repeats bit for bit), the cache's store/load conversions and the chunk merge.
 *
 * One call handles the n_q query heads of one KV head over positions [j0, j1), in tiles of
 * TK_ATT_TILE positions with an online softmax (Milakov & Gimelshein 2018): per head a running
 * maximum M, a 16-lane running sum L and an unnormalised output O; each tile rescales them by
 * exp(M_old − M_new). Keys and values are converted to f32 exactly (an fp16, or an int8 times
 * an fp16 scale, is an f32 without rounding), so the cache type changes only what is read.
 * Dots: 16 lanes (lane l takes elements ≡ l mod 16, head vectors zero padded to hdp), one FMA
 * per element, the fixed tree tk_att_tree16; the score is that sum times `scale`. */
#pragma clang fp contract(off)
#include <math.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

int64_t tk_kv_head_bytes(int32_t type, int64_t hd) {
    switch (type) {
    case TK_KV_F32: return 4 * hd;
    case TK_KV_F16: return 2 * hd;
    case TK_KV_Q8_0: return 34 * ((hd + 31) / 32);
    default: return 0;
    }
}

void tk_kv_store(int32_t type, const float *src, int64_t n, int64_t hd, uint8_t *dst) {
    const int64_t hb = tk_kv_head_bytes(type, hd);
    for (int64_t h = 0; h < n; h++) {
        const float *x = src + h * hd;
        uint8_t *o = dst + h * hb;
        if (type == TK_KV_F32) {
            memcpy(o, x, (size_t)(4 * hd));
        } else if (type == TK_KV_F16) {
            for (int64_t i = 0; i < hd; i++) {
                const uint16_t b = tk_f32_to_f16(x[i]);
                memcpy(o + 2 * i, &b, 2);
            }
        } else if (type == TK_KV_Q8_0) {
            for (int64_t b0 = 0; b0 < hd; b0 += 32, o += 34) {
                const int64_t bl = hd - b0 < 32 ? hd - b0 : 32;
                float amax = 0.0f;
                for (int64_t i = 0; i < bl; i++) { const float a = fabsf(x[b0 + i]); amax = a > amax ? a : amax; }
                const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
                const uint16_t dh = tk_f32_to_f16(d);
                memcpy(o, &dh, 2);
                memset(o + 2, 0, 32);
                for (int64_t i = 0; i < bl; i++) {
                    const float v = roundf(x[b0 + i] * id);   /* |v| ≤ 127 (NaN: 0) */
                    o[2 + i] = (uint8_t)(int8_t)(v > 127.0f ? 127 : v < -127.0f ? -127 : v == v ? (int)v : 0);
                }
            }
        }
    }
}

/* One stored head vector as hdp floats (zero padded). */
static void load_head(int32_t type, const uint8_t *src, int64_t hd, int64_t hdp, float *dst) {
    if (type == TK_KV_F32) {
        memcpy(dst, src, (size_t)(4 * hd));
    } else if (type == TK_KV_F16) {
        for (int64_t i = 0; i < hd; i++) { uint16_t b; memcpy(&b, src + 2 * i, 2); dst[i] = tk_f16_to_f32(b); }
    } else {
        for (int64_t b0 = 0; b0 < hd; b0 += 32, src += 34) {
            uint16_t dh; memcpy(&dh, src, 2);
            const float d = tk_f16_to_f32(dh);
            const int64_t bl = hd - b0 < 32 ? hd - b0 : 32;
            for (int64_t i = 0; i < bl; i++) dst[b0 + i] = (float)(int8_t)src[2 + i] * d;
        }
    }
    for (int64_t i = hd; i < hdp; i++) dst[i] = 0.0f;
}

void tk_kv_load(int32_t type, const uint8_t *src, int64_t n, int64_t hd, float *dst) {
    const int64_t hb = tk_kv_head_bytes(type, hd);
    for (int64_t h = 0; h < n; h++) load_head(type, src + h * hb, hd, hd, dst + h * hd);
}

float tk_att_exp(float x) {
    x = x > TK_EXP_LO ? x : TK_EXP_LO;
    x = x < 0.0f ? x : 0.0f;
    const float t = x * TK_EXP_LOG2E;
    const float n = floorf(t + 0.5f);
    float r = fmaf(n, -TK_EXP_LN2_HI, x);
    r = fmaf(n, -TK_EXP_LN2_LO, r);
    float p = TK_EXP_C7;
    p = fmaf(p, r, TK_EXP_C6);
    p = fmaf(p, r, TK_EXP_C5);
    p = fmaf(p, r, TK_EXP_C4);
    p = fmaf(p, r, TK_EXP_C3);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float sc;
    memcpy(&sc, &bits, 4);
    return p * sc;
}

/* room for the int8 form's query and key scales too (tk_att_q8_layout), so either form takes one scratch */
int64_t tk_att_scratch_floats(int64_t n_q, int64_t hd) {
    return tk_att_base_floats(n_q, tk_att_hdp(hd)) + tk_att_q8_floats(n_q, hd);
}

int64_t tk_att_partial_floats(int64_t hd) { return tk_att_hdp(hd) + 2 * TK_ATT_LANES; }

static float dot16(const float *a, const float *b, int64_t hdp) {
    float acc[TK_ATT_LANES] = {0};
    for (int64_t i = 0; i < hdp; i += TK_ATT_LANES)
        for (int l = 0; l < TK_ATT_LANES; l++) acc[l] = fmaf(a[i + l], b[i + l], acc[l]);
    return tk_att_tree16(acc);
}

void tk_attention_scalar(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes, int64_t v_row_bytes,
                         int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd, float scale,
                         float *scratch, float *out, float *partial) {
    const int64_t hdp = tk_att_hdp(hd);
    const tk_att_scratch a = tk_att_layout(scratch, n_q, hdp);
    tk_att_init(&a, q, n_q, hd, hdp);
    for (int64_t j = j0; j < j1; j += TK_ATT_TILE) {
        const int64_t nt = j1 - j < TK_ATT_TILE ? j1 - j : TK_ATT_TILE;
        for (int64_t t = 0; t < nt; t++) load_head(k_type, k + (j + t) * k_row_bytes, hd, hdp, a.kt + t * hdp);
        for (int64_t m = 0; m < n_q; m++)
            for (int64_t t = 0; t < nt; t++) a.p[m * TK_ATT_TILE + t] = dot16(a.q + m * hdp, a.kt + t * hdp, hdp) * scale;
        tk_att_tile_rest(&a, n_q, v, v_row_bytes, v_type, j, nt, hd, hdp);
    }
    tk_att_finish(&a, n_q, hd, hdp, out, partial);
}

/* After the tile's scores (a->p): each head's maximum, the rescale by exp(M_old − M_new), the probabilities
 * (L lane t mod 16), then O += p·V in position order. */
void tk_att_tile_rest(const tk_att_scratch *ap, int64_t n_q, const uint8_t *v, int64_t v_row_bytes, int32_t v_type,
                      int64_t j, int64_t nt, int64_t hd, int64_t hdp) {
    const tk_att_scratch a = *ap;
    for (int64_t m = 0; m < n_q; m++) {
        float *p = a.p + m * TK_ATT_TILE, *o = a.o + m * hdp, *l = a.l + m * TK_ATT_LANES;
        float tmax = p[0];
        for (int64_t t = 1; t < nt; t++) tmax = p[t] > tmax ? p[t] : tmax;
        const float mnew = tmax > a.m[m] ? tmax : a.m[m];
        const float alpha = tk_att_exp(a.m[m] - mnew);
        a.m[m] = mnew;
        for (int i = 0; i < TK_ATT_LANES; i++) l[i] *= alpha;
        for (int64_t i = 0; i < hdp; i++) o[i] *= alpha;
        for (int64_t t = 0; t < nt; t++) { p[t] = tk_att_exp(p[t] - mnew); l[t % TK_ATT_LANES] += p[t]; }
    }
    for (int64_t t = 0; t < nt; t++) load_head(v_type, v + (j + t) * v_row_bytes, hd, hdp, a.vt + t * hdp);
    for (int64_t m = 0; m < n_q; m++) {
        const float *p = a.p + m * TK_ATT_TILE;
        float *o = a.o + m * hdp;
        for (int64_t t = 0; t < nt; t++)
            for (int64_t i = 0; i < hdp; i++) o[i] = fmaf(p[t], a.vt[t * hdp + i], o[i]);
    }
}

/* One chunk merges as the identity: exp(0) is 1 exactly and 0 + 1·x = x, so a row split into one
 * chunk equals the direct result. */
void tk_attention_merge(const float *partials, int64_t n_chunks, int64_t stride, int64_t hd, float *out) {
    const int64_t hdp = tk_att_hdp(hd);
    float mx = -INFINITY, l[TK_ATT_LANES] = {0};
    for (int64_t c = 0; c < n_chunks; c++) {
        const float m = partials[c * stride + hdp + TK_ATT_LANES];
        mx = m > mx ? m : mx;
    }
    for (int64_t i = 0; i < hd; i++) out[i] = 0.0f;
    for (int64_t c = 0; c < n_chunks; c++) {
        const float *r = partials + c * stride;
        const float w = tk_att_exp(r[hdp + TK_ATT_LANES] - mx);
        for (int i = 0; i < TK_ATT_LANES; i++) l[i] = l[i] + w * r[hdp + i];
        for (int64_t i = 0; i < hd; i++) out[i] = out[i] + w * r[i];
    }
    const float inv = 1.0f / tk_att_tree16(l);
    for (int64_t i = 0; i < hd; i++) out[i] = out[i] * inv;
}
