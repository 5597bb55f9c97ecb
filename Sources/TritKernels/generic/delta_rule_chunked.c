/* The chunked form of the gated delta rule (prompts), for C ≤ TK_DELTA_CHUNK rows of one sequence
 * and one value head. With Γ_t = Π_{s≤t} γ_s inside the chunk (γ the decay), S₀ the state before it:
 *   δ_t = β_t(v_t − Γ_t S₀ᵀk_t) − Σ_{s<t} β_t (Γ_t/Γ_s)(k_t·k_s) δ_s   (forward substitution)
 *   o_t = Γ_t S₀ᵀq_t + Σ_{s≤t} (Γ_t/Γ_s)(q_t·k_s) δ_s
 *   S   ← Γ_C S₀ + Σ_s (Γ_C/Γ_s) k_s δ_sᵀ
 * which unrolls the recurrent form (S ← γS; δ = β(v − Sᵀk); S += k⊗δ; o = Sᵀq) over the chunk: the
 * same algebra as transformers' torch_chunk_gated_delta_rule (its (I + L)⁻¹ applied by substitution).
 * S is read three times per chunk instead of twice per row; the products are tiled by TILE value
 * columns so a tile of the C-row operands stays in L1. Plain C, vectorized by the compiler. */
#include "trit_kernels.h"
#include <math.h>

#define C_MAX TK_DELTA_CHUNK
#define TILE 32

int64_t tk_delta_work_floats(int64_t dk, int64_t dv) {
    (void)dk;
    return C_MAX + 2 * C_MAX * C_MAX + 2 * C_MAX * dv;
}

void tk_delta_chunk(const tk_delta_job *j, int64_t h, int64_t t0, int64_t c, float *S, float *work) {
    const int64_t dk = j->dk, dv = j->dv, nh = j->n_heads, kh = (int64_t)j->key_head[h] * dk;
    float *gc = work;                    /* [c] cumulative log decay */
    float *KK = gc + C_MAX;              /* [c][c] β_t (Γ_t/Γ_s) k_t·k_s, s < t */
    float *QK = KK + C_MAX * C_MAX;      /* [c][c] (Γ_t/Γ_s) q_t·k_s, s ≤ t */
    float *D = QK + C_MAX * C_MAX;       /* [c][dv] the right-hand side, then δ */
    float *O = D + C_MAX * dv;           /* [c][dv] S₀ᵀq_t, then the output */
#define Q(t) (j->qkv + (t0 + (t)) * j->row_stride + kh)
#define K(t) (j->qkv + (t0 + (t)) * j->row_stride + j->key_dim + kh)
#define V(t) (j->qkv + (t0 + (t)) * j->row_stride + 2 * j->key_dim + h * dv)
#define BETA(t) (j->beta[(t0 + (t)) * nh + h])
    float acc = 0;
    for (int64_t t = 0; t < c; t++) { acc += j->log_decay[(t0 + t) * nh + h]; gc[t] = acc; }
    for (int64_t t = 0; t < c; t++) {
        const float *kt = K(t), *qt = Q(t);
        for (int64_t s = 0; s <= t; s++) {
            const float *ks = K(s);
            float a = 0, b = 0;
            for (int64_t i = 0; i < dk; i++) { a += kt[i] * ks[i]; b += qt[i] * ks[i]; }
            const float f = expf(gc[t] - gc[s]);
            KK[t * C_MAX + s] = BETA(t) * f * a;
            QK[t * C_MAX + s] = f * b;
        }
    }
    /* S₀ᵀk_t and S₀ᵀq_t for every row, by tiles of value columns */
    for (int64_t j0 = 0; j0 < dv; j0 += TILE) {
        const int64_t w = dv - j0 < TILE ? dv - j0 : TILE;
        for (int64_t t = 0; t < c; t++)
            for (int64_t x = 0; x < w; x++) { D[t * dv + j0 + x] = 0; O[t * dv + j0 + x] = 0; }
        for (int64_t i = 0; i < dk; i++) {
            const float *restrict si = S + i * dv + j0;
            for (int64_t t = 0; t < c; t++) {
                const float ki = K(t)[i], qi = Q(t)[i];
                float *restrict d = D + t * dv + j0, *restrict o = O + t * dv + j0;
                for (int64_t x = 0; x < w; x++) { d[x] += ki * si[x]; o[x] += qi * si[x]; }
            }
        }
    }
    /* δ by forward substitution; the output's intra-chunk part as each δ_s becomes known */
    for (int64_t t = 0; t < c; t++) {
        const float g = expf(gc[t]), b = BETA(t);
        const float *restrict v = V(t);
        float *restrict d = D + t * dv;
        for (int64_t x = 0; x < dv; x++) d[x] = b * (v[x] - g * d[x]);
        for (int64_t s = 0; s < t; s++) {
            const float l = KK[t * C_MAX + s];
            const float *restrict ds = D + s * dv;
            for (int64_t x = 0; x < dv; x++) d[x] -= l * ds[x];
        }
        float *restrict o = O + t * dv;
        for (int64_t x = 0; x < dv; x++) o[x] *= g;
        for (int64_t s = 0; s <= t; s++) {
            const float a = QK[t * C_MAX + s];
            const float *restrict ds = D + s * dv;
            for (int64_t x = 0; x < dv; x++) o[x] += a * ds[x];
        }
        float *restrict out = j->out + (t0 + t) * nh * dv + h * dv;
        for (int64_t x = 0; x < dv; x++) out[x] = o[x];
    }
    /* S ← Γ_C S₀ + Σ_s (Γ_C/Γ_s) k_s δ_sᵀ, by tiles of value columns */
    const float gC = expf(gc[c - 1]);
    for (int64_t t = 0; t < c; t++) gc[t] = expf(gc[c - 1] - gc[t]);
    for (int64_t j0 = 0; j0 < dv; j0 += TILE) {
        const int64_t w = dv - j0 < TILE ? dv - j0 : TILE;
        for (int64_t i = 0; i < dk; i++) {
            float *restrict si = S + i * dv + j0;
            for (int64_t x = 0; x < w; x++) si[x] *= gC;
            for (int64_t t = 0; t < c; t++) {
                const float a = gc[t] * K(t)[i];
                const float *restrict d = D + t * dv + j0;
                for (int64_t x = 0; x < w; x++) si[x] += a * d[x];
            }
        }
    }
#undef Q
#undef K
#undef V
#undef BETA
}
