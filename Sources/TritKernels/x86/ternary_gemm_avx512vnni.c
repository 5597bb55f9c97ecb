/* AVX-512 VNNI ternary product, 256-bit form (AVX512VL): vpdpbusd multiplies u8 codes by s8
 * activations and adds groups of four into i32 lanes in one instruction. On Zen 4 512-bit
 * operations are issued as two 256-bit halves, so the 256-bit form loses nothing and keeps a
 * packed block (32 bytes) aligned with 32 consecutive activations, like the AVX2 variant.
 *
 * Tiles: decode (one token) runs 4 rows at once so each activation load serves 4 rows; prompts
 * run 2 rows × 4 tokens so each decoded weight block serves 4 tokens and each activation load 2
 * rows (AVX512VL gives 32 vector registers, enough for 8 accumulators + 8 code vectors). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

#define TK_VNNI __attribute__((target("avx2,avx512f,avx512vl,avx512bw,avx512vnni")))

#define DECODE(w, c0, c1, c2, c3) \
    const __m256i c0 = _mm256_and_si256(_mm256_srli_epi16(w, 6), mask); \
    const __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(w, 4), mask); \
    const __m256i c2 = _mm256_and_si256(_mm256_srli_epi16(w, 2), mask); \
    const __m256i c3 = _mm256_and_si256(w, mask)

#define DOT4(acc, c0, c1, c2, c3, q0, q1, q2, q3) \
    acc = _mm256_dpbusd_epi32(acc, c0, q0); acc = _mm256_dpbusd_epi32(acc, c1, q1); \
    acc = _mm256_dpbusd_epi32(acc, c2, q2); acc = _mm256_dpbusd_epi32(acc, c3, q3)

#define LOADQ(p) \
    const __m256i q0 = _mm256_loadu_si256((const __m256i *)(p)); \
    const __m256i q1 = _mm256_loadu_si256((const __m256i *)((p) + 32)); \
    const __m256i q2 = _mm256_loadu_si256((const __m256i *)((p) + 64)); \
    const __m256i q3 = _mm256_loadu_si256((const __m256i *)((p) + 96))

/* Two accumulators per row (groups 0-1 and 2-3 of a block) halve each dependency chain. */
#define DOT4X(acc, accb, c0, c1, c2, c3, q0, q1, q2, q3) \
    acc = _mm256_dpbusd_epi32(acc, c0, q0); accb = _mm256_dpbusd_epi32(accb, c2, q2); \
    acc = _mm256_dpbusd_epi32(acc, c1, q1); accb = _mm256_dpbusd_epi32(accb, c3, q3)

/* One token, rows [r, r+4). */
TK_VNNI static void rows4_token1(const uint8_t *codes, int64_t row_bytes, int64_t r, const int8_t *q,
                                 int64_t nblocks, int32_t out[4]) {
    const __m256i mask = _mm256_set1_epi8(3);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    __m256i b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const uint8_t *w0 = codes + r * row_bytes, *w1 = w0 + row_bytes, *w2 = w1 + row_bytes, *w3 = w2 + row_bytes;
    for (int64_t b = 0; b < nblocks; b++) {
        /* decode streams the weights once: prefetch the same block of the next 4 rows */
        _mm_prefetch((const char *)(w0 + b * 32 + 8 * row_bytes), _MM_HINT_T0);
        _mm_prefetch((const char *)(w2 + b * 32 + 8 * row_bytes), _MM_HINT_T0);
        LOADQ(q + b * TK_BLOCK);
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)(w0 + b * 32));
        const __m256i x1 = _mm256_loadu_si256((const __m256i *)(w1 + b * 32));
        const __m256i x2 = _mm256_loadu_si256((const __m256i *)(w2 + b * 32));
        const __m256i x3 = _mm256_loadu_si256((const __m256i *)(w3 + b * 32));
        { DECODE(x0, c0, c1, c2, c3); DOT4X(a0, b0, c0, c1, c2, c3, q0, q1, q2, q3); }
        { DECODE(x1, c0, c1, c2, c3); DOT4X(a1, b1, c0, c1, c2, c3, q0, q1, q2, q3); }
        { DECODE(x2, c0, c1, c2, c3); DOT4X(a2, b2, c0, c1, c2, c3, q0, q1, q2, q3); }
        { DECODE(x3, c0, c1, c2, c3); DOT4X(a3, b3, c0, c1, c2, c3, q0, q1, q2, q3); }
    }
    out[0] = tk_hsum_i32(_mm256_add_epi32(a0, b0)); out[1] = tk_hsum_i32(_mm256_add_epi32(a1, b1));
    out[2] = tk_hsum_i32(_mm256_add_epi32(a2, b2)); out[3] = tk_hsum_i32(_mm256_add_epi32(a3, b3));
}

