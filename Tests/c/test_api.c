/* The C API against hostile and ordinary callers. Every check prints on failure; the last line
 * is "N passed, M failed". usage: test_api MODEL.gguf TOKENIZER_ONLY_OR_HF_FOLDER */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trit.h>

static int passed, failed;
#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf(" [%s]\n", trit_last_error()); } } while (0)
#define EXPECT(call, status) do { trit_status s_ = (call); CHECK(s_ == (status), "%s -> %d (%s), expected %d", #call, (int)s_, trit_status_string(s_), (int)(status)); } while (0)

static bool collect(const char *piece, size_t len, void *user) {
    char *buf = user;
    size_t have = strlen(buf);
    if (have + len < 4000) { memcpy(buf + have, piece, len); buf[have + len] = 0; }
    return true;
}
static int calls;
static bool cancel_after_two(const char *piece, size_t len, void *user) {
    (void)piece; (void)len; (void)user;
    return ++calls < 2;
}

/* a token constraint: allows `allow` (-1: nothing) or, with `parity` ≥ 0, every token of that parity;
 * the mask callback fails on call `fail_mask_at`, the accept callback on accepted token `fail_accept_at` */
typedef struct { int32_t allow; int parity; int fail_mask_at, fail_accept_at; int masks, accepted, wrong; } mask_state;
static int32_t fill_mask(uint32_t *mask, size_t n_words, void *user) {
    mask_state *m = user;
    if (++m->masks == m->fail_mask_at) return 7;
    for (size_t w = 0; w < n_words; w++) if (mask[w] != 0) m->wrong++;   /* the words start cleared */
    if (m->parity >= 0) { for (size_t w = 0; w < n_words; w++) mask[w] = m->parity ? 0xAAAAAAAAu : 0x55555555u; }
    else if (m->allow >= 0 && (size_t)(m->allow / 32) < n_words) mask[m->allow / 32] |= 1u << (m->allow % 32);
    return 0;
}
static int32_t accept_token(int32_t token, void *user) {
    mask_state *m = user;
    if (++m->accepted == m->fail_accept_at) return 9;
    if (m->parity >= 0 ? (token & 1) != m->parity : token != m->allow) m->wrong++;
    return 0;
}

/* jump-forward: forces `n` tokens after every accepted token; `ret` ≠ 0 returns that count instead
 * (a bad count), a `bad_id` ≥ 0 is written as the first token (an id outside the vocabulary) */
typedef struct { mask_state m; int32_t tokens[4]; int n, ret; int32_t bad_id; int calls; size_t capacity; } forced_state;
static int32_t force_tokens(int32_t *out, size_t capacity, void *user) {
    forced_state *f = user;
    f->calls++;
    f->capacity = capacity;
    for (int i = 0; i < f->n && (size_t)i < capacity; i++) out[i] = f->tokens[i];
    if (f->bad_id >= 0) out[0] = f->bad_id;
    return f->ret ? f->ret : f->n;
}

static int progress_calls;
static float progress_last = -1;
static bool progress_ok = true;
static bool on_progress(float p, void *user) {
    progress_calls++;
    if (p < progress_last || p < 0 || p > 1) progress_ok = false;
    progress_last = p;
    return user == NULL || p < *(float *)user;   /* user: cancel once progress reaches *user */
}
static int abort_asked, abort_at;
static bool abort_after(void *user) {
    (void)user;
    return ++abort_asked >= abort_at && abort_at > 0;
}

