/* AVX-512 block product: each row's block is decoded whole, Q6_K in 512-bit integer steps, Q8_0 and Q5_K by
 * the AVX2 decoder, into int8 codes and the f32 scale (and min) of each 16 weights, Q4_0 and Q4_K into a table
 * of each scale's 16 values; 16 at a time the codes become their exact f32 values (trit_kernels.h) (or are
 * looked up: vpermps) and go into one FMA chain of 16 lanes per (row, token), k in steps of 16,
 * then _mm512_reduce_add_ps: the AVX-512 dense kernel's arithmetic (row1_f32 and its tiles) on a load-time
 * F32 copy, bit for bit. Its order differs from the 8-lane twin's, so it equals the twin within the dense
 * kernels' tolerance (as tk_dense_gemm_avx512 equals tk_dense_gemm_scalar).
 * A weight is code·dl, as in the twin, or, with a min, fmsub(code, dl, ml): code·dl is exact (≤ 22
 * significant bits), so fmsub's one rounding is the twin's rounding of the difference (the same f32 value,
 * also for inf and NaN scales).
 * One token (decode): BLOCK_ROWS1 rows at once, their contiguous span prefetched linearly ahead; a row
 * alone (the certified head's exact rows) and several tokens take the same chain.
 * Compiled everywhere; run only where dispatch.c finds AVX-512. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"
#include "block_x86.h"

#pragma clang fp contract(off)

#define BLOCK_ROWS1 4
#define BLOCK_PF_MIN 12288

/* Q6_K: the 256 signed codes q − 32 and the 16 scales d·scale[g], 128 weights (a) per 512-bit step. */
TK_AVX512 TK_ALWAYS_INLINE void q6k_decode512(const uint8_t *b, int8_t *q, float *dl) {
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30), off = _mm512_set1_epi8(32);
    /* per 256-bit half (j = 0, 1 | j = 2, 3): bits 2j, 2j + 1 of qh moved to bits 4, 5 */
    const __m512i sl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i sr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    for (int a = 0; a < 2; a++) {
        const __m512i ql = _mm512_loadu_si512(b + 64 * a);   /* j = 0 | 1 (low nibbles), 2 | 3 (high) */
        const __m512i h = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b + 128 + 32 * a)));
        const __m512i h01 = _mm512_and_si512(_mm512_sllv_epi16(h, sl), m30);
        const __m512i h23 = _mm512_and_si512(_mm512_srlv_epi16(h, sr), m30);
        /* (ql & 15) | h: ternlog A·C | B with C = 15 (h has no bits below 4) */
        const __m512i q01 = _mm512_ternarylogic_epi32(ql, h01, m4, 0xEC);
        const __m512i q23 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ql, 4), h23, m4, 0xEC);
        _mm512_storeu_si512(q + 128 * a, _mm512_sub_epi8(q01, off));
        _mm512_storeu_si512(q + 128 * a + 64, _mm512_sub_epi8(q23, off));
    }
    const __m512 d = _mm512_set1_ps(tk_f16_at(b + 208));
    const __m128i sc = _mm_loadu_si128((const __m128i *)(b + 192));
    _mm512_storeu_ps(dl, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc))));
}

/* A row's current block, decoded: Q4_0 and Q4_K as the f32 values of each code (a table of 16 a scale,
 * fl(d·(c − 8)) and fmsub(c, dl, ml) = fl(fl(dl·c) − ml), picked by vpermps with the nibbles as indices);
 * the others as codes (q, or the block's own bytes for Q8_0) and dl, ml for each 16 weights. */
typedef struct {
    _Alignas(64) float tab[8][16];
    _Alignas(64) float dl[16], ml[16];
    _Alignas(64) int8_t qb[256];
    const int8_t *q;
    const uint8_t *qs;
} row_block;

