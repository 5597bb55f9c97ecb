/* The C kernel harness: every variant of the kernel table against the scalar twin, in plain C, so the
 * ARM variants can be checked cross-compiled under qemu-aarch64 (Swift cannot be built for aarch64
 * here). The checks and shapes are KernelVariantTests', AttentionKernelTests', CertifiedHeadTests',
 * GroupScaledTests' and BlockGemmTests' (the variant-against-twin parts). */
#ifndef TRIT_KERNEL_HARNESS_H
#define TRIT_KERNEL_HARNESS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trit_kernels.h"

/* The variants of this run (scalar first), set by main. */
extern const tk_kernels *h_variants[8];
extern int h_n_variants;

/* Counting checks: a failing check prints its label and counts; nothing aborts. */
extern long h_passed, h_failed;
void h_check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* a[0..n) and b[0..n) equal bit for bit (floats as their bits); prints the first difference. */
int h_same_bits(const void *a, const void *b, size_t bytes);
void h_check_bits(const float *got, const float *want, int64_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* xoshiro256** (a seeded generator: runs repeat). */
typedef struct { uint64_t s[4]; } h_rng;
void h_seed(h_rng *r, uint64_t seed);
uint64_t h_next(h_rng *r);
double h_unit(h_rng *r);   /* [0, 1) */

/* Scratch that the test frees at its end. */
void *h_alloc(size_t bytes);

/* The test groups (one file each). */
void test_ternary(void);
void test_dense(void);
void test_i8(void);
void test_q4(void);
void test_group(void);
void test_quantize_norm(void);
void test_head_select(void);
void test_attention(void);
void test_block(void);
#endif
