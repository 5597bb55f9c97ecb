/* The decode kernels alone on two threads, streaming from memory, against a plain read of the same
 * bytes in the same round (scripts/kernel_stream.sh): does a kernel keep up with the memory when
 * nothing else runs? Each thread owns its matrices (no chunking, no hand-overs), so what this
 * measures is the kernel's stream, not the engine's. */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "trit_kernels.h"

void tk_group_gemm_avx512vnni(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0,
                              int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s,
                              int64_t n, float *out, int64_t ldo);
void tk_dense_gemm_avx512(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1, const float *x,
                          int64_t ldx, int64_t n, float *out, int64_t ldo);

#define K 5120                      /* columns: the 27B shape's width */
#define G 64                        /* Q2_0 groups */
#define NG (K / G)
#define GROUP_ROWS 204800           /* 295 MB of tiles a thread */
#define DENSE_ROWS 40000            /* 410 MB of F16 a thread */

enum { READ_TILES, GROUP, READ_F16, DENSE };
static const uint8_t *tiles[2];
static const uint16_t *f16[2];
static size_t tile_bytes, f16_bytes;
static int8_t q[K];
static float x[K], *out[2];
static int32_t nsum[NG];
static int job;
static pthread_barrier_t start, done;
static volatile uint64_t sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t read_all(const void *p, size_t n) {
    const char *c = p;
    __m512i a = _mm512_setzero_si512(), b = a;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a = _mm512_xor_si512(a, _mm512_loadu_si512(c + i));
        b = _mm512_xor_si512(b, _mm512_loadu_si512(c + i + 64));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_xor_si512(a, b));
}

static void *worker(void *arg) {
    const int id = (int)(intptr_t)arg;
    const float one = 1.0f;
    for (;;) {
        pthread_barrier_wait(&start);
        switch (job) {
        case READ_TILES: sink += read_all(tiles[id], tile_bytes); break;
        case GROUP: tk_group_gemm_avx512vnni(tiles[id], G, 0, NG, 0, GROUP_ROWS, q, K, nsum, &one, 1, out[id], GROUP_ROWS); break;
        case READ_F16: sink += read_all(f16[id], f16_bytes); break;
        case DENSE: tk_dense_gemm_avx512(f16[id], TK_F16, K, 0, DENSE_ROWS, x, K, 1, out[id], DENSE_ROWS); break;
        default: return NULL;
        }
        pthread_barrier_wait(&done);
    }
}

int main(int argc, char **argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 20;
    const int64_t tb = tk_group_tile_bytes(G, 0);
    tile_bytes = (size_t)(GROUP_ROWS / 16) * NG * tb;
    f16_bytes = (size_t)DENSE_ROWS * K * 2;
    for (int t = 0; t < 2; t++) {
        uint8_t *w = aligned_alloc(1 << 21, tile_bytes);
        memset(w, 0x5a, tile_bytes);
        for (size_t b = 0; b < (size_t)(GROUP_ROWS / 16) * NG; b++)   /* each group's 16 finite fp16 scales */
            for (int j = 0; j < 16; j++) { const uint16_t h = (uint16_t)(0x1400 + j); memcpy(w + b * tb + 2 * j, &h, 2); }
        uint16_t *d = aligned_alloc(1 << 21, f16_bytes);
        for (size_t i = 0; i < f16_bytes / 2; i++) d[i] = (uint16_t)(0x3c00 + (i & 255));
        tiles[t] = w; f16[t] = d;
        out[t] = malloc(GROUP_ROWS * sizeof(float));
    }
    for (int i = 0; i < K; i++) { q[i] = (int8_t)(i * 7 % 255 - 127); x[i] = (float)(i % 13) * 0.1f; }
    for (int g = 0; g < NG; g++) { nsum[g] = 0; for (int i = 0; i < G; i++) nsum[g] -= q[g * G + i]; }
    pthread_barrier_init(&start, NULL, 3);
    pthread_barrier_init(&done, NULL, 3);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int r = 0; r < rounds; r++) {
        double sec[4];
        for (int w = 0; w < 4; w++) {
            job = w;
            const double t0 = now();
            pthread_barrier_wait(&start);
            pthread_barrier_wait(&done);
            sec[w] = now() - t0;
        }
        printf("group Q2_0: read %.1f GB/s, kernel %.1f GB/s (%.0f%%) | F16 rows: read %.1f GB/s, kernel %.1f GB/s (%.0f%%)\n",
               2 * tile_bytes / sec[READ_TILES] / 1e9, 2 * tile_bytes / sec[GROUP] / 1e9, 100 * sec[READ_TILES] / sec[GROUP],
               2 * f16_bytes / sec[READ_F16] / 1e9, 2 * f16_bytes / sec[DENSE] / 1e9, 100 * sec[READ_F16] / sec[DENSE]);
    }
    return 0;
}
