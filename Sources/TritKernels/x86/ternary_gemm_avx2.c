/* AVX2 ternary product: vpmaddubsw (u8 code x s8 activation -> i16 pairs), the i16 sums of up to
 * ACC16_BLOCKS blocks widened to i32 by one vpmaddwd. Same integer sums as
 * generic/ternary_gemm_scalar.c (integer adds are exact in any order).
 *
 * A block's 32 bytes hold 4 strips of 32 codes (strip g at bit shift 6-2g); each strip is decoded
 * (shift, and) when it is used and multiplied into the tile's NT <= 8 tokens: per 128 weights and
 * token 4 vpmaddubsw and 4 i16 adds (the old per-block vpmaddwd and i32 add are gone), the decode
 * shared by the tokens. One row a tile: a 2-row × 4-token tile needs more than the 16 ymm registers
 * once the compiler interleaves the strips, and spilled (1.3× slower on Zen 3).
 *
 * Overflow: a code is <= 2 and q is in [-128, 127], so a vpmaddubsw pair is in [-512, 508] (no
 * saturation), a block's four strips add [-2048, 2032] to an i16 lane, and ACC16_BLOCKS = 16 blocks
 * stay in [-32768, 32512]: the most that fit (17 would not; the extreme-sums test checks it). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

#define TK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TK_AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

#define ACC16_BLOCKS 16
/* Bytes ahead of the current weight position prefetched into L2 while a tile's rows are read from
 * memory (decode, and a prompt's first token group): rows are consecutive, so the weights stream
 * linearly (the hardware prefetcher alone loses much of the bandwidth on short rows). */
#define PF_DIST 12288

/* The lane sums of a[0..nt) (nt <= 4) into sums[0..nt) (hadd pairs lanes; integer sums are exact in
 * any order). */
TK_AVX2_INLINE void hsum4_i32(const __m256i *a, int nt, int32_t *sums) {
    const __m256i z = _mm256_setzero_si256();
    const __m256i h01 = _mm256_hadd_epi32(a[0], nt > 1 ? a[1] : z);
    const __m256i h23 = _mm256_hadd_epi32(nt > 2 ? a[2] : z, nt > 3 ? a[3] : z);
    const __m256i h = _mm256_hadd_epi32(h01, h23);
    _mm_storeu_si128((__m128i *)sums, _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
}

/* One row × tokens [0, NT) of q (token stride kp, NT <= 8): the NT integer sums Σ code·q into
 * sums[0..NT) (sums holds 8). */
TK_AVX2_INLINE void row_tokens(const uint8_t *row, const int8_t *q, int64_t kp, int64_t nblocks, int NT,
                               int prefetch, int32_t *sums) {
    const __m256i mask = _mm256_set1_epi8(3), ones16 = _mm256_set1_epi16(1);
    __m256i acc[8];
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nblocks; b0 += ACC16_BLOCKS) {
        const int64_t b1 = b0 + ACC16_BLOCKS < nblocks ? b0 + ACC16_BLOCKS : nblocks;
        __m256i p[8];
        for (int t = 0; t < NT; t++) p[t] = _mm256_setzero_si256();
        for (int64_t b = b0; b < b1; b++) {
            const uint8_t *blk = row + b * TK_BLOCK_BYTES;
            if (prefetch) _mm_prefetch((const char *)(blk + PF_DIST), _MM_HINT_T1);
            const __m256i w = _mm256_loadu_si256((const __m256i *)blk);
            const int8_t *qb = q + b * TK_BLOCK;
            for (int g = 0; g < 4; g++) {
                const __m256i c = _mm256_and_si256(g == 3 ? w : _mm256_srli_epi16(w, 6 - 2 * g), mask);
                for (int t = 0; t < NT; t++) {
                    const __m256i qv = _mm256_loadu_si256((const __m256i *)(qb + t * kp + 32 * g));
                    p[t] = _mm256_add_epi16(p[t], _mm256_maddubs_epi16(c, qv));
                }
            }
        }
        for (int t = 0; t < NT; t++) acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p[t], ones16));
    }
    hsum4_i32(acc, NT < 4 ? NT : 4, sums);
    if (NT > 4) hsum4_i32(acc + 4, NT - 4, sums + 4);
}

