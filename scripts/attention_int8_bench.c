/* The attention kernel alone, float scores (attention) against int8 scores (attention_q8) over a Q8_0 K and V
 * cache, in the AVX2 and AVX-512 tables: 2B4T's shape, one decode row, 1 thread, median of REPS calls (≤ 64).
 *   clang -O3 -fno-math-errno -ISources/TritKernels/include $(find Sources/TritKernels -name '*.c') \
 *       scripts/attention_int8_bench.c -o /tmp/att_int8 -lm -lpthread && /tmp/att_int8 [N_KV [REPS]] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "trit_kernels.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
    const int64_t nh = 20, nkvh = 5, hd = 128, n_kv = argc > 1 ? atoll(argv[1]) : 4096, group = nh / nkvh;
    int reps = argc > 2 ? atoi(argv[2]) : 41;
    reps = reps < 1 ? 1 : reps > 64 ? 64 : reps;
    const int64_t hb = tk_kv_head_bytes(TK_KV_Q8_0, hd);
    uint8_t *kc = malloc(nkvh * n_kv * hb), *vc = malloc(nkvh * n_kv * hb);
    float *raw = malloc(4 * hd), *q = malloc(4 * nh * hd), *out = malloc(4 * nh * hd);
    srand(1);
    for (int64_t g = 0; g < nkvh; g++)
        for (int64_t p = 0; p < n_kv; p++) {
            for (int i = 0; i < hd; i++) raw[i] = (float)rand() / RAND_MAX * 2 - 1;
            tk_kv_store(TK_KV_Q8_0, raw, 1, hd, kc + (g * n_kv + p) * hb);
            for (int i = 0; i < hd; i++) raw[i] = (float)rand() / RAND_MAX * 2 - 1;
            tk_kv_store(TK_KV_Q8_0, raw, 1, hd, vc + (g * n_kv + p) * hb);
        }
    for (int i = 0; i < nh * hd; i++) q[i] = (float)rand() / RAND_MAX * 2 - 1;
    const int64_t stride = tk_att_scratch_floats(group, hd);
    float *scratch = malloc(4 * stride), *partials = malloc(4 * ((n_kv + 1023) / 1024) * nh * tk_att_partial_floats(hd));
    const char *names[] = {"avx2", "avx512vnni"};
    for (int v = 0; v < 2; v++) {
        const tk_kernels *k = tk_kernels_named(names[v]);
        if (!k) continue;
        for (int which = 0; which < 2; which++) {
            double t[64];
            for (int r = 0; r < reps; r++) {
                const uint8_t *kp = kc, *vp = vc;
                tk_attention_job job = {
                    .fn = which ? k->attention_q8 : k->attention, .q = q, .out = out, .q_stride = nh * hd, .k = &kp,
                    .v = &vp, .n_kv = &n_kv, .k_row_bytes = hb, .v_row_bytes = hb, .k_head_stride = n_kv * hb,
                    .v_head_stride = n_kv * hb, .k_type = TK_KV_Q8_0, .v_type = TK_KV_Q8_0, .n_heads = nh,
                    .group = group, .hd = hd, .scale = 1.0f / sqrtf((float)hd), .scratch = scratch,
                    .scratch_stride = stride, .partials = partials, .max_rows = 1};
                const double t0 = now();
                tk_attention_par(NULL, &job, 1);
                t[r] = now() - t0;
            }
            qsort(t, reps, sizeof *t, cmp);
            printf("%-10s %-5s n_kv %lld: median %.3f ms (min %.3f)\n", names[v], which ? "int8" : "float",
                   (long long)n_kv, t[reps / 2] * 1e3, t[0] * 1e3);
        }
    }
    return 0;
}
