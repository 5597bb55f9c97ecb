/* The AVX-512 form of the attention kernel: the arithmetic of generic/attention.c (its scalar
 * twin) with its 16 lanes in one zmm register, equal bit for bit (the AVX2 form holds them in two
 * ymm registers: elements i..i+7 and i+8..i+15; here lane L is element i + L, and the tree is the
 * same: halves added, then tk_hsum_ps). The exp polynomial is the twin's, op for op, 16 at a time;
 * the softmax's L lane L sums the probabilities of positions t ≡ L (mod 16) in order, as there. It
 * reads F16, F32 or Q8_0 caches in place (both of one type, hd a multiple of 16); mixed types and
 * padded heads go to the AVX2 form, which gives the same bits. */
#if defined(__x86_64__)
#pragma clang fp contract(off)
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

TK_AVX512 static inline float hsum16(__m512 v) {
    return tk_hsum_ps(_mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

TK_AVX512 static inline __m512 exp16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(TK_EXP_LO));
    x = _mm512_min_ps(x, _mm512_setzero_ps());
    const __m512 n = _mm512_roundscale_ps(_mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(TK_EXP_LOG2E)), _mm512_set1_ps(0.5f)),
                                          _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-TK_EXP_LN2_HI), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(-TK_EXP_LN2_LO), r);
    __m512 p = _mm512_set1_ps(TK_EXP_C7);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TK_EXP_C6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TK_EXP_C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TK_EXP_C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TK_EXP_C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

/* Sixteen scores at once: r[k] holds the lane partial sums of one (head, position); tk_att_tree16's
 * pairs (lanes l and l + 8, then + 4, + 2, + 1) are added for all 16 in 15 adds, the operands paired
 * across registers by shuffles (a + b is b + a, bit for bit). Lane 4q + c of the result is the sum
 * of r[4c + q]. */
TK_AVX512 TK_ALWAYS_INLINE __m512 tree16x16(const __m512 *r) {
    __m512 s[8], t[4], u[2];
    for (int k = 0; k < 8; k++) {   /* lanes l + (l + 8): [r2k | r2k+1], 8 lanes each */
        const __m512 a = r[2 * k], b = r[2 * k + 1];
        s[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    }
    for (int k = 0; k < 4; k++) {   /* + 4: quarter q is r[4k + q], 4 lanes */
        const __m512 a = s[2 * k], b = s[2 * k + 1];
        t[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD));
    }
    for (int k = 0; k < 2; k++) {   /* + 2: quarter q is r[8k + q], r[8k + 4 + q], 2 lanes each */
        const __m512 a = t[2 * k], b = t[2 * k + 1];
        u[k] = _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x44), _mm512_shuffle_ps(a, b, 0xEE));
    }
    /* + 1: quarter q is r[q], r[4 + q], r[8 + q], r[12 + q] */
    return _mm512_add_ps(_mm512_shuffle_ps(u[0], u[1], 0x88), _mm512_shuffle_ps(u[0], u[1], 0xDD));
}

/* Elements i..i+15 of a stored F16, F32 or Q8_0 head vector as f32, as the twin's tile loader writes them. */
TK_AVX512 TK_ALWAYS_INLINE __m512 ld16(int32_t type, const uint8_t *row, int64_t i) {
    if (type == TK_KV_F16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 2 * i)));
    if (type == TK_KV_Q8_0) {   /* int8 × its block's fp16 scale: exact in f32, as the twin's */
        const uint8_t *b = row + (i / 32) * 34;
        uint16_t dh;
        memcpy(&dh, b, 2);
        const __m512 d = _mm512_cvtph_ps(_mm256_set1_epi16((short)dh));
        const __m128i q8 = _mm_loadu_si128((const __m128i *)(b + 2 + i % 32));
        return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q8)), d);
    }
    return _mm512_loadu_ps((const float *)row + i);
}

