/* Attention for the query heads of one KV head and one query, and RMSNorm. Plain C; clang vectorises the loops. */
#include <math.h>
#include "trit_kernels.h"

static void attention_head(const float *q, const float *k, const float *v, int64_t stride,
                           int64_t n_kv, int64_t hd, float scale, float *scores, float *out) {
    float mx = -INFINITY;
    for (int64_t j = 0; j < n_kv; j++) {
        const float *kj = k + j * stride;
        float d = 0.0f;
        for (int64_t i = 0; i < hd; i++) d += q[i] * kj[i];
        d *= scale;
        scores[j] = d;
        mx = d > mx ? d : mx;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < n_kv; j++) {
        float e = expf(scores[j] - mx);
        scores[j] = e;
        sum += e;
    }
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < hd; i++) out[i] = 0.0f;
    for (int64_t j = 0; j < n_kv; j++) {
        const float p = scores[j] * inv;
        const float *vj = v + j * stride;
        for (int64_t i = 0; i < hd; i++) out[i] += p * vj[i];
    }
}

void tk_attention_heads(const float *q, int64_t n_q, const float *k, const float *v, int64_t stride,
                        int64_t n_kv, int64_t hd, float scale, float *scores, float *out) {
    for (int64_t m = 0; m < n_q; m++) attention_head(q + m * hd, k, v, stride, n_kv, hd, scale, scores, out + m * hd);
}

void tk_rmsnorm(const float *x, const float *g, int64_t n, float eps, float *y) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    const float r = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) y[i] = g[i] * (x[i] * r);
}