typedef struct { trit_model *model; char out[4096]; trit_status st; } worker_arg;
static void *worker(void *p) {
    worker_arg *a = p;
    trit_context *ctx = NULL;
    trit_context_params cp = trit_context_default_params();
    cp.n_ctx = 128; cp.n_threads = 1;
    a->st = trit_context_create(a->model, &cp, &ctx);
    if (a->st != TRIT_OK) return NULL;
    trit_generate_params gp = trit_generate_default_params();
    gp.max_tokens = 24; gp.seed = 11; gp.ignore_eos = true;
    a->out[0] = 0;
    a->st = trit_generate(ctx, "Every morning", &gp, collect, a->out, NULL);
    trit_context_free(ctx);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s MODEL TOKENIZER\n", argv[0]); return 2; }
    const char *path = argv[1];

    /* version */
    CHECK(trit_version_number() == TRIT_VERSION_NUMBER, "header and library versions differ");
    CHECK(strcmp(trit_status_string(TRIT_OK), "ok") == 0, "status string");
    CHECK(strcmp(trit_status_string((trit_status)999), "unknown status") == 0, "unknown status string");

    /* loading: NULLs, missing files, garbage */
    trit_model *model = (trit_model *)0x1;
    EXPECT(trit_model_load(NULL, NULL, &model), TRIT_ERR_ARG);
    CHECK(model == NULL, "out not cleared on failure");
    EXPECT(trit_model_load(path, NULL, NULL), TRIT_ERR_ARG);
    EXPECT(trit_model_load("/nonexistent/model.gguf", NULL, &model), TRIT_ERR_IO);
    EXPECT(trit_model_load("/dev/null", NULL, &model), TRIT_ERR_FORMAT);
    EXPECT(trit_model_load("/etc/hostname", NULL, &model), TRIT_ERR_FORMAT);
    EXPECT(trit_model_load("/tmp", NULL, &model), TRIT_ERR_IO);
    /* params: an unset size is an argument error; progress is reported and can cancel */
    trit_model_params mp = trit_model_default_params();
    mp.size = 0;
    EXPECT(trit_model_load(path, &mp, &model), TRIT_ERR_ARG);
    mp = trit_model_default_params();
    mp.progress = on_progress;
    float cancel_at = 0.5f;
    mp.progress_user_data = &cancel_at;
    EXPECT(trit_model_load(path, &mp, &model), TRIT_ERR_CANCELLED);
    CHECK(model == NULL, "no model after a cancelled load");
    progress_calls = 0; progress_last = -1;
    mp.progress_user_data = NULL;
    EXPECT(trit_model_load(path, &mp, &model), TRIT_OK);
    CHECK(progress_ok && progress_calls >= 4 && progress_last == 1.0f, "progress reports (%d calls, last %g)", progress_calls, progress_last);
    trit_model_free(model);
    EXPECT(trit_model_load(path, NULL, &model), TRIT_OK);

    /* the head mode: a value outside trit_head_mode is refused; certified generates exact mode's text */
    {
        trit_model_params hp = trit_model_default_params();
        trit_model *bad = NULL, *cert = NULL;
        hp.head = 7;
        EXPECT(trit_model_load(path, &hp, &bad), TRIT_ERR_ARG);
        CHECK(bad == NULL && strstr(trit_last_error(), "head") != NULL, "bad head mode named");
        /* both certified heads: int8 and 4-bit compact heads */
        for (int mode = TRIT_HEAD_CERTIFIED; mode <= TRIT_HEAD_CERTIFIED4; mode++) {
        hp.head = mode;
        cert = NULL;
        EXPECT(trit_model_load(path, &hp, &cert), TRIT_OK);
        char text[2][4096];
        trit_model *ms[2] = {model, cert};
        for (int i = 0; i < 2; i++) {
            trit_context *c = NULL;
            trit_context_params cp = trit_context_default_params();
            cp.n_ctx = 128;
            EXPECT(trit_context_create(ms[i], &cp, &c), TRIT_OK);
            trit_generate_params gp = trit_generate_default_params();
            gp.max_tokens = 48;
            gp.ignore_eos = true;
            text[i][0] = 0;
            EXPECT(trit_generate(c, "Every morning", &gp, collect, text[i], NULL), TRIT_OK);
            trit_context_free(c);
        }
        CHECK(strlen(text[0]) > 0 && strcmp(text[0], text[1]) == 0, "certified head %d: exact mode's text (\"%s\" vs \"%s\")", mode,
              text[0], text[1]);
        /* under a mask (odd tokens only) the certified head chooses exact mode's tokens too */
        int32_t held[2][128];
        size_t nheld[2] = {0, 0};
        for (int i = 0; i < 2; i++) {
            trit_context *c = NULL;
            trit_context_params cp = trit_context_default_params();
            cp.n_ctx = 128;
            EXPECT(trit_context_create(ms[i], &cp, &c), TRIT_OK);
            trit_generate_params gp = trit_generate_default_params();
            gp.max_tokens = 24;
            gp.ignore_eos = true;
            mask_state m = {.allow = -1, .parity = 1};
            gp.constraint_mask = fill_mask; gp.constraint_accept = accept_token; gp.constraint_user_data = &m;
            EXPECT(trit_generate(c, "Every morning", &gp, NULL, NULL, NULL), TRIT_OK);
            EXPECT(trit_context_get_tokens(c, held[i], 128, &nheld[i]), TRIT_OK);
            CHECK(m.masks == 24 && m.accepted == 24 && m.wrong == 0, "odd tokens only (%d masks, %d accepted, %d wrong)",
                  m.masks, m.accepted, m.wrong);
            trit_context_free(c);
        }
        CHECK(nheld[0] == nheld[1] && nheld[0] > 24 && memcmp(held[0], held[1], nheld[0] * sizeof(int32_t)) == 0,
              "certified head %d under a mask: exact mode's tokens", mode);
        trit_model_free(cert);
        }
    }

    /* the ternary layout: a value outside trit_ternary_layout is refused; every layout gives the default's
     * logits bit for bit (a prompt in one call, then token by token) */
    {
        trit_model_params tp = trit_model_default_params();
        trit_model *bad = NULL;
        tp.ternary_layout = 9;
        EXPECT(trit_model_load(path, &tp, &bad), TRIT_ERR_ARG);
        CHECK(bad == NULL && strstr(trit_last_error(), "ternary_layout") != NULL, "bad ternary layout named");
        trit_model_info ti = {.size = sizeof ti};
        EXPECT(trit_model_get_info(model, &ti), TRIT_OK);
        const int32_t toks[6] = {1, 5, 9, 2, 7, 3};
        const size_t nv = (size_t)ti.n_vocab;
        float *want = calloc(6 * nv, sizeof(float)), *got = calloc(6 * nv, sizeof(float));
        const int32_t layouts[4] = {TRIT_TERNARY_AUTO, TRIT_TERNARY_2BIT, TRIT_TERNARY_5TRIT, TRIT_TERNARY_BOTH};
        for (int i = 0; i < 4; i++) {
            tp.ternary_layout = layouts[i];
            trit_model *m = NULL;
            EXPECT(trit_model_load(path, &tp, &m), TRIT_OK);
            for (int step = 0; step < 2 && m; step++) {
                trit_context *c = NULL;
                trit_context_params cp = trit_context_default_params();
                cp.n_ctx = 32;
                EXPECT(trit_context_create(m, &cp, &c), TRIT_OK);
                float *dst = i == 0 && step == 0 ? want : got;
                if (step == 0) EXPECT(trit_eval(c, toks, 6, dst), TRIT_OK);
                else for (int k = 0; k < 6; k++) EXPECT(trit_eval(c, toks + k, 1, dst + k * nv), TRIT_OK);
                if (dst == got) CHECK(memcmp(got, want, 6 * nv * sizeof(float)) == 0, "layout %d step %d: the default's logits", layouts[i], step);
                trit_context_free(c);
            }
            trit_model_free(m);
        }
        free(want); free(got);
    }

    trit_model_info info = {.size = sizeof info};
    EXPECT(trit_model_get_info(NULL, &info), TRIT_ERR_ARG);
    EXPECT(trit_model_get_info(model, NULL), TRIT_ERR_ARG);
    EXPECT(trit_model_get_info((trit_model *)&info, &info), TRIT_ERR_ARG);   /* not a handle */
    EXPECT(trit_model_get_info(model, &info), TRIT_OK);
    CHECK(info.n_vocab > 0 && info.n_layer > 0, "info");

    /* tokenizer */
    const trit_tokenizer *tok = NULL;
    EXPECT(trit_model_get_tokenizer(model, NULL), TRIT_ERR_ARG);
    EXPECT(trit_model_get_tokenizer(model, &tok), TRIT_OK);
    {
        const char *tmpl = (const char *)0x1;
        trit_status ts = trit_model_get_chat_template(model, &tmpl);
        CHECK((ts == TRIT_OK && tmpl && tmpl[0]) || (ts == TRIT_ERR_STATE && tmpl == NULL),
              "chat template: status %d", (int)ts);
        EXPECT(trit_model_get_chat_template(model, NULL), TRIT_ERR_ARG);
        EXPECT(trit_model_get_chat_template(NULL, &tmpl), TRIT_ERR_ARG);
    }
    int32_t ids[256];
    size_t n = 0;
    EXPECT(trit_tokenize(tok, "hello world", 11, true, false, ids, 256, NULL), TRIT_ERR_ARG);
    EXPECT(trit_tokenize(NULL, "hello", 5, true, false, ids, 256, &n), TRIT_ERR_ARG);
    EXPECT(trit_tokenize(tok, NULL, 5, true, false, ids, 256, &n), TRIT_ERR_ARG);
    EXPECT(trit_tokenize(tok, "\xff\xfe bad", 6, true, false, ids, 256, &n), TRIT_ERR_ARG);
    EXPECT(trit_tokenize(tok, "hello world", 11, true, false, ids, 1, &n), TRIT_ERR_BUFFER_TOO_SMALL);
    CHECK(n > 1, "needed size reported (%zu)", n);
    EXPECT(trit_tokenize(tok, "hello world", 11, true, false, NULL, 0, &n), TRIT_ERR_BUFFER_TOO_SMALL);
    EXPECT(trit_tokenize(tok, "", 0, false, false, NULL, 0, &n), TRIT_OK);
    CHECK(n == 0, "empty text gives no tokens");
    EXPECT(trit_tokenize(tok, "hello world", 11, true, false, ids, 256, &n), TRIT_OK);
    char text[512];
    size_t tl = 0;
    EXPECT(trit_detokenize(tok, ids, n, false, text, sizeof text, &tl), TRIT_OK);
    CHECK(strcmp(text, "hello world") == 0, "round trip gave '%s'", text);
    EXPECT(trit_detokenize(tok, ids, n, false, text, 3, &tl), TRIT_ERR_BUFFER_TOO_SMALL);
    CHECK(tl == 11, "needed length %zu", tl);
    int32_t bad[2] = {-5, 1 << 30};
    EXPECT(trit_detokenize(tok, bad, 2, false, text, sizeof text, &tl), TRIT_ERR_ARG);
    EXPECT(trit_detokenize(tok, NULL, 3, false, text, sizeof text, &tl), TRIT_ERR_ARG);
    trit_tokenizer_free((trit_tokenizer *)tok);   /* borrowed: ignored */
    EXPECT(trit_tokenize(tok, "a", 1, true, false, ids, 256, &n), TRIT_OK);

    trit_tokenizer *own = NULL;
    EXPECT(trit_tokenizer_load(NULL, &own), TRIT_ERR_ARG);
    EXPECT(trit_tokenizer_load(argv[2], &own), TRIT_OK);
    CHECK(trit_tokenizer_n_vocab(own) > 0, "tokenizer vocab");
    trit_tokenizer_free(own);
    CHECK(trit_tokenizer_n_vocab(own) == -1, "freed tokenizer rejected");
    trit_tokenizer_free(own);   /* double free: ignored */

    /* contexts: bad params, impossible sizes */
    trit_context *ctx = NULL;
    trit_context_params cp = trit_context_default_params();
    /* defaults resolved by the library and read back */
    {
        trit_context *dc = NULL;
        EXPECT(trit_context_create(model, &cp, &dc), TRIT_OK);
        trit_context_params got = {.size = sizeof got};
        EXPECT(trit_context_get_params(dc, &got), TRIT_OK);
        trit_model_info mi = {.size = sizeof mi};
        EXPECT(trit_model_get_info(model, &mi), TRIT_OK);
        int32_t want_ctx = mi.n_ctx_train < 4096 ? mi.n_ctx_train : 4096, past = -1, size = -1;
        EXPECT(trit_context_get_size(dc, &past, &size), TRIT_OK);
        CHECK(got.n_ctx == want_ctx && size == want_ctx, "default n_ctx %d (size %d), expected %d", got.n_ctx, size, want_ctx);
        CHECK(got.n_threads >= 1 && got.n_seq == 1 && got.n_cells == want_ctx && got.type_k == TRIT_KV_F16,
              "resolved params: threads %d seq %d cells %d type_k %d", got.n_threads, got.n_seq, got.n_cells, got.type_k);
        got.size = 0;
        EXPECT(trit_context_get_params(dc, &got), TRIT_ERR_ARG);
        EXPECT(trit_context_get_params(dc, NULL), TRIT_ERR_ARG);
        trit_context_free(dc);
        got.size = sizeof got;
        EXPECT(trit_context_get_params(dc, &got), TRIT_ERR_ARG);
    }
    EXPECT(trit_context_create(NULL, &cp, &ctx), TRIT_ERR_ARG);
    cp.n_ctx = -1;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_ERR_ARG);
    cp.n_ctx = 2000000000;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_ERR_OOM);
    cp.n_ctx = 64; cp.n_threads = 100000;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_ERR_ARG);
    cp.n_threads = 2; cp.n_batch = 0;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_ERR_ARG);
    cp.n_batch = 8;
    cp.type_k = 3;   /* not a KV cache type */
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_ERR_ARG);
    CHECK(strstr(trit_last_error(), "type_k 3") != NULL, "the error names type_k");
    cp.type_k = TRIT_KV_Q8_0; cp.type_v = -1;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_ERR_ARG);
    cp.type_k = TRIT_KV_F16; cp.type_v = TRIT_KV_F16; cp.attn_int8 = true;   /* int8 scores need Q8_0 keys */
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_ERR_ARG);
    CHECK(strstr(trit_last_error(), "q8_0 key cache") != NULL, "the error names the key cache: %s", trit_last_error());
    cp.type_k = TRIT_KV_Q8_0;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_OK);
    {
        trit_context_params got = {.size = sizeof got};
        EXPECT(trit_context_get_params(ctx, &got), TRIT_OK);
        CHECK(got.attn_int8 && got.type_k == TRIT_KV_Q8_0, "attn_int8 read back");
    }
    trit_context_free(ctx);
    ctx = NULL;
    cp.type_k = TRIT_KV_F16; cp.attn_int8 = false;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_OK);

    /* eval */
    const float *logits = NULL;
    int32_t nv = 0;
    EXPECT(trit_get_logits(ctx, &logits, &nv), TRIT_ERR_STATE);
    EXPECT(trit_eval(ctx, NULL, 3, NULL), TRIT_ERR_ARG);
    EXPECT(trit_eval(ctx, ids, 0, NULL), TRIT_ERR_ARG);
    int32_t oob[1] = {info.n_vocab};
    EXPECT(trit_eval(ctx, oob, 1, NULL), TRIT_ERR_ARG);
    int32_t many[100];
    for (int i = 0; i < 100; i++) many[i] = 5;
    EXPECT(trit_eval(ctx, many, 100, NULL), TRIT_ERR_CONTEXT_FULL);
    int32_t past = -1, cap = -1;
    EXPECT(trit_context_get_size(ctx, &past, &cap), TRIT_OK);
    CHECK(past == 0 && cap == 64, "unchanged after failures (%d/%d)", past, cap);
    float *all = malloc(sizeof(float) * 3 * (size_t)info.n_vocab);
    EXPECT(trit_eval(ctx, ids, 3, all), TRIT_OK);
    EXPECT(trit_get_logits(ctx, &logits, &nv), TRIT_OK);
    CHECK(nv == info.n_vocab && memcmp(logits, all + 2 * (size_t)nv, sizeof(float) * (size_t)nv) == 0, "last logits row");
    EXPECT(trit_context_truncate(ctx, 5), TRIT_ERR_ARG);
    EXPECT(trit_context_truncate(ctx, 1), TRIT_OK);
    EXPECT(trit_context_reset(ctx), TRIT_OK);
    free(all);

    /* generation: prompt too long, invalid params, stop strings, cancel */
    char longp[2000];
    for (int i = 0; i < 1999; i++) longp[i] = (i % 2) ? ' ' : 'a';
    longp[1999] = 0;
    trit_generate_params gp = trit_generate_default_params();
    EXPECT(trit_generate(ctx, longp, &gp, NULL, NULL, NULL), TRIT_ERR_CONTEXT_FULL);
    EXPECT(trit_generate(ctx, NULL, &gp, NULL, NULL, NULL), TRIT_ERR_ARG);
    EXPECT(trit_generate(ctx, "\xc3\x28", &gp, NULL, NULL, NULL), TRIT_ERR_ARG);
    gp.top_p = 0;
    EXPECT(trit_generate(ctx, "hi", &gp, NULL, NULL, NULL), TRIT_ERR_ARG);
    gp = trit_generate_default_params();
    gp.n_stop = 2; gp.stop = NULL;
    EXPECT(trit_generate(ctx, "hi", &gp, NULL, NULL, NULL), TRIT_ERR_ARG);
    gp = trit_generate_default_params();
    gp.max_tokens = 20; gp.ignore_eos = true; gp.seed = 5;
    char a[4096] = "", b[4096] = "";
    trit_generate_result r = {.size = sizeof r};
    EXPECT(trit_context_reset(ctx), TRIT_OK);
    EXPECT(trit_generate(ctx, "Every morning", &gp, collect, a, &r), TRIT_OK);
    CHECK(r.n_generated_tokens == 20 && r.stop_reason == TRIT_STOP_LENGTH, "20 tokens, length (%d, %d)", r.n_generated_tokens, r.stop_reason);
    EXPECT(trit_context_reset(ctx), TRIT_OK);
    EXPECT(trit_generate(ctx, "Every morning", &gp, collect, b, &r), TRIT_OK);
    CHECK(strcmp(a, b) == 0, "same seed, same text");
    /* the embedded sampler: unset, the flat fields apply; set, it replaces them (its logit bias
     * bans the greedy first token, its temperature 0 overrides the flat 0.8) */
    {
        trit_generate_params g1 = trit_generate_default_params();
        g1.max_tokens = 4; g1.ignore_eos = true; g1.temperature = 0;
        char greedy[4096] = "", biased[4096] = "", flat[4096] = "";
        int32_t first = -1;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g1, collect, greedy, NULL), TRIT_OK);
        int32_t held[64]; size_t nheld = 0;
        EXPECT(trit_context_get_tokens(ctx, held, 64, &nheld), TRIT_OK);
        size_t np = 0;
        int32_t pids[64];
        EXPECT(trit_tokenize(tok, "Every morning", 13, true, false, pids, 64, &np), TRIT_OK);
        if (nheld > np) first = held[np];
        CHECK(first >= 0, "greedy first token (%zu held, %zu prompt)", nheld, np);
        trit_logit_bias ban = {first, -INFINITY};
        trit_generate_params g2 = trit_generate_default_params();
        g2.max_tokens = 4; g2.ignore_eos = true;   /* flat temperature 0.8: the sampler's 0 wins */
        g2.sampling = trit_sampler_default_params();
        g2.sampling.temperature = 0;
        g2.sampling.logit_bias = &ban; g2.sampling.n_logit_bias = 1;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g2, collect, biased, NULL), TRIT_OK);
        EXPECT(trit_context_get_tokens(ctx, held, 64, &nheld), TRIT_OK);
        CHECK(nheld > np && held[np] != first, "embedded logit bias bans the greedy token");
        g2.sampling.n_logit_bias = 0; g2.sampling.logit_bias = NULL;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g2, collect, flat, NULL), TRIT_OK);
        CHECK(strcmp(flat, greedy) == 0, "embedded temperature 0 is greedy: '%s' vs '%s'", flat, greedy);
        g2.sampling.top_p = 0;
        EXPECT(trit_generate(ctx, "x", &g2, NULL, NULL, NULL), TRIT_ERR_ARG);
        g2.sampling.top_p = 1; g2.sampling.size = 3;
        EXPECT(trit_generate(ctx, "x", &g2, NULL, NULL, NULL), TRIT_ERR_ARG);
    }
    /* token constraints: a mask allowing one token yields it every step (sampled at temperature 0.8);
     * one allowing none ends with TRIT_STOP_CONSTRAINT; a callback's error is TRIT_ERR_CANCELLED */
    {
        int32_t pids[64], held[128];
        size_t np = 0, nheld = 0;
        EXPECT(trit_tokenize(tok, "Every morning", 13, true, false, pids, 64, &np), TRIT_OK);
        int32_t only = pids[np - 1];
        trit_generate_params g = trit_generate_default_params();
        g.max_tokens = 8;
        mask_state m = {.allow = only, .parity = -1};
        g.constraint_mask = fill_mask; g.constraint_accept = accept_token; g.constraint_user_data = &m;
        trit_generate_result cr = {.size = sizeof cr};
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_OK);
        EXPECT(trit_context_get_tokens(ctx, held, 128, &nheld), TRIT_OK);
        int same = nheld == np + 8;
        for (size_t i = np; same && i < nheld; i++) same = held[i] == only;
        CHECK(same && cr.stop_reason == TRIT_STOP_LENGTH && cr.n_generated_tokens == 8 && m.masks == 8 &&
              m.accepted == 8 && m.wrong == 0, "one allowed token every step (%zu held, reason %d, %d masks, %d wrong)",
              nheld, cr.stop_reason, m.masks, m.wrong);
        mask_state none = {.allow = -1, .parity = -1};
        g.constraint_user_data = &none;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_OK);
        CHECK(cr.stop_reason == TRIT_STOP_CONSTRAINT && cr.n_generated_tokens == 0 && none.accepted == 0,
              "no allowed token: TRIT_STOP_CONSTRAINT (%d, %d tokens)", cr.stop_reason, cr.n_generated_tokens);
        mask_state bad = {.allow = only, .parity = -1, .fail_mask_at = 3};
        g.constraint_user_data = &bad;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_ERR_CANCELLED);
        CHECK(strstr(trit_last_error(), "mask callback returned 7") != NULL, "the mask callback's error is named");
        EXPECT(trit_context_get_tokens(ctx, held, 128, &nheld), TRIT_OK);
        CHECK(nheld == np + 2, "after the mask's error the context holds the prompt and 2 tokens (%zu)", nheld);
        mask_state bad2 = {.allow = only, .parity = -1, .fail_accept_at = 2};
        g.constraint_user_data = &bad2;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_ERR_CANCELLED);
        CHECK(strstr(trit_last_error(), "accept callback returned 9") != NULL, "the accept callback's error is named");
        g.constraint_mask = NULL;   /* an accept callback without a mask is an argument error */
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_ERR_ARG);
    }
    /* jump-forward: two tokens forced after each sampled one are appended (evaluated, delivered,
     * counted as generated and as forced); bad counts, ids and an end-of-generation token are refused */
    {
        int32_t pids[64], held[128];
        size_t np = 0, nheld = 0;
        EXPECT(trit_tokenize(tok, "Every morning", 13, true, false, pids, 64, &np), TRIT_OK);
        int32_t only = pids[np - 1];
        trit_generate_params g = trit_generate_default_params();
        g.max_tokens = 8;
        forced_state f = {.m = {.allow = only, .parity = -1}, .tokens = {pids[np - 2], pids[np - 1]}, .n = 2,
                          .bad_id = -1};
        g.constraint_mask = fill_mask; g.constraint_accept = accept_token; g.constraint_forced = force_tokens;
        g.constraint_user_data = &f;
        trit_generate_result cr = {.size = sizeof cr};
        char text[4096] = "";
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g, collect, text, &cr), TRIT_OK);
        EXPECT(trit_context_get_tokens(ctx, held, 128, &nheld), TRIT_OK);
        /* sampled, forced, forced, sampled, ...: 3 sampling steps give the 8 tokens */
        int32_t want[8] = {only, pids[np - 2], only, only, pids[np - 2], only, only, pids[np - 2]};
        int same = nheld == np + 8;
        for (size_t i = 0; same && i < 8; i++) same = held[np + i] == want[i];
        CHECK(same && cr.n_generated_tokens == 8 && cr.n_forced_tokens == 5 && f.m.masks == 3 && f.m.accepted == 3 &&
              f.calls == 3 && f.capacity == TRIT_FORCED_CAPACITY && cr.stop_reason == TRIT_STOP_LENGTH,
              "forced tokens appended (%zu held, %d generated, %d forced, %d masks, %d calls)", nheld,
              cr.n_generated_tokens, cr.n_forced_tokens, f.m.masks, f.calls);
        char expect[4096];
        size_t nb = 0;
        EXPECT(trit_detokenize(tok, want, 8, false, expect, sizeof expect, &nb), TRIT_OK);
        CHECK(strcmp(text, expect) == 0, "the forced tokens' text is delivered ('%s' vs '%s')", text, expect);
        forced_state too_many = f;
        too_many.ret = TRIT_FORCED_CAPACITY + 1; too_many.calls = 0; too_many.m.masks = 0; too_many.m.accepted = 0;
        g.constraint_user_data = &too_many;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_ERR_ARG);
        CHECK(strstr(trit_last_error(), "returned 257 tokens") != NULL, "a count past the buffer is refused");
        EXPECT(trit_context_get_tokens(ctx, held, 128, &nheld), TRIT_OK);
        CHECK(nheld == np, "after a refused forced count the context holds the prompt (%zu)", nheld);
        forced_state bad_id = f;
        bad_id.bad_id = 1 << 30;
        g.constraint_user_data = &bad_id;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_ERR_ARG);
        CHECK(strstr(trit_last_error(), "outside the vocabulary") != NULL, "an out-of-vocabulary forced id is refused");
        forced_state failing = f;
        failing.ret = -4;
        g.constraint_user_data = &failing;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_ERR_CANCELLED);
        CHECK(strstr(trit_last_error(), "forced-token callback returned -4") != NULL, "a forced callback's error is named");
        int32_t eog = -1;
        for (int32_t t = 0; t < 1 << 20 && eog < 0; t++) if (trit_token_is_eog(tok, t)) eog = t;
        forced_state eos = f;
        eos.tokens[0] = eog;
        g.constraint_user_data = &eos;
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_ERR_ARG);
        CHECK(eog >= 0 && strstr(trit_last_error(), "end-of-generation is sampled") != NULL,
              "a forced end-of-generation token is refused (%d)", eog);
        g.constraint_mask = NULL; g.constraint_accept = NULL;   /* forced without a mask */
        EXPECT(trit_generate(ctx, "Every morning", &g, NULL, NULL, &cr), TRIT_ERR_ARG);
    }
    size_t at = 2;   /* a stop string of two ASCII characters from inside the text */
    while (a[at] && a[at + 1] && ((unsigned char)a[at] >= 0x80 || (unsigned char)a[at + 1] >= 0x80)) at++;
    if (a[at] && a[at + 1]) {
        char stop[3] = {a[at], a[at + 1], 0};
        const char *stops[1] = {stop};
        gp.stop = stops; gp.n_stop = 1;
        char c[4096] = "";
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_generate(ctx, "Every morning", &gp, collect, c, &r), TRIT_OK);
        CHECK(r.stop_reason == TRIT_STOP_STRING && strstr(a, c) == a && strstr(c, stop) == NULL,
              "stop string: got '%s' from '%s' with stop '%s'", c, a, stop);
        gp.stop = NULL; gp.n_stop = 0;
    }
    EXPECT(trit_context_reset(ctx), TRIT_OK);
    calls = 0;
    EXPECT(trit_generate(ctx, "Every morning", &gp, cancel_after_two, NULL, &r), TRIT_OK);
    CHECK(r.stop_reason == TRIT_STOP_CALLBACK && calls == 2, "cancelled from the callback (%d, %d calls)", r.stop_reason, calls);
    gp.max_tokens = 0;
    EXPECT(trit_context_reset(ctx), TRIT_OK);
    EXPECT(trit_generate(ctx, "Every", &gp, NULL, NULL, &r), TRIT_OK);
    CHECK(r.stop_reason == TRIT_STOP_CONTEXT_FULL || r.stop_reason == TRIT_STOP_EOG, "runs until the context is full or EOS (%d)", r.stop_reason);

    /* stale state: after a truncate or a batch that appended to sequence 0 there are no
     * current logits to continue from */
    {
        EXPECT(trit_context_reset(ctx), TRIT_OK);
        EXPECT(trit_eval(ctx, ids, 3, NULL), TRIT_OK);
        trit_generate_params g0 = trit_generate_default_params();
        g0.max_tokens = 2;
        EXPECT(trit_generate_tokens(ctx, NULL, 0, &g0, NULL, NULL, NULL), TRIT_OK);   /* current: fine */
        EXPECT(trit_context_truncate(ctx, 2), TRIT_OK);
        EXPECT(trit_generate_tokens(ctx, NULL, 0, &g0, NULL, NULL, NULL), TRIT_ERR_STATE);
        EXPECT(trit_get_logits(ctx, &logits, &nv), TRIT_ERR_STATE);
        EXPECT(trit_eval(ctx, ids + 2, 1, NULL), TRIT_OK);
        float *bl = malloc(sizeof(float) * (size_t)info.n_vocab);
        int32_t t1[1] = {ids[0]}, s0[1] = {0};
        EXPECT(trit_eval_batch(ctx, t1, s0, 1, bl), TRIT_OK);
        EXPECT(trit_generate_tokens(ctx, NULL, 0, &g0, NULL, NULL, NULL), TRIT_ERR_STATE);
        free(bl);
        size_t nt = 0;
        EXPECT(trit_context_get_tokens(ctx, NULL, 0, &nt), TRIT_ERR_BUFFER_TOO_SMALL);
        int32_t held[8];
        EXPECT(trit_context_get_tokens(ctx, held, 8, &nt), TRIT_OK);
        CHECK(nt == 4 && held[0] == ids[0] && held[1] == ids[1] && held[2] == ids[2] && held[3] == ids[0], "context tokens (%zu)", nt);
        EXPECT(trit_context_reset(ctx), TRIT_OK);
    }

    /* the abort callback: a long eval stops between layers, the context unchanged */
    {
        trit_context *actx = NULL;
        trit_context_params ap = trit_context_default_params();
        ap.n_ctx = 64; ap.n_threads = 1; ap.n_batch = 4;
        ap.abort_callback = abort_after;
        abort_at = 3;
        EXPECT(trit_context_create(model, &ap, &actx), TRIT_OK);
        EXPECT(trit_eval(actx, ids, 2, NULL), TRIT_ERR_CANCELLED);
        int32_t ap_past = -1;
        EXPECT(trit_context_get_size(actx, &ap_past, NULL), TRIT_OK);
        CHECK(ap_past == 0, "aborted eval left %d positions", ap_past);
        abort_at = 0; abort_asked = 0;
        EXPECT(trit_eval(actx, many, 20, NULL), TRIT_OK);
        CHECK(abort_asked > 0, "abort callback asked (%d)", abort_asked);
        abort_at = abort_asked + 3;   /* generation: asked between tokens, stops cleanly */
        trit_generate_params ag = trit_generate_default_params();
        ag.max_tokens = 30;
        trit_generate_result ar = {.size = sizeof ar};
        EXPECT(trit_generate_tokens(actx, NULL, 0, &ag, NULL, NULL, &ar), TRIT_OK);
        CHECK(ar.stop_reason == TRIT_STOP_ABORTED && ar.n_generated_tokens < 30, "generation aborted (%d, %d tokens)",
              ar.stop_reason, ar.n_generated_tokens);
        trit_context_free(actx);
    }

    /* a freed handle stays invalid even when a new object takes its place */
    {
        trit_context *c1 = NULL, *c2 = NULL;
        trit_context_params hp = trit_context_default_params();
        hp.n_ctx = 16; hp.n_threads = 1;
        EXPECT(trit_context_create(model, &hp, &c1), TRIT_OK);
        trit_context_free(c1);
        EXPECT(trit_context_create(model, &hp, &c2), TRIT_OK);
        CHECK(c1 != c2, "a new context reuses a freed handle value");
        EXPECT(trit_context_reset(c1), TRIT_ERR_ARG);
        EXPECT(trit_context_reset(c2), TRIT_OK);
        EXPECT(trit_context_reset((trit_context *)model), TRIT_ERR_ARG);   /* a handle of another kind */
        trit_context_free(c2);
    }

    /* multi-sequence batches: two sequences in one call give each its own logits */
    {
        trit_context *bctx = NULL;
        trit_context_params bp = trit_context_default_params();
        bp.n_ctx = 16; bp.n_seq = 2; bp.n_threads = 1;
        EXPECT(trit_context_create(model, &bp, &bctx), TRIT_OK);
        int32_t toks[5] = {ids[0], 7, ids[1], 8, 9}, seqs[5] = {0, 1, 0, 1, 1};
        float *bl = malloc(sizeof(float) * 5 * (size_t)info.n_vocab);
        EXPECT(trit_eval_batch(bctx, toks, seqs, 5, bl), TRIT_OK);
        int32_t bad_seq[1] = {2};
        EXPECT(trit_eval_batch(bctx, toks, bad_seq, 1, bl), TRIT_ERR_ARG);
        EXPECT(trit_eval_batch(bctx, toks, seqs, 5, NULL), TRIT_ERR_ARG);
        trit_context *one = NULL;
        bp.n_seq = 1;
        EXPECT(trit_context_create(model, &bp, &one), TRIT_OK);
        int32_t s1[3] = {7, 8, 9};
        float *ol = malloc(sizeof(float) * 3 * (size_t)info.n_vocab);
        EXPECT(trit_eval(one, s1, 3, ol), TRIT_OK);
        float worst = 0;
        for (int j = 0; j < info.n_vocab; j++) {
            float d = bl[4 * (size_t)info.n_vocab + j] - ol[2 * (size_t)info.n_vocab + j];
            if (d < 0) d = -d;
            if (d > worst) worst = d;
        }
        CHECK(worst < 1e-5f, "sequence 1 in a batch = alone (%g)", worst);
        EXPECT(trit_context_reset_seq(bctx, 1), TRIT_OK);
        EXPECT(trit_context_reset_seq(bctx, 5), TRIT_ERR_ARG);
        bp.n_seq = -1;
        EXPECT(trit_context_create(model, &bp, &one), TRIT_ERR_ARG);
        free(bl); free(ol);
        trit_context_free(bctx);
        trit_context_free(one);
    }

    /* scoring */
    {
        double lp = 0;
        bool greedy = false;
        int32_t c1[2] = {ids[0], ids[1]}, c2[2] = {5, 6};
        EXPECT(trit_score(ctx, c1, 2, c2, 2, &lp, &greedy), TRIT_OK);
        CHECK(lp < 0, "log probability %g", lp);
        EXPECT(trit_score(ctx, c1, 0, c2, 2, &lp, &greedy), TRIT_ERR_ARG);
        EXPECT(trit_score(ctx, NULL, 2, c2, 2, &lp, &greedy), TRIT_ERR_ARG);
        int32_t oobc[1] = {-1};
        EXPECT(trit_score(ctx, c1, 2, oobc, 1, &lp, &greedy), TRIT_ERR_ARG);
        EXPECT(trit_context_reset(ctx), TRIT_OK);
    }

    /* chat formatting */
    trit_chat_message msgs[2] = {{"system", "Be brief."}, {"user", "Hi"}};
    size_t need = 0;
    EXPECT(trit_chat_format(model, msgs, 2, NULL, true, NULL, 0, &need), TRIT_ERR_BUFFER_TOO_SMALL);
    char *chat = malloc(need + 1);
    EXPECT(trit_chat_format(model, msgs, 2, "plain", true, chat, need + 1, &need), TRIT_OK);
    CHECK(strstr(chat, "User: Hi") != NULL, "chat text '%s'", chat);
    EXPECT(trit_chat_format(model, msgs, 2, "nonsense", true, chat, need + 1, &need), TRIT_ERR_ARG);
    trit_chat_message badm[1] = {{NULL, "x"}};
    EXPECT(trit_chat_format(model, badm, 1, NULL, true, chat, need + 1, &need), TRIT_ERR_ARG);
    free(chat);

    /* several threads generating on one model at once give the same text as one thread */
    worker_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) { args[i].model = model; pthread_create(&th[i], NULL, worker, &args[i]); }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    worker_arg single = {model, "", TRIT_OK};
    worker(&single);
    for (int i = 0; i < 4; i++) CHECK(args[i].st == TRIT_OK && strcmp(args[i].out, single.out) == 0, "thread %d text", i);

    /* saved state and context shift */
    {
        trit_context *a = NULL, *b = NULL, *q = NULL;
        trit_context_params sp = trit_context_default_params();
        sp.n_ctx = 64; sp.n_threads = 1;
        EXPECT(trit_context_create(model, &sp, &a), TRIT_OK);
        EXPECT(trit_context_create(model, &sp, &b), TRIT_OK);
        sp.type_k = TRIT_KV_Q8_0;
        EXPECT(trit_context_create(model, &sp, &q), TRIT_OK);
        int32_t st_ids[20];
        for (int i = 0; i < 20; i++) st_ids[i] = (i * 37 + 5) % 1000;
        EXPECT(trit_eval(a, st_ids, 20, NULL), TRIT_OK);
        size_t need = 0, got = 0;
        EXPECT(trit_state_save(a, NULL, 0, &need), TRIT_ERR_BUFFER_TOO_SMALL);
        CHECK(need > 20 * 4, "state size %zu", need);
        uint8_t *buf = malloc(need);
        EXPECT(trit_state_save(a, buf, need, NULL), TRIT_ERR_ARG);
        EXPECT(trit_state_save(a, buf, need, &got), TRIT_OK);
        CHECK(got == need, "state size %zu = %zu", got, need);
        EXPECT(trit_state_load(b, NULL, need), TRIT_ERR_ARG);
        EXPECT(trit_state_load(b, buf, need - 1), TRIT_ERR_FORMAT);
        EXPECT(trit_state_load(q, buf, need), TRIT_ERR_ARG);       /* another KV type */
        EXPECT(trit_state_load(b, buf, need), TRIT_OK);
        int32_t past = 0;
        EXPECT(trit_context_get_size(b, &past, NULL), TRIT_OK);
        CHECK(past == 20, "loaded state holds %d positions", past);
        const float *la = NULL, *lb = NULL;
        EXPECT(trit_eval(a, st_ids, 1, NULL), TRIT_OK);
        EXPECT(trit_eval(b, st_ids, 1, NULL), TRIT_OK);
        EXPECT(trit_get_logits(a, &la, NULL), TRIT_OK);
        EXPECT(trit_get_logits(b, &lb, NULL), TRIT_OK);
        CHECK(la && lb && memcmp(la, lb, 1024 * sizeof(float)) == 0, "a loaded state continues bit for bit");
        EXPECT(trit_state_save_file(a, NULL), TRIT_ERR_ARG);
        EXPECT(trit_state_save_file(a, "/nonexistent-dir/x.state"), TRIT_ERR_IO);
        EXPECT(trit_state_load_file(a, "/nonexistent-dir/x.state"), TRIT_ERR_IO);
        EXPECT(trit_context_shift(a, -1, 2), TRIT_ERR_ARG);
        EXPECT(trit_context_shift(a, 2, -1), TRIT_ERR_ARG);
        EXPECT(trit_context_shift(a, 15, 10), TRIT_ERR_ARG);
        EXPECT(trit_context_shift(a, 4, 10), TRIT_OK);
        EXPECT(trit_context_get_size(a, &past, NULL), TRIT_OK);
        CHECK(past == 11, "after a shift of 10 the context holds %d", past);
        EXPECT(trit_context_shift(NULL, 0, 0), TRIT_ERR_ARG);
        free(buf);
        trit_context_free(a);
        trit_context_free(b);
        trit_context_free(q);
    }

    /* free order: model first, then use and free the context */
    trit_model_free(model);
    EXPECT(trit_model_get_info(model, &info), TRIT_ERR_ARG);
    EXPECT(trit_context_reset(ctx), TRIT_OK);
    EXPECT(trit_eval(ctx, ids, 2, NULL), TRIT_OK);
    trit_context_free(ctx);
    EXPECT(trit_eval(ctx, ids, 2, NULL), TRIT_ERR_ARG);
    trit_context_free(ctx);   /* double free: ignored */
    trit_model_free(model);
    trit_model_free(NULL);
    trit_context_free(NULL);

    /* load / free cycles */
    for (int i = 0; i < 20; i++) {
        trit_model *m = NULL;
        trit_context *c = NULL;
        if (trit_model_load(path, NULL, &m) != TRIT_OK || trit_context_create(m, &cp, &c) != TRIT_OK) { failed++; break; }
        trit_context_free(c);
        trit_model_free(m);
    }
    passed++;

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