/* The twin's tile maximum of one head's scores. */
TK_AVX512 static inline float tile_max(const float *p, int64_t nt) {
    /* the twin's maximum (p[t] > max replaces it) lane by lane, max_ps(p, m) being p > m ? p : m; the
     * lanes' maximum has its value, and its bits unless that is a zero (−0 and +0 tie: first wins there)
     * or p[0] is a NaN, which take the twin's loop */
    __m512 mx = _mm512_set1_ps(p[0]);
    for (int64_t t0 = 0; t0 < nt; t0 += 16) {
        const __mmask16 live = nt - t0 >= 16 ? 0xFFFF : (__mmask16)((1u << (nt - t0)) - 1);
        mx = _mm512_mask_max_ps(mx, live, _mm512_maskz_loadu_ps(live, p + t0), mx);
    }
    float tmax = _mm512_reduce_max_ps(mx);
    if (tmax == 0.0f || tmax != tmax) {
        tmax = p[0];
        for (int64_t t = 1; t < nt; t++) tmax = p[t] > tmax ? p[t] : tmax;
    }
    return tmax;
}

/* The twin's per-head tile update: rescale by alpha, probabilities (lanes t mod 16); mnew is the new
 * running maximum, alpha exp(M_old − mnew). */
TK_AVX512 static void softmax_tile(float *p, int64_t nt, float *o, int64_t hdp, float *l, float mnew, float alpha1) {
    const __m512 alpha = _mm512_set1_ps(alpha1);
    __m512 lv = _mm512_mul_ps(_mm512_loadu_ps(l), alpha);
    for (int64_t i = 0; i < hdp; i += 16) _mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_loadu_ps(o + i), alpha));
    const __m512 mv = _mm512_set1_ps(mnew);
    for (int64_t t0 = 0; t0 < nt; t0 += 16) {
        const __mmask16 live = nt - t0 >= 16 ? 0xFFFF : (__mmask16)((1u << (nt - t0)) - 1);
        const __m512 e = _mm512_maskz_mov_ps(live, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, p + t0), mv)));
        _mm512_mask_storeu_ps(p + t0, live, e);
        /* the lanes past nt add +0 where the AVX2 form adds nothing: the same sums (L is never −0) */
        lv = _mm512_add_ps(lv, e);
    }
    _mm512_storeu_ps(l, lv);
}

/* The scores of heads m..m+hb-1 at positions t..t+16/hb-1 (hb = 4, 2 or 1, a constant where inlined):
 * the twin's 16-lane dots, one K load for hb heads, the 16 trees together. Score (h, p) is lane
 * l = (16 / hb)·h + p, so its sums go to r[4(l mod 4) + l / 4]; head h's scores are lanes
 * (16 / hb)·h onwards, stored in one piece. pf (the first block of a tile's positions): the K lines
 * TK_ATT_PREFETCH_POS rows ahead are prefetched as the dots reach them (a burst of them stalls). */
TK_AVX512 TK_ALWAYS_INLINE void scores16(
        int32_t type, const tk_att_scratch *a, int64_t m, int hb, const uint8_t *kb, int64_t krb, int pf, int64_t t,
        int64_t hdp, float scale) {
    const int pb = 16 / hb;
    const float *qp = a->q + m * hdp;
    __m512 acc[16];
    for (int r = 0; r < 16; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t i = 0; i < hdp; i += 16) {
        __m512 qv[4];
        for (int h = 0; h < hb; h++) qv[h] = _mm512_loadu_ps(qp + h * hdp + i);
        const int64_t off = pf ? tk_att_pf_offset(type, i, krb) : -1;
        for (int p = 0; p < pb; p++) {
            const __m512 kv = ld16(type, kb + (t + p) * krb, i);
            if (off >= 0)   /* the line of these rows TK_ATT_PREFETCH_POS ahead, into L2 */
                _mm_prefetch((const char *)(kb + (t + p + TK_ATT_PREFETCH_POS) * krb + off), _MM_HINT_T1);
            for (int h = 0; h < hb; h++) {
                const int l = pb * h + p;
                acc[4 * (l % 4) + l / 4] = _mm512_fmadd_ps(qv[h], kv, acc[4 * (l % 4) + l / 4]);
            }
        }
    }
    const __m512 sc = _mm512_mul_ps(tree16x16(acc), _mm512_set1_ps(scale));
    float *dst = a->p + m * TK_ATT_TILE + t;
    if (hb == 1) {
        _mm512_storeu_ps(dst, sc);
    } else if (hb == 2) {
        _mm256_storeu_ps(dst, _mm512_castps512_ps256(sc));
        _mm256_storeu_ps(dst + TK_ATT_TILE, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sc), 1)));
    } else {
        _mm_storeu_ps(dst, _mm512_castps512_ps128(sc));
        _mm_storeu_ps(dst + TK_ATT_TILE, _mm512_extractf32x4_ps(sc, 1));
        _mm_storeu_ps(dst + 2 * TK_ATT_TILE, _mm512_extractf32x4_ps(sc, 2));
        _mm_storeu_ps(dst + 3 * TK_ATT_TILE, _mm512_extractf32x4_ps(sc, 3));
    }
}

