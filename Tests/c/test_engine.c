/* The engine, the sampler and per-row batches through the C API, against ordinary and hostile
 * callers. The last line is "N passed, M failed". usage: test_engine MODEL */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <trit.h>

static int passed, failed;
#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf(" [%s]\n", trit_last_error()); } } while (0)
#define EXPECT(call, status) do { trit_status s_ = (call); CHECK(s_ == (status), "%s -> %d (%s), expected %d", #call, (int)s_, trit_status_string(s_), (int)(status)); } while (0)

typedef struct { char text[2048]; size_t len; int done; int32_t reason; trit_usage usage; int stop_after; int pieces; } reply;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int n_done;

static bool on_piece(const char *p, size_t n, void *u) {
    reply *r = u;
    if (!r) return true;
    if (r->len + n < sizeof r->text) { memcpy(r->text + r->len, p, n); r->len += n; }
    return ++r->pieces != r->stop_after;
}
static void on_done(int64_t id, int32_t reason, const trit_usage *usage, void *u) {
    (void)id;
    reply *r = u;
    pthread_mutex_lock(&lock);
    if (r) { r->done++; r->reason = reason; r->usage = *usage; }
    n_done++;
    pthread_mutex_unlock(&lock);
}
static int done_count(void) { pthread_mutex_lock(&lock); int n = n_done; pthread_mutex_unlock(&lock); return n; }
static void wait_for(int n) { for (int i = 0; i < 20000 && done_count() < n; i++) usleep(1000); }

/* a request's token constraint: allows `allow` (-1: nothing); the mask callback fails on call `fail_at` */
typedef struct { int32_t allow; int fail_at; int masks, accepted, wrong; } mask_state;
static int32_t fill_mask(uint32_t *mask, size_t n_words, void *user) {
    mask_state *m = user;
    if (++m->masks == m->fail_at) return 3;
    if (m->allow >= 0 && (size_t)(m->allow / 32) < n_words) mask[m->allow / 32] |= 1u << (m->allow % 32);
    return 0;
}
static int32_t accept_token(int32_t token, void *user) {
    mask_state *m = user;
    m->accepted++;
    if (token != m->allow) m->wrong++;
    return 0;
}

