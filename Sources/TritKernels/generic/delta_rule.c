/* The gated delta rule of qwen35's Gated DeltaNet layers over a batch of rows, parallel over value
 * heads: a head's rows run in order (a sequence's rows come in order; each row updates its own
 * sequence's state), and heads are independent; runs of at least chunk_min rows of one sequence in
 * the chunked form (delta_rule_chunked.c). Plain C, vectorized by the compiler. */
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "delta_step.h"

/* One row of one head: S ← decay·S; δ = β(v − Sᵀk); S ← S + k⊗δ; out = Sᵀq. S is [dk][dv]. */
void tk_delta_step_scalar(TK_DELTA_STEP_PARAMS) { TK_DELTA_STEP_BODY }

static void delta_worker(void *p, int ith, int nth) {
    tk_delta_job *j = p;
    float delta[TK_DELTA_MAX_DV];
    const tk_delta_step_fn step = j->step ? j->step : tk_delta_step_scalar;
    (void)nth;
    const int chunked = j->chunk_min > 0 && j->log_decay && j->work && j->dv % 8 == 0;   /* (gemm's tiles) */
    float *work = chunked ? j->work + ith * tk_delta_work_floats(j->dk, j->dv) : 0;
    for (int64_t h; (h = __atomic_fetch_add(&j->next_head, 1, __ATOMIC_RELAXED)) < j->n_heads;) {
        const int64_t kh = j->key_head[h] * j->dk;
        for (int64_t t = 0; t < j->n; t++) {
            if (chunked) {   /* a run of rows on one state: chunks from its first row */
                int64_t e = t + 1;
                while (e < j->n && j->state[e] == j->state[t]) e++;
                if (e - t >= j->chunk_min) {
                    for (; t < e; t += TK_DELTA_CHUNK) {
                        const int64_t c = e - t < TK_DELTA_CHUNK ? e - t : TK_DELTA_CHUNK;
                        tk_delta_chunk(j, h, t, c, j->state[t] + h * j->dk * j->dv, work);
                    }
                    t = e - 1;
                    continue;
                }
            }
            const float *row = j->qkv + t * j->row_stride;
            step(j->state[t] + h * j->dk * j->dv, row + kh, row + j->key_dim + kh,
                       row + 2 * j->key_dim + h * j->dv, j->decay[t * j->n_heads + h], j->beta[t * j->n_heads + h],
                       j->out + t * j->n_heads * j->dv + h * j->dv, delta, j->dk, j->dv);
        }
    }
}

void tk_delta_rule_par(tk_pool *pool, tk_delta_job *job) {
    job->next_head = 0;
    tk_pool_run(pool, delta_worker, job);
}