TK_AVX512 TK_ALWAYS_INLINE void rest512(
        int32_t type, const tk_att_scratch *a, int64_t n_q, const uint8_t *vb, int64_t vrb, int64_t nt, int64_t hdp);

/* One tile of nt positions: scores, the online-softmax update, the weighted V sum. */
TK_AVX512 TK_ALWAYS_INLINE void tile512(
        int32_t type, const tk_att_scratch *a, int64_t n_q, const uint8_t *kb, const uint8_t *vb, int64_t krb, int64_t vrb,
        int64_t nt, int64_t hdp, float scale) {
    /* blocks of hb heads × 16 / hb positions (hb = 4, 2 or 1 as n_q allows), then the rest one position at a time */
    const int hb = n_q % 4 == 0 ? 4 : n_q % 2 == 0 ? 2 : 1;
    int64_t t = 0;
    for (; t + 16 / hb <= nt; t += 16 / hb) {
        for (int64_t m = 0; m < n_q; m += hb) {
            const int pf = m == 0;
            if (hb == 4) scores16(type, a, m, 4, kb, krb, pf, t, hdp, scale);
            else if (hb == 2) scores16(type, a, m, 2, kb, krb, pf, t, hdp, scale);
            else scores16(type, a, m, 1, kb, krb, pf, t, hdp, scale);
        }
    }
    for (; t < nt; t++) {
        const uint8_t *kr = kb + t * krb;
        /* the rows TK_ATT_PREFETCH_POS ahead, every cache line, into L2 */
        for (int64_t b = 0; b < krb; b += 64) _mm_prefetch((const char *)(kr + TK_ATT_PREFETCH_POS * krb + b), _MM_HINT_T1);
        int64_t m = 0;
        for (; m + 4 <= n_q; m += 4) {   /* four heads share each K load */
            const float *qp = a->q + m * hdp;
            __m512 acc[4];
            for (int h = 0; h < 4; h++) acc[h] = _mm512_setzero_ps();
            for (int64_t i = 0; i < hdp; i += 16) {
                const __m512 kv = ld16(type, kr, i);
                for (int h = 0; h < 4; h++) acc[h] = _mm512_fmadd_ps(_mm512_loadu_ps(qp + h * hdp + i), kv, acc[h]);
            }
            for (int h = 0; h < 4; h++) a->p[(m + h) * TK_ATT_TILE + t] = hsum16(acc[h]) * scale;
        }
        for (; m < n_q; m++) {
            const float *qp = a->q + m * hdp;
            __m512 acc = _mm512_setzero_ps();
            for (int64_t i = 0; i < hdp; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(qp + i), ld16(type, kr, i), acc);
            a->p[m * TK_ATT_TILE + t] = hsum16(acc) * scale;
        }
    }
    rest512(type, a, n_q, vb, vrb, nt, hdp);
}

