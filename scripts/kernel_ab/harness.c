/* Old against new: one kernel compiled from two versions of its source (as A and B, see
 * ../kernel_ab.sh), called alternately in one process on the same data, so the machine's minute-to-
 * minute bandwidth moves both alike. Prints both medians, the median of the per-round ratios B/A,
 * and whether the outputs are equal bit for bit (they must be: every variant equals its twin). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include "trit_kernels.h"

#ifndef ROUNDS
#define ROUNDS 15   /* more for a profile: CC="clang -DROUNDS=301" */
#endif
#define PAIR(ret, name, args) ret name##_A args; ret name##_B args;
PAIR(void, att, (const float *, int64_t, const uint8_t *, const uint8_t *, int64_t, int64_t, int32_t, int32_t, int64_t,
                 int64_t, int64_t, float, float *, float *, float *))
PAIR(void, dense, (const void *, tk_dtype, int64_t, int64_t, int64_t, const float *, int64_t, int64_t, float *, int64_t))
PAIR(void, ternary, (const uint8_t *, int64_t, int64_t, int64_t, const int8_t *, const float *, const int32_t *, int64_t,
                     float, float *, int64_t))
PAIR(void, i8, (const int8_t *, const float *, int64_t, int64_t, int64_t, const int8_t *, const float *, int64_t, float *,
                int64_t))
PAIR(void, group, (const uint8_t *, int64_t, int, int64_t, int64_t, int64_t, const int8_t *, int64_t, const int32_t *,
                   const float *, int64_t, float *, int64_t))

/* attention on two threads (ATT_THREADS=2): each call's KV heads split in halves, the second half on
 * a thread of its own, so both cores stream the cache at once as in the engine's decode */
typedef struct { int w; int64_t h0, h1, N, rb, hd; int32_t kt; const uint8_t *kc, *vc; const float *q; float *scr, *out; } att_part;
static void att_run(att_part *p);
static void *att_thread(void *p) { att_run(p); return NULL; }

static void att_call(int w, int two, int64_t H, int64_t N, int64_t rb, int64_t hd, int32_t kt, const uint8_t *kc,
                     const uint8_t *vc, const float *q, float *scr, float *scr2, float *out) {
    att_part p0 = {w, 0, two ? H / 2 : H, N, rb, hd, kt, kc, vc, q, scr, out}, p1 = p0;
    pthread_t th;
    p1.h0 = p0.h1; p1.h1 = H; p1.scr = scr2;
    if (two) pthread_create(&th, NULL, att_thread, &p1);
    att_run(&p0);
    if (two) pthread_join(th, NULL);
}

/* CPUTIME=1: the process's CPU time instead of the wall clock, so the time other jobs hold the cores
 * is not counted (on a shared machine; the kernels here are single-threaded unless ATT_THREADS=2) */
