/* Row-parallel wrappers: the output rows of one product shared over the pool's threads. */
#include <stdatomic.h>
#include "trit_kernels.h"

typedef struct tk_row_sched tk_row_sched;

typedef struct {
    tk_ternary_gemm_fn fn;
    const uint8_t *codes; int64_t row_bytes; int64_t rows;
    const int8_t *q; const float *s; const int32_t *qsum; int64_t n;
    float beta; float *out; int64_t ldo;
    tk_row_sched *sched;
} ternary_job;

typedef struct {
    tk_dense_gemm_fn fn;
    const void *w; tk_dtype dtype; int64_t K; int64_t rows;
    const float *x; int64_t ldx; int64_t n; float *out; int64_t ldo;
    tk_row_sched *sched;
} dense_job;

/* Rows are cut into chunks (multiples of 48 rows, so threads never share a cache line of the
 * output and the 3- and 4-row tiles fit), CHUNKS_PER_THREAD per thread. Thread i owns a contiguous
 * run of chunks and takes them from the front, so its weights stream as one sequence; a thread that
 * is done takes chunks from the back of the others' runs, so a thread slowed by the machine (another
 * tenant, a late wake-up) hands over its last chunks and all finish together (faster than static
 * halves or one shared counter). */
#define CHUNKS_PER_THREAD 8
#define MAX_RANGES 64   /* pools larger than this share ranges (thread i uses range i % 64) */

struct tk_row_sched {
    int64_t rows, chunk;
    int nranges;
    _Atomic uint64_t range[MAX_RANGES];   /* front chunk (low 32 bits) | end chunk (high 32 bits) */
};

/* With several tokens a chunk holds at most CHUNK_BYTES of weights, so the prompt kernels, which
 * sweep a chunk once per group of 4 tokens, find it in L2 (2 MB per core here) after the first
 * sweep. One token reads each weight once: its chunks are not capped. */
#define CHUNK_BYTES (512 * 1024)

static void sched_init(tk_row_sched *sc, int64_t rows, int64_t row_bytes, int64_t n, int nth) {
    const int nr = nth < MAX_RANGES ? nth : MAX_RANGES;
    int64_t c = (rows + CHUNKS_PER_THREAD * nr - 1) / (CHUNKS_PER_THREAD * nr);
    if (n > 1 && row_bytes > 0) {
        const int64_t cap = CHUNK_BYTES / row_bytes / 48 * 48;
        if (c > cap) c = cap;
    }
    c = c < 48 ? 48 : (c + 47) / 48 * 48;
    const int64_t nchunks = (rows + c - 1) / c;
    sc->rows = rows;
    sc->chunk = c;
    sc->nranges = nr;
    for (int i = 0; i < nr; i++) {
        const uint64_t f = (uint64_t)(nchunks * i / nr), e = (uint64_t)(nchunks * (i + 1) / nr);
        atomic_init(&sc->range[i], f | e << 32);
    }
}

/* Takes chunk [*r0, *r1) from range i, from its front (owner) or its back (thief). */
static int take(tk_row_sched *sc, int i, int from_back, int64_t *r0, int64_t *r1) {
    uint64_t v = atomic_load_explicit(&sc->range[i], memory_order_relaxed);
    for (;;) {
        const uint64_t f = v & 0xffffffffu, e = v >> 32;
        if (f >= e) return 0;
        const uint64_t nv = from_back ? (f | (e - 1) << 32) : ((f + 1) | e << 32);
        if (atomic_compare_exchange_weak_explicit(&sc->range[i], &v, nv, memory_order_relaxed, memory_order_relaxed)) {
            const int64_t c = (int64_t)(from_back ? e - 1 : f);
            *r0 = c * sc->chunk;
            *r1 = *r0 + sc->chunk < sc->rows ? *r0 + sc->chunk : sc->rows;
            return 1;
        }
    }
}

/* The next chunk for thread ith, or 0 when every range is empty. */
static int next_chunk(tk_row_sched *sc, int ith, int64_t *r0, int64_t *r1) {
    const int own = ith % sc->nranges;
    if (take(sc, own, 0, r0, r1)) return 1;
    for (int k = 1; k < sc->nranges; k++)
        if (take(sc, (own + k) % sc->nranges, 1, r0, r1)) return 1;
    return 0;
}

static void ternary_worker(void *p, int ith, int nth) {
    ternary_job *j = p;
    int64_t r0, r1;
    (void)nth;
    while (next_chunk(j->sched, ith, &r0, &r1)) j->fn(j->codes, j->row_bytes, r0, r1, j->q, j->s, j->qsum, j->n, j->beta, j->out, j->ldo);
}

static void dense_worker(void *p, int ith, int nth) {
    dense_job *j = p;
    int64_t r0, r1;
    (void)nth;
    while (next_chunk(j->sched, ith, &r0, &r1)) j->fn(j->w, j->dtype, j->K, r0, r1, j->x, j->ldx, j->n, j->out, j->ldo);
}

