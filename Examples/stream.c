/* Streaming with a stop condition: prints pieces as they come and stops generation from the
 * callback once a whole sentence ('.', '!' or '?') has been printed, or at N_TOKENS.
 * usage: stream MODEL PROMPT [N_TOKENS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trit.h>

typedef struct { size_t bytes; int sentences; } progress;

static bool on_piece(const char *piece, size_t len, void *user) {
    progress *p = user;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    p->bytes += len;
    for (size_t i = 0; i < len; i++)
        if (piece[i] == '.' || piece[i] == '!' || piece[i] == '?') p->sentences++;
    return p->sentences == 0;   /* false stops generation */
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s MODEL PROMPT [N_TOKENS]\n", argv[0]); return 2; }
    trit_model *model = NULL;
    trit_context *ctx = NULL;
    if (trit_model_load(argv[1], NULL, &model) != TRIT_OK) { fprintf(stderr, "%s\n", trit_last_error()); return 1; }
    trit_context_params cp = trit_context_default_params();
    cp.n_ctx = 512;
    if (trit_context_create(model, &cp, &ctx) != TRIT_OK) { fprintf(stderr, "%s\n", trit_last_error()); return 1; }
    trit_generate_params gp = trit_generate_default_params();
    gp.max_tokens = argc > 3 ? atoi(argv[3]) : 200;
    gp.seed = 7;
    progress p = {0, 0};
    trit_generate_result r = {.size = sizeof r};
    fputs(argv[2], stdout);
    trit_status st = trit_generate(ctx, argv[2], &gp, on_piece, &p, &r);
    if (st != TRIT_OK) { fprintf(stderr, "\n%s\n", trit_last_error()); return 1; }
    const char *why[] = {"max tokens", "end of text", "stop string", "context full", "callback", "aborted"};
    fprintf(stderr, "\n[%d tokens, %.1f tokens/s, stopped by %s]\n", r.n_generated_tokens,
            r.generation_seconds > 0 ? r.n_generated_tokens / r.generation_seconds : 0.0, why[r.stop_reason]);
    trit_context_free(ctx);
    trit_model_free(model);
    return 0;
}
