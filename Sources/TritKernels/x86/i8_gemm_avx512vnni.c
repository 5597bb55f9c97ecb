/* int8 head product, AVX-512 VNNI. vpdpbusd multiplies u8 by s8, so q is flipped to u8 with
 * q ^ 0x80 = q + 128 and 128·Σw is subtracted afterwards. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

/* One token, rows [r, r+4), 512-bit (Kp is a multiple of 128): the decode form of the head, which
 * streams the whole int8 matrix once per token, so it prefetches the 4-row span linearly at least
 * one span ahead (as the ternary decode kernel does). */
TK_VNNI static void rows4_token1(const int8_t *w, int64_t Kp, int64_t r, const int8_t *q, int32_t out[4]) {
    const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1);
    const int8_t *w0 = w + r * Kp;
    const int64_t dist = 4 * Kp > 12288 ? 4 * Kp : 12288;
    __m512i a[4], sw[4];
    for (int i = 0; i < 4; i++) { a[i] = _mm512_setzero_si512(); sw[i] = a[i]; }
    for (int64_t k = 0; k < Kp; k += 64) {
        for (int l = 0; l < 4; l++) _mm_prefetch((const char *)(w0 + 4 * k + dist + 64 * l), _MM_HINT_T1);
        for (int l = 0; l < 4; l++) _mm_prefetch((const char *)(w0 + 4 * k + 4096 + 64 * l), _MM_HINT_T0);
        const __m512i qv = _mm512_xor_si512(_mm512_loadu_si512(q + k), flip);
        for (int i = 0; i < 4; i++) {
            const __m512i x = _mm512_loadu_si512(w0 + i * Kp + k);
            a[i] = _mm512_dpbusd_epi32(a[i], qv, x);
            sw[i] = _mm512_dpbusd_epi32(sw[i], ones, x);   /* Σw, for the +128 offset */
        }
    }
    for (int i = 0; i < 4; i++) out[i] = _mm512_reduce_add_epi32(a[i]) - 128 * _mm512_reduce_add_epi32(sw[i]);
}

/* Any number of tokens, 256-bit, two rows per activation load. */
TK_VNNI static void rows_tokens(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                                const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const __m256i ones = _mm256_set1_epi8(1);
    for (int64_t t = 0; t < n; t++) {
        const int8_t *qt = q + t * Kp;
        int64_t r = r0;
        for (; r + 2 <= r1; r += 2) {   /* two rows share each activation load */
            const int8_t *w0 = w + r * Kp, *w1 = w0 + Kp;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, s0 = a0, s1 = a0;
            for (int64_t k = 0; k < Kp; k += 32) {
                const __m256i qv = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(qt + k)), flip);
                const __m256i x0 = _mm256_loadu_si256((const __m256i *)(w0 + k));
                const __m256i x1 = _mm256_loadu_si256((const __m256i *)(w1 + k));
                a0 = _mm256_dpbusd_epi32(a0, qv, x0);
                a1 = _mm256_dpbusd_epi32(a1, qv, x1);
                s0 = _mm256_dpbusd_epi32(s0, ones, x0);   /* Σw, for the +128 offset */
                s1 = _mm256_dpbusd_epi32(s1, ones, x1);
            }
            out[t * ldo + r] = (float)(tk_hsum_i32(a0) - 128 * tk_hsum_i32(s0)) * wscale[r] / s[t];
            out[t * ldo + r + 1] = (float)(tk_hsum_i32(a1) - 128 * tk_hsum_i32(s1)) * wscale[r + 1] / s[t];
        }
        for (; r < r1; r++) {
            const int8_t *w0 = w + r * Kp;
            __m256i a0 = _mm256_setzero_si256(), s0 = a0;
            for (int64_t k = 0; k < Kp; k += 32) {
                const __m256i qv = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(qt + k)), flip);
                const __m256i x0 = _mm256_loadu_si256((const __m256i *)(w0 + k));
                a0 = _mm256_dpbusd_epi32(a0, qv, x0);
                s0 = _mm256_dpbusd_epi32(s0, ones, x0);
            }
            out[t * ldo + r] = (float)(tk_hsum_i32(a0) - 128 * tk_hsum_i32(s0)) * wscale[r] / s[t];
        }
    }
}
/* NR rows × 4 tokens (qt may repeat a token for a short group), 512-bit: a row's 64 bytes serve
 * the 4 tokens and its Σw, so the batched head (decode rows of several sequences) reads each row
 * tile from memory once. With `stream` (the first token group, which reads the tile from memory)
 * the 4-row span is prefetched linearly at least one span ahead into L2 and 4 KB ahead into L1, as
 * in the one-token form; the further groups find it in L1 (prefetching only the next tile into L1
 * left the memory's latency exposed). Tiles of exactly 2 or 3 tokens measured slower than 4 with
 * repeats, so short groups keep the 4-token tile. */