/* The tile after its scores: the online-softmax update, the weighted V sum (V rows of `type`, read in place). */
TK_AVX512 TK_ALWAYS_INLINE void rest512(
        int32_t type, const tk_att_scratch *a, int64_t n_q, const uint8_t *vb, int64_t vrb, int64_t nt, int64_t hdp) {
    /* the heads' maxima first, then their alphas in one exp16 (its lanes are the twin's exp, one each) */
    for (int64_t m0 = 0; m0 < n_q; m0 += 16) {
        const int64_t nh = n_q - m0 < 16 ? n_q - m0 : 16;
        float mnew[16], d[16] = {0}, alpha[16];
        for (int64_t h = 0; h < nh; h++) {
            const float tmax = tile_max(a->p + (m0 + h) * TK_ATT_TILE, nt), mold = a->m[m0 + h];
            mnew[h] = tmax > mold ? tmax : mold;
            d[h] = mold - mnew[h];
            a->m[m0 + h] = mnew[h];
        }
        _mm512_storeu_ps(alpha, exp16(_mm512_loadu_ps(d)));
        for (int64_t h = 0; h < nh; h++)
            softmax_tile(a->p + (m0 + h) * TK_ATT_TILE, nt, a->o + (m0 + h) * hdp, hdp, a->l + (m0 + h) * TK_ATT_LANES, mnew[h], alpha[h]);
    }
    /* o[i] = fma(p[t], v[t][i], o[i]) for t in order; four heads share each V load */
    int64_t m = 0;
    for (; m + 4 <= n_q; m += 4) {
        float *o = a->o + m * hdp;
        const float *p = a->p + m * TK_ATT_TILE;
        for (int64_t i = 0; i < hdp; i += 16) {
            __m512 acc[4];
            for (int h = 0; h < 4; h++) acc[h] = _mm512_loadu_ps(o + h * hdp + i);
            const int64_t off = m == 0 ? tk_att_pf_offset(type, i, vrb) : -1;   /* V lines TK_ATT_PREFETCH_POS rows ahead, into L2 */
            for (int64_t t = 0; t < nt; t++) {
                if (off >= 0) _mm_prefetch((const char *)(vb + (t + TK_ATT_PREFETCH_POS) * vrb + off), _MM_HINT_T1);
                const __m512 vv = ld16(type, vb + t * vrb, i);
                for (int h = 0; h < 4; h++) acc[h] = _mm512_fmadd_ps(_mm512_set1_ps(p[h * TK_ATT_TILE + t]), vv, acc[h]);
            }
            for (int h = 0; h < 4; h++) _mm512_storeu_ps(o + h * hdp + i, acc[h]);
        }
    }
    for (; m < n_q; m++) {
        float *o = a->o + m * hdp;
        const float *p = a->p + m * TK_ATT_TILE;
        for (int64_t i = 0; i < hdp; i += 16) {
            __m512 acc = _mm512_loadu_ps(o + i);
            const int64_t off = m == 0 ? tk_att_pf_offset(type, i, vrb) : -1;
            for (int64_t t = 0; t < nt; t++) {
                if (off >= 0) _mm_prefetch((const char *)(vb + (t + TK_ATT_PREFETCH_POS) * vrb + off), _MM_HINT_T1);
                acc = _mm512_fmadd_ps(_mm512_set1_ps(p[t]), ld16(type, vb + t * vrb, i), acc);
            }
            _mm512_storeu_ps(o + i, acc);
        }
    }
}

TK_AVX512 void tk_attention_avx512(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                                   int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                                   float scale, float *scratch, float *out, float *partial) {
    const int64_t hdp = tk_att_hdp(hd);
    if (k_type != v_type || hd != hdp) {
        tk_attention_avx2(q, n_q, k, v, k_row_bytes, v_row_bytes, k_type, v_type, j0, j1, hd, scale, scratch, out, partial);
        return;
    }
    const tk_att_scratch a = tk_att_layout(scratch, n_q, hdp);
    tk_att_init(&a, q, n_q, hd, hdp);
    for (int64_t j = j0; j < j1; j += TK_ATT_TILE) {
        const int64_t nt = j1 - j < TK_ATT_TILE ? j1 - j : TK_ATT_TILE;
        const uint8_t *kb = k + j * k_row_bytes, *vb = v + j * v_row_bytes;
        if (k_type == TK_KV_F16) tile512(TK_KV_F16, &a, n_q, kb, vb, k_row_bytes, v_row_bytes, nt, hdp, scale);
        else if (k_type == TK_KV_Q8_0) tile512(TK_KV_Q8_0, &a, n_q, kb, vb, k_row_bytes, v_row_bytes, nt, hdp, scale);
        else tile512(TK_KV_F32, &a, n_q, kb, vb, k_row_bytes, v_row_bytes, nt, hdp, scale);
    }
    tk_att_finish(&a, n_q, hd, hdp, out, partial);
}
/* ---- the int8 attention over a Q8_0 key cache (generic/attention_q8.c is its twin), with vpdpbusd ---- */

