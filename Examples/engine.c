/* Several prompts served at once by one engine (continuous batching): each request's text is
 * printed when it finishes. usage: engine MODEL [PROMPT...] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trit.h>

typedef struct {
    char text[4096];
    size_t len;
    int done;
    int32_t reason;
    trit_usage usage;
} reply;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t finished = PTHREAD_COND_INITIALIZER;

/* Callbacks run on the engine's scheduler thread. */
static bool on_piece(const char *piece, size_t len, void *user) {
    reply *r = user;
    if (r->len + len < sizeof r->text) { memcpy(r->text + r->len, piece, len); r->len += len; }
    return true;
}

static void on_done(int64_t id, int32_t reason, const trit_usage *usage, void *user) {
    (void)id;
    reply *r = user;
    pthread_mutex_lock(&lock);
    r->done = 1;
    r->reason = reason;
    r->usage = *usage;
    pthread_cond_signal(&finished);
    pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s MODEL [PROMPT...]\n", argv[0]); return 2; }
    const char *defaults[] = {"In the beginning", "The king said", "O Romeo", "Every morning"};
    const char **prompts = argc > 2 ? (const char **)argv + 2 : defaults;
    const int n = argc > 2 ? argc - 2 : 4;
    trit_model *model = NULL;
    trit_engine *engine = NULL;
    trit_engine_params ep = trit_engine_default_params();
    ep.n_slots = n < 16 ? n : 16;
    ep.n_ctx = 256;
    if (trit_model_load(argv[1], NULL, &model) != TRIT_OK || trit_engine_create(model, &ep, &engine) != TRIT_OK) {
        fprintf(stderr, "error: %s\n", trit_last_error());
        return 1;
    }
    reply *replies = calloc((size_t)n, sizeof *replies);
    trit_sampler_params sp = trit_sampler_default_params();
    sp.temperature = 0;   /* greedy: the same text as each prompt alone */
    for (int i = 0; i < n; i++) {
        trit_request rq = trit_request_default();
        rq.prompt = prompts[i];
        rq.sampling = &sp;
        rq.max_tokens = 24;
        rq.ignore_eos = true;
        rq.on_piece = on_piece;
        rq.on_done = on_done;
        rq.user_data = &replies[i];
        int64_t id;
        if (trit_engine_submit(engine, &rq, &id) != TRIT_OK) { fprintf(stderr, "error: %s\n", trit_last_error()); return 1; }
    }
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n; i++) while (!replies[i].done) pthread_cond_wait(&finished, &lock);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n; i++)
        printf("[%d] %s%.*s\n    (%d prompt, %d generated, %d cached tokens, finish %d)\n", i, prompts[i],
               (int)replies[i].len, replies[i].text, replies[i].usage.prompt_tokens, replies[i].usage.completion_tokens,
               replies[i].usage.cached_tokens, replies[i].reason);
    trit_engine_stats st = {.size = sizeof st};
    trit_engine_get_stats(engine, &st);
    fprintf(stderr, "%lld tokens generated, %lld requests finished\n", (long long)st.tokens_generated,
            (long long)st.requests_finished);
    trit_engine_free(engine);
    trit_model_free(model);
    free(replies);
    return 0;
}
