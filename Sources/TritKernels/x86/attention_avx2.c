/* The AVX2 form of the attention kernel: the arithmetic of generic/attention.c (its scalar
 * twin) in 8-float registers, equal bit for bit. The 16 lanes of a dot are two ymm registers
 * (elements i..i+7, i+8..i+15); their tree is (lo + hi) then tk_hsum_ps. The exp polynomial is
 * the twin's, op for op (attention_avx512.c holds the 16 lanes in one register). When both
 * caches have one type and hd is a multiple of 16, K and V are
 * read in place, with the next tile prefetched; otherwise through f32 tiles (tile_avx2 either way). */
#if defined(__x86_64__)
#pragma clang fp contract(off)
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

/* nt stored head vectors (row_bytes apart) as rows of hdp floats, zero padded. */
TK_AVX2 static void load_tile(int32_t type, const uint8_t *src, int64_t row_bytes, int64_t nt, int64_t hd,
                              int64_t hdp, float *dst) {
    for (int64_t t = 0; t < nt; t++) {
        const uint8_t *s = src + t * row_bytes;
        float *d = dst + t * hdp;
        int64_t i = 0;
        if (type == TK_KV_F32) {
            for (; i + 8 <= hd; i += 8) _mm256_storeu_ps(d + i, _mm256_loadu_ps((const float *)s + i));
            for (; i < hd; i++) memcpy(d + i, s + 4 * i, 4);
        } else if (type == TK_KV_F16) {
            for (; i + 8 <= hd; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + 2 * i))));
            for (; i < hd; i++) { uint16_t b; memcpy(&b, s + 2 * i, 2); d[i] = tk_f16_to_f32(b); }
        } else {
            for (int64_t b0 = 0; b0 < hd; b0 += 32, s += 34) {
                uint16_t dh; memcpy(&dh, s, 2);
                const float sc = tk_f16_to_f32(dh);
                const int64_t bl = hd - b0 < 32 ? hd - b0 : 32;
                int64_t e = 0;
                const __m256 scv = _mm256_set1_ps(sc);
                for (; e + 8 <= bl; e += 8) {
                    const __m256i w = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(s + 2 + e)));
                    _mm256_storeu_ps(d + b0 + e, _mm256_mul_ps(_mm256_cvtepi32_ps(w), scv));
                }
                for (; e < bl; e++) d[b0 + e] = (float)(int8_t)s[2 + e] * sc;
            }
            i = hd;
        }
        for (; i < hdp; i++) d[i] = 0.0f;
    }
}

TK_AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(TK_EXP_LO));
    x = _mm256_min_ps(x, _mm256_setzero_ps());
    const __m256 n = _mm256_floor_ps(_mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(TK_EXP_LOG2E)), _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-TK_EXP_LN2_HI), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-TK_EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(TK_EXP_C7);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(TK_EXP_C6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(TK_EXP_C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(TK_EXP_C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(TK_EXP_C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

TK_AVX2 static inline float att_exp1(float x) { return _mm256_cvtss_f32(exp8(_mm256_set1_ps(x))); }

/* Elements i..i+7 of a stored head vector as f32, exactly as load_tile writes them (hd a
 * multiple of 16, so 8 elements never straddle a Q8_0 block). */
TK_AVX2 TK_ALWAYS_INLINE __m256 ld8(int32_t type, const uint8_t *row, int64_t i) {
    if (type == TK_KV_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * i)));
    if (type == TK_KV_Q8_0) {
        const uint8_t *b = row + (i / 32) * 34;
        uint16_t dh;
        memcpy(&dh, b, 2);
        const __m256 d = _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dh)));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b + 2 + i % 32)))), d);
    }
    return _mm256_loadu_ps((const float *)row + i);
}