static clockid_t clock_id = CLOCK_MONOTONIC;
static double now(void) { struct timespec t; clock_gettime(clock_id, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
/* 64-byte aligned, as the engine's buffers are (AlignedBuffer.swift): malloc's large blocks start 16 bytes
 * into a page, and half of the 32-byte activation loads then split a cache line (25% slower kernels) */
static void *amalloc(size_t n) { void *p = NULL; return posix_memalign(&p, 64, n ? n : 1) == 0 ? p : NULL; }
static uint32_t rng = 12345;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: harness att|dense|ternary|i8|group [n] [rows-or-heads] [kv-type]\n"); return 2; }
    const char *k = argv[1];
    if (getenv("CPUTIME") && atoi(getenv("CPUTIME")) == 1) clock_id = CLOCK_PROCESS_CPUTIME_ID;
    const int64_t n = argc > 2 ? atoll(argv[2]) : 4, big = argc > 3 ? atoll(argv[3]) : 0;
    const int32_t kt = argc > 4 ? atoi(argv[4]) : TK_KV_F16;
    /* CHUNK=ROWS (dense, ternary, i8): calls over ROWS rows at a time, as the engine's threads take
     * chunks sized for L2 (parallel.c), instead of one call over every row */
    const int64_t chunk = getenv("CHUNK") && atoll(getenv("CHUNK")) > 0 ? atoll(getenv("CHUNK")) : INT64_MAX;
    double t[2][ROUNDS], ratio[ROUNDS];
    float *out[2];
    int64_t nout = 0;
    /* each kernel's arguments, then one call of version w */
#define TIME_ROUNDS(CALL)                                                                        \
    for (int r = 0; r < ROUNDS; r++)                                                             \
        for (int w = 0; w < 2; w++) { const double t0 = now(); CALL; t[w][r] = now() - t0; }
    if (!strcmp(k, "att")) {   /* n KV positions (default 4096) of `big` KV heads (150: 2B4T's 30 × 5), 4 queries each */
        const int64_t N = argc > 2 ? n : 4096, H = big ? big : 150, hd = 128, rb = tk_kv_head_bytes(kt, hd);
        uint8_t *kc = amalloc(H * N * rb), *vc = amalloc(H * N * rb);
        float row[128], q[512], *scr = amalloc(tk_att_scratch_floats(4, hd) * sizeof(float));
        for (int64_t r = 0; r < H * N; r++) {
            for (int i = 0; i < hd; i++) row[i] = (float)(next() % 2001) / 1000.0f - 1.0f;
            tk_kv_store(kt, row, 1, hd, kc + r * rb);
            for (int i = 0; i < hd; i++) row[i] = (float)(next() % 2001) / 1000.0f - 1.0f;
            tk_kv_store(kt, row, 1, hd, vc + r * rb);
        }
        for (int i = 0; i < 512; i++) q[i] = (float)(next() % 2001) / 1000.0f - 1.0f;
        nout = 512 * H;
        out[0] = amalloc(nout * 4); out[1] = amalloc(nout * 4);
        const int two = getenv("ATT_THREADS") && atoi(getenv("ATT_THREADS")) == 2;
        float *scr2 = amalloc(tk_att_scratch_floats(4, hd) * sizeof(float));
        TIME_ROUNDS(att_call(w, two, H, N, rb, hd, kt, kc, vc, q, scr, scr2, out[w]))
    } else if (!strcmp(k, "dense")) {   /* n tokens over `big` rows (default 32064) × 2560 F16 */
        const int64_t R = big ? big : 32064, K = 2560;
        uint16_t *wm = amalloc(R * K * 2);
        float *x = amalloc(n * K * 4);
        for (int64_t i = 0; i < R * K; i++) wm[i] = (uint16_t)(0x3000 + next() % 0x800) | (uint16_t)((next() & 1) << 15);
        for (int64_t i = 0; i < n * K; i++) x[i] = (float)(next() % 2001) / 1000.0f - 1.0f;
        nout = n * R;
        out[0] = amalloc(nout * 4); out[1] = amalloc(nout * 4);
        TIME_ROUNDS(for (int64_t r0 = 0; r0 < R; r0 += chunk)
                        (w ? dense_B : dense_A)(wm, TK_F16, K, r0, r0 + chunk < R ? r0 + chunk : R, x, K, n, out[w], R))
    } else if (!strcmp(k, "ternary")) {   /* n tokens over `big` rows (default 55296) × 2560 (KCOLS) I2_S codes */
        /* KCOLS=6912: the width of 2B4T's down projection (its activations outgrow L1 sooner) */
        const int64_t R = big ? big : 55296, K = getenv("KCOLS") ? atoll(getenv("KCOLS")) / 128 * 128 : 2560, rb = K / 4;
        uint8_t *codes = amalloc(R * rb);
        int8_t *q = amalloc(n * K);
        float *s = amalloc(n * 4);
        int32_t *qs = amalloc(n * 4);
        for (int64_t i = 0; i < R * rb; i++) { uint8_t b = 0; for (int j = 0; j < 4; j++) b = (uint8_t)(b << 2 | next() % 3); codes[i] = b; }
        for (int64_t i = 0; i < n * K; i++) q[i] = (int8_t)(next() % 255 - 127);
        for (int64_t i = 0; i < n; i++) { s[i] = 1.0f + i; qs[i] = 0; for (int64_t c = 0; c < K; c++) qs[i] += q[i * K + c]; }
        nout = n * R;
        out[0] = amalloc(nout * 4); out[1] = amalloc(nout * 4);
        TIME_ROUNDS(for (int64_t r0 = 0; r0 < R; r0 += chunk)
                        (w ? ternary_B : ternary_A)(codes, rb, r0, r0 + chunk < R ? r0 + chunk : R, q, s, qs, n, 0.5f, out[w], R))
    } else if (!strcmp(k, "group")) {   /* n tokens over `big` rows (default 12288) × 2048, 2-bit tiles of G = 64 (Q2_0) */
        const int64_t R = big ? big : 12288, K = 2048, G = 64, ng = K / G, tb = tk_group_tile_bytes(G, 0);
        uint8_t *tiles = amalloc((size_t)((R + 15) / 16 * ng * tb));
        for (int64_t i = 0; i < (R + 15) / 16 * ng * tb; i++) tiles[i] = (uint8_t)next();
        for (int64_t b = 0; b < (R + 15) / 16 * ng; b++)   /* each group's 16 fp16 scales, finite */
            for (int j = 0; j < 16; j++) {
                const uint16_t h = tk_f32_to_f16((float)(next() % 1000 + 1) * 1e-5f);
                memcpy(tiles + b * tb + 2 * j, &h, 2);
            }
        int8_t *q = amalloc(n * K);
        float *s = amalloc(n * 4);
        int32_t *ns = amalloc(n * ng * 4);
        for (int64_t i = 0; i < n * K; i++) q[i] = (int8_t)(next() % 255 - 127);
        for (int64_t t = 0; t < n; t++) {
            s[t] = 1.0f + t;
            for (int64_t g = 0; g < ng; g++) { ns[t * ng + g] = 0; for (int64_t c = 0; c < G; c++) ns[t * ng + g] -= q[t * K + g * G + c]; }
        }
        nout = n * R;
        out[0] = amalloc(nout * 4); out[1] = amalloc(nout * 4);
        TIME_ROUNDS(for (int64_t r0 = 0; r0 < R; r0 += chunk)
                        (w ? group_B : group_A)(tiles, G, 0, ng, r0, r0 + chunk < R ? r0 + chunk : R, q, K, ns, s, n, out[w], R))
    } else if (!strcmp(k, "i8")) {   /* n tokens over `big` rows (default 32064) × 2560 int8 */
        const int64_t R = big ? big : 32064, K = 2560;
        int8_t *wm = amalloc(R * K), *q = amalloc(n * K);
        float *ws = amalloc(R * 4), *s = amalloc(n * 4);
        for (int64_t i = 0; i < R * K; i++) wm[i] = (int8_t)(next() % 255 - 127);
        for (int64_t i = 0; i < n * K; i++) q[i] = (int8_t)(next() % 255 - 127);
        for (int64_t i = 0; i < R; i++) ws[i] = 0.01f;
        for (int64_t i = 0; i < n; i++) s[i] = 1.0f + i;
        nout = n * R;
        out[0] = amalloc(nout * 4); out[1] = amalloc(nout * 4);
        TIME_ROUNDS(for (int64_t r0 = 0; r0 < R; r0 += chunk)
                        (w ? i8_B : i8_A)(wm, ws, K, r0, r0 + chunk < R ? r0 + chunk : R, q, s, n, out[w], R))
    } else {
        fprintf(stderr, "unknown kernel %s\n", k);
        return 2;
    }
    for (int r = 0; r < ROUNDS; r++) ratio[r] = t[1][r] / t[0][r];
    qsort(t[0], ROUNDS, sizeof(double), cmp); qsort(t[1], ROUNDS, sizeof(double), cmp); qsort(ratio, ROUNDS, sizeof(double), cmp);
    const int same = memcmp(out[0], out[1], (size_t)nout * 4) == 0;
    printf("%s n=%lld: A %.4f ms, B %.4f ms (medians of %d alternating rounds; best %.2f, %.2f); B/A %.3f (%.3f-%.3f); "
           "outputs %s\n", k, (long long)n, t[0][ROUNDS / 2] * 1e3, t[1][ROUNDS / 2] * 1e3, ROUNDS, t[0][0] * 1e3, t[1][0] * 1e3,
           ratio[ROUNDS / 2], ratio[0], ratio[ROUNDS - 1], same ? "equal" : "DIFFER");
    return same ? 0 : 1;
}

static void att_run(att_part *p) {
    for (int64_t h = p->h0; h < p->h1; h++)
        (p->w ? att_B : att_A)(p->q, 4, p->kc + h * p->N * p->rb, p->vc + h * p->N * p->rb, p->rb, p->rb, p->kt, p->kt, 0, p->N,
                               p->hd, 0.088f, p->scr, p->out + 512 * h, NULL);
}
