/* Dense product. Every (row, token) is one FMA chain over k in steps of 8, tk_hsum_ps, then the
 * scalar tail, whatever the tile: so a row's logit does not depend on the rows computed with it (the
 * certified head recomputes single rows) nor a token's on the tokens of its batch (the engine's batch
 * invariance, bit for bit).
 * One token (decode, the output head): 8 rows at once, 8 independent chains to hide the latency.
 *
 * Several tokens: 2 rows × 4 tokens, each weight vector converted once for 4 tokens, one FMA chain
 * per (row, token) over k in steps of 8. K is cut into DENSE_KB blocks so the 4 tokens' activations
 * of a block (16 KB) stay in L1 while the row pairs go past; the chains wait in a stack buffer
 * between blocks, so the sums are bit for bit the unblocked ones (unblocked, every row pair would read
 * the 4 × K activations from L2, too slowly to keep the FMAs busy).
 * Rows go in sub-blocks of DENSE_RB (80 KB of F16 weights at K = 2560, in L2 for every token group);
 * while the first token group computes one, the next is prefetched linearly. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

#define DENSE_KB 1024
#define DENSE_RB 16

/* The scalar tail of one (row, token) sum: elements [K8, K) in order. */
TK_AVX2 TK_ALWAYS_INLINE float dense_tail(float sum, const void *w, tk_dtype dtype, int64_t wi, const float *x,
                                          int64_t K8, int64_t K) {
    for (int64_t kk = K8; kk < K; kk++) sum += tk_dense_element(w, dtype, wi + kk) * x[kk];
    return sum;
}

/* Elements [kb, ke) of rows r and r1 (r1 == r for an odd last row) × NT tokens into the chains
 * acc[0][0..NT) and acc[1][0..NT); with PF, one line of the span at pf every 64 bytes read. */
TK_AVX2 TK_ALWAYS_INLINE void dense_pair(const void *w, tk_dtype DT, int64_t K, int64_t r, int64_t r1, const float *x,
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
TK_AVX2 TK_ALWAYS_INLINE void dense_sub(const void *w, tk_dtype DT, int64_t K, int64_t rb0, int64_t rb1,
                                        int64_t rows_end, const float *x, int64_t ldx, int NT, int PF, float *out,
                                        int64_t ldo) {
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

TK_AVX2 TK_ALWAYS_INLINE void dense_multi(const void *w, tk_dtype DT, int64_t K, int64_t r0, int64_t r1, const float *x,
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
TK_AVX2 TK_ALWAYS_INLINE void dense_one(const void *w, tk_dtype DT, int64_t K, int64_t r0, int64_t r1, const float *x,
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
