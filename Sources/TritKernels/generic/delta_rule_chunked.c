/* The chunked form of the gated delta rule (prompts), for C ≤ TK_DELTA_CHUNK rows of one sequence
 * and one value head. With Γ_t = Π_{s≤t} γ_s inside the chunk (γ the decay), S₀ the state before it:
 *   δ_t = β_t(v_t − Γ_t S₀ᵀk_t) − Σ_{s<t} β_t (Γ_t/Γ_s)(k_t·k_s) δ_s   (forward substitution)
 *   o_t = Γ_t S₀ᵀq_t + Σ_{s≤t} (Γ_t/Γ_s)(q_t·k_s) δ_s
 *   S   ← Γ_C S₀ + Σ_s (Γ_C/Γ_s) k_s δ_sᵀ
 * which unrolls the recurrent form (S ← γS; δ = β(v − Sᵀk); S += k⊗δ; o = Sᵀq) over the chunk: the
 * same algebra as transformers' torch_chunk_gated_delta_rule (its (I + L)⁻¹ applied by substitution).
 * S is read three times per chunk instead of twice per row, and the products are small matrix products
 * (gemm below: 4 rows × 8 columns of accumulators kept in registers). Plain C, vectorized by the compiler. */
#include "trit_kernels.h"
#include <math.h>

#define C_MAX TK_DELTA_CHUNK

int64_t tk_delta_work_floats(int64_t dk, int64_t dv) {
    return C_MAX + 2 * C_MAX * C_MAX + 2 * C_MAX * dv + 2 * C_MAX * dk;
}

/* out[m][n] = scale·out[m][n] + Σ_k a[m·lda + k]·b[k·ldb + n] for m < M, n < N (N a multiple of 8). */
static void gemm(float *restrict out, int64_t ldo, const float *restrict a, int64_t lda,
                 const float *restrict b, int64_t ldb, int64_t M, int64_t K, int64_t N, float scale) {
    for (int64_t n0 = 0; n0 < N; n0 += 8) {
        int64_t m0 = 0;
        for (; m0 + 4 <= M; m0 += 4) {
            float acc[4][8] = {{0}};
            for (int64_t k = 0; k < K; k++) {
                const float *restrict bk = b + k * ldb + n0;
                const float a0 = a[m0 * lda + k], a1 = a[(m0 + 1) * lda + k];
                const float a2 = a[(m0 + 2) * lda + k], a3 = a[(m0 + 3) * lda + k];
#pragma GCC unroll 8
                for (int x = 0; x < 8; x++) {
                    const float bx = bk[x];
                    acc[0][x] += a0 * bx; acc[1][x] += a1 * bx; acc[2][x] += a2 * bx; acc[3][x] += a3 * bx;
                }
            }
            for (int r = 0; r < 4; r++)
                for (int x = 0; x < 8; x++) {
                    float *o = out + (m0 + r) * ldo + n0 + x;
                    *o = scale * *o + acc[r][x];
                }
        }
        for (; m0 < M; m0++) {
            float acc[8] = {0};
            for (int64_t k = 0; k < K; k++)
                for (int x = 0; x < 8; x++) acc[x] += a[m0 * lda + k] * b[k * ldb + n0 + x];
            for (int x = 0; x < 8; x++) { float *o = out + m0 * ldo + n0 + x; *o = scale * *o + acc[x]; }
        }
    }
}

