/* The products: ternary (I2_S/TQ rows), dense F32/F16/BF16, the int8 head, the group-scaled tiles. */
#include <math.h>
#include "harness.h"

/* ---- ternary ---- */

/* rows × cols ternary values (−1, 0, 1) packed as trit_kernels.h says, rows padded to Kp. */
static uint8_t *pack_ternary(const int8_t *vals, int64_t rows, int64_t cols, int64_t kp) {
    uint8_t *codes = h_alloc((size_t)(rows * kp / 4));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < kp; k++) {
            const int code = (k < cols ? vals[r * cols + k] : 0) + 1;
            const int64_t blk = k / TK_BLOCK, j = k % TK_BLOCK;
            codes[r * (kp / 4) + blk * TK_BLOCK_BYTES + (j & 31)] |= (uint8_t)(code << (6 - 2 * (j >> 5)));
        }
    return codes;
}

static void ternary_case(const uint8_t *codes, int64_t rows, int64_t kp, const int8_t *q, const float *s,
                         const int32_t *qs, int64_t n, float beta, const char *what) {
    float *ref = h_alloc(sizeof(float) * (size_t)(n * rows)), *got = h_alloc(sizeof(float) * (size_t)(n * rows));
    h_variants[0]->ternary_gemm(codes, kp / 4, 0, rows, q, s, qs, n, beta, ref, rows);
    for (int v = 1; v < h_n_variants; v++) {
        for (int64_t i = 0; i < n * rows; i++) got[i] = NAN;
        h_variants[v]->ternary_gemm(codes, kp / 4, 0, rows, q, s, qs, n, beta, got, rows);
        h_check_bits(got, ref, n * rows, "ternary %s %s", h_variants[v]->name, what);
        if (rows > 3) {   /* rows [1, rows − 1) only: a chunk that starts and ends inside */
            for (int64_t i = 0; i < n * rows; i++) got[i] = -7;
            h_variants[v]->ternary_gemm(codes, kp / 4, 1, rows - 1, q, s, qs, n, beta, got, rows);
            int ok = 1;
            for (int64_t t = 0; t < n; t++)
                for (int64_t r = 0; r < rows; r++) {
                    const int inside = r >= 1 && r < rows - 1;
                    ok &= inside ? memcmp(&got[t * rows + r], &ref[t * rows + r], 4) == 0 : got[t * rows + r] == -7;
                }
            h_check(ok, "ternary %s %s rows 1..<%lld", h_variants[v]->name, what, (long long)(rows - 1));
        }
    }
    free(ref);
    free(got);
}

static void ternary_random(void) {
    static const int64_t shapes[][3] = {{7, 128, 1}, {33, 640, 5}, {16, 8640, 2}, {5, 100, 3}, {64, 2560, 9},
        {3, 300, 4}, {11, 384, 2}, {50, 256, 7}, {20, 384, 16}, {13, 256, 17}, {8, 640, 22}, {10, 256, 66},
        {7, 128, 67}, {9, 512, 13}, {5, 1024, 7}, {4, 3200, 8}, {6, 4096, 12}, {3, 128, 8}};
    h_rng rng;
    h_seed(&rng, 99);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const int64_t rows = shapes[c][0], cols = shapes[c][1], n = shapes[c][2], kp = (cols + 127) / 128 * 128;
        int8_t *vals = h_alloc((size_t)(rows * cols));
        for (int64_t i = 0; i < rows * cols; i++) vals[i] = (int8_t)((int)(h_next(&rng) % 3) - 1);
        uint8_t *codes = pack_ternary(vals, rows, cols, kp);
        float *x = h_alloc(sizeof(float) * (size_t)(n * cols)), *s = h_alloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n * cols; i++) x[i] = (float)(h_unit(&rng) * 4 - 2);
        int8_t *q = h_alloc((size_t)(n * kp));
        int32_t *qs = h_alloc(sizeof(int32_t) * (size_t)n);
        tk_quantize_rows(x, cols, cols, n, q, kp, s, qs);
        /* the twin against a direct sum */
        float *ref = h_alloc(sizeof(float) * (size_t)(n * rows));
        h_variants[0]->ternary_gemm(codes, kp / 4, 0, rows, q, s, qs, n, 0.37f, ref, rows);
        int ok = 1;
        for (int64_t t = 0; t < n; t++)
            for (int64_t r = 0; r < rows; r++) {
                int64_t acc = 0;
                for (int64_t k = 0; k < cols; k++) acc += vals[r * cols + k] * q[t * kp + k];
                const float want = (float)acc / s[t] * 0.37f;
                ok &= fabsf(ref[t * rows + r] - want) <= fabsf(want) * 1e-6f + 1e-6f;
            }
        char what[64];
        snprintf(what, sizeof what, "%lldx%lld n=%lld", (long long)rows, (long long)cols, (long long)n);
        h_check(ok, "ternary scalar twin = direct sum %s", what);
        ternary_case(codes, rows, kp, q, s, qs, n, 0.37f, what);
        free(vals); free(codes); free(x); free(s); free(q); free(qs); free(ref);
    }
}