/* jump-forward: after each accepted token force `n` tokens (ret ≠ 0: return that count instead) */
typedef struct { mask_state m; int32_t tokens[2]; int n, ret, calls, logprobs, zero_logprobs; } forced_state;
static int32_t force_tokens(int32_t *out, size_t capacity, void *user) {
    forced_state *f = user;
    f->calls++;
    for (int i = 0; i < f->n && (size_t)i < capacity; i++) out[i] = f->tokens[i];
    return f->ret ? f->ret : f->n;
}
static forced_state *logprob_target;   /* the request whose logprobs count_logprobs counts */
static void count_logprobs(int32_t token, float lp, const int32_t *ids, const float *lps, size_t n, void *user) {
    (void)token; (void)ids; (void)lps; (void)user;
    logprob_target->logprobs++;
    if (lp == 0 && n == 0) logprob_target->zero_logprobs++;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    trit_model *model = NULL;
    EXPECT(trit_model_load(argv[1], NULL, &model), TRIT_OK);
    trit_model_info info = {.size = sizeof info};
    EXPECT(trit_model_get_info(model, &info), TRIT_OK);

    /* sampler: greedy picks the argmax; bias and bad parameters */
    {
        float *logits = calloc((size_t)info.n_vocab, sizeof(float));
        logits[7] = 5;
        trit_sampler_params sp = trit_sampler_default_params();
        sp.temperature = 0;
        trit_sampler *s = NULL;
        EXPECT(trit_sampler_create(model, &sp, &s), TRIT_OK);
        int32_t t = -1;
        EXPECT(trit_sampler_sample(s, logits, &t), TRIT_OK);
        CHECK(t == 7, "greedy argmax (%d)", t);
        trit_logit_bias b[1] = {{9, 10.0f}};
        sp.logit_bias = b; sp.n_logit_bias = 1;
        trit_sampler *s2 = NULL;
        EXPECT(trit_sampler_create(model, &sp, &s2), TRIT_OK);
        EXPECT(trit_sampler_sample(s2, logits, &t), TRIT_OK);
        CHECK(t == 9, "logit bias moves the argmax (%d)", t);
        b[0].bias = -INFINITY; b[0].token = 7;
        trit_sampler *s3 = NULL;
        EXPECT(trit_sampler_create(model, &sp, &s3), TRIT_OK);
        EXPECT(trit_sampler_sample(s3, logits, &t), TRIT_OK);
        CHECK(t != 7, "a -inf bias bans a token (%d)", t);
        b[0].token = info.n_vocab;
        EXPECT(trit_sampler_create(model, &sp, &s3), TRIT_ERR_ARG);
        sp = trit_sampler_default_params();
        sp.top_p = 2;
        EXPECT(trit_sampler_create(model, &sp, &s3), TRIT_ERR_ARG);
        sp = trit_sampler_default_params();
        sp.presence_penalty = NAN;
        EXPECT(trit_sampler_create(model, &sp, &s3), TRIT_ERR_ARG);
        /* the same seed gives the same draws; a penalty changes them */
        sp = trit_sampler_default_params();
        sp.temperature = 1.5f; sp.top_k = 0; sp.top_p = 1; sp.min_p = 0; sp.seed = 5;
        for (int i = 0; i < info.n_vocab; i++) logits[i] = (float)(i % 13) * 0.1f;
        trit_sampler *a = NULL, *c = NULL;
        EXPECT(trit_sampler_create(model, &sp, &a), TRIT_OK);
        EXPECT(trit_sampler_create(model, &sp, &c), TRIT_OK);
        int same = 1;
        for (int i = 0; i < 20; i++) {
            int32_t x, y;
            trit_sampler_sample(a, logits, &x); trit_sampler_sample(c, logits, &y);
            if (x != y) same = 0;
            trit_sampler_accept(a, x); trit_sampler_accept(c, y);
        }
        CHECK(same, "same seed, same draws");
        EXPECT(trit_sampler_accept(a, -1), TRIT_ERR_ARG);
        EXPECT(trit_sampler_reset(a), TRIT_OK);
        trit_sampler_free(a); trit_sampler_free(c); trit_sampler_free(s); trit_sampler_free(s2); trit_sampler_free(s3);
        EXPECT(trit_sampler_sample(a, logits, &t), TRIT_ERR_ARG);   /* freed */
        trit_sampler_free(a);                                        /* double free: ignored */
        free(logits);
    }

    /* per-row logits and sequence operations */
    {
        trit_context_params cp = trit_context_default_params();
        cp.n_ctx = 32; cp.n_seq = 3; cp.n_threads = 1; cp.n_cells = 12;
        trit_context *ctx = NULL;
        EXPECT(trit_context_create(model, &cp, &ctx), TRIT_OK);
        int32_t toks[6] = {1, 1, 50, 60, 70, 80}, seqs[6] = {0, 1, 0, 1, 0, 1};
        bool want[6] = {false, false, false, false, true, true};
        float *l = malloc(2 * sizeof(float) * (size_t)info.n_vocab);
        EXPECT(trit_decode(ctx, toks, seqs, want, 6, l), TRIT_OK);
        int32_t used = -1, cap = -1, n = -1;
        EXPECT(trit_context_get_cells(ctx, &used, &cap), TRIT_OK);
        CHECK(used == 6 && cap == 12, "cells %d / %d", used, cap);
        EXPECT(trit_seq_copy(ctx, 0, 2, 2), TRIT_OK);
        EXPECT(trit_seq_length(ctx, 2, &n), TRIT_OK);
        CHECK(n == 2, "copied prefix length %d", n);
        EXPECT(trit_seq_copy(ctx, 0, 2, 9), TRIT_ERR_ARG);
        int32_t many[8] = {5, 5, 5, 5, 5, 5, 5, 5}, zeros[8] = {0};
        EXPECT(trit_decode(ctx, many, zeros, NULL, 2, NULL), TRIT_ERR_ARG);          /* logits wanted, NULL */
        float *l8 = malloc(8 * sizeof(float) * (size_t)info.n_vocab);
        EXPECT(trit_decode(ctx, many, zeros, NULL, 8, l8), TRIT_ERR_CONTEXT_FULL);   /* n_cells */
        EXPECT(trit_context_get_cells(ctx, &used, NULL), TRIT_OK);
        CHECK(used == 8, "unchanged after a refused batch (%d)", used);
        EXPECT(trit_seq_remove(ctx, 1, 0), TRIT_OK);
        EXPECT(trit_seq_length(ctx, 1, &n), TRIT_OK);
        CHECK(n == 0, "removed (%d)", n);
        EXPECT(trit_seq_remove(ctx, 7, 0), TRIT_ERR_ARG);
        free(l); free(l8);
        trit_context_free(ctx);
    }

    /* the engine */
    trit_engine_params ep = trit_engine_default_params();
    ep.n_slots = 3; ep.n_ctx = 64; ep.n_threads = 2; ep.queue_limit = 8;
    trit_engine *e = NULL;
    EXPECT(trit_engine_create(NULL, &ep, &e), TRIT_ERR_ARG);
    ep.n_slots = 0;
    EXPECT(trit_engine_create(model, &ep, &e), TRIT_ERR_ARG);
    ep.n_slots = 3;
    CHECK(ep.checkpoints == 4, "default checkpoints %d", ep.checkpoints);
    ep.checkpoints = 65;
    EXPECT(trit_engine_create(model, &ep, &e), TRIT_ERR_ARG);
    ep.checkpoints = -1;
    EXPECT(trit_engine_create(model, &ep, &e), TRIT_ERR_ARG);
    ep.checkpoints = 4;
    CHECK(ep.min_prompt_tokens == 16, "default min_prompt_tokens %d", ep.min_prompt_tokens);
    ep.min_prompt_tokens = 0;
    EXPECT(trit_engine_create(model, &ep, &e), TRIT_ERR_ARG);
    CHECK(strstr(trit_last_error(), "min_prompt_tokens") != NULL, "min_prompt_tokens named: %s", trit_last_error());
    ep.min_prompt_tokens = 4097;
    EXPECT(trit_engine_create(model, &ep, &e), TRIT_ERR_ARG);
    ep.min_prompt_tokens = 16;
    EXPECT(trit_engine_create(model, &ep, &e), TRIT_OK);
    trit_sampler_params greedy = trit_sampler_default_params();
    greedy.temperature = 0;
    reply r[4];
    memset(r, 0, sizeof r);
    int64_t id = 0;
    trit_request rq = trit_request_default();
    rq.sampling = &greedy; rq.max_tokens = 6; rq.ignore_eos = true;
    rq.on_piece = on_piece; rq.on_done = on_done;
    /* bad requests: nothing is queued, no callback */
    EXPECT(trit_engine_submit(e, &rq, &id), TRIT_ERR_ARG);                    /* no prompt */
    rq.prompt = "\xff\xfe bad";
    EXPECT(trit_engine_submit(e, &rq, &id), TRIT_ERR_ARG);                    /* invalid UTF-8 */
    static char longp[4000];
    memset(longp, 'a', sizeof longp - 1);
    for (size_t i = 1; i < sizeof longp - 1; i += 2) longp[i] = ' ';
    rq.prompt = longp;
    EXPECT(trit_engine_submit(e, &rq, &id), TRIT_ERR_CONTEXT_FULL);           /* longer than a slot */
    trit_sampler_params badp = trit_sampler_default_params();
    badp.top_p = 2;
    rq.prompt = "Every morning"; rq.sampling = &badp;
    EXPECT(trit_engine_submit(e, &rq, &id), TRIT_ERR_ARG);
    trit_logit_bias lb[1] = {{-3, 1}};
    badp = trit_sampler_default_params(); badp.logit_bias = lb; badp.n_logit_bias = 1;
    EXPECT(trit_engine_submit(e, &rq, &id), TRIT_ERR_ARG);
    rq.sampling = &greedy;
    EXPECT(trit_engine_submit(e, &rq, NULL), TRIT_ERR_ARG);
    /* three requests, one stopped by its callback */
    for (int i = 0; i < 3; i++) {
        rq.user_data = &r[i];
        if (i == 2) r[i].stop_after = 1;
        EXPECT(trit_engine_submit(e, &rq, &id), TRIT_OK);
        CHECK(id > 0, "id %lld", (long long)id);
    }
    wait_for(3);
    CHECK(r[0].done == 1 && r[0].reason == TRIT_FINISH_LENGTH && r[0].usage.completion_tokens == 6, "request 0 (%d %d %d)",
          r[0].done, r[0].reason, r[0].usage.completion_tokens);
    CHECK(r[0].len > 0 && r[0].len == r[1].len && memcmp(r[0].text, r[1].text, r[0].len) == 0, "same prompt, same greedy text");
    CHECK(r[2].reason == TRIT_FINISH_CANCELLED && r[2].pieces == 1, "stopped by its callback (%d, %d pieces)", r[2].reason, r[2].pieces);
    EXPECT(trit_engine_cancel(e, id), TRIT_ERR_ARG);        /* finished */
    EXPECT(trit_engine_cancel(e, 123456), TRIT_ERR_ARG);    /* unknown */
    /* a tight loop of submits meets the queue limit */
    int busy = 0, ok = 0;
    rq.user_data = NULL; rq.max_tokens = 2;
    for (int i = 0; i < 10000; i++) {
        trit_status st = trit_engine_submit(e, &rq, &id);
        if (st == TRIT_OK) ok++; else if (st == TRIT_ERR_BUSY) busy++; else { CHECK(0, "submit status %d", st); break; }
    }
    CHECK(busy > 0 && ok > 0, "busy %d, accepted %d", busy, ok);
    wait_for(3 + ok);
    CHECK(done_count() == 3 + ok, "every accepted request finished (%d of %d)", done_count(), 3 + ok);
    trit_engine_stats st = {.size = sizeof st};
    EXPECT(trit_engine_get_stats(e, &st), TRIT_OK);
    CHECK(st.requests_finished == 3 + ok && st.tokens_generated > 0 && st.running == 0, "stats (%lld finished)", (long long)st.requests_finished);
    /* constrained requests: one allowed token every step; none allowed; a failing mask callback */
    {
        mask_state ms[3] = {{.allow = 100}, {.allow = -1}, {.allow = 100, .fail_at = 3}};
        reply cr[3];
        memset(cr, 0, sizeof cr);
        trit_sampler_params warm = trit_sampler_default_params();   /* temperature 0.8: sampled */
        trit_request cq = trit_request_default();
        cq.prompt = "Every morning"; cq.sampling = &warm; cq.max_tokens = 5; cq.ignore_eos = true;
        cq.on_piece = on_piece; cq.on_done = on_done;
        cq.constraint_mask = fill_mask; cq.constraint_accept = accept_token;
        int base = done_count();
        for (int i = 0; i < 3; i++) {
            cq.user_data = &cr[i]; cq.constraint_user_data = &ms[i];
            EXPECT(trit_engine_submit(e, &cq, &id), TRIT_OK);
        }
        wait_for(base + 3);
        CHECK(cr[0].reason == TRIT_FINISH_LENGTH && cr[0].usage.completion_tokens == 5 && ms[0].masks == 5 &&
              ms[0].accepted == 5 && ms[0].wrong == 0, "one allowed token (%d, %d tokens, %d wrong)", cr[0].reason,
              cr[0].usage.completion_tokens, ms[0].wrong);
        CHECK(cr[1].done == 1 && cr[1].reason == TRIT_FINISH_CONSTRAINT && cr[1].usage.completion_tokens == 0,
              "no allowed token: TRIT_FINISH_CONSTRAINT (%d)", cr[1].reason);
        CHECK(cr[2].done == 1 && cr[2].reason == TRIT_FINISH_CONSTRAINT_ERROR && cr[2].usage.completion_tokens == 2,
              "mask error: TRIT_FINISH_CONSTRAINT_ERROR after 2 tokens (%d, %d)", cr[2].reason,
              cr[2].usage.completion_tokens);
        cq.constraint_mask = NULL;
        EXPECT(trit_engine_submit(e, &cq, &id), TRIT_ERR_ARG);   /* accept without a mask */
    }
    /* jump-forward: two tokens forced after each sampled one go in as a prompt chunk, counted as
     * completion and forced tokens (3 sampling steps for 7 tokens); forced tokens' logprobs are 0 with
     * no alternatives; a count past the buffer ends the request with TRIT_FINISH_CONSTRAINT_ERROR */
    {
        const trit_tokenizer *mt = NULL;
        EXPECT(trit_model_get_tokenizer(model, &mt), TRIT_OK);
        int32_t w[8];   /* tokens of whole words, so the text is whole characters */
        size_t nw = 0;
        EXPECT(trit_tokenize(mt, " red green yellow", 17, false, false, w, 8, &nw), TRIT_OK);
        forced_state fs[2] = {{.m = {.allow = w[0]}, .tokens = {w[1], w[2]}, .n = 2},
                              {.m = {.allow = w[0]}, .tokens = {w[1], w[2]}, .n = 2, .ret = TRIT_FORCED_CAPACITY + 1}};
        reply fr[2];
        memset(fr, 0, sizeof fr);
        trit_engine_stats s0 = {.size = sizeof s0};
        EXPECT(trit_engine_get_stats(e, &s0), TRIT_OK);
        trit_request fq = trit_request_default();
        fq.prompt = "Every morning"; fq.max_tokens = 7; fq.ignore_eos = true;
        fq.on_piece = on_piece; fq.on_done = on_done;
        fq.constraint_mask = fill_mask; fq.constraint_accept = accept_token; fq.constraint_forced = force_tokens;
        fq.logprobs = 2; fq.on_logprobs = count_logprobs;
        logprob_target = &fs[0];
        int base = done_count();
        fq.user_data = &fr[0]; fq.constraint_user_data = &fs[0];
        EXPECT(trit_engine_submit(e, &fq, &id), TRIT_OK);
        wait_for(base + 1);
        fq.logprobs = 0; fq.on_logprobs = NULL;
        fq.user_data = &fr[1]; fq.constraint_user_data = &fs[1];
        EXPECT(trit_engine_submit(e, &fq, &id), TRIT_OK);
        wait_for(base + 2);
        trit_engine_stats s1 = {.size = sizeof s1};
        EXPECT(trit_engine_get_stats(e, &s1), TRIT_OK);
        int32_t want[7] = {w[0], w[1], w[2], w[0], w[1], w[2], w[0]};
        char expect[2048];
        size_t nb = 0;
        EXPECT(trit_detokenize(mt, want, 7, false, expect, sizeof expect, &nb), TRIT_OK);
        CHECK(fr[0].reason == TRIT_FINISH_LENGTH && fr[0].usage.completion_tokens == 7 && fr[0].usage.forced_tokens == 4 &&
              fs[0].m.masks == 3 && fs[0].calls == 3 && fs[0].m.wrong == 0 && s1.tokens_forced - s0.tokens_forced == 4,
              "forced tokens (%d, %d completion, %d forced, %d masks, stats %lld)", fr[0].reason,
              fr[0].usage.completion_tokens, fr[0].usage.forced_tokens, fs[0].m.masks,
              (long long)(s1.tokens_forced - s0.tokens_forced));
        CHECK(nw >= 3 && fr[0].len == nb && memcmp(fr[0].text, expect, nb) == 0,
              "the forced tokens' text is delivered ('%.*s' vs '%s')", (int)fr[0].len, fr[0].text, expect);
        CHECK(fs[0].logprobs == 7 && fs[0].zero_logprobs == 4, "logprobs: 7 entries, the 4 forced ones 0 (%d, %d)",
              fs[0].logprobs, fs[0].zero_logprobs);
        CHECK(fr[1].done == 1 && fr[1].reason == TRIT_FINISH_CONSTRAINT_ERROR && fr[1].usage.completion_tokens == 0,
              "a forced count past the buffer: TRIT_FINISH_CONSTRAINT_ERROR (%d)", fr[1].reason);
        fq.constraint_mask = NULL; fq.constraint_accept = NULL;
        EXPECT(trit_engine_submit(e, &fq, &id), TRIT_ERR_ARG);   /* forced without a mask */
    }
    /* free while requests run: each is cancelled, the call returns */
    int before = done_count();
    rq.max_tokens = 0;
    for (int i = 0; i < 3; i++) EXPECT(trit_engine_submit(e, &rq, &id), TRIT_OK);
    trit_engine_free(e);
    CHECK(done_count() == before + 3, "free cancels running requests (%d)", done_count() - before);
    EXPECT(trit_engine_submit(e, &rq, &id), TRIT_ERR_ARG);   /* a freed engine */
    EXPECT(trit_engine_get_stats(e, &st), TRIT_ERR_ARG);
    trit_engine_free(e);                                       /* double free: ignored */
    trit_model_free(model);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