/* The twin's per-head tile update: max, rescale by alpha, probabilities (lanes t mod 16). */
TK_AVX2 static void softmax_tile(float *p, int64_t nt, float *o, int64_t hdp, float *l, float *mrun) {
    /* the twin's maximum lane by lane, as in the AVX-512 form (max_ps(p, m) is p > m ? p : m) */
    __m256 mx = _mm256_set1_ps(p[0]);
    int64_t t = 0;
    for (; t + 8 <= nt; t += 8) mx = _mm256_max_ps(_mm256_loadu_ps(p + t), mx);
    float tmax = tk_hmax_ps(mx);
    for (; t < nt; t++) tmax = p[t] > tmax ? p[t] : tmax;
    if (tmax == 0.0f || tmax != tmax) {
        tmax = p[0];
        for (t = 1; t < nt; t++) tmax = p[t] > tmax ? p[t] : tmax;
    }
    const float mnew = tmax > *mrun ? tmax : *mrun;
    const __m256 alpha = _mm256_set1_ps(att_exp1(*mrun - mnew));
    *mrun = mnew;
    __m256 l0 = _mm256_mul_ps(_mm256_loadu_ps(l), alpha), l1 = _mm256_mul_ps(_mm256_loadu_ps(l + 8), alpha);
    for (int64_t i = 0; i < hdp; i += 8) _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_loadu_ps(o + i), alpha));
    const __m256 mv = _mm256_set1_ps(mnew);
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t t0 = 0; t0 < nt; t0 += 8) {
        const __m256 live = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(nt - t0)), iota));
        const __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_loadu_ps(p + t0), mv)), live);
        _mm256_storeu_ps(p + t0, e);
        if ((t0 / 8) % 2 == 0) l0 = _mm256_add_ps(l0, e); else l1 = _mm256_add_ps(l1, e);
    }
    _mm256_storeu_ps(l, l0);
    _mm256_storeu_ps(l + 8, l1);
}

/* Four heads' dots with one K row (one K load for the 4): the twin's lanes as lo + hi, 8 lanes each,
 * before the tree. */
TK_AVX2 TK_ALWAYS_INLINE void dots4(int32_t type, const float *qp, const uint8_t *kr, int64_t hdp,
                                    __m256 *d) {
    __m256 acc[4][2];
    for (int h = 0; h < 4; h++) { acc[h][0] = _mm256_setzero_ps(); acc[h][1] = acc[h][0]; }
    for (int64_t i = 0; i < hdp; i += 16) {
        const __m256 k0 = ld8(type, kr, i), k1 = ld8(type, kr, i + 8);
        for (int h = 0; h < 4; h++) {
            acc[h][0] = _mm256_fmadd_ps(_mm256_loadu_ps(qp + h * hdp + i), k0, acc[h][0]);
            acc[h][1] = _mm256_fmadd_ps(_mm256_loadu_ps(qp + h * hdp + i + 8), k1, acc[h][1]);
        }
    }
    for (int h = 0; h < 4; h++) d[h] = _mm256_add_ps(acc[h][0], acc[h][1]);
}

/* Eight scores at once: x[k] holds the 8 lanes lo + hi of one (head, position); tk_hsum_ps's pairs
 * (lanes l and l + 4, + 2, + 1) are added for all 8 in 7 adds, the operands paired across registers
 * by shuffles (a + b is b + a, bit for bit). Lane 4h + c of the result is the sum of x[2c + h]. */
TK_AVX2 TK_ALWAYS_INLINE __m256 tree8x8(const __m256 *x) {
    __m256 s[4], t[2];
    for (int k = 0; k < 4; k++) {   /* + 4: half h is x[2k + h] */
        const __m256 a = x[2 * k], b = x[2 * k + 1];
        s[k] = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
    }
    for (int k = 0; k < 2; k++) {   /* + 2: half h is x[4k + h], x[4k + 2 + h], 2 lanes each */
        const __m256 a = s[2 * k], b = s[2 * k + 1];
        t[k] = _mm256_add_ps(_mm256_shuffle_ps(a, b, 0x44), _mm256_shuffle_ps(a, b, 0xEE));
    }
    /* + 1: half h is x[h], x[2 + h], x[4 + h], x[6 + h] */
    return _mm256_add_ps(_mm256_shuffle_ps(t[0], t[1], 0x88), _mm256_shuffle_ps(t[0], t[1], 0xDD));
}

