/* A memory read-bandwidth probe: every thread streams its share of a buffer. */
#include "trit_kernels.h"

typedef struct { const uint64_t *p; size_t n; uint64_t sums[64]; } read_job;

#if defined(__x86_64__)
#include <immintrin.h>
/* The probe streams the way the decode kernels do (software prefetch 12 KB ahead into L2 and 4 KB
 * ahead into L1), so the roofline is what this machine can stream, not what a naive loop can. */
#define PROBE_PF 12288
#define PROBE_NEAR 4096
__attribute__((target("avx2"))) static uint64_t read_avx2(const char *p, size_t n) {
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        _mm_prefetch(p + i + PROBE_PF, _MM_HINT_T1);
        _mm_prefetch(p + i + 64 + PROBE_PF, _MM_HINT_T1);
        _mm_prefetch(p + i + PROBE_NEAR, _MM_HINT_T0);
        _mm_prefetch(p + i + 64 + PROBE_NEAR, _MM_HINT_T0);
        a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)(p + i)));
        b = _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        c = _mm256_xor_si256(c, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        d = _mm256_xor_si256(d, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    __m256i x = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out, x);
    return out[0] ^ out[1] ^ out[2] ^ out[3];
}
__attribute__((target("avx512f"))) static uint64_t read_avx512(const char *p, size_t n) {
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        for (int l = 0; l < 4; l++) _mm_prefetch(p + i + 64 * l + PROBE_PF, _MM_HINT_T1);
        for (int l = 0; l < 4; l++) _mm_prefetch(p + i + 64 * l + PROBE_NEAR, _MM_HINT_T0);
        a = _mm512_xor_si512(a, _mm512_loadu_si512(p + i));
        b = _mm512_xor_si512(b, _mm512_loadu_si512(p + i + 64));
        c = _mm512_xor_si512(c, _mm512_loadu_si512(p + i + 128));
        d = _mm512_xor_si512(d, _mm512_loadu_si512(p + i + 192));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d)));
}
#endif

static void read_worker(void *ctx, int ith, int nth) {
    read_job *j = ctx;
    size_t per = (j->n / (size_t)nth) & ~(size_t)7;
    size_t a = per * (size_t)ith, b = ith == nth - 1 ? j->n : a + per;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        if (ith < 64) j->sums[ith] = read_avx512((const char *)(j->p + a), (b - a) * 8);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        if (ith < 64) j->sums[ith] = read_avx2((const char *)(j->p + a), (b - a) * 8);
        return;
    }
#endif
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = a;
    for (; i + 4 <= b; i += 4) { s0 ^= j->p[i]; s1 ^= j->p[i + 1]; s2 ^= j->p[i + 2]; s3 ^= j->p[i + 3]; }
    for (; i < b; i++) s0 ^= j->p[i];
    if (ith < 64) j->sums[ith] = s0 ^ s1 ^ s2 ^ s3;
}

uint64_t tk_read_memory(tk_pool *pool, const void *buf, size_t bytes) {
    read_job j = {buf, bytes / 8, {0}};
    tk_pool_run(pool, read_worker, &j);
    uint64_t s = 0;
    for (int i = 0; i < 64; i++) s ^= j.sums[i];
    return s;
}