/* Every weight +1 against activations of −128 / 127 / alternating: the integer sums at their extremes
 * (a variant keeping 16-bit partial sums over too many blocks overflows here). n = 8 at 3072 columns:
 * the AVX-512 wide tiles, whose lanes carry both halves of a block at scales 64 and 16. */
static void ternary_extremes_case(int64_t cols, int64_t n) {
    const int64_t rows = 4, kp = cols;
    int8_t *vals = h_alloc((size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) vals[i] = 1;
    uint8_t *codes = pack_ternary(vals, rows, cols, kp);
    int8_t *q = h_alloc((size_t)(n * kp));
    int32_t qs[8] = {0};
    const float s[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int64_t k = 0; k < kp; k++)
        for (int64_t t = 0; t < n; t++) {
            q[t * kp + k] = t % 3 == 0 ? -128 : t % 3 == 1 ? 127 : k % 2 == 0 ? -128 : 127;
            qs[t] += q[t * kp + k];
        }
    float ref[32];
    h_variants[0]->ternary_gemm(codes, kp / 4, 0, rows, q, s, qs, n, 1, ref, rows);
    h_check(ref[0] == -128.0f * cols && ref[rows] == 127.0f * cols, "ternary scalar extremes");
    char what[64];
    snprintf(what, sizeof what, "extreme sums %lld columns n=%lld", (long long)cols, (long long)n);
    ternary_case(codes, rows, kp, q, s, qs, n, 1, what);
    free(vals); free(codes); free(q);
}

static void ternary_extremes(void) {
    ternary_extremes_case(8192, 3);
    ternary_extremes_case(3072, 8);
}

/* ---- 5-trit rows: the packed rows converted at load; every variant = the scalar twin = the packed product ---- */

static void trit5_case(const uint8_t *codes, int64_t rows, int64_t kp, const int8_t *q, const float *s,
                       const int32_t *qs, int64_t n, float beta, const char *what) {
    uint8_t *t5 = h_alloc((size_t)(rows * tk_trit5_row_bytes(kp)));
    tk_trit5_from_packed(NULL, codes, kp, rows, t5);
    /* the conversion: every trit decodes (TQ1_0's formula) to the packed code; padding trits are 1 */
    int ok = 1;
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < tk_trit5_row_bytes(kp) / 32 * TK_T5_BLOCK; k++) {
            const int64_t b = k / TK_T5_BLOCK, d = k % TK_T5_BLOCK / 32, m = k % 32;
            const uint8_t y = (uint8_t)(t5[r * tk_trit5_row_bytes(kp) + b * 32 + m] * pow3[d]);
            const int want = k < kp ? (codes[r * (kp / 4) + k / TK_BLOCK * 32 + (k & 31)] >> (6 - 2 * (k % TK_BLOCK / 32))) & 3 : 1;
            ok &= ((y * 3) >> 8) == want;
        }
    h_check(ok, "trit5 conversion %s", what);
    float *ref = h_alloc(sizeof(float) * (size_t)(n * rows)), *got = h_alloc(sizeof(float) * (size_t)(n * rows));
    h_variants[0]->ternary_gemm(codes, kp / 4, 0, rows, q, s, qs, n, beta, ref, rows);
    for (int v = 0; v < h_n_variants; v++) {
        for (int64_t i = 0; i < n * rows; i++) got[i] = NAN;
        h_variants[v]->trit5_gemm(t5, kp, 0, rows, q, s, qs, n, beta, got, rows);
        h_check_bits(got, ref, n * rows, "trit5 %s = packed scalar %s", h_variants[v]->name, what);
        if (rows > 3) {
            for (int64_t i = 0; i < n * rows; i++) got[i] = -7;
            h_variants[v]->trit5_gemm(t5, kp, 1, rows - 1, q, s, qs, n, beta, got, rows);
            ok = 1;
            for (int64_t t = 0; t < n; t++)
                for (int64_t r = 0; r < rows; r++) {
                    const int inside = r >= 1 && r < rows - 1;
                    ok &= inside ? memcmp(&got[t * rows + r], &ref[t * rows + r], 4) == 0 : got[t * rows + r] == -7;
                }
            h_check(ok, "trit5 %s %s rows 1..<%lld", h_variants[v]->name, what, (long long)(rows - 1));
        }
    }
    free(t5); free(ref); free(got);
}