/* The scores of heads m..m+3 at positions t and t + 1: the twin's dots (lo, hi lanes, one K load for
 * 4 heads), then their 8 trees together. Score (head h, position p) is lane l = 2h + p, its lo + hi
 * goes to x[2(l mod 4) + l / 4]. */
TK_AVX2 TK_ALWAYS_INLINE void scores4x2(
        int32_t type, const tk_att_scratch *a, int64_t m, const uint8_t *kb, int64_t krb, int64_t t, int64_t hdp,
        float scale) {
    __m256 x[8];
    for (int p = 0; p < 2; p++) {
        __m256 d[4];
        dots4(type, a->q + m * hdp, kb + (t + p) * krb, hdp, d);
        for (int h = 0; h < 4; h++) {
            const int l = 2 * h + p;
            x[2 * (l % 4) + l / 4] = d[h];
        }
    }
    const __m256 sc = _mm256_mul_ps(tree8x8(x), _mm256_set1_ps(scale));
    const __m128 lo = _mm256_castps256_ps128(sc), hi = _mm256_extractf128_ps(sc, 1);
    float *dst = a->p + m * TK_ATT_TILE + t;
    _mm_storel_pi((__m64 *)dst, lo);
    _mm_storeh_pi((__m64 *)(dst + TK_ATT_TILE), lo);
    _mm_storel_pi((__m64 *)(dst + 2 * TK_ATT_TILE), hi);
    _mm_storeh_pi((__m64 *)(dst + 3 * TK_ATT_TILE), hi);
}

/* F16 and F32: the V rows' prefetch (TK_ATT_PREFETCH_POS rows ahead, into L2) is issued during the V
 * sums, in the pass over elements i..i+15 the line at v_pf_offset (-1: none) of each row, so the
 * stream is requested through the whole tile. Q8_0 keeps it with the K rows' (measured faster). */
TK_AVX2 static inline int64_t v_pf_offset(int32_t type, int64_t i, int64_t vrb, int on) {
    return on && type != TK_KV_Q8_0 ? tk_att_pf_offset(type, i, vrb) : -1;
}

/* The prefetch issued as the dots reach position row kr: a Q8_0 tile ahead into L1, K and V rows
 * (faster than the L2 form there); else the K row TK_ATT_PREFETCH_POS ahead into L2. */
TK_AVX2 TK_ALWAYS_INLINE void row_prefetch(int32_t type, const uint8_t *kr, int64_t krb,
                                           const uint8_t *vr, int64_t vrb) {
    if (type == TK_KV_Q8_0) {
        for (int64_t b = 0; b < krb; b += 64) _mm_prefetch((const char *)(kr + TK_ATT_TILE * krb + b), _MM_HINT_T0);
        for (int64_t b = 0; b < vrb; b += 64) _mm_prefetch((const char *)(vr + TK_ATT_TILE * vrb + b), _MM_HINT_T0);
    } else {
        for (int64_t b = 0; b < krb; b += 64) _mm_prefetch((const char *)(kr + TK_ATT_PREFETCH_POS * krb + b), _MM_HINT_T1);
    }
}

TK_AVX2 TK_ALWAYS_INLINE void rest_avx2(
        int32_t type, const tk_att_scratch *a, int64_t n_q, const uint8_t *vb, int64_t vrb, int64_t nt, int64_t hdp,
        int prefetch);

/* One tile of nt positions (rows krb / vrb bytes apart, stored as `type`, head vectors of hdp
 * values, hdp a multiple of 16): scores, the online-softmax update, the weighted V sum. Called on
 * the cache itself (both types equal, hd = hdp) or on f32 tiles made by load_tile. */