/* Rows [r0, r1) × NT tokens from t0. */
TK_AVX2_INLINE void rows_tokens(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                const int8_t *q, const float *s, const int32_t *qsum, int64_t t0, int NT,
                                int prefetch, float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES, kp = nblocks * TK_BLOCK;
    const int8_t *qt = q + t0 * kp;
    int32_t sums[8];
    for (int64_t r = r0; r < r1; r++) {
        row_tokens(codes + r * row_bytes, qt, kp, nblocks, NT, prefetch, sums);
        for (int t = 0; t < NT; t++) out[(t0 + t) * ldo + r] = (float)(sums[t] - qsum[t0 + t]) / s[t0 + t] * beta;
    }
}

/* Tokens a group: 8 (the decode of a block shared by 8) while the group's activations fit in L1
 * with the weights going past (K <= 3072: 24 KB), else 4. 2B4T, pp128, 2 threads, Zen 3, builds
 * alternating: 4 everywhere 95.8-98.7 tokens/s; 8 everywhere no gain (the FFN down product, K =
 * 6912, read its 55 KB of activations from L2); 8 up to K = 3072 103.1-104.1. */
#define GROUP_MAX_KP 3072

TK_AVX2 void tk_ternary_gemm_avx2(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                 const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                 float beta, float *out, int64_t ldo) {
    /* token groups outside, rows inside: the group's activations stay in L1 while the call's rows
     * (a chunk sized for L2 by parallel.c) stream past; the first group reads them from memory */
    const int64_t group = row_bytes / TK_BLOCK_BYTES * TK_BLOCK <= GROUP_MAX_KP ? 8 : 4;
    for (int64_t t0 = 0; t0 < n; t0 += group) {
        const int pf = t0 == 0;
        switch (n - t0 < group ? n - t0 : group) {
        case 1: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 1, pf, beta, out, ldo); break;
        case 2: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 2, pf, beta, out, ldo); break;
        case 3: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 3, pf, beta, out, ldo); break;
        case 4: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 4, pf, beta, out, ldo); break;
        case 5: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 5, pf, beta, out, ldo); break;
        case 6: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 6, pf, beta, out, ldo); break;
        case 7: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 7, pf, beta, out, ldo); break;
        default: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 8, pf, beta, out, ldo); break;
        }
    }
}

/* Dense product. Every (row, token) is one FMA chain over k in steps of 8, tk_hsum_ps, then the
 * scalar tail, whatever the tile: so a row's logit does not depend on the rows computed with it (the
 * certified head recomputes single rows) nor a token's on the tokens of its batch (the engine's batch
 * invariance, bit for bit; until 2026-12-06 one token summed in two chains, a batch in one).
 * One token (decode, the output head): 8 rows at once, 8 independent chains to hide the latency.
 *
 * Several tokens: 2 rows × 4 tokens, each weight vector converted once for 4 tokens, one FMA chain
 * per (row, token) over k in steps of 8. K is cut into DENSE_KB blocks so the 4 tokens' activations
 * of a block (16 KB) stay in L1 while the row pairs go past; the chains wait in a stack buffer
 * between blocks, so the sums are bit for bit the unblocked ones. Unblocked, every row pair read the
 * 4 × K activations (40 KB for K = 2560) from L2 and the kernel ran at half the FMA rate on Zen 3.
 * Rows go in sub-blocks of DENSE_RB (80 KB of F16 weights at K = 2560, in L2 for every token group);
 * while the first token group computes one, the next is prefetched linearly. */
#define DENSE_KB 1024
#define DENSE_RB 16

/* The scalar tail of one (row, token) sum: elements [K8, K) in order. */
TK_AVX2_INLINE float dense_tail(float sum, const void *w, tk_dtype dtype, int64_t wi, const float *x, int64_t K8,
                                int64_t K) {
    for (int64_t kk = K8; kk < K; kk++) sum += tk_dense_element(w, dtype, wi + kk) * x[kk];
    return sum;
}

