/* The cores' arithmetic peak, for the compute-bound side of a roofline, each loop timed on one core
 * and then on THREADS cores at once (argv[1], default 2):
 * - AVX2 (any x86-64 with it): 10 independent chains of vpmaddubsw (u8 x s8 -> i16 pairs, the AVX2
 *   ternary and int8 kernels' multiply), alone and each followed by the vpaddw that accumulates it
 *   (the ternary product's instruction pair: 32 multiply-adds per pair);
 * - AVX-512 VNNI and BF16 (where the CPU has them, checked at run time): 12 chains of zmm FMAs, 8 of
 *   vpdpbusd (the int8 dot product of the AVX-512 kernels), 10 of vdpbf16ps.
 * The int8 rates are also given as a prompt bound in tokens/s of BitNet 2B4T (2.08 G ternary
 * multiply-adds a token in its linears). Each figure is the best of 7 short runs (the machine's other
 * work only lowers a rate); still, run it twice. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MADDS_2B4T 2.08e9   /* ternary multiply-adds a token of 2B4T: 30 × (2·2560² + 2·2560·640 + 3·2560·6912) */

/* Each loop runs n iterations; the table gives the multiply-adds (or FMAs' lanes) an iteration does. */
#define Z(r) "vxorps %%zmm" #r ",%%zmm" #r ",%%zmm" #r "\n"
static void zmm_fma(long n) {
    __asm__ volatile(Z(0) Z(1) Z(2) Z(3) Z(4) Z(5) Z(6) Z(7) Z(8) Z(9) Z(10) Z(11) Z(14) Z(15)
        "1:\n"
        "vfmadd231ps %%zmm14,%%zmm15,%%zmm0\n vfmadd231ps %%zmm14,%%zmm15,%%zmm1\n vfmadd231ps %%zmm14,%%zmm15,%%zmm2\n"
        "vfmadd231ps %%zmm14,%%zmm15,%%zmm3\n vfmadd231ps %%zmm14,%%zmm15,%%zmm4\n vfmadd231ps %%zmm14,%%zmm15,%%zmm5\n"
        "vfmadd231ps %%zmm14,%%zmm15,%%zmm6\n vfmadd231ps %%zmm14,%%zmm15,%%zmm7\n vfmadd231ps %%zmm14,%%zmm15,%%zmm8\n"
        "vfmadd231ps %%zmm14,%%zmm15,%%zmm9\n vfmadd231ps %%zmm14,%%zmm15,%%zmm10\n vfmadd231ps %%zmm14,%%zmm15,%%zmm11\n"
        "dec %0\n jnz 1b\n" : "+r"(n) :: "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9",
        "zmm10", "zmm11", "zmm14", "zmm15");
}
static void zmm_vnni(long n) {
    __asm__ volatile("1:\n"
        "vpdpbusd %%zmm14,%%zmm15,%%zmm0\n vpdpbusd %%zmm14,%%zmm15,%%zmm1\n vpdpbusd %%zmm14,%%zmm15,%%zmm2\n"
        "vpdpbusd %%zmm14,%%zmm15,%%zmm3\n vpdpbusd %%zmm14,%%zmm15,%%zmm4\n vpdpbusd %%zmm14,%%zmm15,%%zmm5\n"
        "vpdpbusd %%zmm14,%%zmm15,%%zmm6\n vpdpbusd %%zmm14,%%zmm15,%%zmm7\n"
        "dec %0\n jnz 1b\n" : "+r"(n) :: "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm14", "zmm15");
}
static void zmm_bf16(long n) {
    __asm__ volatile("1:\n"
        "vdpbf16ps %%zmm14,%%zmm15,%%zmm0\n vdpbf16ps %%zmm14,%%zmm15,%%zmm1\n vdpbf16ps %%zmm14,%%zmm15,%%zmm2\n"
        "vdpbf16ps %%zmm14,%%zmm15,%%zmm3\n vdpbf16ps %%zmm14,%%zmm15,%%zmm4\n vdpbf16ps %%zmm14,%%zmm15,%%zmm5\n"
        "vdpbf16ps %%zmm14,%%zmm15,%%zmm6\n vdpbf16ps %%zmm14,%%zmm15,%%zmm7\n vdpbf16ps %%zmm14,%%zmm15,%%zmm8\n"
        "vdpbf16ps %%zmm14,%%zmm15,%%zmm9\n"
        "dec %0\n jnz 1b\n" : "+r"(n) :: "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9",
        "zmm14", "zmm15");
}
/* ymm: codes in ymm14 (u8), activations in ymm15 (s8): 10 vpmaddubsw into independent registers */
#define Y(r) "vpxor %%ymm" #r ",%%ymm" #r ",%%ymm" #r "\n"
#define MB(r) "vpmaddubsw %%ymm15,%%ymm14,%%ymm" #r "\n"
static void ymm_maddubs(long n) {
    __asm__ volatile(Y(14) Y(15)
        "1:\n" MB(0) MB(1) MB(2) MB(3) MB(4) MB(5) MB(6) MB(7) MB(8) MB(9)
        "dec %0\n jnz 1b\n" : "+r"(n) :: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm14", "xmm15");
}
/* each product (into one of 4 temporaries, renamed) added into one of 10 i16 accumulators */
#define MA(t, a) "vpmaddubsw %%ymm15,%%ymm14,%%ymm" #t "\n vpaddw %%ymm" #t ",%%ymm" #a ",%%ymm" #a "\n"
static void ymm_maddubs_add(long n) {
    __asm__ volatile(Y(0) Y(1) Y(2) Y(3) Y(4) Y(5) Y(6) Y(7) Y(8) Y(9) Y(14) Y(15)
        "1:\n" MA(10, 0) MA(11, 1) MA(12, 2) MA(13, 3) MA(10, 4) MA(11, 5) MA(12, 6) MA(13, 7) MA(10, 8) MA(11, 9)
        "dec %0\n jnz 1b\n" : "+r"(n) :: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

/* A thread's rate is timed by its own CPU time (CLOCK_THREAD_CPUTIME_ID), so the time the machine's
 * other jobs hold its core is not counted (the rate is the core's while the loop runs on it). */
typedef struct { void (*fn)(long); long n; double rate; } job;
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static void *run(void *p) {
    job *j = p;
    const double t0 = cpu_now();
    j->fn(j->n);
    j->rate = j->n / (cpu_now() - t0);
    return NULL;
}

/* the loop on `threads` cores at once: iterations a second, the threads' rates added */
static double rate(void (*fn)(long), long n, int threads) {
    pthread_t th[64];
    job j[64];
    for (int i = 0; i < threads; i++) j[i] = (job){fn, n, 0};
    for (int i = 1; i < threads; i++) pthread_create(&th[i], NULL, run, &j[i]);
    run(&j[0]);
    double sum = j[0].rate;
    for (int i = 1; i < threads; i++) { pthread_join(th[i], NULL); sum += j[i].rate; }
    return sum;
}

/* the best of REPEATS runs of n / REPEATS iterations: other jobs on the machine only ever lower a rate */
#define REPEATS 7
static double best(void (*fn)(long), long n, int threads) {
    double b = 0;
    for (int i = 0; i < REPEATS; i++) {
        const double r = rate(fn, n / REPEATS, threads);
        if (r > b) b = r;
    }
    return b;
}

/* one line: per core and on `threads` cores, in G multiply-adds/s (`per` a loop iteration) */
static double line(const char *name, void (*fn)(long), long n, double per, int threads, int bound) {
    const double one = best(fn, n, 1) * per / 1e9, all = best(fn, n, threads) * per / 1e9;
    printf("%-30s %7.1f G/s a core, %7.1f G/s on %d", name, one, all, threads);
    if (bound) printf("  -> 2B4T bound %5.0f tokens/s (1 core), %5.0f (%d)", one * 1e9 / MADDS_2B4T,
                      all * 1e9 / MADDS_2B4T, threads);
    printf("\n");
    return all;
}

int main(int argc, char **argv) {
    const int threads = argc > 1 && atoi(argv[1]) > 0 && atoi(argv[1]) <= 64 ? atoi(argv[1]) : 2;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) { fprintf(stderr, "peak: no AVX2 on this CPU\n"); return 1; }
    printf("multiply-adds per second (int8: products; f32/bf16: lanes), 1 core and %d at once\n", threads);
    line("AVX2 vpmaddubsw", ymm_maddubs, 140000000L, 10 * 32, threads, 1);
    line("AVX2 vpmaddubsw + vpaddw", ymm_maddubs_add, 140000000L, 10 * 32, threads, 1);
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni") &&
        __builtin_cpu_supports("avx512bf16")) {
        line("AVX-512 f32 FMA (zmm)", zmm_fma, 300000000L, 12 * 16, threads, 0);
        line("AVX-512 int8 dot (vpdpbusd)", zmm_vnni, 300000000L, 8 * 64, threads, 1);
        line("AVX-512 bf16 dot (vdpbf16ps)", zmm_bf16, 300000000L, 10 * 32, threads, 0);
    } else {
        printf("(no AVX-512 VNNI + BF16: the zmm loops are skipped)\n");
    }
    return 0;
}
