/* The core's arithmetic peak, for the compute-bound side of a roofline: 12 independent chains of
 * zmm FMAs, 8 of vpdpbusd (int8 dot products, the ternary and int8 kernels' instruction) and 10 of
 * vdpbf16ps, each timed over 300 M iterations on one core. x86 with AVX-512 (VNNI, BF16) only. */
#include <stdio.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define Z(r) "vxorps %%zmm" #r ",%%zmm" #r ",%%zmm" #r "\n"
int main(void) {
    long n = 300000000L;
    double t0 = now();
    __asm__ volatile(Z(0) Z(1) Z(2) Z(3) Z(4) Z(5) Z(6) Z(7) Z(8) Z(9) Z(10) Z(11) Z(14) Z(15)
        "1:\n"
        "vfmadd231ps %%zmm14,%%zmm15,%%zmm0\n vfmadd231ps %%zmm14,%%zmm15,%%zmm1\n vfmadd231ps %%zmm14,%%zmm15,%%zmm2\n"
        "vfmadd231ps %%zmm14,%%zmm15,%%zmm3\n vfmadd231ps %%zmm14,%%zmm15,%%zmm4\n vfmadd231ps %%zmm14,%%zmm15,%%zmm5\n"
        "vfmadd231ps %%zmm14,%%zmm15,%%zmm6\n vfmadd231ps %%zmm14,%%zmm15,%%zmm7\n vfmadd231ps %%zmm14,%%zmm15,%%zmm8\n"
        "vfmadd231ps %%zmm14,%%zmm15,%%zmm9\n vfmadd231ps %%zmm14,%%zmm15,%%zmm10\n vfmadd231ps %%zmm14,%%zmm15,%%zmm11\n"
        "dec %0\n jnz 1b\n" : "+r"(n) :: "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9",
        "zmm10", "zmm11", "zmm14", "zmm15");
    double s = now() - t0;
    printf("f32 FMA (zmm):      %6.1f G multiply-adds/s (%.2f G instructions/s)\n", 3e8 * 12 * 16 / s / 1e9, 3e8 * 12 / s / 1e9);
    n = 300000000L; t0 = now();
    __asm__ volatile("1:\n"
        "vpdpbusd %%zmm14,%%zmm15,%%zmm0\n vpdpbusd %%zmm14,%%zmm15,%%zmm1\n vpdpbusd %%zmm14,%%zmm15,%%zmm2\n"
        "vpdpbusd %%zmm14,%%zmm15,%%zmm3\n vpdpbusd %%zmm14,%%zmm15,%%zmm4\n vpdpbusd %%zmm14,%%zmm15,%%zmm5\n"
        "vpdpbusd %%zmm14,%%zmm15,%%zmm6\n vpdpbusd %%zmm14,%%zmm15,%%zmm7\n"
        "dec %0\n jnz 1b\n" : "+r"(n) :: "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm14", "zmm15");
    s = now() - t0;
    printf("int8 dot (vpdpbusd): %6.1f G multiply-adds/s\n", 3e8 * 8 * 64 / s / 1e9);
    n = 300000000L; t0 = now();
    __asm__ volatile("1:\n"
        "vdpbf16ps %%zmm14,%%zmm15,%%zmm0\n vdpbf16ps %%zmm14,%%zmm15,%%zmm1\n vdpbf16ps %%zmm14,%%zmm15,%%zmm2\n"
        "vdpbf16ps %%zmm14,%%zmm15,%%zmm3\n vdpbf16ps %%zmm14,%%zmm15,%%zmm4\n vdpbf16ps %%zmm14,%%zmm15,%%zmm5\n"
        "vdpbf16ps %%zmm14,%%zmm15,%%zmm6\n vdpbf16ps %%zmm14,%%zmm15,%%zmm7\n vdpbf16ps %%zmm14,%%zmm15,%%zmm8\n"
        "vdpbf16ps %%zmm14,%%zmm15,%%zmm9\n"
        "dec %0\n jnz 1b\n" : "+r"(n) :: "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9",
        "zmm14", "zmm15");
    s = now() - t0;
    printf("bf16 dot (vdpbf16ps): %5.1f G multiply-adds/s\n", 3e8 * 10 * 32 / s / 1e9);
    return 0;
}
