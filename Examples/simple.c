/* Minimal generation with trit.h: simple MODEL PROMPT [N_TOKENS] [SEED] */
#include <stdio.h>
#include <stdlib.h>
#include <trit.h>

static bool print_piece(const char *piece, size_t len, void *user) {
    (void)user;
    fwrite(piece, 1, len, stdout);
    return true;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s MODEL PROMPT [N_TOKENS] [SEED]\n", argv[0]); return 2; }
    trit_model *model = NULL;
    trit_context *ctx = NULL;
    if (trit_model_load(argv[1], NULL, &model) != TRIT_OK || trit_context_create(model, NULL, &ctx) != TRIT_OK) {
        fprintf(stderr, "error: %s\n", trit_last_error());
        return 1;
    }
    trit_generate_params gp = trit_generate_default_params();
    gp.max_tokens = argc > 3 ? atoi(argv[3]) : 64;
    gp.seed = argc > 4 ? strtoull(argv[4], NULL, 10) : gp.seed;
    trit_status st = trit_generate(ctx, argv[2], &gp, print_piece, NULL, NULL);
    printf("\n");
    if (st != TRIT_OK) fprintf(stderr, "error: %s\n", trit_last_error());
    trit_context_free(ctx);
    trit_model_free(model);
    return st == TRIT_OK ? 0 : 1;
}