TK_AVX512 TK_ALWAYS_INLINE void decode512(row_block *s, const uint8_t *b, tk_dtype T) {
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    switch (T) {
    case TK_Q6_K:
        q6k_decode512(b, s->qb, s->dl);
        s->q = s->qb;
        break;
    case TK_Q4_0:
        s->qs = b + 2;
        _mm512_store_ps(s->tab[0], _mm512_mul_ps(_mm512_sub_ps(iota, _mm512_set1_ps(8)), _mm512_set1_ps(tk_f16_at(b))));
        break;
    case TK_Q4_K: {
        s->qs = b + 16;
        __m256 d8, m8;
        tk_k_scales8(b, &d8, &m8);
        _mm256_store_ps(s->dl, d8);
        _mm256_store_ps(s->ml, m8);
        for (int j = 0; j < 8; j++)
            _mm512_store_ps(s->tab[j], _mm512_fmsub_ps(iota, _mm512_set1_ps(s->dl[j]), _mm512_set1_ps(s->ml[j])));
        break;
    }
    default:
        s->q = tk_block_decode(b, T, s->qb, s->dl, s->ml);
        break;
    }
}

/* Weights 16g .. 16g+15 of a decoded block (the twin's f32 values). */
TK_AVX512 TK_ALWAYS_INLINE __m512 w16(const row_block *s, tk_dtype T, int g) {
    if (T == TK_Q4_0 || T == TK_Q4_K) {   /* Q4_K: sub-block j = g/2 is nibble j & 1 of qs[32(j/2) + l] */
        const int j = g >> 1, o = T == TK_Q4_0 ? 0 : 32 * (j >> 1) + 16 * (g & 1), hi = T == TK_Q4_0 ? g : j & 1;
        __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(s->qs + o)));
        if (hi) idx = _mm512_srli_epi32(idx, 4);   /* vpermps reads the low 4 bits */
        return _mm512_permutexvar_ps(idx, _mm512_load_ps(s->tab[T == TK_Q4_0 ? 0 : j]));
    }
    const __m512 c = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(s->q + 16 * g))));
    return T == TK_Q5_K ? _mm512_fmsub_ps(c, _mm512_set1_ps(s->dl[g]), _mm512_set1_ps(s->ml[g]))
                        : _mm512_mul_ps(c, _mm512_set1_ps(s->dl[g]));
}

/* One token: rows [r0, r1), BLOCK_ROWS1 at a time, then single rows with the same chain. */
TK_AVX512 TK_ALWAYS_INLINE void block_one(const uint8_t *w, tk_dtype T, int64_t K, int64_t r0, int64_t r1,
                                          const float *x, float *out) {
    const int64_t BE = tk_dtype_block_elems(T), BB = tk_dtype_block_bytes(T), nb = K / BE, rb = nb * BB;
    const int G = (int)(BE / 16);
    int64_t r = r0;
    for (; r + BLOCK_ROWS1 <= r1; r += BLOCK_ROWS1) {
        const uint8_t *span = w + r * rb;
        const int64_t dist = BLOCK_ROWS1 * rb > BLOCK_PF_MIN ? BLOCK_ROWS1 * rb : BLOCK_PF_MIN;
        __m512 a[BLOCK_ROWS1];
        for (int i = 0; i < BLOCK_ROWS1; i++) a[i] = _mm512_setzero_ps();
        for (int64_t blk = 0; blk < nb; blk++) {
            for (int64_t o = BLOCK_ROWS1 * blk * BB; o < BLOCK_ROWS1 * (blk + 1) * BB; o += 64)
                _mm_prefetch((const char *)span + dist + o, _MM_HINT_T1);
            row_block s[BLOCK_ROWS1];
            for (int i = 0; i < BLOCK_ROWS1; i++) decode512(&s[i], span + i * rb + blk * BB, T);
            const float *xb = x + blk * BE;
            for (int g = 0; g < G; g++) {
                const __m512 xv = _mm512_loadu_ps(xb + 16 * g);
                for (int i = 0; i < BLOCK_ROWS1; i++)
                    a[i] = _mm512_fmadd_ps(w16(&s[i], T, g), xv, a[i]);
            }
        }
        for (int i = 0; i < BLOCK_ROWS1; i++) out[r + i] = _mm512_reduce_add_ps(a[i]);
    }
    for (; r < r1; r++) {
        __m512 a = _mm512_setzero_ps();
        for (int64_t blk = 0; blk < nb; blk++) {
            row_block s;
            decode512(&s, w + r * rb + blk * BB, T);
            for (int g = 0; g < G; g++) a = _mm512_fmadd_ps(w16(&s, T, g), _mm512_loadu_ps(x + blk * BE + 16 * g), a);
        }
        out[r] = _mm512_reduce_add_ps(a);
    }
}