static void trit5_random(void) {
    /* every tail (Kp mod 160 = 0, 32, 64, 96, 128), long rows (the i16 partial sums), 1..17 tokens */
    static const int64_t shapes[][3] = {{7, 128, 1}, {33, 640, 5}, {16, 8640, 2}, {5, 100, 3}, {64, 2560, 9},
        {3, 300, 4}, {11, 384, 2}, {50, 256, 7}, {20, 384, 16}, {13, 512, 17}, {8, 640, 3}, {9, 6912, 1},
        {6, 6912, 5}, {4, 3200, 8}, {6, 4096, 12}, {3, 128, 8}, {96, 2560, 1}};
    h_rng rng;
    h_seed(&rng, 7);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const int64_t rows = shapes[c][0], cols = shapes[c][1], n = shapes[c][2], kp = (cols + 127) / 128 * 128;
        int8_t *vals = h_alloc((size_t)(rows * cols));
        for (int64_t i = 0; i < rows * cols; i++) vals[i] = (int8_t)((int)(h_next(&rng) % 3) - 1);
        uint8_t *codes = pack_ternary(vals, rows, cols, kp);
        float *x = h_alloc(sizeof(float) * (size_t)(n * cols)), *s = h_alloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n * cols; i++) x[i] = (float)(h_unit(&rng) * 4 - 2);
        int8_t *q = h_alloc((size_t)(n * kp));
        int32_t *qs = h_alloc(sizeof(int32_t) * (size_t)n);
        tk_quantize_rows(x, cols, cols, n, q, kp, s, qs);
        char what[64];
        snprintf(what, sizeof what, "%lldx%lld n=%lld", (long long)rows, (long long)cols, (long long)n);
        trit5_case(codes, rows, kp, q, s, qs, n, 0.37f, what);
        free(vals); free(codes); free(x); free(s); free(q); free(qs);
    }
}

/* Every weight +1 (or −1) against activations of −128 / 127 / alternating: the i16 partial sums at their
 * extremes (the AVX2 form's ACC16_BLOCKS); 8192 = 51 blocks + a 1-trit tail. */