/* Lane L of the transposed registers holds position perm(L) of a 16-position group (scores_q8_512): the unpacks
 * work within 128-bit chunks, so positions 4-7 and 8-11 trade places (perm is its own inverse). */

/* Block b of positions t0..t0+n-1 (n ≤ 16; absent rows read as zeros) as eight registers, w[j] = dword j
 * (int8 values 4j..4j+3) of each position, plus 128 (xor 0x80: vpdpbusd's unsigned operand). */
TK_VNNI TK_ALWAYS_INLINE void transpose_block(const uint8_t *kb, int64_t krb, int64_t n, int64_t b, __m512i *w) {
    __m512i z[8];
    for (int i = 0; i < 8; i++) {
        const __m256i lo = i < n ? _mm256_loadu_si256((const __m256i *)(kb + i * krb + 34 * b + 2)) : _mm256_setzero_si256();
        const __m256i hi = i + 8 < n ? _mm256_loadu_si256((const __m256i *)(kb + (i + 8) * krb + 34 * b + 2))
                                     : _mm256_setzero_si256();
        z[i] = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_set1_epi8((char)0x80));
    }
    /* per chunk c of z[i] (row i words 0-3, 4-7, row i + 8 words 0-3, 4-7): 4×4 transposes of z[0..3], z[4..7] */
    __m512i e[4], f[4];
    for (int g = 0; g < 2; g++) {
        const __m512i *r = z + 4 * g;
        const __m512i A = _mm512_unpacklo_epi32(r[0], r[1]), B = _mm512_unpackhi_epi32(r[0], r[1]);
        const __m512i C = _mm512_unpacklo_epi32(r[2], r[3]), D = _mm512_unpackhi_epi32(r[2], r[3]);
        __m512i *o = g ? f : e;
        o[0] = _mm512_unpacklo_epi64(A, C); o[1] = _mm512_unpackhi_epi64(A, C);
        o[2] = _mm512_unpacklo_epi64(B, D); o[3] = _mm512_unpackhi_epi64(B, D);
    }
    /* e[j] chunks: word j rows 0-3, word 4+j rows 0-3, word j rows 8-11, word 4+j rows 8-11 (f: rows + 4) */
    for (int j = 0; j < 4; j++) {
        w[j] = _mm512_shuffle_i32x4(e[j], f[j], 0x88);       /* word j: rows 0-3, 8-11, 4-7, 12-15 */
        w[4 + j] = _mm512_shuffle_i32x4(e[j], f[j], 0xDD);   /* word 4 + j */
    }
}

/* The scores of one tile, 16 positions a register (lane L: position perm(L)): per block the keys transposed
 * once for all heads, then per head eight vpdpbusd with the query's dwords broadcast, minus 128·Σq; the
 * twin's epilogue lane by lane, the running sums kept in a->p (permuted) until the last block. */