void tk_delta_chunk(const tk_delta_job *j, int64_t h, int64_t t0, int64_t c, float *S, float *work) {
    const int64_t dk = j->dk, dv = j->dv, nh = j->n_heads, kh = (int64_t)j->key_head[h] * dk;
    float *gc = work;                    /* [c] cumulative log decay */
    float *KK = gc + C_MAX;              /* [c][C_MAX] β_t (Γ_t/Γ_s) k_t·k_s, s < t (0 elsewhere) */
    float *QK = KK + C_MAX * C_MAX;      /* [c][C_MAX] (Γ_t/Γ_s) q_t·k_s, s ≤ t (0 elsewhere) */
    float *D = QK + C_MAX * C_MAX;       /* [c][dv] S₀ᵀk_t, then δ */
    float *O = D + C_MAX * dv;           /* [c][dv] S₀ᵀq_t, then the output */
    float *KR = O + C_MAX * dv;          /* [c][dk] k rows, contiguous */
    float *KT = KR + C_MAX * dk;         /* [dk][C_MAX] k transposed, then scaled by Γ_C/Γ_s */
    const float *qkv = j->qkv + t0 * j->row_stride;
    const int64_t rs = j->row_stride;
#define BETA(t) (j->beta[(t0 + (t)) * nh + h])
    float acc = 0;
    for (int64_t t = 0; t < c; t++) { acc += j->log_decay[(t0 + t) * nh + h]; gc[t] = acc; }
    for (int64_t t = 0; t < c; t++)
        for (int64_t i = 0; i < dk; i++) {
            const float v = qkv[t * rs + j->key_dim + kh + i];
            KR[t * dk + i] = v;
            KT[i * C_MAX + t] = v;
        }
    /* k·k and q·k: rows t of KK and QK over s < c (the parts above the diagonals masked below) */
    for (int64_t t = 0; t < c; t++) {
        float *restrict kk = KK + t * C_MAX, *restrict qk = QK + t * C_MAX;
        for (int64_t s = 0; s < C_MAX; s++) { kk[s] = 0; qk[s] = 0; }
        const float *kt = KR + t * dk, *qt = qkv + t * rs + kh;
        for (int64_t i = 0; i < dk; i++) {
            const float a = kt[i], b = qt[i];
            const float *restrict ki = KT + i * C_MAX;
            for (int64_t s = 0; s <= t; s++) { kk[s] += a * ki[s]; qk[s] += b * ki[s]; }
        }
        for (int64_t s = 0; s <= t; s++) {
            const float f = expf(gc[t] - gc[s]);
            kk[s] *= BETA(t) * f;
            qk[s] *= f;
        }
        kk[t] = 0;
    }
    /* S₀ᵀk_t and S₀ᵀq_t for every row */
    gemm(D, dv, KR, dk, S, dv, c, dk, dv, 0);
    gemm(O, dv, qkv + kh, rs, S, dv, c, dk, dv, 0);
    /* δ by forward substitution */
    for (int64_t t = 0; t < c; t++) {
        const float g = expf(gc[t]), b = BETA(t);
        const float *restrict v = qkv + t * rs + 2 * j->key_dim + h * dv;
        const float *restrict kk = KK + t * C_MAX;
        float *restrict d = D + t * dv;
        for (int64_t x0 = 0; x0 < dv; x0 += 8) {
            float a8[8];
            for (int x = 0; x < 8; x++) a8[x] = b * (v[x0 + x] - g * d[x0 + x]);
            for (int64_t s = 0; s < t; s++) {
                const float l = kk[s];
                const float *restrict ds = D + s * dv + x0;
                for (int x = 0; x < 8; x++) a8[x] -= l * ds[x];
            }
            for (int x = 0; x < 8; x++) d[x0 + x] = a8[x];
        }
        float *restrict o = O + t * dv;
        for (int64_t x = 0; x < dv; x++) o[x] *= g;
    }
    /* the output: Γ_t S₀ᵀq_t + QK·δ */
    float *out = j->out + t0 * nh * dv + h * dv;
    gemm(O, dv, QK, C_MAX, D, dv, c, c, dv, 1);
    for (int64_t t = 0; t < c; t++)
        for (int64_t x = 0; x < dv; x++) out[t * nh * dv + x] = O[t * dv + x];
    /* S ← Γ_C S₀ + Σ_s (Γ_C/Γ_s) k_s δ_sᵀ */
    const float gC = expf(gc[c - 1]);
    for (int64_t t = 0; t < c; t++) gc[t] = expf(gc[c - 1] - gc[t]);
    for (int64_t i = 0; i < dk; i++)
        for (int64_t t = 0; t < c; t++) KT[i * C_MAX + t] *= gc[t];
    gemm(S, dv, KT, C_MAX, D, dv, dk, c, dv, gC);
#undef BETA
}