static void trit5_extremes(void) {
    const int64_t rows = 4, cols = 8192, n = 3, kp = cols;
    int8_t *vals = h_alloc((size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) vals[i] = i / cols == 2 ? -1 : 1;
    uint8_t *codes = pack_ternary(vals, rows, cols, kp);
    int8_t *q = h_alloc((size_t)(n * kp));
    int32_t qs[3] = {0, 0, 0};
    const float s[3] = {1, 1, 1};
    for (int64_t k = 0; k < kp; k++) {
        q[k] = -128;
        q[kp + k] = 127;
        q[2 * kp + k] = k % 2 == 0 ? -128 : 127;
        for (int t = 0; t < 3; t++) qs[t] += q[t * kp + k];
    }
    trit5_case(codes, rows, kp, q, s, qs, n, 1, "extreme sums");
    free(vals); free(codes); free(q);
}

/* ---- TQ1_0 blocks in place: every variant = the scalar twin = the packed product of the decoded weights ---- */

/* Trit n of a base-3 byte (ggml's dequantize_row_tq1_0): the code w + 1. */
static int tq1_trit(uint8_t byte, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    return ((uint8_t)(byte * pow3[n]) * 3) >> 8;
}

/* The 256 weights (−1, 0, 1) of one block, element by element from the spec's positions. */
static void tq1_decode(const uint8_t *b, int8_t *w) {
    for (int j = 0; j < 256; j++) {
        int byte, n;
        if (j < 160) byte = j % 32, n = j / 32;
        else if (j < 240) byte = 32 + (j - 160) % 16, n = (j - 160) / 16;
        else byte = 48 + (j - 240) % 4, n = (j - 240) / 4;
        w[j] = (int8_t)(tq1_trit(b[byte], n) - 1);
    }
}

/* One byte of t0..t4 (most significant first), as ggml's quantize_row_tq1_0 writes it. */
static uint8_t tq1_byte(const int *t, int count) {
    int v = 0;
    for (int i = 0; i < count; i++) v = v * 3 + t[i];
    for (int i = count; i < 5; i++) v *= 3;
    return (uint8_t)((v * 256 + 242) / 243);
}

/* blocks: rows × K/256 blocks. The weights are decoded by tq1_decode and packed, so the reference is the
 * packed rows' scalar product. */
static void tq1_case(const uint8_t *blocks, int64_t rows, int64_t K, const int8_t *q, const float *s,
                     const int32_t *qs, int64_t n, float beta, const char *what) {
    int8_t *vals = h_alloc((size_t)(rows * K));
    for (int64_t b = 0; b < rows * K / 256; b++) tq1_decode(blocks + b * TK_TQ1_BLOCK_BYTES, vals + b * 256);
    uint8_t *codes = pack_ternary(vals, rows, K, K);
    float *ref = h_alloc(sizeof(float) * (size_t)(n * rows)), *got = h_alloc(sizeof(float) * (size_t)(n * rows));
    h_variants[0]->ternary_gemm(codes, K / 4, 0, rows, q, s, qs, n, beta, ref, rows);
    for (int v = 0; v < h_n_variants; v++) {
        for (int64_t i = 0; i < n * rows; i++) got[i] = NAN;
        h_variants[v]->tq1_gemm(blocks, K, 0, rows, q, s, qs, n, beta, got, rows);
        h_check_bits(got, ref, n * rows, "tq1 %s = packed scalar %s", h_variants[v]->name, what);
        if (rows > 3) {
            for (int64_t i = 0; i < n * rows; i++) got[i] = -7;
            h_variants[v]->tq1_gemm(blocks, K, 1, rows - 1, q, s, qs, n, beta, got, rows);
            int ok = 1;
            for (int64_t t = 0; t < n; t++)
                for (int64_t r = 0; r < rows; r++) {
                    const int inside = r >= 1 && r < rows - 1;
                    ok &= inside ? memcmp(&got[t * rows + r], &ref[t * rows + r], 4) == 0 : got[t * rows + r] == -7;
                }
            h_check(ok, "tq1 %s %s rows 1..<%lld", h_variants[v]->name, what, (long long)(rows - 1));
        }
    }
    free(vals); free(codes); free(ref); free(got);
}

/* Random weights encoded as ggml does (the encoder checked against the decoder), then every byte random
 * (bytes no encoder writes still decode to codes 0..2; the scale bytes are not read). TQ1_0 rows are whole
 * 256-blocks (ggml refuses other widths; so does the loader), so K runs over multiples of 256: one block,
 * odd counts, 2B4T's 2560 and 6912, and past the AVX2 form's 8-block i16 partial sums. */
static void tq1_random(void) {
    static const int64_t shapes[][3] = {{7, 256, 1}, {33, 512, 5}, {16, 2560, 2}, {5, 768, 3}, {64, 2560, 9},
        {3, 1280, 4}, {50, 256, 7}, {20, 2304, 16}, {13, 512, 17}, {9, 6912, 1}, {6, 6912, 5}, {4, 3072, 8},
        {6, 4096, 12}, {3, 256, 8}, {96, 2560, 1}, {5, 2048, 2}, {4, 8192, 3}};
    h_rng rng;
    h_seed(&rng, 34);
    for (int random_bytes = 0; random_bytes < 2; random_bytes++)
        for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
            const int64_t rows = shapes[c][0], K = shapes[c][1], n = shapes[c][2], nb = rows * K / 256;
            uint8_t *blocks = h_alloc((size_t)(nb * TK_TQ1_BLOCK_BYTES));
            int ok = 1;
            for (int64_t b = 0; b < nb; b++) {
                uint8_t *p = blocks + b * TK_TQ1_BLOCK_BYTES;
                if (random_bytes) {
                    for (int i = 0; i < TK_TQ1_BLOCK_BYTES; i++) p[i] = (uint8_t)h_next(&rng);
                    continue;
                }
                int w[256], t[5];
                int8_t back[256];
                for (int j = 0; j < 256; j++) w[j] = (int)(h_next(&rng) % 3);   /* codes */
                for (int m = 0; m < 32; m++) { for (int i = 0; i < 5; i++) t[i] = w[m + 32 * i]; p[m] = tq1_byte(t, 5); }
                for (int m = 0; m < 16; m++) { for (int i = 0; i < 5; i++) t[i] = w[160 + m + 16 * i]; p[32 + m] = tq1_byte(t, 5); }
                for (int m = 0; m < 4; m++) { for (int i = 0; i < 4; i++) t[i] = w[240 + m + 4 * i]; p[48 + m] = tq1_byte(t, 4); }
                p[52] = 0x00; p[53] = 0x3c;   /* d = 1 */
                tq1_decode(p, back);
                for (int j = 0; j < 256; j++) ok &= back[j] == w[j] - 1;
            }
            float *x = h_alloc(sizeof(float) * (size_t)(n * K)), *s = h_alloc(sizeof(float) * (size_t)n);
            for (int64_t i = 0; i < n * K; i++) x[i] = (float)(h_unit(&rng) * 4 - 2);
            int8_t *q = h_alloc((size_t)(n * K));
            int32_t *qs = h_alloc(sizeof(int32_t) * (size_t)n);
            tk_quantize_rows(x, K, K, n, q, K, s, qs);
            char what[80];
            snprintf(what, sizeof what, "%lldx%lld n=%lld%s", (long long)rows, (long long)K, (long long)n,
                     random_bytes ? " random bytes" : "");
            if (!random_bytes) h_check(ok, "tq1 encoder/decoder round trip %s", what);
            tq1_case(blocks, rows, K, q, s, qs, n, 0.37f, what);
            free(blocks); free(x); free(s); free(q); free(qs);
        }
}