TK_AVX2 TK_ALWAYS_INLINE void tile_avx2(
        int32_t type, const tk_att_scratch *a, int64_t n_q, const uint8_t *kb, const uint8_t *vb, int64_t krb, int64_t vrb,
        int64_t nt, int64_t hdp, float scale, int prefetch) {
    for (int64_t t = 0; t < nt; t++) {
        const uint8_t *kr = kb + t * krb;
        const int pair = n_q % 4 == 0 && t + 2 <= nt && t % 2 == 0;   /* positions t, t + 1 by scores4x2 */
        if (prefetch) row_prefetch(type, kr, krb, vb + t * vrb, vrb);
        if (pair) {
            if (prefetch) row_prefetch(type, kr + krb, krb, vb + (t + 1) * vrb, vrb);
            for (int64_t m = 0; m < n_q; m += 4) scores4x2(type, a, m, kb, krb, t, hdp, scale);
            t++;
            continue;
        }
        int64_t m = 0;
        for (; m + 4 <= n_q; m += 4) {   /* four heads share each K load */
            __m256 d[4];
            dots4(type, a->q + m * hdp, kr, hdp, d);
            for (int h = 0; h < 4; h++) a->p[(m + h) * TK_ATT_TILE + t] = tk_hsum_ps(d[h]) * scale;
        }
        for (; m < n_q; m++) {
            const float *qp = a->q + m * hdp;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0;
            for (int64_t i = 0; i < hdp; i += 16) {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp + i), ld8(type, kr, i), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qp + i + 8), ld8(type, kr, i + 8), a1);
            }
            a->p[m * TK_ATT_TILE + t] = tk_hsum_ps(_mm256_add_ps(a0, a1)) * scale;
        }
    }
    rest_avx2(type, a, n_q, vb, vrb, nt, hdp, prefetch);
}

/* The tile after its scores: the online-softmax update, the weighted V sum (V rows `type`, in place or f32). */
TK_AVX2 TK_ALWAYS_INLINE void rest_avx2(
        int32_t type, const tk_att_scratch *a, int64_t n_q, const uint8_t *vb, int64_t vrb, int64_t nt, int64_t hdp,
        int prefetch) {
    for (int64_t m = 0; m < n_q; m++) softmax_tile(a->p + m * TK_ATT_TILE, nt, a->o + m * hdp, hdp, a->l + m * TK_ATT_LANES, a->m + m);
    /* o[i] = fma(p[t], v[t][i], o[i]) for t in order; four heads share each V load (8 FMA chains) */
    int64_t m = 0;
    for (; m + 4 <= n_q; m += 4) {
        float *o = a->o + m * hdp;
        const float *p = a->p + m * TK_ATT_TILE;
        for (int64_t i = 0; i < hdp; i += 16) {
            __m256 acc[4][2];
            for (int h = 0; h < 4; h++) { acc[h][0] = _mm256_loadu_ps(o + h * hdp + i); acc[h][1] = _mm256_loadu_ps(o + h * hdp + i + 8); }
            const int64_t off = v_pf_offset(type, i, vrb, prefetch && m == 0);
            for (int64_t t = 0; t < nt; t++) {
                if (off >= 0) _mm_prefetch((const char *)(vb + (t + TK_ATT_PREFETCH_POS) * vrb + off), _MM_HINT_T1);
                const __m256 v0 = ld8(type, vb + t * vrb, i), v1 = ld8(type, vb + t * vrb, i + 8);
                for (int h = 0; h < 4; h++) {
                    const __m256 pv = _mm256_broadcast_ss(p + h * TK_ATT_TILE + t);
                    acc[h][0] = _mm256_fmadd_ps(pv, v0, acc[h][0]);
                    acc[h][1] = _mm256_fmadd_ps(pv, v1, acc[h][1]);
                }
            }
            for (int h = 0; h < 4; h++) { _mm256_storeu_ps(o + h * hdp + i, acc[h][0]); _mm256_storeu_ps(o + h * hdp + i + 8, acc[h][1]); }
        }
    }
    for (; m < n_q; m++) {
        float *o = a->o + m * hdp;
        const float *p = a->p + m * TK_ATT_TILE;
        for (int64_t i = 0; i < hdp; i += 16) {
            __m256 o0 = _mm256_loadu_ps(o + i), o1 = _mm256_loadu_ps(o + i + 8);
            const int64_t off = v_pf_offset(type, i, vrb, prefetch && m == 0);
            for (int64_t t = 0; t < nt; t++) {
                if (off >= 0) _mm_prefetch((const char *)(vb + (t + TK_ATT_PREFETCH_POS) * vrb + off), _MM_HINT_T1);
                const __m256 pv = _mm256_broadcast_ss(p + t);
                o0 = _mm256_fmadd_ps(pv, ld8(type, vb + t * vrb, i), o0);
                o1 = _mm256_fmadd_ps(pv, ld8(type, vb + t * vrb, i + 8), o1);
            }
            _mm256_storeu_ps(o + i, o0); _mm256_storeu_ps(o + i + 8, o1);
        }
    }
}