/* Row r × NT tokens from x (stride ldx) into out (stride ldo), each block decoded once for NT tokens. */
TK_AVX512 TK_ALWAYS_INLINE void block_row_tokens(const uint8_t *w, tk_dtype T, int64_t K, int64_t r, const float *x,
                                                 int64_t ldx, int NT, float *out, int64_t ldo) {
    const int64_t BE = tk_dtype_block_elems(T), BB = tk_dtype_block_bytes(T), nb = K / BE;
    const int G = (int)(BE / 16);
    __m512 a[4];
    for (int t = 0; t < NT; t++) a[t] = _mm512_setzero_ps();
    for (int64_t blk = 0; blk < nb; blk++) {
        row_block s;
        decode512(&s, w + (r * nb + blk) * BB, T);
        for (int g = 0; g < G; g++) {
            const __m512 wv = w16(&s, T, g);
            for (int t = 0; t < NT; t++)
                a[t] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + t * ldx + blk * BE + 16 * g), a[t]);
        }
    }
    for (int t = 0; t < NT; t++) out[t * ldo + r] = _mm512_reduce_add_ps(a[t]);
}

TK_AVX512 TK_ALWAYS_INLINE void block_multi(const uint8_t *w, tk_dtype T, int64_t K, int64_t r0, int64_t r1,
                                            const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    for (int64_t r = r0; r < r1; r++)
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const float *xt = x + t0 * ldx;
            float *ot = out + t0 * ldo;
            switch (n - t0 < 4 ? n - t0 : 4) {
            case 1: block_row_tokens(w, T, K, r, xt, ldx, 1, ot, ldo); break;
            case 2: block_row_tokens(w, T, K, r, xt, ldx, 2, ot, ldo); break;
            case 3: block_row_tokens(w, T, K, r, xt, ldx, 3, ot, ldo); break;
            default: block_row_tokens(w, T, K, r, xt, ldx, 4, ot, ldo); break;
            }
        }
}

/* One instantiation per type, so the inner loops have no type switch. */
#define BLOCK_TYPE(NAME, T)                                                                               \
TK_AVX512 static void NAME(const uint8_t *w, int64_t K, int64_t r0, int64_t r1, const float *x, int64_t ldx, \
                           int64_t n, float *out, int64_t ldo) {                                           \
    if (n == 1) block_one(w, T, K, r0, r1, x, out);                                                       \
    else block_multi(w, T, K, r0, r1, x, ldx, n, out, ldo);                                               \
}
BLOCK_TYPE(block_q4_0, TK_Q4_0)
BLOCK_TYPE(block_q8_0, TK_Q8_0)
BLOCK_TYPE(block_q4_k, TK_Q4_K)
BLOCK_TYPE(block_q5_k, TK_Q5_K)
BLOCK_TYPE(block_q6_k, TK_Q6_K)

TK_AVX512 void tk_block_gemm_avx512(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1,
                                    const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    const uint8_t *b = w;
    switch (t) {
    case TK_Q4_0: block_q4_0(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q8_0: block_q8_0(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q4_K: block_q4_k(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q5_K: block_q5_k(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q6_K: block_q6_k(b, K, r0, r1, x, ldx, n, out, ldo); break;
    default: tk_block_gemm_scalar(w, t, K, r0, r1, x, ldx, n, out, ldo); break;
    }
}
#endif