/* Every weight +1 (byte 255 everywhere: qh 253 would do too) or −1 (byte 0) against activations of −128 / 127 /
 * alternating: the i16 partial sums at their extremes (8 blocks of −128 reach −32768 exactly). */
static void tq1_extremes(void) {
    const int64_t rows = 4, K = 8192, n = 3;
    uint8_t *blocks = h_alloc((size_t)(rows * tk_tq1_row_bytes(K)));
    memset(blocks, 255, (size_t)(rows * tk_tq1_row_bytes(K)));
    memset(blocks + 2 * tk_tq1_row_bytes(K), 0, (size_t)tk_tq1_row_bytes(K));   /* row 2: every weight −1 */
    int8_t *q = h_alloc((size_t)(n * K));
    int32_t qs[3] = {0, 0, 0};
    const float s[3] = {1, 1, 1};
    for (int64_t k = 0; k < K; k++) {
        q[k] = -128;
        q[K + k] = 127;
        q[2 * K + k] = k % 2 == 0 ? -128 : 127;
        for (int t = 0; t < 3; t++) qs[t] += q[t * K + k];
    }
    float ref[12];
    h_variants[0]->tq1_gemm(blocks, K, 0, rows, q, s, qs, n, 1, ref, rows);
    h_check(ref[0] == -128.0f * K && ref[rows] == 127.0f * K && ref[2] == 128.0f * K, "tq1 scalar extremes");
    tq1_case(blocks, rows, K, q, s, qs, n, 1, "extreme sums");
    free(blocks); free(q);
}

void test_ternary(void) {
    ternary_random();
    ternary_extremes();
    trit5_random();
    trit5_extremes();
    tq1_random();
    tq1_extremes();
}

/* ---- dense ---- */

static float dense_at(const void *w, tk_dtype dt, int64_t i) {
    if (dt == TK_F16) return tk_f16_to_f32(((const uint16_t *)w)[i]);
    if (dt == TK_BF16) return tk_bf16_to_f32(((const uint16_t *)w)[i]);
    return ((const float *)w)[i];
}

/* w as F32, F16 and BF16 (the three buffers of one matrix). */
static void dense_forms(const float *w, int64_t count, void *forms[3]) {
    forms[0] = h_alloc(4 * (size_t)count);
    forms[1] = h_alloc(2 * (size_t)count);
    forms[2] = h_alloc(2 * (size_t)count);
    memcpy(forms[0], w, 4 * (size_t)count);
    for (int64_t i = 0; i < count; i++) {
        uint32_t b;
        memcpy(&b, &w[i], 4);
        ((uint16_t *)forms[1])[i] = tk_f32_to_f16(w[i]);
        ((uint16_t *)forms[2])[i] = (uint16_t)(b >> 16);
    }
}