TK_AVX2 void tk_attention_avx2(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes, int64_t v_row_bytes,
                               int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd, float scale,
                               float *scratch, float *out, float *partial) {
    const int64_t hdp = tk_att_hdp(hd);
    const tk_att_scratch a = tk_att_layout(scratch, n_q, hdp);
    tk_att_init(&a, q, n_q, hd, hdp);
    const int in_place = hd == hdp && k_type == v_type;
    for (int64_t j = j0; j < j1; j += TK_ATT_TILE) {
        const int64_t nt = j1 - j < TK_ATT_TILE ? j1 - j : TK_ATT_TILE;
        const uint8_t *kb = k + j * k_row_bytes, *vb = v + j * v_row_bytes;
        /* one specialised body per type */
        if (in_place && k_type == TK_KV_F16) tile_avx2(TK_KV_F16, &a, n_q, kb, vb, k_row_bytes, v_row_bytes, nt, hdp, scale, 1);
        else if (in_place && k_type == TK_KV_Q8_0) tile_avx2(TK_KV_Q8_0, &a, n_q, kb, vb, k_row_bytes, v_row_bytes, nt, hdp, scale, 1);
        else if (in_place) tile_avx2(TK_KV_F32, &a, n_q, kb, vb, k_row_bytes, v_row_bytes, nt, hdp, scale, 1);
        else {
            load_tile(k_type, kb, k_row_bytes, nt, hd, hdp, a.kt);
            load_tile(v_type, vb, v_row_bytes, nt, hd, hdp, a.vt);
            tile_avx2(TK_KV_F32, &a, n_q, (const uint8_t *)a.kt, (const uint8_t *)a.vt, 4 * hdp, 4 * hdp, nt, hdp, scale, 0);
        }
    }
    tk_att_finish(&a, n_q, hd, hdp, out, partial);
}
/* ---- the int8 attention over a Q8_0 key cache (generic/attention_q8.c is its twin) ---- */

/* Lane i: the sum of d[i]'s eight lanes (exact: int32). */
TK_AVX2 TK_ALWAYS_INLINE __m256i reduce8_i32(const __m256i *d) {
    const __m256i g0 = _mm256_hadd_epi32(_mm256_hadd_epi32(d[0], d[1]), _mm256_hadd_epi32(d[2], d[3]));
    const __m256i g1 = _mm256_hadd_epi32(_mm256_hadd_epi32(d[4], d[5]), _mm256_hadd_epi32(d[6], d[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(g0, g1, 0x20), _mm256_permute2x128_si256(g0, g1, 0x31));
}

/* The tile's key scales as f32 (zero past nt), dk[b][t]. */
TK_AVX2 static void key_scales(const uint8_t *kb, int64_t krb, int64_t nt, int64_t nb, float *dk) {
    for (int64_t b = 0; b < nb; b++)
        for (int64_t t = 0; t < TK_ATT_TILE; t++) {
            uint16_t dh = 0;
            if (t < nt) memcpy(&dh, kb + t * krb + 34 * b, 2);
            dk[b * TK_ATT_TILE + t] = tk_f16_to_f32(dh);
        }
}

/* The scores of one tile, 8 positions a register: per (head, block) the 8 int dots (|k| · sign(q, k) by
 * maddubs, pairs ≤ 2·127² fit int16), summed across lanes, then the twin's epilogue lane by lane. */
TK_AVX2 static void scores_q8_avx2(const tk_att_q8 *s, const tk_att_scratch *a, int64_t n_q, const uint8_t *kb,
                                   int64_t krb, int64_t nt, int64_t nb, float scale) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t m = 0; m < n_q; m++) {
        for (int64_t t0 = 0; t0 < nt; t0 += 8) {
            const int64_t n = nt - t0 < 8 ? nt - t0 : 8;
            __m256 acc = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                const __m256i qv = _mm256_loadu_si256((const __m256i *)(s->q + (m * nb + b) * 32));
                __m256i d[8];
                for (int i = 0; i < 8; i++) {
                    if (i < n) {
                        const __m256i kv = _mm256_loadu_si256((const __m256i *)(kb + (t0 + i) * krb + 34 * b + 2));
                        d[i] = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(kv), _mm256_sign_epi8(qv, kv)), ones);
                    } else {
                        d[i] = _mm256_setzero_si256();
                    }
                }
                const __m256 w = _mm256_mul_ps(_mm256_loadu_ps(s->dk + b * TK_ATT_TILE + t0), _mm256_set1_ps(s->d[m * nb + b]));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce8_i32(d)), w, acc);
            }
            _mm256_storeu_ps(a->p + m * TK_ATT_TILE + t0, _mm256_mul_ps(acc, _mm256_set1_ps(scale)));
        }
    }
}

