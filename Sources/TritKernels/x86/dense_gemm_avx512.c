/* AVX-512 dense product: the F16 (or BF16/F32) output head, the largest single read of a token
 * (656 MB for 2B4T). One accumulator per (row, token), 16 lanes, k in steps of 16, then one
 * horizontal sum and the scalar tail: the same arithmetic for every (row, token) whatever the
 * number of tokens, so a request's logits do not depend on what else is in a batch (the engine's
 * batch invariance). Tiles of 4 rows × up to 4 tokens (16 accumulators, 4 weight and 4 activation
 * registers); the weights of a 4-row block are read from memory once and from L1 for the further
 * token groups. One token is memory-bound: software prefetch walks the 4-row span linearly at
 * least one span ahead into L2, and 4 KB ahead into L1. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

/* Bytes prefetched ahead into L2 (at least one 4-row span), and into L1; see
 * ternary_gemm_avx512vnni.c. */
#define PF_MIN 12288
#define PF_NEAR 4096
/* One row at a time (decode's head) prefetches into L2 this far ahead as well: 0.67-0.71× the time of
 * PF_NEAR alone, streaming a 164 MB F16 matrix on one Zen 4 core (scripts/kernel_ab.sh dense, CPU time;
 * 8 KB ahead 0.78×, 16-32 KB alike). */
#define PF_ROW 16384

TK_AVX512 static inline __m512 load16(const void *w, tk_dtype dtype, int64_t i) {
    switch (dtype) {
    case TK_F16:
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i)));
    case TK_BF16: {
        const __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    default:
        return _mm512_loadu_ps((const float *)w + i);
    }
}

/* 4 rows from r × NT tokens from x (stride ldx) into out (stride ldo). One dtype and one token
 * count per instantiation, so nothing is re-decided in the inner loop. `stream`: the first token
 * group, which reads the 4 rows from memory, prefetches the span ahead as it goes (the further
 * groups find the rows in L1); without it a group of 4 tokens waits on memory. */