static void dense_against_double(void) {
    static const int64_t shapes[][3] = {{9, 37, 1}, {16, 256, 6}, {3, 1000, 2}, {13, 1000, 1}, {6, 1040, 1},
                                        {5, 33, 3}, {4, 7, 2}};
    static const tk_dtype types[3] = {TK_F32, TK_F16, TK_BF16};
    h_rng rng;
    h_seed(&rng, 5);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const int64_t rows = shapes[c][0], cols = shapes[c][1], n = shapes[c][2];
        float *w = h_alloc(sizeof(float) * (size_t)(rows * cols)), *x = h_alloc(sizeof(float) * (size_t)(n * cols));
        for (int64_t i = 0; i < rows * cols; i++) w[i] = (float)(h_unit(&rng) - 0.5);
        for (int64_t i = 0; i < n * cols; i++) x[i] = (float)(h_unit(&rng) - 0.5);
        void *forms[3];
        dense_forms(w, rows * cols, forms);
        float *out = h_alloc(sizeof(float) * (size_t)(n * rows));
        for (int v = 0; v < h_n_variants; v++)
            for (int d = 0; d < 3; d++) {
                h_variants[v]->dense_gemm(forms[d], types[d], cols, 0, rows, x, cols, n, out, rows);
                double worst = 0;
                for (int64_t t = 0; t < n; t++)
                    for (int64_t r = 0; r < rows; r++) {
                        double e = 0;
                        for (int64_t k = 0; k < cols; k++) e += (double)dense_at(forms[d], types[d], r * cols + k) * x[t * cols + k];
                        worst = fmax(worst, fabs(out[t * rows + r] - e));
                    }
                h_check(worst <= 1e-4, "dense %s dtype %d %lldx%lld n=%lld: |error| %g", h_variants[v]->name, d,
                        (long long)rows, (long long)cols, (long long)n, worst);
            }
        for (int d = 0; d < 3; d++) free(forms[d]);
        free(w); free(x); free(out);
    }
}

/* Each token of a batch gets what it gets alone, bit for bit, and a row alone what it gets in a tile
 * (the certified head recomputes single rows); F16, 1100 columns (blocks and a tail). */
static void dense_invariance(void) {
    const int64_t rows = 23, cols = 1100;
    h_rng rng;
    h_seed(&rng, 17);
    uint16_t *h = h_alloc(2 * (size_t)(rows * cols));
    for (int64_t i = 0; i < rows * cols; i++) h[i] = tk_f32_to_f16((float)(h_unit(&rng) - 0.5));
    float *x = h_alloc(sizeof(float) * 9 * (size_t)cols), batch[9 * 23], one[23], alone[23];
    for (int v = 0; v < h_n_variants; v++) {
        const tk_kernels *k = h_variants[v];
        for (int64_t n = 1; n <= 9; n++) {
            for (int64_t i = 0; i < n * cols; i++) x[i] = (float)(h_unit(&rng) * 2 - 1);
            k->dense_gemm(h, TK_F16, cols, 0, rows, x, cols, n, batch, rows);
            for (int64_t t = 0; t < n; t++) {
                k->dense_gemm(h, TK_F16, cols, 0, rows, x + t * cols, cols, 1, one, rows);
                h_check_bits(batch + t * rows, one, rows, "dense %s n=%lld token %lld alone", k->name, (long long)n,
                             (long long)t);
                if (n > 1) continue;
                for (int64_t r = 0; r < rows; r++) k->dense_gemm(h, TK_F16, cols, r, r + 1, x, cols, 1, alone, rows);
                h_check_bits(alone, one, rows, "dense %s rows alone", k->name);
            }
        }
    }
    free(h);
    free(x);
}

void test_dense(void) {
    dense_against_double();
    dense_invariance();
}

/* ---- the int8 head ---- */

