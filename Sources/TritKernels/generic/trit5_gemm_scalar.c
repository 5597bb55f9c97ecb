/* The scalar reference of the 5-trit product (layout: trit_kernels.h), the definition its variants are tested
 * against bit for bit; and the load-time conversion from packed rows. */
#include <stdatomic.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

/* Trit n (0..4) of a 5-trit byte: TQ1_0's decode. */
static inline int trit5_at(uint8_t byte, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t y = (uint8_t)(byte * pow3[n]);
    return (y * 3) >> 8;
}

void tk_trit5_gemm_scalar(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1,
                          const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                          float beta, float *out, int64_t ldo) {
    const int64_t row_bytes = tk_trit5_row_bytes(Kp), nblocks = row_bytes / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = codes + r * row_bytes;
        for (int64_t t = 0; t < n; t++) {
            const int8_t *qt = q + t * Kp;
            int32_t acc = 0;
            for (int64_t b = 0; b < nblocks; b++) {
                const int64_t left = Kp - b * TK_T5_BLOCK;
                const int nd = left >= TK_T5_BLOCK ? 5 : (int)(left / 32);
                for (int d = 0; d < nd; d++)
                    for (int m = 0; m < 32; m++)
                        acc += trit5_at(row[b * 32 + m], d) * (int32_t)qt[b * TK_T5_BLOCK + 32 * d + m];
            }
            out[t * ldo + r] = (float)(acc - qsum[t]) / s[t] * beta;
        }
    }
}

/* Rows [r0, r1) of packed rows to 5-trit rows. Strip k of a row (its 32 weights 32k..32k+31) is packed block
 * k/4 at shift 6 − 2·(k mod 4), and trit d of 5-trit block b is strip 5b + d. */
static void from_packed_rows(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1, uint8_t *dst) {
    const int64_t pb = Kp / 4, tb = tk_trit5_row_bytes(Kp), nstrips = Kp / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *src = codes + r * pb;
        for (int64_t b = 0; b < tb / 32; b++) {
            uint16_t v[32];
            for (int m = 0; m < 32; m++) v[m] = 0;
            for (int d = 0; d < 5; d++) {
                const int64_t k = 5 * b + d;
                if (k < nstrips) {
                    const uint8_t *st = src + k / 4 * 32;
                    const int sh = 6 - 2 * (int)(k % 4);
                    for (int m = 0; m < 32; m++) v[m] = (uint16_t)(v[m] * 3 + ((st[m] >> sh) & 3));
                } else {
                    for (int m = 0; m < 32; m++) v[m] = (uint16_t)(v[m] * 3 + 1);
                }
            }
            for (int m = 0; m < 32; m++) dst[r * tb + b * 32 + m] = (uint8_t)((v[m] * 256 + 242) / 243);
        }
    }
}

typedef struct {
    const uint8_t *codes; int64_t Kp, rows; uint8_t *dst;
    _Atomic int64_t next;
} convert_job;

/* Rows from a shared counter (any subset of the pool's threads completes the job). */
static void convert_worker(void *p, int ith, int nth) {
    convert_job *j = p;
    (void)ith; (void)nth;
    const int64_t step = 64;
    for (int64_t r0; (r0 = atomic_fetch_add(&j->next, step)) < j->rows;)
        from_packed_rows(j->codes, j->Kp, r0, r0 + step < j->rows ? r0 + step : j->rows, j->dst);
}

void tk_trit5_from_packed(tk_pool *pool, const uint8_t *codes, int64_t Kp, int64_t rows, uint8_t *dst) {
    convert_job j = {codes, Kp, rows, dst, 0};
    tk_pool_run(pool, convert_worker, &j);
}
