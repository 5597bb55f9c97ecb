/* The block head (ggml's Q4_0, Q8_0, Q4_K, Q5_K, Q6_K read in place): BlockGemmTests' variant checks in C.
 * The twin against a double sum of its decoded weights; every variant against the twin, bit for bit (the AVX2
 * and ARM forms keep its 8-lane chain and lane sum) except avx512vnni (16 lanes: within 1e-4, as the Swift test);
 * every variant against its own dense kernel on the decoded F32 rows, bit for bit (exact mode's logits are the
 * copy's); a token alone and a row alone get what they get in a batch / tile. */
#include <math.h>
#include "harness.h"

static const tk_dtype block_types[] = {TK_Q4_0, TK_Q8_0, TK_Q4_K, TK_Q5_K, TK_Q6_K};
static const char *const block_names[] = {"q4_0", "q8_0", "q4_k", "q5_k", "q6_k"};

static void put_f16(uint8_t *p, float v) {
    const uint16_t h = tk_f32_to_f16(v);
    memcpy(p, &h, 2);
}

/* A value in [lo, hi), of random sign when asked. */
static float in_range(h_rng *rng, double lo, double hi, int signed_) {
    const float v = (float)(lo + h_unit(rng) * (hi - lo));
    return signed_ && (h_next(rng) & 1) ? -v : v;
}

/* Random blocks of type t for rows × cols weights: random code bytes, finite scales in BlockGemmTests' ranges. */
static uint8_t *random_blocks(tk_dtype t, int64_t rows, int64_t cols, h_rng *rng) {
    const int64_t bb = tk_dtype_block_bytes(t), nblk = rows * cols / tk_dtype_block_elems(t);
    uint8_t *b = h_alloc((size_t)(nblk * bb));
    for (int64_t i = 0; i < nblk * bb; i++) b[i] = (uint8_t)h_next(rng);
    for (int64_t i = 0; i < nblk; i++) {
        uint8_t *o = b + i * bb;
        if (t == TK_Q4_0 || t == TK_Q8_0) put_f16(o, in_range(rng, 1e-3, 2e-2, 1));
        else if (t == TK_Q6_K) put_f16(o + 208, in_range(rng, 1e-5, 5e-4, 1));
        else { put_f16(o, in_range(rng, 1e-4, 1e-3, 0)); put_f16(o + 2, in_range(rng, 1e-4, 1e-3, 0)); }
    }
    return b;
}

static int is_avx512(const tk_kernels *k) { return strcmp(k->name, "avx512vnni") == 0; }

