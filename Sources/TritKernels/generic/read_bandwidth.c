/* A memory read-bandwidth probe: the pool's threads stream a buffer in 1 MB chunks taken from a
 * shared counter (as the kernels take rows), each chunk with the widest loop this CPU has
 * (x86/read_bandwidth_avx2.c, x86/read_bandwidth_avx512.c) or the plain one below. */
#include "trit_kernels.h"
#include "../kernels_internal.h"

#define PROBE_CHUNK_WORDS (1u << 17)   /* 1 MB */

typedef struct { const uint64_t *p; size_t n; size_t next; uint64_t sums[64]; } read_job;

static uint64_t read_range(const uint64_t *p, size_t a, size_t b) {
#if defined(__x86_64__)
    if (tk_cpu_has_avx512()) return tk_read_avx512((const char *)(p + a), (b - a) * 8);
    if (tk_cpu_has_avx2()) return tk_read_avx2((const char *)(p + a), (b - a) * 8);
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