#define TILE(NAME, DTYPE, ESZ, NT)                                                                   \
TK_AVX512 static void NAME(const void *w, int64_t K, int64_t r, const float *x, int64_t ldx,         \
                           float *out, int64_t ldo, int stream) {                                    \
    const int64_t K16 = K / 16 * 16;                                                                 \
    const char *span = (const char *)w + r * K * ESZ;                                                \
    const int64_t dist = 4 * K * ESZ > PF_MIN ? 4 * K * ESZ : PF_MIN;                                \
    __m512 a[4][NT];                                                                                 \
    for (int i = 0; i < 4; i++) for (int t = 0; t < NT; t++) a[i][t] = _mm512_setzero_ps();         \
    for (int64_t k = 0; k < K16; k += 16) {                                                          \
        if (stream && (k & 31) == 0) {   /* 4 rows × 32 elements ahead: as many lines prefetched */  \
            const char *pf = span + 4 * k * ESZ + dist;                                              \
            for (int l = 0; l < 2 * ESZ; l++) _mm_prefetch(pf + 64 * l, _MM_HINT_T1);               \
            for (int l = 0; l < 2 * ESZ; l++) _mm_prefetch(span + 4 * k * ESZ + PF_NEAR + 64 * l, _MM_HINT_T0); \
        }                                                                                            \
        __m512 xv[NT];                                                                               \
        for (int t = 0; t < NT; t++) xv[t] = _mm512_loadu_ps(x + t * ldx + k);                       \
        for (int i = 0; i < 4; i++) {                                                                \
            const __m512 wv = load16(w, DTYPE, (r + i) * K + k);                                     \
            for (int t = 0; t < NT; t++) a[i][t] = _mm512_fmadd_ps(wv, xv[t], a[i][t]);              \
        }                                                                                            \
    }                                                                                                \
    for (int i = 0; i < 4; i++)                                                                      \
        for (int t = 0; t < NT; t++) {                                                               \
            float sum = _mm512_reduce_add_ps(a[i][t]);                                               \
            for (int64_t kk = K16; kk < K; kk++) sum += tk_dense_element(w, DTYPE, (r + i) * K + kk) * x[t * ldx + kk]; \
            out[t * ldo + r + i] = sum;                                                              \
        }                                                                                            \
}
#define TILES(DT, DTYPE, ESZ) TILE(tile_##DT##_1, DTYPE, ESZ, 1) TILE(tile_##DT##_2, DTYPE, ESZ, 2) \
                              TILE(tile_##DT##_3, DTYPE, ESZ, 3) TILE(tile_##DT##_4, DTYPE, ESZ, 4)
TILES(f16, TK_F16, 2)
TILES(bf16, TK_BF16, 2)
TILES(f32, TK_F32, 4)

typedef void (*tile_fn)(const void *, int64_t, int64_t, const float *, int64_t, float *, int64_t, int);
static const tile_fn tiles_f16[4] = {tile_f16_1, tile_f16_2, tile_f16_3, tile_f16_4};
static const tile_fn tiles_bf16[4] = {tile_bf16_1, tile_bf16_2, tile_bf16_3, tile_bf16_4};
static const tile_fn tiles_f32[4] = {tile_f32_1, tile_f32_2, tile_f32_3, tile_f32_4};

/* One row, one token: the same accumulation as a tile's (row, token). Decode reads the head row by
 * row with this: one stream a thread, each line prefetched PF_NEAR ahead, streams faster than the
 * 4-row tiles' four streams. One instantiation per dtype, so the inner loop has no dtype switch (which
 * cost bandwidth); a 64-byte line per step (32 F16/BF16 values or 16 F32), two FMAs in order. */
#define ROW1(NAME, DTYPE, ESZ)                                                                       \
TK_AVX512 static float NAME(const void *w, int64_t K, int64_t r, const float *x) {                   \
    const int64_t K16 = K / 16 * 16, KL = K / (64 / ESZ) * (64 / ESZ);                               \
    const char *row = (const char *)w + r * K * ESZ;                                                 \
    __m512 a = _mm512_setzero_ps();                                                                  \
    int64_t k = 0;                                                                                   \
    for (; k < KL; k += 64 / ESZ) {                                                                  \
        _mm_prefetch(row + k * ESZ + PF_ROW, _MM_HINT_T1);                                           \
        _mm_prefetch(row + k * ESZ + PF_NEAR, _MM_HINT_T0);                                          \
        a = _mm512_fmadd_ps(load16(w, DTYPE, r * K + k), _mm512_loadu_ps(x + k), a);                 \
        if (ESZ == 2) a = _mm512_fmadd_ps(load16(w, DTYPE, r * K + k + 16), _mm512_loadu_ps(x + k + 16), a); \
    }                                                                                                \
    for (; k < K16; k += 16) a = _mm512_fmadd_ps(load16(w, DTYPE, r * K + k), _mm512_loadu_ps(x + k), a); \
    float sum = _mm512_reduce_add_ps(a);                                                             \
    for (int64_t kk = K16; kk < K; kk++) sum += tk_dense_element(w, DTYPE, r * K + kk) * x[kk];      \
    return sum;                                                                                      \
}
ROW1(row1_f16, TK_F16, 2)
ROW1(row1_bf16, TK_BF16, 2)
ROW1(row1_f32, TK_F32, 4)

typedef float (*row1_fn)(const void *, int64_t, int64_t, const float *);
static row1_fn row1_for(tk_dtype dtype) { return dtype == TK_F16 ? row1_f16 : dtype == TK_BF16 ? row1_bf16 : row1_f32; }

TK_AVX512 void tk_dense_gemm_avx512(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                                    const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    const tile_fn *tiles = dtype == TK_F16 ? tiles_f16 : dtype == TK_BF16 ? tiles_bf16 : tiles_f32;
    const row1_fn row1 = row1_for(dtype);
    if (n == 1) {   /* one token: row by row */
        for (int64_t r = r0; r < r1; r++) out[r] = row1(w, K, r, x);
        return;
    }
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4)
        for (int64_t t = 0; t < n; t += 4) {
            const int64_t nt = n - t < 4 ? n - t : 4;
            tiles[nt - 1](w, K, r, x + t * ldx, ldx, out + t * ldo, ldo, t == 0);
        }
    for (; r < r1; r++)
        for (int64_t t = 0; t < n; t++) out[t * ldo + r] = row1(w, K, r, x + t * ldx);
}
#endif