void tk_ternary_gemm_par(tk_pool *pool, tk_ternary_gemm_fn fn, const uint8_t *codes, int64_t row_bytes,
                         int64_t rows, const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                         float beta, float *out, int64_t ldo) {
    tk_row_sched sc;
    sched_init(&sc, rows, row_bytes, n, tk_pool_size(pool));
    ternary_job j = {fn, codes, row_bytes, rows, q, s, qsum, n, beta, out, ldo, &sc};
    tk_pool_run(pool, ternary_worker, &j);
}

typedef struct {
    tk_trit5_gemm_fn fn;
    const uint8_t *codes; int64_t Kp;
    const int8_t *q; const float *s; const int32_t *qsum; int64_t n;
    float beta; float *out; int64_t ldo;
    tk_row_sched *sched;
} trit5_job;

static void trit5_worker(void *p, int ith, int nth) {
    trit5_job *j = p;
    int64_t r0, r1;
    (void)nth;
    while (next_chunk(j->sched, ith, &r0, &r1)) j->fn(j->codes, j->Kp, r0, r1, j->q, j->s, j->qsum, j->n, j->beta, j->out, j->ldo);
}

void tk_trit5_gemm_par(tk_pool *pool, tk_trit5_gemm_fn fn, const uint8_t *codes, int64_t Kp,
                       int64_t rows, const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                       float beta, float *out, int64_t ldo) {
    tk_row_sched sc;
    sched_init(&sc, rows, tk_trit5_row_bytes(Kp), n, tk_pool_size(pool));
    trit5_job j = {fn, codes, Kp, q, s, qsum, n, beta, out, ldo, &sc};
    tk_pool_run(pool, trit5_worker, &j);
}

void tk_tq1_gemm_par(tk_pool *pool, tk_tq1_gemm_fn fn, const uint8_t *blocks, int64_t K,
                     int64_t rows, const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                     float beta, float *out, int64_t ldo) {
    tk_row_sched sc;
    sched_init(&sc, rows, tk_tq1_row_bytes(K), n, tk_pool_size(pool));
    trit5_job j = {fn, blocks, K, q, s, qsum, n, beta, out, ldo, &sc};   /* the same call shape as trit5's */
    tk_pool_run(pool, trit5_worker, &j);
}

void tk_dense_gemm_par(tk_pool *pool, tk_dense_gemm_fn fn, const void *w, tk_dtype dtype, int64_t K,
                       int64_t rows, const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    tk_row_sched sc;
    sched_init(&sc, rows, tk_dtype_row_bytes(dtype, K), n, tk_pool_size(pool));
    dense_job j = {fn, w, dtype, K, rows, x, ldx, n, out, ldo, &sc};
    tk_pool_run(pool, dense_worker, &j);
}

typedef struct {
    tk_i8_gemm_fn fn;
    const int8_t *w; const float *wscale; int64_t Kp; int64_t rows;
    const int8_t *q; const float *s; int64_t n; float *out; int64_t ldo;
    tk_row_sched *sched;
} i8_job;

static void i8_worker(void *p, int ith, int nth) {
    i8_job *j = p;
    int64_t r0, r1;
    (void)nth;
    while (next_chunk(j->sched, ith, &r0, &r1)) j->fn(j->w, j->wscale, j->Kp, r0, r1, j->q, j->s, j->n, j->out, j->ldo);
}

void tk_i8_gemm_par(tk_pool *pool, tk_i8_gemm_fn fn, const int8_t *w, const float *wscale, int64_t Kp,
                    int64_t rows, const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo) {
    tk_row_sched sc;
    sched_init(&sc, rows, Kp, n, tk_pool_size(pool));
    i8_job j = {fn, w, wscale, Kp, rows, q, s, n, out, ldo, &sc};
    tk_pool_run(pool, i8_worker, &j);
}

typedef struct {
    tk_q4_gemm_fn fn;
    const uint8_t *w; const uint16_t *wscale; int64_t Kp; int64_t rows;
    const int8_t *q; const float *s; const int32_t *corr; const float *gn; int64_t n; float *out, *err; int64_t ldo;
    tk_row_sched *sched;
} q4_job;

static void q4_worker(void *p, int ith, int nth) {
    q4_job *j = p;
    int64_t r0, r1;
    (void)nth;
    while (next_chunk(j->sched, ith, &r0, &r1))
        j->fn(j->w, j->wscale, j->Kp, r0, r1, j->q, j->s, j->corr, j->gn, j->n, j->out, j->err, j->ldo);
}

void tk_q4_gemm_par(tk_pool *pool, tk_q4_gemm_fn fn, const uint8_t *w, const uint16_t *wscale, int64_t Kp,
                    int64_t rows, const int8_t *q, const float *s, const int32_t *corr, const float *gn, int64_t n,
                    float *out, float *err, int64_t ldo) {
    tk_row_sched sc;
    sched_init(&sc, rows, Kp / 2 + Kp / 16, n, tk_pool_size(pool));
    q4_job j = {fn, w, wscale, Kp, rows, q, s, corr, gn, n, out, err, ldo, &sc};
    tk_pool_run(pool, q4_worker, &j);
}