TK_VNNI TK_ALWAYS_INLINE void rows_tokens4(const int8_t *w, int64_t Kp, int64_t r, const int NR,
                                           const int8_t *const qt[4], int32_t out[4][4], int stream) {
    const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1);
    const int8_t *w0 = w + r * Kp;
    const int64_t dist = 4 * Kp > 12288 ? 4 * Kp : 12288;
    __m512i a[4][4], sw[4];
    for (int i = 0; i < NR; i++) {
        sw[i] = _mm512_setzero_si512();
        for (int t = 0; t < 4; t++) a[i][t] = sw[i];
    }
    for (int64_t k = 0; k < Kp; k += 64) {
        __m512i qv[4];
        if (stream) {
            for (int l = 0; l < NR; l++) _mm_prefetch((const char *)(w0 + NR * k + dist + 64 * l), _MM_HINT_T1);
            for (int l = 0; l < NR; l++) _mm_prefetch((const char *)(w0 + NR * k + 4096 + 64 * l), _MM_HINT_T0);
        }
        for (int t = 0; t < 4; t++) qv[t] = _mm512_xor_si512(_mm512_loadu_si512(qt[t] + k), flip);
        for (int i = 0; i < NR; i++) {
            const __m512i x = _mm512_loadu_si512(w0 + i * Kp + k);
            sw[i] = _mm512_dpbusd_epi32(sw[i], ones, x);   /* Σw, for the +128 offset */
            for (int t = 0; t < 4; t++) a[i][t] = _mm512_dpbusd_epi32(a[i][t], qv[t], x);
        }
    }
    for (int i = 0; i < NR; i++) {
        const int32_t off = 128 * _mm512_reduce_add_epi32(sw[i]);
        for (int t = 0; t < 4; t++) out[i][t] = _mm512_reduce_add_epi32(a[i][t]) - off;
    }
}

TK_VNNI void tk_i8_gemm_avx512vnni(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                                   const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo) {
    if (Kp % 64 != 0) {
        rows_tokens(w, wscale, Kp, r0, r1, q, s, n, out, ldo);
        return;
    }
    if (n == 1) {
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
            int32_t acc[4];
            rows4_token1(w, Kp, r, q, acc);
            for (int i = 0; i < 4; i++) out[r + i] = (float)acc[i] * wscale[r + i] / s[0];
        }
        if (r < r1) rows_tokens(w, wscale, Kp, r, r1, q, s, 1, out, ldo);
        return;
    }
    /* rows outside, groups of 4 tokens inside: a row tile (4 × Kp bytes) stays in L1 for every group */
    for (int64_t r = r0; r < r1;) {
        const int nr = r + 4 <= r1 ? 4 : 1;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const int64_t nt = n - t0 < 4 ? n - t0 : 4;
            const int8_t *qt[4];
            for (int t = 0; t < 4; t++) qt[t] = q + (t0 + (t < nt ? t : 0)) * Kp;
            int32_t acc[4][4];
            if (nr == 4) rows_tokens4(w, Kp, r, 4, qt, acc, t0 == 0);
            else rows_tokens4(w, Kp, r, 1, qt, acc, t0 == 0);
            for (int i = 0; i < nr; i++)
                for (int64_t t = 0; t < nt; t++) out[(t0 + t) * ldo + r + i] = (float)acc[i][t] * wscale[r + i] / s[t0 + t];
        }
        r += nr;
    }
}
#endif