/* Elements [kb, ke) of rows r and r1 (r1 == r for an odd last row) × NT tokens into the chains
 * acc[0][0..NT) and acc[1][0..NT); with PF, one line of the span at pf every 64 bytes read. */
TK_AVX2_INLINE void dense_pair(const void *w, tk_dtype DT, int64_t K, int64_t r, int64_t r1, const float *x,
                               int64_t ldx, int NT, int64_t kb, int64_t ke, int PF, const char *pf, __m256 acc[2][4]) {
    __m256 a[2][4];
    for (int i = 0; i < NT; i++) { a[0][i] = acc[0][i]; a[1][i] = acc[1][i]; }
    const int64_t pair_esz = DT == TK_F32 ? 8 : 4;   /* bytes of the two rows an element */
    for (int64_t k = kb; k < ke; k += 8) {
        if (PF && ((k - kb) * pair_esz & 63) == 0) _mm_prefetch(pf + (k - kb) * pair_esz, _MM_HINT_T1);
        const __m256 w0 = tk_dense8(w, DT, r * K + k), w1 = tk_dense8(w, DT, r1 * K + k);
        for (int i = 0; i < NT; i++) {
            const __m256 xv = _mm256_loadu_ps(x + i * ldx + k);
            a[0][i] = _mm256_fmadd_ps(w0, xv, a[0][i]);
            a[1][i] = _mm256_fmadd_ps(w1, xv, a[1][i]);
        }
    }
    for (int i = 0; i < NT; i++) { acc[0][i] = a[0][i]; acc[1][i] = a[1][i]; }
}

/* Rows [rb0, rb1) (at most DENSE_RB) × tokens [0, NT) of x. */
TK_AVX2_INLINE void dense_sub(const void *w, tk_dtype DT, int64_t K, int64_t rb0, int64_t rb1, int64_t rows_end,
                              const float *x, int64_t ldx, int NT, int PF, float *out, int64_t ldo) {
    const int64_t K8 = K / 8 * 8, esz = DT == TK_F32 ? 4 : 2;
    __m256 acc[DENSE_RB / 2][2][4];
    for (int64_t j = 0; j < (rb1 - rb0 + 1) / 2; j++)
        for (int i = 0; i < NT; i++) acc[j][0][i] = acc[j][1][i] = _mm256_setzero_ps();
    /* the next sub-block's span, prefetched at the rate this one is read (whole if it exists) */
    const char *next = (const char *)w + rb1 * K * esz;
    const int pf = PF && rb1 < rows_end;
    int64_t pf_off = 0;
    for (int64_t kb = 0; kb < K8; kb += DENSE_KB) {
        const int64_t ke = kb + DENSE_KB < K8 ? kb + DENSE_KB : K8;
        for (int64_t r = rb0; r < rb1; r += 2) {
            const int64_t r1 = r + 1 < rb1 ? r + 1 : r;
            if (pf) dense_pair(w, DT, K, r, r1, x, ldx, NT, kb, ke, 1, next + pf_off, acc[(r - rb0) / 2]);
            else dense_pair(w, DT, K, r, r1, x, ldx, NT, kb, ke, 0, next, acc[(r - rb0) / 2]);
            pf_off += 2 * (ke - kb) * esz;
        }
    }
    for (int64_t r = rb0; r < rb1; r++)
        for (int i = 0; i < NT; i++)
            out[i * ldo + r] = dense_tail(tk_hsum_ps(acc[(r - rb0) / 2][(r - rb0) % 2][i]), w, DT, r * K, x + i * ldx,
                                          K8, K);
}

