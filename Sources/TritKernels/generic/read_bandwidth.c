/* A memory read-bandwidth probe: every thread streams its share of a buffer. */
#include "trit_kernels.h"

typedef struct { const uint64_t *p; size_t n; uint64_t sums[64]; } read_job;

static void read_worker(void *ctx, int ith, int nth) {
    read_job *j = ctx;
    size_t per = (j->n / (size_t)nth) & ~(size_t)7;
    size_t a = per * (size_t)ith, b = ith == nth - 1 ? j->n : a + per;
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
