/* An interactive chat loop: reads a line, formats it with the model's chat template, streams
 * the reply. An empty line or end of input quits. usage: chat MODEL [SYSTEM_PROMPT] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trit.h>

static bool print_piece(const char *piece, size_t len, void *user) {
    (void)user;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return true;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s MODEL [SYSTEM_PROMPT]\n", argv[0]); return 2; }
    trit_model *model = NULL;
    trit_context *ctx = NULL;
    if (trit_model_load(argv[1], NULL, &model) != TRIT_OK || trit_context_create(model, NULL, &ctx) != TRIT_OK) {
        fprintf(stderr, "error: %s\n", trit_last_error());
        return 1;
    }
    trit_generate_params gp = trit_generate_default_params();
    gp.max_tokens = 128;
    gp.parse_special = true;
    const char *stops[] = {"\nUser:"};
    gp.stop = stops;
    gp.n_stop = 1;
    /* a reply that did not end on the end-of-turn token is closed with its text before the
     * next turn, so the context holds the whole conversation in the chat format */
    trit_model_info info = {.size = sizeof info};
    trit_model_get_info(model, &info);
    const trit_tokenizer *tk = NULL;
    char eot[64] = "";
    size_t eot_len = 0;
    if (info.eot >= 0 && trit_model_get_tokenizer(model, &tk) == TRIT_OK)
        trit_detokenize(tk, &info.eot, 1, true, eot, sizeof eot, &eot_len);
    char line[4096];
    char *prompt = NULL;
    bool first = true;
    int32_t last_stop = TRIT_STOP_EOG;
    for (;;) {
        fprintf(stderr, "> ");
        if (!fgets(line, sizeof line, stdin) || line[0] == '\n') break;
        line[strcspn(line, "\n")] = 0;
        trit_chat_message msgs[2];
        size_t n = 0;
        if (first && argc > 2) msgs[n++] = (trit_chat_message){"system", argv[2]};
        msgs[n++] = (trit_chat_message){"user", line};
        size_t len = 0;
        trit_chat_format(model, msgs, n, NULL, true, NULL, 0, &len);   /* ask for the size */
        const size_t close = !first && last_stop != TRIT_STOP_EOG ? eot_len : 0;
        prompt = realloc(prompt, close + len + 1);
        memcpy(prompt, eot, close);
        if (trit_chat_format(model, msgs, n, NULL, true, prompt + close, len + 1, &len) != TRIT_OK) break;
        gp.add_special = first;
        trit_generate_result res = {.size = sizeof res};
        trit_status st = trit_generate(ctx, prompt, &gp, print_piece, NULL, &res);
        last_stop = res.stop_reason;
        printf("\n");
        if (st == TRIT_ERR_CONTEXT_FULL) {
            fprintf(stderr, "[context full: starting over]\n");
            trit_context_reset(ctx);
            first = true;
            continue;
        }
        if (st != TRIT_OK) { fprintf(stderr, "error: %s\n", trit_last_error()); break; }
        first = false;
    }
    free(prompt);
    trit_context_free(ctx);
    trit_model_free(model);
    return 0;
}
