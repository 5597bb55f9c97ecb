/* A memory read-bandwidth probe: the pool's threads stream a buffer in 1 MB chunks taken from a
 * shared counter (as the kernels take rows). */
#include "trit_kernels.h"

#define PROBE_CHUNK_WORDS (1u << 17)   /* 1 MB */

typedef struct { const uint64_t *p; size_t n; size_t next; uint64_t sums[64]; } read_job;

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

static uint64_t read_range(const uint64_t *p, size_t a, size_t b) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return read_avx512((const char *)(p + a), (b - a) * 8);
    if (__builtin_cpu_supports("avx2")) return read_avx2((const char *)(p + a), (b - a) * 8);
#endif
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = a;
    for (; i + 4 <= b; i += 4) { s0 ^= p[i]; s1 ^= p[i + 1]; s2 ^= p[i + 2]; s3 ^= p[i + 3]; }
    for (; i < b; i++) s0 ^= p[i];
    return s0 ^ s1 ^ s2 ^ s3;
}

static void read_worker(void *ctx, int ith, int nth) {
    read_job *j = ctx;
    uint64_t s = 0;
    (void)nth;
    for (size_t a; (a = __atomic_fetch_add(&j->next, PROBE_CHUNK_WORDS, __ATOMIC_RELAXED)) < j->n;)
        s ^= read_range(j->p, a, a + PROBE_CHUNK_WORDS < j->n ? a + PROBE_CHUNK_WORDS : j->n);
    j->sums[ith % 64] ^= s;
}

uint64_t tk_read_memory(tk_pool *pool, const void *buf, size_t bytes) {
    read_job j = {buf, bytes / 8, 0, {0}};
    tk_pool_run(pool, read_worker, &j);
    uint64_t s = 0;
    for (int i = 0; i < 64; i++) s ^= j.sums[i];
    return s;
}