void test_i8(void) {
    static const int64_t shapes[][3] = {{5, 128, 1}, {33, 256, 3}, {8, 2560, 2}, {7, 2560, 1}, {13, 384, 1},
        {9, 2560, 8}, {11, 640, 5}, {6, 384, 13}, {4, 96, 4}, {3, 32, 2}, {17, 160, 6}};
    h_rng rng;
    h_seed(&rng, 8);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const int64_t rows = shapes[c][0], kp = shapes[c][1], n = shapes[c][2];
        int8_t *w = h_alloc((size_t)(rows * kp)), *q = h_alloc((size_t)(n * kp));
        for (int64_t i = 0; i < rows * kp; i++) w[i] = (int8_t)((int)(h_next(&rng) % 255) - 127);
        for (int64_t i = 0; i < n * kp; i++) q[i] = (int8_t)((int)(h_next(&rng) % 255) - 127);
        if (c == 0) for (int64_t i = 0; i < kp; i++) { w[i] = -127; q[i] = -127; }   /* the largest sums */
        float *sc = h_alloc(sizeof(float) * (size_t)rows), *s = h_alloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < rows; i++) sc[i] = (float)h_unit(&rng);
        for (int64_t i = 0; i < n; i++) s[i] = (float)(1 + h_unit(&rng));
        float *ref = h_alloc(sizeof(float) * (size_t)(n * rows)), *got = h_alloc(sizeof(float) * (size_t)(n * rows));
        h_variants[0]->i8_gemm(w, sc, kp, 0, rows, q, s, n, ref, rows);
        for (int v = 1; v < h_n_variants; v++) {
            h_variants[v]->i8_gemm(w, sc, kp, 0, rows, q, s, n, got, rows);
            h_check_bits(got, ref, n * rows, "i8 %s %lldx%lld n=%lld", h_variants[v]->name, (long long)rows,
                         (long long)kp, (long long)n);
        }
        free(w); free(q); free(sc); free(s); free(ref); free(got);
    }
}

/* ---- the 4-bit certified head: every variant gives the scalar twin's bits (logits and err sums) ---- */

void test_q4(void) {
    static const int64_t shapes[][3] = {{5, 256, 1}, {33, 512, 3}, {7, 2560, 1}, {9, 2560, 6}, {3, 256, 5}};
    h_rng rng;
    h_seed(&rng, 9);
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        const int64_t rows = shapes[c][0], kp = shapes[c][1], n = shapes[c][2], G = kp / 32;
        uint8_t *w = h_alloc((size_t)(rows * kp / 2));
        uint16_t *sc = h_alloc(sizeof(uint16_t) * (size_t)(rows * G));
        int8_t *q = h_alloc((size_t)(n * kp));
        int32_t *corr = h_alloc(sizeof(int32_t) * (size_t)(n * kp / 4));
        float *gn = h_alloc(sizeof(float) * (size_t)(n * G)), *s = h_alloc(sizeof(float) * (size_t)n);
        /* nibbles 1..15 (q in [-7, 7]); the first row all -7 against activations all -127: the largest sums */
        for (int64_t i = 0; i < rows * kp / 2; i++)
            w[i] = c == 0 && i < kp / 2 ? 0x11 : (uint8_t)(1 + h_next(&rng) % 15 | (1 + h_next(&rng) % 15) << 4);
        for (int64_t i = 0; i < rows * G; i++) sc[i] = tk_f32_to_f16((float)(h_unit(&rng) * 0.1));
        for (int64_t i = 0; i < n * kp; i++) q[i] = c == 0 ? -127 : (int8_t)((int)(h_next(&rng) % 255) - 127);
        for (int64_t j = 0; j < n * kp / 4; j++) corr[j] = 8 * (q[4 * j] + q[4 * j + 1] + q[4 * j + 2] + q[4 * j + 3]);
        for (int64_t i = 0; i < n * G; i++) gn[i] = (float)(h_unit(&rng) * 10);
        for (int64_t i = 0; i < n; i++) s[i] = (float)(1 + h_unit(&rng));
        const size_t bytes = sizeof(float) * (size_t)(n * rows);
        float *ref = h_alloc(bytes), *refe = h_alloc(bytes), *got = h_alloc(bytes), *gote = h_alloc(bytes);
        h_variants[0]->q4_gemm(w, sc, kp, 0, rows, q, s, corr, gn, n, ref, refe, rows);
        for (int v = 1; v < h_n_variants; v++) {
            h_variants[v]->q4_gemm(w, sc, kp, 0, rows, q, s, corr, gn, n, got, gote, rows);
            h_check_bits(got, ref, n * rows, "q4 %s %lldx%lld n=%lld", h_variants[v]->name, (long long)rows,
                         (long long)kp, (long long)n);
            h_check_bits(gote, refe, n * rows, "q4 err %s %lldx%lld n=%lld", h_variants[v]->name, (long long)rows,
                         (long long)kp, (long long)n);
        }
        free(w); free(sc); free(q); free(corr); free(gn); free(s); free(ref); free(refe); free(got); free(gote);
    }
}

/* ---- group-scaled tiles ---- */