TK_VNNI static void scores_q8_512(const tk_att_q8 *s, const tk_att_scratch *a, int64_t n_q, const uint8_t *kb,
                                  int64_t krb, int64_t nt, int64_t nb, float scale) {
    const __m512i perm = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
    for (int64_t t0 = 0; t0 < nt; t0 += 16) {
        const int64_t n = nt - t0 < 16 ? nt - t0 : 16;
        const uint8_t *g = kb + t0 * krb;
        const __mmask16 live = _mm512_cmplt_epi32_mask(perm, _mm512_set1_epi32((int)n));
        const __m512i rows = _mm512_mullo_epi32(perm, _mm512_set1_epi32((int)krb));
        for (int64_t b = 0; b < nb; b++) {
            __m512i w[8];
            transpose_block(g, krb, n, b, w);
            /* the 16 positions' fp16 scales (absent rows: 0) */
            const __m512i dh = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, rows, g + 34 * b, 1);
            const __m512 dk = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dh));
            for (int64_t m = 0; m < n_q; m++) {
                const int32_t *qw = (const int32_t *)(s->q + (m * nb + b) * 32);
                __m512i acc = _mm512_set1_epi32(-128 * s->qs[m * nb + b]);
                for (int j = 0; j < 8; j++) acc = _mm512_dpbusd_epi32(acc, w[j], _mm512_set1_epi32(qw[j]));
                const __m512 wt = _mm512_mul_ps(dk, _mm512_set1_ps(s->d[m * nb + b]));
                float *p = a->p + m * TK_ATT_TILE + t0;
                const __m512 prev = b ? _mm512_loadu_ps(p) : _mm512_setzero_ps();
                _mm512_storeu_ps(p, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), wt, prev));
            }
        }
        for (int64_t m = 0; m < n_q; m++) {   /* × scale, back to position order */
            float *p = a->p + m * TK_ATT_TILE + t0;
            const __m512 sc = _mm512_mul_ps(_mm512_loadu_ps(p), _mm512_set1_ps(scale));
            _mm512_storeu_ps(p, _mm512_shuffle_f32x4(sc, sc, 0xD8));   /* chunks 0, 2, 1, 3 */
        }
    }
}

TK_VNNI void tk_attention_q8_avx512vnni(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v,
                                        int64_t k_row_bytes, int64_t v_row_bytes, int32_t k_type, int32_t v_type,
                                        int64_t j0, int64_t j1, int64_t hd, float scale, float *scratch, float *out,
                                        float *partial) {
    const int64_t hdp = tk_att_hdp(hd), nb = (hd + 31) / 32;
    if (k_type != TK_KV_Q8_0 || hd != hdp) {   /* the float form (as the twin), or V through f32 tiles */
        tk_attention_q8_avx2(q, n_q, k, v, k_row_bytes, v_row_bytes, k_type, v_type, j0, j1, hd, scale, scratch, out,
                             partial);
        return;
    }
    const tk_att_scratch a = tk_att_layout(scratch, n_q, hdp);
    const tk_att_q8 s = tk_att_q8_layout(scratch, n_q, hd);
    tk_att_init(&a, q, n_q, hd, hdp);
    tk_att_q8_query(q, n_q, hd, &s);
    for (int64_t j = j0; j < j1; j += TK_ATT_TILE) {
        const int64_t nt = j1 - j < TK_ATT_TILE ? j1 - j : TK_ATT_TILE;
        const uint8_t *kb = k + j * k_row_bytes, *vb = v + j * v_row_bytes;
        /* the K rows TK_ATT_PREFETCH_POS ahead into L2 (rest512 prefetches V's) */
        for (int64_t t = 0; t < nt; t++)
            for (int64_t o = 0; o < k_row_bytes; o += 64)
                _mm_prefetch((const char *)(kb + (t + TK_ATT_PREFETCH_POS) * k_row_bytes + o), _MM_HINT_T1);
        scores_q8_512(&s, &a, n_q, kb, k_row_bytes, nt, nb, scale);
        if (v_type == TK_KV_Q8_0) rest512(TK_KV_Q8_0, &a, n_q, vb, v_row_bytes, nt, hdp);
        else if (v_type == TK_KV_F16) rest512(TK_KV_F16, &a, n_q, vb, v_row_bytes, nt, hdp);
        else rest512(TK_KV_F32, &a, n_q, vb, v_row_bytes, nt, hdp);
    }
    tk_att_finish(&a, n_q, hd, hdp, out, partial);
}
#endif