/* The next tile's K and V rows into L1 while this one's scores are made (as the float form's Q8_0 path). */
TK_AVX2 static inline void prefetch_next_tile(const uint8_t *kb, int64_t krb, const uint8_t *vb, int64_t vrb, int64_t nt) {
    for (int64_t t = 0; t < nt; t++) {
        for (int64_t b = 0; b < krb; b += 64) _mm_prefetch((const char *)(kb + (TK_ATT_TILE + t) * krb + b), _MM_HINT_T0);
        for (int64_t b = 0; b < vrb; b += 64) _mm_prefetch((const char *)(vb + (TK_ATT_TILE + t) * vrb + b), _MM_HINT_T0);
    }
}

TK_AVX2 void tk_attention_q8_avx2(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                                  int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                                  float scale, float *scratch, float *out, float *partial) {
    if (k_type != TK_KV_Q8_0) {   /* as the twin */
        tk_attention_avx2(q, n_q, k, v, k_row_bytes, v_row_bytes, k_type, v_type, j0, j1, hd, scale, scratch, out, partial);
        return;
    }
    const int64_t hdp = tk_att_hdp(hd), nb = (hd + 31) / 32;
    const tk_att_scratch a = tk_att_layout(scratch, n_q, hdp);
    const tk_att_q8 s = tk_att_q8_layout(scratch, n_q, hd);
    tk_att_init(&a, q, n_q, hd, hdp);
    tk_att_q8_query(q, n_q, hd, &s);
    for (int64_t j = j0; j < j1; j += TK_ATT_TILE) {
        const int64_t nt = j1 - j < TK_ATT_TILE ? j1 - j : TK_ATT_TILE;
        const uint8_t *kb = k + j * k_row_bytes, *vb = v + j * v_row_bytes;
        if (j + TK_ATT_TILE < j1) prefetch_next_tile(kb, k_row_bytes, vb, v_row_bytes, j1 - j - TK_ATT_TILE < nt ? j1 - j - TK_ATT_TILE : nt);
        key_scales(kb, k_row_bytes, nt, nb, s.dk);
        scores_q8_avx2(&s, &a, n_q, kb, k_row_bytes, nt, nb, scale);
        if (hd == hdp && v_type == TK_KV_Q8_0) rest_avx2(TK_KV_Q8_0, &a, n_q, vb, v_row_bytes, nt, hdp, 1);
        else if (hd == hdp && v_type == TK_KV_F16) rest_avx2(TK_KV_F16, &a, n_q, vb, v_row_bytes, nt, hdp, 1);
        else if (hd == hdp && v_type == TK_KV_F32) rest_avx2(TK_KV_F32, &a, n_q, vb, v_row_bytes, nt, hdp, 1);
        else {
            load_tile(v_type, vb, v_row_bytes, nt, hd, hdp, a.vt);
            rest_avx2(TK_KV_F32, &a, n_q, (const uint8_t *)a.vt, 4 * hdp, nt, hdp, 0);
        }
    }
    tk_att_finish(&a, n_q, hd, hdp, out, partial);
}
#endif