/* Rows [r, r+2) × tokens [t0, t0+4) (token pointers may repeat for a short tail). */
TK_VNNI static void rows2_tokens4(const uint8_t *codes, int64_t row_bytes, int64_t r, const int8_t *const qt[4],
                                  int64_t nblocks, int32_t out[2][4]) {
    const __m256i mask = _mm256_set1_epi8(3);
    __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00;
    __m256i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    const uint8_t *w0 = codes + r * row_bytes, *w1 = w0 + row_bytes;
    for (int64_t b = 0; b < nblocks; b++) {
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)(w0 + b * 32));
        const __m256i x1 = _mm256_loadu_si256((const __m256i *)(w1 + b * 32));
        DECODE(x0, c0, c1, c2, c3);
        DECODE(x1, d0, d1, d2, d3);
        { LOADQ(qt[0] + b * TK_BLOCK); DOT4(a00, c0, c1, c2, c3, q0, q1, q2, q3); DOT4(a10, d0, d1, d2, d3, q0, q1, q2, q3); }
        { LOADQ(qt[1] + b * TK_BLOCK); DOT4(a01, c0, c1, c2, c3, q0, q1, q2, q3); DOT4(a11, d0, d1, d2, d3, q0, q1, q2, q3); }
        { LOADQ(qt[2] + b * TK_BLOCK); DOT4(a02, c0, c1, c2, c3, q0, q1, q2, q3); DOT4(a12, d0, d1, d2, d3, q0, q1, q2, q3); }
        { LOADQ(qt[3] + b * TK_BLOCK); DOT4(a03, c0, c1, c2, c3, q0, q1, q2, q3); DOT4(a13, d0, d1, d2, d3, q0, q1, q2, q3); }
    }
    out[0][0] = tk_hsum_i32(a00); out[0][1] = tk_hsum_i32(a01); out[0][2] = tk_hsum_i32(a02); out[0][3] = tk_hsum_i32(a03);
    out[1][0] = tk_hsum_i32(a10); out[1][1] = tk_hsum_i32(a11); out[1][2] = tk_hsum_i32(a12); out[1][3] = tk_hsum_i32(a13);
}

/* One row, one token (the remainder rows). */
TK_VNNI static int32_t row1_token1(const uint8_t *row, const int8_t *q, int64_t nblocks) {
    const __m256i mask = _mm256_set1_epi8(3);
    __m256i a = _mm256_setzero_si256();
    for (int64_t b = 0; b < nblocks; b++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(row + b * 32));
        DECODE(x, c0, c1, c2, c3);
        LOADQ(q + b * TK_BLOCK);
        DOT4(a, c0, c1, c2, c3, q0, q1, q2, q3);
    }
    return tk_hsum_i32(a);
}

TK_VNNI void tk_ternary_gemm_avx512vnni(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                       const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                       float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES;
    const int64_t kp = nblocks * TK_BLOCK;
    if (n == 1) {
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
            int32_t acc[4];
            rows4_token1(codes, row_bytes, r, q, nblocks, acc);
            for (int i = 0; i < 4; i++) out[r + i] = (float)(acc[i] - qsum[0]) / s[0] * beta;
        }
        for (; r < r1; r++) out[r] = (float)(row1_token1(codes + r * row_bytes, q, nblocks) - qsum[0]) / s[0] * beta;
        return;
    }
    int64_t r = r0;
    for (; r < r1; r += 2) {
        const int rows = r + 2 <= r1 ? 2 : 1;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const int64_t nt = n - t0 < 4 ? n - t0 : 4;
            const int8_t *qt[4];
            for (int i = 0; i < 4; i++) qt[i] = q + (t0 + (i < nt ? i : 0)) * kp;
            int32_t acc[2][4];
            if (rows == 2) {
                rows2_tokens4(codes, row_bytes, r, qt, nblocks, acc);
            } else {
                for (int i = 0; i < nt; i++) acc[0][i] = row1_token1(codes + r * row_bytes, qt[i], nblocks);
            }
            for (int j = 0; j < rows; j++)
                for (int64_t i = 0; i < nt; i++) {
                    const int64_t t = t0 + i;
                    out[t * ldo + r + j] = (float)(acc[j][i] - qsum[t]) / s[t] * beta;
                }
        }
    }
}
#endif
