/* The element-wise activations of the forward pass that call expf (SiLU gates, the Gated DeltaNet's
 * causal conv), shared over the pool's threads in pieces taken from a counter. Each element is
 * computed exactly as the Swift loops they replace computed it (the same libm expf, the same operation
 * order, no contraction), so the results are bit for bit those of one thread. Measured on the 27B
 * qwen35 decode: ~1.9 M expf calls a token, about 5% of a token's time on one thread while the
 * other waited. */
#include <math.h>
#include "trit_kernels.h"

#pragma clang fp contract(off)

/* Below this many elements one thread does the work (a job's hand-over costs microseconds). */
#define PAR_MIN 4096
#define PIECE 1024

typedef struct {
    void (*range)(float *, const float *, int64_t, int64_t);
    float *a; const float *b; int64_t n;
    int64_t next;   /* atomic: the next piece */
} silu_job;

static void silu_mul_range(float *g, const float *u, int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) { const float x = g[i]; g[i] = x / (1.0f + expf(-x)) * u[i]; }
}

static void silu_gate_range(float *o, const float *z, int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) { const float zi = z[i]; o[i] = o[i] * (zi / (1.0f + expf(-zi))); }
}

static void silu_worker(void *p, int ith, int nth) {
    silu_job *j = p;
    (void)ith; (void)nth;
    for (int64_t i; (i = __atomic_fetch_add(&j->next, PIECE, __ATOMIC_RELAXED)) < j->n;)
        j->range(j->a, j->b, i, i + PIECE < j->n ? i + PIECE : j->n);
}

static void silu_par(tk_pool *pool, void (*range)(float *, const float *, int64_t, int64_t), float *a,
                     const float *b, int64_t n) {
    if (!pool || n < PAR_MIN) { range(a, b, 0, n); return; }
    silu_job j = {range, a, b, n, 0};
    tk_pool_run(pool, silu_worker, &j);
}

void tk_silu_mul_par(tk_pool *pool, float *g, const float *u, int64_t n) { silu_par(pool, silu_mul_range, g, u, n); }

void tk_silu_gate_par(tk_pool *pool, float *o, const float *z, int64_t n) { silu_par(pool, silu_gate_range, o, z, n); }

typedef struct {
    float *x; int64_t row_stride, n;
    float *const *state;
    const float *w; int64_t K, channels;
    int64_t next;   /* atomic: the next piece of channels */
} conv_job;

/* Channels [c0, c1) of every row, rows in order (a sequence's rows share a state, each channel's own) */
static void conv_range(const conv_job *j, int64_t c0, int64_t c1) {
    const int64_t K = j->K, C = j->channels;
    for (int64_t t = 0; t < j->n; t++) {
        float *x = j->x + t * j->row_stride, *st = j->state[t];
        for (int64_t c = c0; c < c1; c++) {
            const float *wc = j->w + c * K;
            float acc = 0;
            for (int64_t k = 0; k < K - 1; k++) acc += wc[k] * st[k * C + c];
            acc += wc[K - 1] * x[c];
            for (int64_t k = 0; k < K - 2; k++) st[k * C + c] = st[(k + 1) * C + c];
            st[(K - 2) * C + c] = x[c];
            x[c] = acc / (1.0f + expf(-acc));
        }
    }
}

static void conv_worker(void *p, int ith, int nth) {
    conv_job *j = p;
    (void)ith; (void)nth;
    for (int64_t c; (c = __atomic_fetch_add(&j->next, PIECE, __ATOMIC_RELAXED)) < j->channels;)
        conv_range(j, c, c + PIECE < j->channels ? c + PIECE : j->channels);
}

void tk_causal_conv_silu_par(tk_pool *pool, float *x, int64_t row_stride, int64_t n, float *const *state,
                             const float *w, int64_t K, int64_t channels) {
    conv_job j = {x, row_stride, n, state, w, K, channels, 0};
    if (!pool || channels * n < PAR_MIN) { conv_range(&j, 0, channels); return; }
    tk_pool_run(pool, conv_worker, &j);
}