static void block_against_twin(void) {
    /* rows, blocks a row, tokens (BlockGemmTests' shapes, and token counts 2 and 3 on more shapes) */
    static const int64_t shapes[][3] = {{1, 1, 1}, {9, 1, 1}, {13, 3, 1}, {4, 2, 2}, {7, 10, 3}, {23, 2, 5},
        {6, 1, 9}, {5, 5, 1}, {8, 2, 1}, {11, 3, 2}, {3, 4, 3}, {17, 1, 5}, {2, 6, 4}};
    h_rng rng;
    h_seed(&rng, 31);
    for (size_t ti = 0; ti < sizeof block_types / sizeof *block_types; ti++) {
        const tk_dtype t = block_types[ti];
        const int64_t be = tk_dtype_block_elems(t);
        for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
            const int64_t rows = shapes[c][0], cols = shapes[c][1] * be, n = shapes[c][2];
            uint8_t *b = random_blocks(t, rows, cols, &rng);
            float *w = h_alloc(sizeof(float) * (size_t)(rows * cols)), *x = h_alloc(sizeof(float) * (size_t)(n * cols));
            tk_block_rows_to_f32(b, t, cols, 0, rows, w);
            for (int64_t i = 0; i < n * cols; i++) x[i] = (float)(h_unit(&rng) * 2 - 1);
            char what[80];
            snprintf(what, sizeof what, "%s %lldx%lld n=%lld", block_names[ti], (long long)rows, (long long)cols,
                     (long long)n);
            float *twin = h_alloc(sizeof(float) * (size_t)(n * rows)), *got = h_alloc(sizeof(float) * (size_t)(n * rows));
            float *copy = h_alloc(sizeof(float) * (size_t)(n * rows));
            h_variants[0]->block_gemm(b, t, cols, 0, rows, x, cols, n, twin, rows);
            int ok = 1, finite = 1;
            for (int64_t i = 0; i < rows * cols; i++) finite &= isfinite(w[i]) != 0;
            for (int64_t tok = 0; tok < n; tok++)
                for (int64_t r = 0; r < rows; r++) {
                    double e = 0, mag = 0;
                    for (int64_t k = 0; k < cols; k++) {
                        e += (double)w[r * cols + k] * x[tok * cols + k];
                        mag += fabs((double)w[r * cols + k] * x[tok * cols + k]);
                    }
                    ok &= fabs(twin[tok * rows + r] - e) <= mag * 1e-6 + 1e-30;
                }
            h_check(finite && ok, "block scalar twin = direct sum %s", what);
            for (int v = 1; v < h_n_variants; v++) {
                const tk_kernels *k = h_variants[v];
                for (int64_t i = 0; i < n * rows; i++) got[i] = NAN;
                k->block_gemm(b, t, cols, 0, rows, x, cols, n, got, rows);
                k->dense_gemm(w, TK_F32, cols, 0, rows, x, cols, n, copy, rows);
                h_check_bits(got, copy, n * rows, "block %s %s: block vs dense on the F32 copy", k->name, what);
                if (!is_avx512(k)) {
                    h_check_bits(got, twin, n * rows, "block %s %s", k->name, what);
                    continue;
                }
                int near = 1;
                for (int64_t i = 0; i < n * rows; i++) near &= fabsf(got[i] - twin[i]) <= 1e-4f;
                h_check(near, "block %s %s within 1e-4 of the twin", k->name, what);
            }
            free(b); free(w); free(x); free(twin); free(got); free(copy);
        }
    }
}

/* Batch invariance and the certified head's single rows, in every variant (BlockGemmTests'
 * testTokensAndRowsDoNotInteract): 11 rows of 512 weights, 1, 2, 5 and 8 tokens. */
static void block_invariance(void) {
    const int64_t rows = 11, cols = 512;
    static const int64_t ns[] = {1, 2, 5, 8};
    h_rng rng;
    h_seed(&rng, 77);
    float *x = h_alloc(sizeof(float) * 8 * (size_t)cols), batch[8 * 11], one[11], alone[11];
    for (size_t ti = 0; ti < sizeof block_types / sizeof *block_types; ti++) {
        const tk_dtype t = block_types[ti];
        uint8_t *b = random_blocks(t, rows, cols, &rng);
        for (int v = 0; v < h_n_variants; v++) {
            const tk_kernels *k = h_variants[v];
            for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
                const int64_t n = ns[ni];
                for (int64_t i = 0; i < n * cols; i++) x[i] = (float)(h_unit(&rng) * 2 - 1);
                k->block_gemm(b, t, cols, 0, rows, x, cols, n, batch, rows);
                for (int64_t tok = 0; tok < n; tok++) {
                    k->block_gemm(b, t, cols, 0, rows, x + tok * cols, cols, 1, one, rows);
                    h_check_bits(batch + tok * rows, one, rows, "block %s %s n=%lld token %lld alone", k->name,
                                 block_names[ti], (long long)n, (long long)tok);
                    if (n > 1) continue;
                    for (int64_t r = 0; r < rows; r++) alone[r] = NAN;
                    for (int64_t r = 0; r < rows; r++) k->block_gemm(b, t, cols, r, r + 1, x, cols, 1, alone, rows);
                    h_check_bits(alone, one, rows, "block %s %s rows alone", k->name, block_names[ti]);
                    /* rows [1, rows − 1): the others untouched */
                    float part[11];
                    for (int64_t r = 0; r < rows; r++) part[r] = -7;
                    k->block_gemm(b, t, cols, 1, rows - 1, x, cols, 1, part, rows);
                    int ok = part[0] == -7 && part[rows - 1] == -7;
                    ok &= h_same_bits(part + 1, one + 1, sizeof(float) * (size_t)(rows - 2));
                    h_check(ok, "block %s %s rows 1..<%lld", k->name, block_names[ti], (long long)(rows - 1));
                }
            }
        }
        free(b);
    }
    free(x);
}

void test_block(void) {
    block_against_twin();
    block_invariance();
}
