/* Multi-turn chat through trit_generate: after every turn, however it ended (end of
 * generation, length, a stop string, the piece callback), the context must hold exactly the
 * chat template applied to the whole conversation so far. usage: test_chat_turns MODEL */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trit.h>

typedef struct { char text[8192]; size_t len; int stop_after; int pieces; } reply;

static bool collect(const char *piece, size_t len, void *user) {
    reply *r = user;
    if (r->len + len < sizeof r->text) { memcpy(r->text + r->len, piece, len); r->len += len; r->text[r->len] = 0; }
    return ++r->pieces != r->stop_after;
}

static char *format(trit_model *m, trit_chat_message *msgs, size_t n, bool gen) {
    size_t len = 0;
    trit_chat_format(m, msgs, n, NULL, gen, NULL, 0, &len);
    char *s = malloc(len + 1);
    if (trit_chat_format(m, msgs, n, NULL, gen, s, len + 1, &len) != TRIT_OK) { free(s); return NULL; }
    return s;
}

/* the context's tokens rendered as text (control tokens as their text) */
static char *context_text(trit_context *ctx, const trit_tokenizer *tk) {
    size_t n = 0;
    trit_context_get_tokens(ctx, NULL, 0, &n);
    int32_t *ids = malloc((n + 1) * sizeof *ids);
    trit_context_get_tokens(ctx, ids, n, &n);
    size_t len = 0;
    trit_detokenize(tk, ids, n, true, NULL, 0, &len);
    char *s = malloc(len + 1);
    trit_detokenize(tk, ids, n, true, s, len + 1, &len);
    free(ids);
    return s;
}

static int failed = 0;

/* Two turns; the second ends as `mode` says. */
static void conversation(trit_model *m, const trit_tokenizer *tk, const char *mode) {
    trit_model_info info = {.size = sizeof info};
    trit_model_get_info(m, &info);
    char eot[64] = "", bos[64] = "";
    size_t len;
    if (info.eot >= 0) trit_detokenize(tk, &info.eot, 1, true, eot, sizeof eot, &len);
    if (info.bos >= 0) trit_detokenize(tk, &info.bos, 1, true, bos, sizeof bos, &len);
    trit_context_params cp = trit_context_default_params();
    cp.n_ctx = 512;
    cp.n_threads = 1;
    trit_context *ctx = NULL;
    trit_context_create(m, &cp, &ctx);
    const char *users[2] = {"Tell me about the sea.", "And the mountains?"};
    reply replies[2];
    trit_chat_message conv[4];
    int last_stop = TRIT_STOP_EOG;
    for (int turn = 0; turn < 2; turn++) {
        trit_generate_params gp = trit_generate_default_params();
        gp.temperature = 0;
        gp.max_tokens = 12;
        gp.parse_special = true;
        gp.add_special = turn == 0;
        reply *r = &replies[turn];
        memset(r, 0, sizeof *r);
        const char *stops[1];
        if (turn == 1 && strcmp(mode, "stop") == 0) {
            /* a stop string from inside the reply this turn gives without one */
            trit_context *probe = NULL;
            trit_context_create(m, &cp, &probe);
            size_t n = 0;
            trit_context_get_tokens(ctx, NULL, 0, &n);
            int32_t *ids = malloc((n + 1) * sizeof *ids);
            trit_context_get_tokens(ctx, ids, n, &n);
            trit_eval(probe, ids, n, NULL);
            free(ids);
            trit_chat_message um = {"user", users[1]};
            char *p = format(m, &um, 1, true);
            char *full = malloc(strlen(eot) + strlen(p) + 1);
            sprintf(full, "%s%s", last_stop == TRIT_STOP_EOG ? "" : eot, p);
            reply probe_reply;
            memset(&probe_reply, 0, sizeof probe_reply);
            trit_generate(probe, full, &gp, collect, &probe_reply, NULL);
            free(p); free(full);
            trit_context_free(probe);
            static char stop[8];
            size_t at = probe_reply.len > 6 ? 3 : 0;
            snprintf(stop, sizeof stop, "%.3s", probe_reply.text + at);
            stops[0] = stop;
            gp.stop = stops;
            gp.n_stop = 1;
        }
        if (turn == 1 && strcmp(mode, "callback") == 0) r->stop_after = 2;
        if (turn == 1 && strcmp(mode, "full") == 0) gp.max_tokens = 0;   /* until EOG or the context is full */
        trit_chat_message um = {"user", users[turn]};
        char *p = format(m, &um, 1, true);
        /* close the previous reply's turn if generation did not */
        char *prompt = malloc(strlen(eot) + strlen(p) + 1);
        sprintf(prompt, "%s%s", turn > 0 && last_stop != TRIT_STOP_EOG ? eot : "", p);
        trit_generate_result res = {.size = sizeof res};
        if (trit_generate(ctx, prompt, &gp, collect, r, &res) != TRIT_OK) {
            printf("FAIL %s: generate: %s\n", mode, trit_last_error());
            failed++;
        }
        last_stop = res.stop_reason;
        free(p); free(prompt);
        conv[2 * turn] = um;
        conv[2 * turn + 1] = (trit_chat_message){"assistant", r->text};
    }
    /* expected: BOS + the template over the whole conversation; the last reply's end-of-turn
     * is in the context only if generation ended on it */
    char *all = format(m, conv, 4, false);
    size_t n = strlen(all);
    if (last_stop != TRIT_STOP_EOG && strlen(eot) && n >= strlen(eot) && strcmp(all + n - strlen(eot), eot) == 0)
        all[n - strlen(eot)] = 0;
    char *expected = malloc(strlen(bos) + strlen(all) + 1);
    sprintf(expected, "%s%s", bos, all);
    char *got = context_text(ctx, tk);
    if (strcmp(got, expected) != 0) {
        printf("FAIL %s (stop reason %d):\n  context:  [%s]\n  expected: [%s]\n", mode, last_stop, got, expected);
        failed++;
    } else {
        printf("ok %s (stop reason %d, reply 2 [%s])\n", mode, last_stop, replies[1].text);
    }
    free(all); free(expected); free(got);
    trit_context_free(ctx);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    trit_model *m = NULL;
    if (trit_model_load(argv[1], NULL, &m) != TRIT_OK) { printf("load: %s\n", trit_last_error()); return 1; }
    const trit_tokenizer *tk = NULL;
    trit_model_get_tokenizer(m, &tk);
    conversation(m, tk, "length");
    conversation(m, tk, "stop");
    conversation(m, tk, "callback");
    conversation(m, tk, "full");
    trit_model_free(m);
    printf("%d failed\n", failed);
    return failed != 0;
}
