/* The harness's driver: picks the variants (every name the table knows that this CPU has), runs the test
 * groups, prints "N passed, M failed" and exits non-zero on a failure.
 *   --require a,b   fail unless these variants are available (the dispatch path the run is meant to test)
 *   --absent a,b    fail if these are available (a CPU model without the feature must not get them) */
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include "harness.h"

const tk_kernels *h_variants[8];
int h_n_variants;
long h_passed, h_failed;

/* Every variant name of every build (KernelSelection.all). */
static const char *const all_names[] = {"scalar", "avx2", "avx512vnni", "neon", "dotprod", "i8mm"};

void h_check(int ok, const char *fmt, ...) {
    if (ok) { h_passed++; return; }
    h_failed++;
    if (h_failed > 40) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

void h_check_bits(const float *got, const float *want, int64_t n, const char *fmt, ...) {
    char label[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(label, sizeof label, fmt, ap);
    va_end(ap);
    for (int64_t i = 0; i < n; i++) {
        uint32_t a, b;
        memcpy(&a, got + i, 4);
        memcpy(&b, want + i, 4);
        if (a != b) {
            h_check(0, "%s: element %lld is %.9g, want %.9g", label, (long long)i, got[i], want[i]);
            return;
        }
    }
    h_check(1, "%s", label);
}

int h_same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
void h_seed(h_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) {   /* splitmix64 */
        uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        r->s[i] = z ^ (z >> 31);
    }
}
uint64_t h_next(h_rng *r) {
    uint64_t *s = r->s;
    const uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return out;
}
double h_unit(h_rng *r) { return (double)(h_next(r) >> 11) * 0x1p-53; }

void *h_alloc(size_t bytes) {
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(2); }
    return p;
}

/* Whether name is in the comma-separated list. */
static int listed(const char *list, const char *name) {
    const size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *require = NULL, *absent = NULL, *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--require") == 0) require = argv[i + 1];
        else if (strcmp(argv[i], "--absent") == 0) absent = argv[i + 1];
        else if (strcmp(argv[i], "--only") == 0) only = argv[i + 1];   /* run just these test groups */
        else { fprintf(stderr, "usage: %s [--require v,..] [--absent v,..] [--only group,..]\n", argv[0]); return 2; }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);   /* a crash keeps the lines before it */
    printf("variants:");
    for (size_t i = 0; i < sizeof all_names / sizeof *all_names; i++) {
        const tk_kernels *k = tk_kernels_named(all_names[i]);
        if (k) { h_variants[h_n_variants++] = k; printf(" %s", all_names[i]); }
        if (require && listed(require, all_names[i])) h_check(k != NULL, "variant %s is required", all_names[i]);
        if (absent && listed(absent, all_names[i])) h_check(k == NULL, "variant %s must be absent on this CPU", all_names[i]);
    }
    printf(" (best: %s)\n", tk_kernels_best()->name);
    h_check(h_n_variants >= 1 && strcmp(h_variants[0]->name, "scalar") == 0, "the scalar twin is first");
    h_check(tk_kernels_named("avx9000") == NULL, "an unknown name is NULL");
    /* every slot of every table filled (a slot added to the scalar and x86 tables but not to the ARM ones is NULL
     * there): the struct is the name, then function pointers only */
    const long failed_before = h_failed;
    for (int v = 0; v < h_n_variants; v++) {
        const size_t slots = (sizeof(tk_kernels) - offsetof(tk_kernels, ternary_gemm)) / sizeof(void (*)(void));
        for (size_t i = 0; i < slots; i++) {
            uintptr_t fn;
            memcpy(&fn, (const char *)h_variants[v] + offsetof(tk_kernels, ternary_gemm) + i * sizeof fn, sizeof fn);
            h_check(fn != 0, "%s: slot %zu of the kernel table is empty", h_variants[v]->name, i);
        }
    }
    if (h_failed > failed_before) {   /* calling an empty slot would crash */
        printf("%ld passed, %ld failed\n", h_passed, h_failed);
        return 1;
    }
    static const struct { const char *name; void (*fn)(void); } groups[] = {
        {"ternary", test_ternary}, {"dense", test_dense}, {"i8", test_i8}, {"q4", test_q4}, {"group", test_group},
        {"quantize", test_quantize_norm}, {"head", test_head_select}, {"attention", test_attention}, {"block", test_block},
    };
    for (size_t i = 0; i < sizeof groups / sizeof *groups; i++) {
        if (only && !listed(only, groups[i].name)) continue;
        const long f0 = h_failed, p0 = h_passed;
        groups[i].fn();
        printf("  %-10s %ld passed, %ld failed\n", groups[i].name, h_passed - p0, h_failed - f0);
    }
    printf("%ld passed, %ld failed\n", h_passed, h_failed);
    return h_failed ? 1 : 0;
}