/* Items (KV head g, chunk c, row t), t fastest: the rows of a prompt that read one chunk of the cache
 * follow each other, so it stays in cache between them; chunks a row does not have are skipped. */
static void attention_worker(void *p, int ith, int nth) {
    tk_attention_job *j = p;
    const int64_t pf = tk_att_partial_floats(j->hd);
    float *scratch = j->scratch + (int64_t)ith * j->scratch_stride;
    (void)nth;
    for (int64_t i; (i = __atomic_fetch_add(&j->next_item, 1, __ATOMIC_RELAXED)) < j->n_items;) {
        const int64_t t = i % j->n_kv_rows, gc = i / j->n_kv_rows;
        const int64_t g = gc / j->max_chunks, c = gc % j->max_chunks;
        const int64_t n_kv = j->n_kv[t], j0 = c * TK_ATT_CHUNK;
        if (j0 >= n_kv) continue;
        const int64_t j1 = n_kv - j0 < TK_ATT_CHUNK ? n_kv : j0 + TK_ATT_CHUNK;
        const int64_t h0 = g * j->group;
        float *partial = n_kv > TK_ATT_CHUNK ? j->partials + ((c * j->max_rows + t) * j->n_heads + h0) * pf : NULL;
        j->fn(j->q + t * j->q_stride + h0 * j->hd, j->group, j->k[t] + g * j->k_head_stride, j->v[t] + g * j->v_head_stride, j->k_row_bytes, j->v_row_bytes,
              j->k_type, j->v_type, j0, j1, j->hd, j->scale, scratch, j->out + t * j->q_stride + h0 * j->hd, partial);
    }
}

/* Items (row t, head h) of the rows longer than a chunk. */
static void attention_merge_worker(void *p, int ith, int nth) {
    tk_attention_job *j = p;
    const int64_t pf = tk_att_partial_floats(j->hd);
    (void)ith; (void)nth;
    for (int64_t i; (i = __atomic_fetch_add(&j->next_item, 1, __ATOMIC_RELAXED)) < j->n_kv_rows * j->n_heads;) {
        const int64_t t = i / j->n_heads, h = i % j->n_heads;
        if (j->n_kv[t] <= TK_ATT_CHUNK) continue;
        const int64_t chunks = (j->n_kv[t] + TK_ATT_CHUNK - 1) / TK_ATT_CHUNK;
        tk_attention_merge(j->partials + (t * j->n_heads + h) * pf, chunks, j->max_rows * j->n_heads * pf, j->hd,
                           j->out + t * j->q_stride + h * j->hd);
    }
}

void tk_attention_par(tk_pool *pool, tk_attention_job *job, int64_t n) {
    int64_t longest = 0;
    for (int64_t t = 0; t < n; t++) longest = job->n_kv[t] > longest ? job->n_kv[t] : longest;
    job->n_kv_rows = n;
    job->max_chunks = longest > 0 ? (longest + TK_ATT_CHUNK - 1) / TK_ATT_CHUNK : 1;
    job->n_items = n * (job->n_heads / job->group) * job->max_chunks;
    job->next_item = 0;
    tk_pool_run(pool, attention_worker, job);
    if (job->max_chunks > 1) {
        job->next_item = 0;
        tk_pool_run(pool, attention_merge_worker, job);
    }
}

typedef struct {
    tk_group_gemm_fn fn;
    const uint8_t *tiles; int64_t group; int one_bit; int64_t n_groups, rows;
    const int8_t *q; int64_t Kp; const int32_t *nsum; const float *s; int64_t n; float *out; int64_t ldo;
    tk_row_sched *sched;
} group_job;

/* Chunks are multiples of 48 rows, so of the kernels' 16-row tiles. */
static void group_worker(void *p, int ith, int nth) {
    group_job *j = p;
    int64_t r0, r1;
    (void)nth;
    while (next_chunk(j->sched, ith, &r0, &r1))
        j->fn(j->tiles, j->group, j->one_bit, j->n_groups, r0, r1, j->q, j->Kp, j->nsum, j->s, j->n, j->out, j->ldo);
}

void tk_group_gemm_par(tk_pool *pool, tk_group_gemm_fn fn, const uint8_t *tiles, int64_t group, int one_bit,
                       int64_t n_groups, int64_t rows, const int8_t *q, int64_t Kp, const int32_t *nsum,
                       const float *s, int64_t n, float *out, int64_t ldo) {
    tk_row_sched sc;
    sched_init(&sc, rows, n_groups * tk_group_tile_bytes(group, one_bit) / 16, n, tk_pool_size(pool));
    group_job j = {fn, tiles, group, one_bit, n_groups, rows, q, Kp, nsum, s, n, out, ldo, &sc};
    tk_pool_run(pool, group_worker, &j);
}
