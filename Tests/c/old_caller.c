/* Compiled against a header with shorter structs (Tests/integration/test_abi.py removes the
 * newest fields): the library must give defaults for the fields an older caller lacks and
 * write no byte past an output struct's declared size. usage: old_caller MODEL */
#include <stdio.h>
#include <string.h>
#include <trit.h>

typedef struct { trit_model_info info; unsigned char canary[64]; } guarded_info;
typedef struct { trit_generate_result r; unsigned char canary[64]; } guarded_result;

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int failed = 0;
    trit_model_params mp = trit_model_default_params();
    trit_model *model = NULL;
    if (trit_model_load(argv[1], &mp, &model) != TRIT_OK) { printf("load: %s\n", trit_last_error()); return 1; }
    guarded_info gi;
    memset(&gi, 0xAB, sizeof gi);
    gi.info.size = sizeof gi.info;
    if (trit_model_get_info(model, &gi.info) != TRIT_OK) { printf("info: %s\n", trit_last_error()); return 1; }
    for (size_t i = 0; i < sizeof gi.canary; i++) if (gi.canary[i] != 0xAB) { printf("info wrote past its size\n"); failed++; break; }
    if (gi.info.n_layer <= 0 || gi.info.size != sizeof gi.info) { printf("info not filled\n"); failed++; }
    /* garbage beyond the old struct must not be read as the new fields */
    struct { trit_context_params p; unsigned char junk[64]; } cp;
    memset(&cp, 0xFF, sizeof cp);
    cp.p = trit_context_default_params();
    cp.p.n_ctx = 64;
    cp.p.n_threads = 1;
    trit_context *ctx = NULL;
    if (trit_context_create(model, &cp.p, &ctx) != TRIT_OK) { printf("context: %s\n", trit_last_error()); return 1; }
    /* garbage past an older generate struct must not be read as its newer members (the sampler) */
    struct { trit_generate_params p; unsigned char junk[96]; } gpj;
    memset(&gpj, 0xFF, sizeof gpj);
    gpj.p = trit_generate_default_params();
    gpj.p.max_tokens = 4;
    gpj.p.temperature = 0;
    guarded_result gr;
    memset(&gr, 0xAB, sizeof gr);
    gr.r.size = sizeof gr.r;
    if (trit_generate(ctx, "Hello", &gpj.p, NULL, NULL, &gr.r) != TRIT_OK) { printf("generate: %s\n", trit_last_error()); return 1; }
    for (size_t i = 0; i < sizeof gr.canary; i++) if (gr.canary[i] != 0xAB) { printf("result wrote past its size\n"); failed++; break; }
    if (gr.r.n_generated_tokens != 4) { printf("generated %d tokens\n", gr.r.n_generated_tokens); failed++; }
    /* an unset size is an argument error, not a guess */
    trit_model_info bad;
    memset(&bad, 0, sizeof bad);
    if (trit_model_get_info(model, &bad) != TRIT_ERR_ARG) { printf("size 0 accepted\n"); failed++; }
    trit_context_free(ctx);
    trit_model_free(model);
    printf("%d failed, sizes: info %zu context %zu generate %zu result %zu\n", failed, sizeof(trit_model_info),
           sizeof(trit_context_params), sizeof(trit_generate_params), sizeof(trit_generate_result));
    return failed ? 1 : 0;
}