TK_AVX2_INLINE void dense_multi(const void *w, tk_dtype DT, int64_t K, int64_t r0, int64_t r1, const float *x,
                                int64_t ldx, int64_t n, float *out, int64_t ldo) {
    const int64_t esz = DT == TK_F32 ? 4 : 2;
    /* the first sub-block's span before it is read (the later ones by the one before) */
    for (int64_t b = 0; b < (r1 - r0 < DENSE_RB ? r1 - r0 : DENSE_RB) * K * esz; b += 64)
        _mm_prefetch((const char *)w + r0 * K * esz + b, _MM_HINT_T1);
    for (int64_t rb0 = r0; rb0 < r1; rb0 += DENSE_RB) {
        const int64_t rb1 = rb0 + DENSE_RB < r1 ? rb0 + DENSE_RB : r1;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const float *xt = x + t0 * ldx;
            float *ot = out + t0 * ldo;
            const int pf = t0 == 0;
            switch (n - t0 < 4 ? n - t0 : 4) {
            case 1: dense_sub(w, DT, K, rb0, rb1, r1, xt, ldx, 1, pf, ot, ldo); break;
            case 2: dense_sub(w, DT, K, rb0, rb1, r1, xt, ldx, 2, pf, ot, ldo); break;
            case 3: dense_sub(w, DT, K, rb0, rb1, r1, xt, ldx, 3, pf, ot, ldo); break;
            default: dense_sub(w, DT, K, rb0, rb1, r1, xt, ldx, 4, pf, ot, ldo); break;
            }
        }
    }
}

/* One token: rows [r0, r1), DENSE_ROWS1 at once with one FMA chain each (8 independent chains hide
 * the FMA latency), each row's sum exactly as a (row, token) of dense_sub computes it. */
#define DENSE_ROWS1 8
TK_AVX2_INLINE void dense_one(const void *w, tk_dtype DT, int64_t K, int64_t r0, int64_t r1, const float *x,
                              float *out) {
    const int64_t K8 = K / 8 * 8, esz = DT == TK_F32 ? 4 : 2;
    int64_t r = r0;
    for (; r + DENSE_ROWS1 <= r1; r += DENSE_ROWS1) {
        __m256 a[DENSE_ROWS1];
        for (int i = 0; i < DENSE_ROWS1; i++) a[i] = _mm256_setzero_ps();
        /* the head is streamed once per token: the rows are one contiguous span, prefetched
         * linearly at least one span ahead (DENSE_ROWS1 rows × 8 elements consumed per step) */
        const char *span = (const char *)w + r * K * esz;
        const int64_t dist = DENSE_ROWS1 * K * esz > 12288 ? DENSE_ROWS1 * K * esz : 12288;
        for (int64_t k = 0; k < K8; k += 8) {
            for (int64_t l = 0; l < DENSE_ROWS1 * 8 * esz; l += 64)
                _mm_prefetch(span + DENSE_ROWS1 * k * esz + dist + l, _MM_HINT_T1);
            const __m256 xv = _mm256_loadu_ps(x + k);
            for (int i = 0; i < DENSE_ROWS1; i++) a[i] = _mm256_fmadd_ps(tk_dense8(w, DT, (r + i) * K + k), xv, a[i]);
        }
        for (int i = 0; i < DENSE_ROWS1; i++) out[r + i] = dense_tail(tk_hsum_ps(a[i]), w, DT, (r + i) * K, x, K8, K);
    }
    for (; r < r1; r++) {   /* a row alone (the certified head's exact rows): the same sum */
        __m256 a = _mm256_setzero_ps();
        for (int64_t k = 0; k < K8; k += 8) a = _mm256_fmadd_ps(tk_dense8(w, DT, r * K + k), _mm256_loadu_ps(x + k), a);
        out[r] = dense_tail(tk_hsum_ps(a), w, DT, r * K, x, K8, K);
    }
}

TK_AVX2 void tk_dense_gemm_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                               const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    if (n == 1) {
        if (dtype == TK_F16) dense_one(w, TK_F16, K, r0, r1, x, out);
        else if (dtype == TK_BF16) dense_one(w, TK_BF16, K, r0, r1, x, out);
        else dense_one(w, TK_F32, K, r0, r1, x, out);
        return;
    }
    if (dtype == TK_F16) dense_multi(w, TK_F16, K, r0, r1, x, ldx, n, out, ldo);
    else if (dtype == TK_BF16) dense_multi(w, TK_BF16, K, r0, r1, x, ldx, n, out, ldo);
    else dense_multi(w, TK_F32, K, r0, r1, x, ldx, n, out, ldo);
}
#endif
