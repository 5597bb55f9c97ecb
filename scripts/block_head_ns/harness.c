/* ns a weight of the one-token head product, F16 dense kernel vs the block types (AVX2 forms), best of
 * many runs on one thread: scripts/block_head_ns.sh ROWS [avx512] (64: from cache; 65536: streaming from memory).
 * K = 2560 (2B4T's dim); weights are arbitrary bytes with small f16 scales (speed only, no check). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "trit_kernels.h"
#include "kernels_internal.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const int64_t K = 2560, R = argc > 1 ? atoll(argv[1]) : 65536;
    const int reps = R < 1000 ? 20000 : 15, wide = argc > 2 && strcmp(argv[2], "avx512") == 0;
    tk_dense_gemm_fn dense = wide ? tk_dense_gemm_avx512 : tk_dense_gemm_avx2;
    tk_block_gemm_fn block = wide ? tk_block_gemm_avx512 : tk_block_gemm_avx2;
    float *x = aligned_alloc(64, K * 4), *out = aligned_alloc(64, (R * 4 + 63) / 64 * 64);
    for (int64_t k = 0; k < K; k++) x[k] = (float)((k * 37) % 101) / 101.0f - 0.5f;
    const tk_dtype types[] = {TK_F16, TK_Q6_K, TK_Q8_0, TK_Q4_K, TK_Q5_K, TK_Q4_0};
    const char *names[] = {"f16", "q6_k", "q8_0", "q4_k", "q5_k", "q4_0"};
    for (int ti = 0; ti < 6; ti++) {
        const tk_dtype t = types[ti];
        const int64_t bytes = R * tk_dtype_row_bytes(t, K);
        uint8_t *w = aligned_alloc(64, (bytes + 63) / 64 * 64);
        for (int64_t i = 0; i < bytes; i++) w[i] = (uint8_t)(i * 2654435761u >> 13);
        if (t == TK_F16) {
            for (int64_t i = 0; i < bytes / 2; i++) ((uint16_t *)w)[i] = (uint16_t)(0x2000 + (i & 0xff));
        } else {
            const int64_t bb = tk_dtype_block_bytes(t);
            for (int64_t b = 0; b < bytes / bb; b++) {
                uint8_t *p = w + b * bb + (t == TK_Q6_K ? 208 : 0);
                p[0] = 0, p[1] = 0x20;
                if (t == TK_Q4_K || t == TK_Q5_K) p[2] = 0, p[3] = 0x20;
            }
        }
        double best = 1e9;
        for (int rep = 0; rep < reps; rep++) {
            const double t0 = now();
            if (t == TK_F16) dense(w, t, K, 0, R, x, K, 1, out, R);
            else block(w, t, K, 0, R, x, K, 1, out, R);
            const double dt = now() - t0;
            if (dt < best) best = dt;
        }
        printf("%s: %.3f ns a weight, %.2f GB/s (%lld rows of %lld, best of %d)\n", names[ti], best * 1e9 / (R * K),
               bytes / best / 1e9, (long long)R, (long long)K, reps);
        free(w);
    }
    return 0;
}