void test_group(void) {
    /* kind, group, file block bytes, rows, cols: Q2_0 (64), PQ2_0 / Q2_0 g128 (128), PTQ1_0, Q1_0 */
    static const int64_t cases[][5] = {{TK_GROUP_2BIT, 64, 18, 37, 192}, {TK_GROUP_2BIT, 64, 18, 9, 1024},
        {TK_GROUP_2BIT, 64, 18, 21, 320}, {TK_GROUP_2BIT, 128, 34, 6, 640}, {TK_GROUP_PTQ1_0, 128, 28, 35, 256},
        {TK_GROUP_Q1_0, 128, 18, 41, 384}, {TK_GROUP_2BIT, 64, 18, 3, 2368}, {TK_GROUP_2BIT, 128, 34, 20, 2432},
        {TK_GROUP_Q1_0, 128, 18, 16, 128}};
    h_rng rng;
    h_seed(&rng, 12);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const int kind = (int)cases[c][0];
        const int64_t g = cases[c][1], bb = cases[c][2], rows = cases[c][3], cols = cases[c][4];
        const int64_t ng = cols / g, kp = (cols + 127) / 128 * 128, nblk = rows * ng;
        const int one_bit = kind == TK_GROUP_Q1_0;
        uint8_t *bytes = h_alloc((size_t)(nblk * bb));
        for (int64_t i = 0; i < nblk * bb; i++) bytes[i] = (uint8_t)h_next(&rng);
        for (int64_t b = 0; b < nblk; b++) {   /* finite scales of either sign */
            const float d = (float)(0.01 + h_unit(&rng) * 0.05) * (h_unit(&rng) < 0.5 ? -1 : 1);
            const uint16_t hb = tk_f32_to_f16(d);
            memcpy(bytes + b * bb + (kind == TK_GROUP_PTQ1_0 ? 26 : 0), &hb, 2);
        }
        uint8_t *tiles = h_alloc((size_t)((rows + 15) / 16 * ng * tk_group_tile_bytes(g, one_bit)));
        h_check(tk_group_tile(NULL, bytes, kind, g, rows, ng, tiles) == -1, "group tiling case %zu", c);
        static const int64_t ns[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13};
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
            const int64_t n = ns[ni];
            float *x = h_alloc(sizeof(float) * (size_t)(n * cols)), *s = h_alloc(sizeof(float) * (size_t)n);
            for (int64_t i = 0; i < n * cols; i++) x[i] = (float)(h_unit(&rng) * 4 - 2);
            int8_t *q = h_alloc((size_t)(n * kp));
            int32_t *qs = h_alloc(sizeof(int32_t) * (size_t)n), *gs = h_alloc(sizeof(int32_t) * (size_t)(n * ng));
            tk_quantize_rows(x, cols, cols, n, q, kp, s, qs);
            tk_group_sums(q, kp, n, g, ng, gs);
            float *ref = h_alloc(sizeof(float) * (size_t)(n * rows)), *got = h_alloc(sizeof(float) * (size_t)(n * rows));
            h_variants[0]->group_gemm(tiles, g, one_bit, ng, 0, rows, q, kp, gs, s, n, ref, rows);
            for (int v = 1; v < h_n_variants; v++) {
                h_variants[v]->group_gemm(tiles, g, one_bit, ng, 0, rows, q, kp, gs, s, n, got, rows);
                h_check_bits(got, ref, n * rows, "group %s kind %d g%lld %lldx%lld n=%lld", h_variants[v]->name, kind,
                             (long long)g, (long long)rows, (long long)cols, (long long)n);
                if (rows <= 16) continue;
                for (int64_t i = 0; i < n * rows; i++) got[i] = -7;   /* rows 16..<rows only */
                h_variants[v]->group_gemm(tiles, g, one_bit, ng, 16, rows, q, kp, gs, s, n, got, rows);
                int ok = 1;
                for (int64_t t = 0; t < n; t++)
                    for (int64_t r = 0; r < rows; r++)
                        ok &= r < 16 ? got[t * rows + r] == -7 : memcmp(&got[t * rows + r], &ref[t * rows + r], 4) == 0;
                h_check(ok, "group %s kind %d %lldx%lld n=%lld rows 16..<%lld", h_variants[v]->name, kind,
                        (long long)rows, (long long)cols, (long long)n, (long long)rows);
            }
            free(x); free(s); free(q); free(qs); free(gs); free(ref); free(got);
        }
        free(bytes);
        free(tiles);
    }
}
