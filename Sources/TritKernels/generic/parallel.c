/* Row-parallel wrappers: the output rows of one product shared over the pool's threads. */
#include <stdatomic.h>
#include "trit_kernels.h"

typedef struct {
    tk_ternary_gemm_fn fn;
    const uint8_t *codes; int64_t row_bytes; int64_t rows;
    const int8_t *q; const float *s; const int32_t *qsum; int64_t n;
    float beta; float *out; int64_t ldo;
    int64_t chunk; _Atomic int64_t next;
} ternary_job;

typedef struct {
    tk_dense_gemm_fn fn;
    const void *w; tk_dtype dtype; int64_t K; int64_t rows;
    const float *x; int64_t ldx; int64_t n; float *out; int64_t ldo;
    int64_t chunk; _Atomic int64_t next;
} dense_job;

/* Rows are handed out in chunks from a shared counter, CHUNKS_PER_THREAD per thread, so a thread slowed by
 * the machine (another tenant, a late wake-up) takes fewer chunks and both finish together.
 * Chunks are multiples of 48 rows, so threads never share a cache line of the output. */
#define CHUNKS_PER_THREAD 8   /* measured on 2B4T tg64, 2 threads: 1 → 20.0-21.0 t/s, 4 → 21.3-21.9, 8 → 21.5-22.0 */
static int64_t chunk_rows(int64_t rows, int nth) {
    int64_t c = (rows + CHUNKS_PER_THREAD * nth - 1) / (CHUNKS_PER_THREAD * nth);
    c = (c + 47) / 48 * 48;   /* also a multiple of the 3- and 4-row tiles */
    return c;
}

/* The next chunk [*r0, *r1) of `rows`, or 0 when none is left. */
static int next_chunk(_Atomic int64_t *next, int64_t rows, int64_t chunk, int64_t *r0, int64_t *r1) {
    const int64_t c = atomic_fetch_add_explicit(next, 1, memory_order_relaxed);
    if (c * chunk >= rows) return 0;
    *r0 = c * chunk;
    *r1 = *r0 + chunk < rows ? *r0 + chunk : rows;
    return 1;
}

static void ternary_worker(void *p, int ith, int nth) {
    ternary_job *j = p;
    int64_t r0, r1;
    (void)ith; (void)nth;
    while (next_chunk(&j->next, j->rows, j->chunk, &r0, &r1)) j->fn(j->codes, j->row_bytes, r0, r1, j->q, j->s, j->qsum, j->n, j->beta, j->out, j->ldo);
}

static void dense_worker(void *p, int ith, int nth) {
    dense_job *j = p;
    int64_t r0, r1;
    (void)ith; (void)nth;
    while (next_chunk(&j->next, j->rows, j->chunk, &r0, &r1)) j->fn(j->w, j->dtype, j->K, r0, r1, j->x, j->ldx, j->n, j->out, j->ldo);
}

void tk_ternary_gemm_par(tk_pool *pool, tk_ternary_gemm_fn fn, const uint8_t *codes, int64_t row_bytes,
                         int64_t rows, const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                         float beta, float *out, int64_t ldo) {
    ternary_job j = {fn, codes, row_bytes, rows, q, s, qsum, n, beta, out, ldo, chunk_rows(rows, tk_pool_size(pool)), 0};
    tk_pool_run(pool, ternary_worker, &j);
}

void tk_dense_gemm_par(tk_pool *pool, tk_dense_gemm_fn fn, const void *w, tk_dtype dtype, int64_t K,
                       int64_t rows, const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    dense_job j = {fn, w, dtype, K, rows, x, ldx, n, out, ldo, chunk_rows(rows, tk_pool_size(pool)), 0};
    tk_pool_run(pool, dense_worker, &j);
}

typedef struct {
    tk_i8_gemm_fn fn;
    const int8_t *w; const float *wscale; int64_t Kp; int64_t rows;
    const int8_t *q; const float *s; int64_t n; float *out; int64_t ldo;
    int64_t chunk; _Atomic int64_t next;
} i8_job;

static void i8_worker(void *p, int ith, int nth) {
    i8_job *j = p;
    int64_t r0, r1;
    (void)ith; (void)nth;
    while (next_chunk(&j->next, j->rows, j->chunk, &r0, &r1)) j->fn(j->w, j->wscale, j->Kp, r0, r1, j->q, j->s, j->n, j->out, j->ldo);
}

void tk_i8_gemm_par(tk_pool *pool, tk_i8_gemm_fn fn, const int8_t *w, const float *wscale, int64_t Kp,
                    int64_t rows, const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo) {
    i8_job j = {fn, w, wscale, Kp, rows, q, s, n, out, ldo, chunk_rows(rows, tk_pool_size(pool)), 0};
    tk_pool_run(pool, i8_worker, &j);
}

static void attention_worker(void *p, int ith, int nth) {
    const tk_attention_job *j = p;
    const int64_t n_kv_heads = j->n_heads / j->group;
    const int64_t items = j->n_kv_rows * n_kv_heads;
    float *scores = j->scores + (int64_t)ith * j->scores_stride;
    for (int64_t i = ith; i < items; i += nth) {
        const int64_t t = i / n_kv_heads, g = i % n_kv_heads;
        const int64_t h0 = g * j->group;
        j->fn(j->q + t * j->q_stride + h0 * j->hd, j->group, j->k[t] + g * j->hd, j->v[t] + g * j->hd, j->kv_stride,
              j->n_kv[t], j->hd, j->scale, scores, j->out + t * j->q_stride + h0 * j->hd);
    }
}

void tk_attention_par(tk_pool *pool, tk_attention_job *job, int64_t n) {
    job->n_kv_rows = n;
    tk_pool_run(pool, attention_worker, job);
}
