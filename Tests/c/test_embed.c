/* trit_embed through the C API: sizes, defaults, pooling, truncation, sequences, hostile callers.
 * Usage: test_embed MODEL.gguf; prints "N passed, M failed". */
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <trit.h>

static int passed, failed;
#define CHECK(cond, ...) do { if (cond) passed++; else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf(" [%s]\n", trit_last_error()); } } while (0)
#define EXPECT(call, status) do { trit_status s_ = (call); CHECK(s_ == (status), "%s -> %d (%s), expected %d", #call, (int)s_, trit_status_string(s_), (int)(status)); } while (0)

static double norm(const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

static bool always(void *user) { (void)user; return true; }

/* an engine embedding request's row and end (the scheduler thread) */
typedef struct { float row[4096]; size_t width; int32_t reason; atomic_int done; } engine_row;
static void on_row(const float *row, size_t width, void *user) {
    engine_row *r = user;
    r->width = width;
    memcpy(r->row, row, width * sizeof *row);
}
static void on_end(int64_t id, int32_t reason, const trit_usage *u, void *user) {
    (void)id; (void)u;
    engine_row *r = user;
    r->reason = reason;
    atomic_store(&r->done, 1);
}

/* Embedding requests through trit_engine give trit_embed's rows (pooling, dimensions) and keep
 * nothing cached; bad options are refused at submit. */
static void engine_embeddings(trit_model *model, const int32_t *tokens, const size_t *lens, int d) {
    trit_context_params cp = trit_context_default_params();
    cp.n_ctx = 32; cp.type_k = cp.type_v = TRIT_KV_F32;
    trit_context *ctx = NULL;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_OK);
    trit_engine_params ep = trit_engine_default_params();
    ep.n_slots = 2; ep.n_ctx = 32; ep.n_batch = 3; ep.type_k = ep.type_v = TRIT_KV_F32;
    trit_engine *engine = NULL;
    EXPECT(trit_engine_create(model, &ep, &engine), TRIT_OK);
    if (!ctx || !engine) return;
    static engine_row got[2];
    trit_embed_params p[2] = {trit_embed_default_params(), trit_embed_default_params()};
    p[1].pooling = TRIT_POOLING_MEAN; p[1].dimensions = 8;
    for (int i = 0; i < 2; i++) {
        trit_request r = trit_request_default();
        r.tokens = tokens + (i ? lens[0] : 0); r.n_tokens = lens[i];
        r.embedding = &p[i]; r.on_embedding = on_row; r.on_done = on_end; r.user_data = &got[i];
        int64_t id = 0;
        EXPECT(trit_engine_submit(engine, &r, &id), TRIT_OK);
    }
    for (int w = 0; w < 20000 && !(atomic_load(&got[0].done) && atomic_load(&got[1].done)); w++) {
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    for (int i = 0; i < 2; i++) {
        float want[4096];
        size_t n = 0;
        EXPECT(trit_embed(ctx, tokens + (i ? lens[0] : 0), lens + i, 1, &p[i], want, 4096, &n), TRIT_OK);
        CHECK(atomic_load(&got[i].done) && got[i].reason == TRIT_FINISH_STOP, "request %d finished (%d)", i, got[i].reason);
        CHECK(got[i].width == n && memcmp(got[i].row, want, n * sizeof *want) == 0, "request %d: trit_embed's row", i);
    }
    CHECK(got[1].width == 8 && got[0].width == (size_t)d, "widths %zu, %zu", got[0].width, got[1].width);
    trit_engine_stats st = {.size = sizeof st};
    EXPECT(trit_engine_get_stats(engine, &st), TRIT_OK);
    CHECK(st.cells_used == 0, "nothing of an embedding cached (%d)", st.cells_used);
    trit_embed_params bad = trit_embed_default_params();
    bad.dimensions = d + 1;
    trit_request r = trit_request_default();
    r.tokens = tokens; r.n_tokens = lens[0]; r.embedding = &bad; r.on_done = on_end; r.user_data = &got[0];
    int64_t id = 0;
    EXPECT(trit_engine_submit(engine, &r, &id), TRIT_ERR_ARG);
    bad = trit_embed_default_params(); bad.pooling = 9;
    EXPECT(trit_engine_submit(engine, &r, &id), TRIT_ERR_ARG);
    trit_engine_free(engine);
    trit_context_free(ctx);
}

int main(int argc, char **argv) {
    if (argc < 2) { printf("usage: test_embed MODEL\n"); return 2; }
    trit_model *model = NULL;
    EXPECT(trit_model_load(argv[1], NULL, &model), TRIT_OK);
    if (!model) return 1;
    trit_model_info info = {.size = sizeof info};
    EXPECT(trit_model_get_info(model, &info), TRIT_OK);
    const int d = info.n_embd;
    trit_context_params cp = trit_context_default_params();
    cp.n_ctx = 32; cp.n_seq = 2; cp.n_batch = 3; cp.type_k = cp.type_v = TRIT_KV_F32;
    trit_context *ctx = NULL;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_OK);

    /* two inputs back to back: 5 tokens, then 3 */
    const int32_t tokens[] = {1, 17, 42, 99, 7, 1, 300, 12};
    const size_t lens[] = {5, 3};
    float out[2 * 4096], alone[4096], raw[4096];
    size_t n = 0;

    /* sizes: capacity 0 or one float short: nothing written, the size reported */
    EXPECT(trit_embed(ctx, tokens, lens, 2, NULL, NULL, 0, &n), TRIT_ERR_BUFFER_TOO_SMALL);
    CHECK(n == (size_t)(2 * d), "needed %zu floats, expected %d", n, 2 * d);
    for (int i = 0; i < 2 * d; i++) out[i] = -7.0f;
    EXPECT(trit_embed(ctx, tokens, lens, 2, NULL, out, (size_t)(2 * d - 1), &n), TRIT_ERR_BUFFER_TOO_SMALL);
    CHECK(out[0] == -7.0f && out[2 * d - 1] == -7.0f, "nothing written to a small buffer");

    /* defaults (NULL params = trit_embed_default_params): unit rows; row 1 as embedded alone */
    EXPECT(trit_embed(ctx, tokens, lens, 2, NULL, out, sizeof out / sizeof *out, &n), TRIT_OK);
    CHECK(n == (size_t)(2 * d), "n_floats %zu", n);
    CHECK(fabs(norm(out, d) - 1) < 1e-5 && fabs(norm(out + d, d) - 1) < 1e-5, "unit rows (%g, %g)", norm(out, d), norm(out + d, d));
    trit_embed_params p = trit_embed_default_params();
    CHECK(p.size == sizeof p && p.normalize && p.pooling == TRIT_POOLING_DEFAULT && p.dimensions == 0 && p.seq_id == 0, "defaults");
    EXPECT(trit_embed(ctx, tokens + 5, lens + 1, 1, &p, alone, d, &n), TRIT_OK);
    CHECK(memcmp(alone, out + d, sizeof(float) * (size_t)d) == 0, "a batch row equals the input embedded alone");
    p.pooling = TRIT_POOLING_LAST;
    EXPECT(trit_embed(ctx, tokens + 5, lens + 1, 1, &p, alone, d, &n), TRIT_OK);
    CHECK(memcmp(alone, out + d, sizeof(float) * (size_t)d) == 0, "the default pooling is last");

    /* pooling and truncation: mean differs from last; dimensions = the raw row's head renormalized */
    p.pooling = TRIT_POOLING_MEAN; p.normalize = false;
    EXPECT(trit_embed(ctx, tokens, lens, 1, &p, raw, d, &n), TRIT_OK);
    CHECK(fabs(norm(raw, d) - 1) > 1e-3, "normalize false keeps the raw norm (%g)", norm(raw, d));
    p.normalize = true; p.dimensions = 8;
    EXPECT(trit_embed(ctx, tokens, lens, 1, &p, alone, d, &n), TRIT_OK);
    CHECK(n == 8, "8 dimensions: n_floats %zu", n);
    double worst = 0, r8 = norm(raw, 8);
    for (int i = 0; i < 8; i++) worst = fmax(worst, fabs(alone[i] - raw[i] / r8));
    CHECK(worst < 1e-6, "truncated then renormalized (max diff %g)", worst);
    float mean_row[4096];
    memcpy(mean_row, raw, sizeof(float) * (size_t)d);
    p.dimensions = 0; p.normalize = false; p.pooling = TRIT_POOLING_LAST;
    EXPECT(trit_embed(ctx, tokens, lens, 1, &p, raw, d, &n), TRIT_OK);
    CHECK(memcmp(raw, mean_row, sizeof(float) * (size_t)d) != 0, "mean and last pooling differ");
    p.pooling = TRIT_POOLING_CLS;
    EXPECT(trit_embed(ctx, tokens, lens, 1, &p, alone, d, &n), TRIT_OK);
    CHECK(memcmp(raw, alone, sizeof(float) * (size_t)d) != 0, "cls and last pooling differ");

    /* an older caller's struct (before dimensions): the fields it lacks keep their defaults */
    trit_embed_params old = trit_embed_default_params();
    old.dimensions = 8;
    old.size = (uint32_t)offsetof(trit_embed_params, dimensions);
    EXPECT(trit_embed(ctx, tokens, lens, 1, &old, alone, d, &n), TRIT_OK);
    CHECK(n == (size_t)d, "a short struct's missing dimensions are 0 (n_floats %zu)", n);

    /* sequences: a sequence in use is refused and kept; another one serves; nothing stays */
    EXPECT(trit_eval(ctx, tokens, 2, NULL), TRIT_OK);
    p = trit_embed_default_params();
    EXPECT(trit_embed(ctx, tokens, lens, 1, &p, alone, d, &n), TRIT_ERR_STATE);
    int32_t past = -1;
    EXPECT(trit_context_get_size(ctx, &past, NULL), TRIT_OK);
    CHECK(past == 2, "sequence 0 kept (%d positions)", past);
    p.seq_id = 1;
    EXPECT(trit_embed(ctx, tokens, lens, 2, &p, alone, d, &n), TRIT_ERR_BUFFER_TOO_SMALL);
    EXPECT(trit_embed(ctx, tokens, lens, 2, &p, out, sizeof out / sizeof *out, &n), TRIT_OK);
    int32_t held = -1;
    EXPECT(trit_seq_length(ctx, 1, &held), TRIT_OK);
    CHECK(held == 0, "sequence 1 empty afterwards (%d)", held);
    EXPECT(trit_context_get_size(ctx, &past, NULL), TRIT_OK);
    CHECK(past == 2, "sequence 0 untouched (%d)", past);
    EXPECT(trit_context_reset(ctx), TRIT_OK);

    /* hostile callers */
    p = trit_embed_default_params();
    size_t empty[] = {5, 0}, too_long[] = {33};
    int32_t bad_token[] = {1, 2000000};
    size_t two[] = {2};
    int32_t many[33] = {0};
    EXPECT(trit_embed(NULL, tokens, lens, 2, &p, out, 8192, &n), TRIT_ERR_ARG);
    EXPECT(trit_embed(ctx, NULL, lens, 2, &p, out, 8192, &n), TRIT_ERR_ARG);
    EXPECT(trit_embed(ctx, tokens, NULL, 2, &p, out, 8192, &n), TRIT_ERR_ARG);
    EXPECT(trit_embed(ctx, tokens, lens, 2, &p, out, 8192, NULL), TRIT_ERR_ARG);
    EXPECT(trit_embed(ctx, tokens, lens, 0, &p, out, 8192, &n), TRIT_ERR_ARG);
    EXPECT(trit_embed(ctx, tokens, empty, 2, &p, out, 8192, &n), TRIT_ERR_ARG);
    EXPECT(trit_embed(ctx, bad_token, two, 1, &p, out, 8192, &n), TRIT_ERR_ARG);
    EXPECT(trit_embed(ctx, many, too_long, 1, &p, out, 8192, &n), TRIT_ERR_CONTEXT_FULL);
    p.pooling = 9;
    EXPECT(trit_embed(ctx, tokens, lens, 2, &p, out, 8192, &n), TRIT_ERR_ARG);
    CHECK(strstr(trit_last_error(), "pooling") != NULL, "the error names pooling");
    p = trit_embed_default_params(); p.dimensions = d + 1;
    EXPECT(trit_embed(ctx, tokens, lens, 2, &p, out, 8192, &n), TRIT_ERR_ARG);
    p.dimensions = -1;
    EXPECT(trit_embed(ctx, tokens, lens, 2, &p, out, 8192, &n), TRIT_ERR_ARG);
    p = trit_embed_default_params(); p.seq_id = 2;
    EXPECT(trit_embed(ctx, tokens, lens, 2, &p, out, 8192, &n), TRIT_ERR_ARG);
    p = trit_embed_default_params(); p.size = 0;
    EXPECT(trit_embed(ctx, tokens, lens, 2, &p, out, 8192, &n), TRIT_ERR_ARG);
    EXPECT(trit_context_get_size(ctx, &past, NULL), TRIT_OK);
    CHECK(past == 0, "nothing held after the refusals (%d)", past);
    trit_context_free(ctx);

    /* the abort callback: TRIT_ERR_CANCELLED, the sequence empty afterwards */
    cp.abort_callback = always;
    EXPECT(trit_context_create(model, &cp, &ctx), TRIT_OK);
    EXPECT(trit_embed(ctx, tokens, lens, 2, NULL, out, 8192, &n), TRIT_ERR_CANCELLED);
    EXPECT(trit_context_get_size(ctx, &past, NULL), TRIT_OK);
    CHECK(past == 0, "nothing held after an abort (%d)", past);
    trit_context_free(ctx);
    engine_embeddings(model, tokens, lens, d);
    trit_model_free(model);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
