/* trit.h — run BitNet b1.58 ternary language models on a CPU.
 *
 * This header is the whole public API of libtrit.so and its manual; anything not declared
 * here is internal.
 *
 * Usage sketch:
 *
 *     trit_model *model = NULL;
 *     if (trit_model_load("model.gguf", NULL, &model) != TRIT_OK) {
 *         fprintf(stderr, "%s\n", trit_last_error());
 *         return 1;
 *     }
 *     trit_context *ctx = NULL;
 *     trit_context_create(model, NULL, &ctx);
 *     trit_generate_params gp = trit_generate_default_params();
 *     gp.max_tokens = 64;
 *     gp.seed = 42;
 *     trit_generate(ctx, "Once upon a time", &gp, print_piece, NULL, NULL);
 *     trit_context_free(ctx);
 *     trit_model_free(model);
 *
 * Conventions
 *   - Every function that can fail returns a trit_status; TRIT_OK (0) is success. On failure
 *     trit_last_error() returns a message that says what went wrong (this thread's last
 *     failure; the library owns the text, valid until the next trit call on this thread).
 *   - Handles are opaque values, not addresses. A NULL, freed or foreign handle gives
 *     TRIT_ERR_ARG, never a crash, even when the freed object's memory has been reused. A
 *     call holds a reference to the object it uses: freeing a handle while another thread's
 *     call uses it is safe (the object goes when that call returns).
 *   - Output arguments are written only on success unless stated otherwise.
 *   - ABI: every struct that crosses the API starts with `uint32_t size`, the sizeof the
 *     caller was compiled with. Params structs (in) come from the *_default_params()
 *     functions, which set size; change only the fields you need. NULL means defaults. A
 *     struct from an older, shorter header gets the library's defaults for the fields it
 *     lacks. The *_default_params() functions are static inline in this header, so a
 *     struct is never returned by value across the library boundary (its size would be
 *     the library's, not the caller's). Output
 *     structs (info, result): set size = sizeof(the struct) before the call; the library
 *     writes only that many bytes. Fields a newer caller has and this library does not are
 *     ignored. A size below 4 or above 4096 is TRIT_ERR_ARG (an unset or garbage struct).
 *     Fields are only ever appended, each at an offset at or beyond the previous sizeof; an
 *     enum stored in a struct has a fixed-width integer type.
 *   - The shared object is libtrit.so.MAJOR (SONAME); libtrit.so is the link for building.
 *   - Thread safety: a trit_model and a trit_tokenizer are immutable after load and may be
 *     used from any number of threads at once. A trit_context is used by one thread at a
 *     time; a call on a context that another thread is using fails with TRIT_ERR_STATE.
 *   - Text is UTF-8. Text arguments are (pointer, length) pairs or NUL-terminated where a
 *     length is not taken. Invalid UTF-8 input gives TRIT_ERR_ARG.
 */
#ifndef TRIT_H
#define TRIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ---------------------------------------------------------------------------- */

#define TRIT_VERSION_MAJOR 0
#define TRIT_VERSION_MINOR 1
#define TRIT_VERSION_PATCH 0
/* MAJOR·1000000 + MINOR·1000 + PATCH; compare with trit_version_number() at run time. */
#define TRIT_VERSION_NUMBER (TRIT_VERSION_MAJOR * 1000000 + TRIT_VERSION_MINOR * 1000 + TRIT_VERSION_PATCH)

/* The library's version number (see TRIT_VERSION_NUMBER). Thread-safe. */
int32_t trit_version_number(void);
/* The library's version as "MAJOR.MINOR.PATCH"; static storage. Thread-safe. */
const char *trit_version_string(void);

/* ---- Status codes and errors ------------------------------------------------------------ */

/* Codes are append-only; 0 never changes meaning. */
typedef enum trit_status {
    TRIT_OK = 0,
    TRIT_ERR_ARG = 1,              /* NULL/invalid argument or handle, token out of range, bad UTF-8 */
    TRIT_ERR_IO = 2,               /* a file cannot be opened, read or mapped */
    TRIT_ERR_FORMAT = 3,           /* a file is malformed, truncated or inconsistent */
    TRIT_ERR_UNSUPPORTED = 4,      /* valid input that trit does not support (architecture, type) */
    TRIT_ERR_OOM = 5,              /* memory (or threads) could not be allocated */
    TRIT_ERR_STATE = 6,            /* the call does not fit the object's state (e.g. context busy) */
    TRIT_ERR_CONTEXT_FULL = 7,     /* the tokens do not fit in the context's remaining positions */
    TRIT_ERR_CANCELLED = 8,        /* a callback asked to stop a long operation */
    TRIT_ERR_BUFFER_TOO_SMALL = 9, /* a caller buffer is too small; the needed size was reported */
    TRIT_ERR_INTERNAL = 10,        /* a bug in trit; please report it with the message */
    TRIT_ERR_BUSY = 11             /* a queue is full: try again later */
} trit_status;

/* Fixed text for any status code (unknown codes give "unknown status"); static storage. */
const char *trit_status_string(trit_status status);
/* The message of this thread's last failed call, or "" if none. Owned by the library, valid
 * until the next trit call on this thread. Thread-safe (thread-local). */
const char *trit_last_error(void);

/* ---- The bundled model ------------------------------------------------------------------ */

/* The path of the small model shipped with trit ("trit-bundled-i2_s.gguf", a 4M-parameter BitNet
 * b1.58 model), for trit_model_load. Looked for beside this library, once, at the first call:
 * <libdir>/../share/trit/ (where `make install` and the Python wheel put it), then the source
 * tree's Models/ two or three folders above the library (build/lib/, .build/<triple>/release/).
 * On success *path is the file's absolute path, in static storage owned by the library (do not
 * free it; valid while the library is loaded). Thread-safe.
 * Errors: TRIT_ERR_ARG (path is NULL); TRIT_ERR_IO (not found: trit_last_error() names every
 * place looked in; *path is set to NULL). */
trit_status trit_bundled_model_path(const char **path);

/* ---- Handles ---------------------------------------------------------------------------- */

typedef struct trit_model trit_model;         /* weights + tokenizer; immutable, shareable */
typedef struct trit_context trit_context;     /* one sequence: KV cache, buffers, threads */
typedef struct trit_tokenizer trit_tokenizer; /* a vocabulary and its encoder; immutable */

/* ---- Models ----------------------------------------------------------------------------- */

/* Called during loading with progress in [0, 1] (0 first, 1 last, non-decreasing), on the
 * loading thread. Return false to cancel: the load then fails with TRIT_ERR_CANCELLED. */
typedef bool (*trit_progress_fn)(float progress, void *user_data);

/* The output head's mode (trit_model_params.head). */
typedef enum trit_head_mode {
    TRIT_HEAD_EXACT = 0,      /* the head as stored (F16 for 2B4T): the reference */
    TRIT_HEAD_INT8 = 1,       /* int8 per row: half the head's bytes per generated token; logits move
                                 by ~1e-2, so a token can differ from exact mode's at a near-tie */
    TRIT_HEAD_CERTIFIED = 2,  /* the int8 head finds the rows that can still be chosen (a rigorous
                                 bound on each logit's error), which are then computed exactly:
                                 generation (trit_generate*, the engine) chooses exact mode's tokens
                                 for greedy, top-k and min-p-first chains at nearly the int8 head's
                                 bytes; a chain that cannot be certified (top-p first, temperature
                                 alone) computes the whole exact head for that token. Logit rows
                                 (trit_eval, trit_get_logits, trit_decode) stay exact. Load is
                                 slower (per-row constants) and the model holds both heads. */
    TRIT_HEAD_CERTIFIED4 = 3  /* TRIT_HEAD_CERTIFIED with a 4-bit head (an f16 scale per 32 columns)
                                 finding the candidates: fewer bytes a token than the int8 head on
                                 peaked logits, more candidates; a step it cannot decide is decided
                                 by the int8 head (the model holds F16, int8 and 4-bit heads). The
                                 same tokens (exact mode's). A library without it rejects 3 as an
                                 argument error. */
} trit_head_mode;

/* How ternary linears (I2_S, TQ2_0, TQ1_0) are held in memory (trit_model_params.ternary_layout). */
typedef enum trit_ternary_layout {
    TRIT_TERNARY_AUTO = 0,    /* the faster form for decoding on this CPU (2-bit on the x86 CPUs measured) */
    TRIT_TERNARY_2BIT = 1,    /* packed 2-bit rows (an I2_S file in place) */
    TRIT_TERNARY_5TRIT = 2,   /* 5 trits a byte (1.6 bits a weight): 20% fewer bytes a decoded token, more
                                 instructions to decode them; the 2-bit rows are let go after load. A TQ1_0
                                 file's blocks are used in place on x86 (no converted copy) */
    TRIT_TERNARY_BOTH = 3     /* 5-trit rows (a TQ1_0 file's blocks in place) for decoding (up to 4 rows a
                                 step), 2-bit rows for prompts */
} trit_ternary_layout;

typedef struct trit_model_params {
    uint32_t size;                  /* sizeof(trit_model_params); set by trit_model_default_params() */
    trit_progress_fn progress;      /* NULL: no progress reports */
    void *progress_user_data;
    bool int8_head;                 /* the same as head = TRIT_HEAD_INT8 (the older spelling) */
    int32_t head;                   /* trit_head_mode: how generated tokens' logits are computed
                                       (default TRIT_HEAD_EXACT) */
    bool float_activations;         /* group-scaled linears (Q1_0, Q2_0, PQ2_0, PTQ1_0): float
                                       activations with the weights decoded to F16, the reference's
                                       arithmetic (~1e-6 from transformers, 2 bytes a weight).
                                       Default false: int8 activations per token with the
                                       group-scaled kernels (fast; logits within ~0.04). Other
                                       types ignore it. */
    int32_t ternary_layout;         /* trit_ternary_layout: how ternary linears are held (default
                                       TRIT_TERNARY_AUTO). Logits are the same in every layout. */
} trit_model_params;

/* Defaults for trit_model_load: no progress callback, exact head. Inline; thread-safe. */
static inline trit_model_params trit_model_default_params(void) {
    trit_model_params p = {0};
    p.size = (uint32_t)sizeof p;
    return p;
}

/* Load a model from a GGUF file (I2_S, TQ1_0, TQ2_0, Q1_0, Q2_0, PQ2_0, PTQ1_0, F16, BF16, F32
 * linears; architectures bitnet-b1.58, bitnet-25, bitnet, llama, qwen3) or from a
 * Hugging Face folder (config.json + *.safetensors). The file is memory-mapped; weights in
 * the runtime layout are used in place, others are converted once.
 * On success *out is a new handle; free it with trit_model_free(). On failure *out is NULL.
 * Thread-safe. Returns TRIT_OK, TRIT_ERR_ARG (NULL path/out, bad params size), TRIT_ERR_IO,
 * TRIT_ERR_FORMAT, TRIT_ERR_UNSUPPORTED, TRIT_ERR_OOM or TRIT_ERR_CANCELLED (the progress
 * callback returned false). */
trit_status trit_model_load(const char *path, const trit_model_params *params, trit_model **out);

/* Release a model handle. NULL is a no-op. Contexts created from the model stay valid: the
 * weights are released when the last of them is freed. Not to be called while another
 * thread uses the same handle. */
void trit_model_free(trit_model *model);

typedef struct trit_model_info {
    uint32_t size;           /* set by the caller: sizeof(trit_model_info) */
    char architecture[32];   /* "bitnet-b1.58", "bitnet", "llama", ... (NUL-terminated) */
    char file_type[48];      /* "I2_S", "TQ2_0", "F32", "HF packed ternary", ... */
    int64_t n_params;        /* parameters (a tied head counted once) */
    int64_t weight_bytes;    /* bytes of weights held in the runtime layouts */
    int32_t n_vocab;
    int32_t n_ctx_train;     /* the context length the model was trained with */
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t n_ff;
    int32_t bos;             /* -1 when the model has none */
    int32_t eos;             /* -1 when the model has none */
    int32_t eot;             /* end-of-turn token (e.g. <|eot_id|>), -1 when none */
} trit_model_info;

/* Fill *out (up to out->size bytes) with facts about the model. Thread-safe.
 * Returns TRIT_OK or TRIT_ERR_ARG (NULL, invalid handle, out->size not set). */
trit_status trit_model_get_info(const trit_model *model, trit_model_info *out);

/* The model file's Jinja chat template as written (GGUF `tokenizer.chat_template`; a Hugging Face
 * folder's tokenizer_config.json `chat_template`, or its entry named "default"), NUL-terminated and
 * borrowed: valid while the model handle is, not to be freed. trit's own generation and
 * trit_chat_format() use the built-in formats, not this text: it is for callers that render it
 * (e.g. with a Jinja engine). Thread-safe. Returns TRIT_OK, TRIT_ERR_ARG (NULL, invalid handle) or
 * TRIT_ERR_STATE (the file has none; *out is then NULL). */
trit_status trit_model_get_chat_template(const trit_model *model, const char **out);

/* The model's tokenizer, borrowed: valid while the model handle is, not to be freed.
 * Returns TRIT_OK, TRIT_ERR_ARG or TRIT_ERR_STATE (the file has no tokenizer). */
trit_status trit_model_get_tokenizer(const trit_model *model, const trit_tokenizer **out);

/* ---- Tokenizers ------------------------------------------------------------------------- */

/* Load only the tokenizer of a GGUF file (which may hold no tensors, like llama.cpp's vocab
 * files) or a Hugging Face folder (tokenizer.json or tokenizer.model). Free with
 * trit_tokenizer_free(). Returns TRIT_OK, TRIT_ERR_ARG, TRIT_ERR_IO, TRIT_ERR_FORMAT,
 * TRIT_ERR_UNSUPPORTED (no or unknown tokenizer) or TRIT_ERR_OOM. */
trit_status trit_tokenizer_load(const char *path, trit_tokenizer **out);

/* Release a tokenizer from trit_tokenizer_load(). NULL is a no-op. A tokenizer borrowed
 * from a model must not be passed here (TRIT_ERR_ARG is not reported: it is ignored). */
void trit_tokenizer_free(trit_tokenizer *tokenizer);

/* Number of tokens in the vocabulary, or -1 for an invalid handle. Thread-safe. */
int32_t trit_tokenizer_n_vocab(const trit_tokenizer *tokenizer);

/* Encode text_len bytes of UTF-8 into token ids. add_special: add BOS/EOS as the vocabulary
 * asks. parse_special: turn control-token texts such as "<|eot_id|>" into their ids
 * (otherwise they are tokenized as plain text).
 * *n_tokens receives the number of tokens. If capacity is too small, nothing is written to
 * tokens, *n_tokens is the capacity needed and TRIT_ERR_BUFFER_TOO_SMALL is returned (tokens
 * may be NULL when capacity is 0). Thread-safe.
 * Returns TRIT_OK, TRIT_ERR_ARG (NULL pointers, invalid UTF-8) or TRIT_ERR_BUFFER_TOO_SMALL. */
trit_status trit_tokenize(const trit_tokenizer *tokenizer, const char *text, size_t text_len,
                          bool add_special, bool parse_special,
                          int32_t *tokens, size_t capacity, size_t *n_tokens);

/* Decode token ids to UTF-8 bytes (control tokens render as their text when render_special,
 * else as nothing). Writes the bytes and a terminating NUL; *n_bytes receives the length
 * without the NUL. If capacity < length + 1, nothing is written to buf, *n_bytes is the
 * length and TRIT_ERR_BUFFER_TOO_SMALL is returned. The bytes are not always valid UTF-8 on
 * their own (a token may hold part of a character). Thread-safe.
 * Returns TRIT_OK, TRIT_ERR_ARG (NULL pointers, id out of range) or TRIT_ERR_BUFFER_TOO_SMALL. */
trit_status trit_detokenize(const trit_tokenizer *tokenizer, const int32_t *tokens, size_t n_tokens,
                            bool render_special, char *buf, size_t capacity, size_t *n_bytes);

/* Whether id ends generation (EOS, <|eot_id|>, ...). false for invalid arguments. */
bool trit_token_is_eog(const trit_tokenizer *tokenizer, int32_t id);

/* ---- Contexts --------------------------------------------------------------------------- */

/* Called between layers and token groups of a long evaluation, on the evaluating thread.
 * Return true to abort: the call then fails with TRIT_ERR_CANCELLED and the context is as
 * before the call (generation: the tokens accepted so far are kept, see trit_generate). */
typedef bool (*trit_abort_fn)(void *user_data);

/* How the KV cache stores keys and values (ggml's type ids, as llama.cpp's type_k / type_v).
 * F32 is exact; F16 (the default) halves the cache; Q8_0 (blocks of 32 values along each head
 * with an fp16 scale) takes 34/128 of F32. The README's accuracy table gives the logit change of
 * each against F32. */
typedef enum trit_kv_type {
    TRIT_KV_F32 = 0,
    TRIT_KV_F16 = 1,
    TRIT_KV_Q8_0 = 8
} trit_kv_type;

typedef struct trit_context_params {
    uint32_t size;      /* sizeof(trit_context_params); set by trit_context_default_params() */
    int32_t n_ctx;      /* positions in the KV cache; 0 = the model's training context, at most 4096
                           (larger values are allowed up to what memory holds; the cache is
                           committed as positions are used) */
    int32_t n_threads;  /* worker threads; 0 = one per online CPU core */
    int32_t n_batch;    /* tokens evaluated per forward pass while reading a prompt (1..4096) */
    int32_t n_seq;      /* independent sequences for trit_eval_batch, each with n_ctx positions (0 = 1; up to 4096) */
    trit_abort_fn abort_callback;  /* NULL: long calls run to the end */
    void *abort_user_data;
    int32_t n_cells;    /* positions all sequences may hold together (0 = n_seq × n_ctx); the
                           cache is committed as positions are used, not up front */
    int32_t type_k;     /* trit_kv_type of the cached keys (default TRIT_KV_F16) */
    int32_t type_v;     /* trit_kv_type of the cached values (default TRIT_KV_F16) */
    bool attn_int8;     /* int8 attention scores (default false): the query quantized per 32-value block
                           and the K·Q dots in integers, as llama.cpp with a Q8_0 K cache; needs
                           type_k TRIT_KV_Q8_0 (else TRIT_ERR_ARG). The values' side is unchanged. Logits
                           differ slightly from the float scores' (the README's accuracy table) */
} trit_context_params;

/* Defaults: n_ctx 0, n_threads 0, n_batch 128, n_seq 1, no abort callback, F16 keys and values,
 * float attention. A caller whose struct predates type_k / type_v gets F16, one that predates
 * attn_int8 float attention. Inline; thread-safe. */
static inline trit_context_params trit_context_default_params(void) {
    trit_context_params p = {0};
    p.size = (uint32_t)sizeof p;
    p.n_batch = 128;
    p.n_seq = 1;
    p.type_k = TRIT_KV_F16;
    p.type_v = TRIT_KV_F16;
    return p;
}

/* Create a context. Its KV cache takes n_seq·n_layer·n_ctx·n_head_kv·(bytes of a key head +
 * bytes of a value head) of address space (F32: 4·head_dim each, F16: 2·head_dim, Q8_0:
 * 34·ceil(head_dim/32)), committed as positions are used. The context keeps the model alive.
 * Free with trit_context_free(). Thread-safe. Returns TRIT_OK, TRIT_ERR_ARG (NULL, negative
 * sizes, n_threads > 512, an unknown type_k / type_v, attn_int8 without a Q8_0 type_k) or TRIT_ERR_OOM (a cache larger than this
 * machine's memory, or threads that cannot be had; the process survives). */
trit_status trit_context_create(trit_model *model, const trit_context_params *params, trit_context **out);

/* Release a context. NULL and freed handles are no-ops. A call that another thread is making
 * on the context finishes first; the handle is invalid at once. */
void trit_context_free(trit_context *ctx);

/* Append n_tokens tokens to the context and run the model over them. When logits is not NULL
 * it receives n_tokens × n_vocab floats, row i holding the prediction after token i. The
 * logits after the last token are kept (trit_get_logits). On failure the context is unchanged.
 * Returns TRIT_OK, TRIT_ERR_ARG (NULL, n_tokens 0, a token out of range),
 * TRIT_ERR_CONTEXT_FULL (n_past + n_tokens > n_ctx) or TRIT_ERR_STATE (context busy). */
trit_status trit_eval(trit_context *ctx, const int32_t *tokens, size_t n_tokens, float *logits);

/* The logits (n_vocab floats) after the last evaluated token, borrowed: valid until the next
 * call that changes the context. Returns TRIT_OK, TRIT_ERR_ARG or TRIT_ERR_STATE (nothing
 * evaluated yet). */
trit_status trit_get_logits(trit_context *ctx, const float **logits, int32_t *n_vocab);

/* The number of positions the context holds (n_past) and its capacity (n_ctx); either out
 * pointer may be NULL. Returns TRIT_OK, TRIT_ERR_ARG or TRIT_ERR_STATE (busy). */
trit_status trit_context_get_size(const trit_context *ctx, int32_t *n_past, int32_t *n_ctx);

/* The context's parameters as in use: every "0 = default" of trit_context_create() replaced by
 * the value chosen (n_ctx, n_threads, n_seq, n_cells), the others as given. out->size must be
 * set (sizeof(trit_context_params) or an older, smaller size: fields past it are not written).
 * Thread-safe as trit_context_get_size. Returns TRIT_OK, TRIT_ERR_ARG (NULL, a freed handle,
 * out->size unset) or TRIT_ERR_STATE (context busy). */
trit_status trit_context_get_params(const trit_context *ctx, trit_context_params *out);

/* The tokens the context holds (sequence 0), in order: what the KV cache was computed from.
 * *n_tokens receives their number; with capacity too small nothing is written and
 * TRIT_ERR_BUFFER_TOO_SMALL is returned (tokens may be NULL when capacity is 0).
 * Returns TRIT_OK, TRIT_ERR_ARG, TRIT_ERR_STATE (busy) or TRIT_ERR_BUFFER_TOO_SMALL. */
trit_status trit_context_get_tokens(trit_context *ctx, int32_t *tokens, size_t capacity, size_t *n_tokens);

/* Forget every position. Returns TRIT_OK, TRIT_ERR_ARG or TRIT_ERR_STATE (busy). */
trit_status trit_context_reset(trit_context *ctx);

/* Keep the first n_keep positions (0 ≤ n_keep ≤ n_past). Returns TRIT_OK, TRIT_ERR_ARG or
 * TRIT_ERR_STATE. */
trit_status trit_context_truncate(trit_context *ctx, int32_t n_keep);

/* Context shift: remove positions [n_keep, n_keep + n_discard) and move the later ones down by
 * n_discard, re-rotating their keys to the new positions (RoPE), as llama.cpp's context shift.
 * In the first layer the result is what evaluating the kept tokens afresh would store (up to
 * rounding, and one more rounding of an F16 / Q8_0 cache); later layers keep what was computed
 * with the dropped positions present, as in llama.cpp. The kept logits stay. Returns TRIT_OK,
 * TRIT_ERR_ARG (negative counts, n_keep + n_discard > n_past) or TRIT_ERR_STATE (busy). */
trit_status trit_context_shift(trit_context *ctx, int32_t n_keep, int32_t n_discard);

/* ---- Saved state (prompt cache) ------------------------------------------------------------ */

/* A context's state — the tokens of sequence 0, their KV cache rows and the last logits — as a
 * file or a buffer, for a context of the same model with the same type_k / type_v (llama.cpp's
 * session files; `trit run --prompt-cache FILE` reuses the longest common prefix). The state
 * names the model it belongs to (a fingerprint of its shape, vocabulary and weights, and its
 * name); loading refuses another model's state or another KV type (TRIT_ERR_ARG), a truncated or
 * altered one (TRIT_ERR_FORMAT: a checksum covers every byte) and one longer than n_ctx
 * (TRIT_ERR_CONTEXT_FULL), leaving the context unchanged. Thread-safety as the context's. */

/* Writes the state to path (through a temporary file beside it, renamed into place).
 * Returns TRIT_OK, TRIT_ERR_ARG, TRIT_ERR_IO or TRIT_ERR_STATE (busy). */
trit_status trit_state_save_file(trit_context *ctx, const char *path);
/* Replaces the context's sequence 0 with the state in path. Returns TRIT_OK, TRIT_ERR_ARG,
 * TRIT_ERR_IO, TRIT_ERR_FORMAT, TRIT_ERR_UNSUPPORTED (another state version),
 * TRIT_ERR_CONTEXT_FULL or TRIT_ERR_STATE. */
trit_status trit_state_load_file(trit_context *ctx, const char *path);
/* The state into buf: *n_bytes receives its size; with capacity too small nothing is written
 * and TRIT_ERR_BUFFER_TOO_SMALL is returned (buf may be NULL when capacity is 0). */
trit_status trit_state_save(trit_context *ctx, uint8_t *buf, size_t capacity, size_t *n_bytes);
/* The state from n_bytes bytes at buf (as trit_state_load_file). */
trit_status trit_state_load(trit_context *ctx, const uint8_t *buf, size_t n_bytes);

/* ---- Multi-sequence batches -------------------------------------------------------------- */

/* Evaluate n_tokens rows from several sequences in one pass over the weights: row i appends
 * tokens[i] to sequence seq_ids[i] (0 ≤ id < n_seq; rows of one sequence in order). logits
 * (required) receives n_tokens × n_vocab floats, row i the prediction after row i. Sequence 0 is
 * also the sequence of trit_eval/trit_generate. Validated before anything changes.
 * Returns TRIT_OK, TRIT_ERR_ARG (NULLs, ids or tokens out of range), TRIT_ERR_CONTEXT_FULL
 * (a sequence would exceed n_ctx) or TRIT_ERR_STATE (busy). */
trit_status trit_eval_batch(trit_context *ctx, const int32_t *tokens, const int32_t *seq_ids, size_t n_tokens,
                            float *logits);

/* Forget every position of one sequence. Returns TRIT_OK, TRIT_ERR_ARG or TRIT_ERR_STATE. */
trit_status trit_context_reset_seq(trit_context *ctx, int32_t seq_id);

/* As trit_eval_batch, with logits only for the rows whose want_logits[i] is true (want_logits
 * NULL: every row): logits receives one row of n_vocab floats per such row, in row order
 * (logits may be NULL when no row wants any). A prompt needs the logits of its last token only.
 * Fails with TRIT_ERR_CONTEXT_FULL, changing nothing, when a sequence would exceed n_ctx or
 * all sequences together n_cells. Returns TRIT_OK, TRIT_ERR_ARG, TRIT_ERR_CONTEXT_FULL,
 * TRIT_ERR_CANCELLED (the abort callback) or TRIT_ERR_STATE (busy). */
trit_status trit_decode(trit_context *ctx, const int32_t *tokens, const int32_t *seq_ids, const bool *want_logits,
                        size_t n_tokens, float *logits);

/* Positions sequence seq_id holds. Returns TRIT_OK, TRIT_ERR_ARG or TRIT_ERR_STATE (busy). */
trit_status trit_seq_length(trit_context *ctx, int32_t seq_id, int32_t *n_positions);

/* Removes the positions of a sequence from position `from` on (0: all of them) and gives their
 * memory back. Returns TRIT_OK, TRIT_ERR_ARG or TRIT_ERR_STATE (busy). */
trit_status trit_seq_remove(trit_context *ctx, int32_t seq_id, int32_t from);

/* Makes sequence dst hold the first n positions of sequence src (the cache rows are copied, not
 * recomputed: a shared system prompt is evaluated once). Returns TRIT_OK, TRIT_ERR_ARG,
 * TRIT_ERR_CONTEXT_FULL (n_cells) or TRIT_ERR_STATE (busy). */
trit_status trit_seq_copy(trit_context *ctx, int32_t src, int32_t dst, int32_t n);

/* Positions held by all sequences together and the most they may hold (n_cells).
 * Either pointer may be NULL. Returns TRIT_OK, TRIT_ERR_ARG or TRIT_ERR_STATE (busy). */
trit_status trit_context_get_cells(trit_context *ctx, int32_t *used, int32_t *capacity);

/* ---- Embeddings ------------------------------------------------------------------------- */
/* An embedding model (BitNet-embedding: a qwen3 file with a norm before every projection, no
 * output head) only embeds: every call that computes logits or generates with it (trit_eval,
 * trit_eval_batch, trit_decode, trit_generate, trit_generate_tokens, trit_engine_submit)
 * returns TRIT_ERR_UNSUPPORTED saying so. */

/* How the hidden states of an input's positions become one row (trit_embed_params.pooling). */
typedef enum trit_pooling {
    TRIT_POOLING_DEFAULT = 0,  /* the file's (GGUF <arch>.pooling_type, sentence-transformers'
                                  Pooling module); last when the file names none */
    TRIT_POOLING_LAST = 1,     /* the last position's hidden state */
    TRIT_POOLING_MEAN = 2,     /* the mean over every position */
    TRIT_POOLING_CLS = 3       /* the first position's (BERT's [CLS]) */
} trit_pooling;

typedef struct trit_embed_params {
    uint32_t size;       /* sizeof(trit_embed_params); set by trit_embed_default_params() */
    int32_t pooling;     /* a trit_pooling */
    bool normalize;      /* divide each row by its L2 norm (after truncation) */
    int32_t dimensions;  /* keep the first `dimensions` components (Matryoshka truncation, then the
                            normalization); 0 = all (trit_model_info.n_embd) */
    int32_t seq_id;      /* the sequence the inputs are evaluated on (0 ≤ seq_id < n_seq) */
} trit_embed_params;

/* Pooling TRIT_POOLING_DEFAULT, normalize true, dimensions 0, seq_id 0. Inline. */
static inline trit_embed_params trit_embed_default_params(void) {
    trit_embed_params p = {0};
    p.size = (uint32_t)sizeof p;
    p.pooling = TRIT_POOLING_DEFAULT;
    p.normalize = true;
    return p;
}

/* Embed n_inputs token lists into rows of floats, as llama.cpp embeds: the
 * final hidden state after the output norm (the output head's input), pooled over the input's
 * positions, then truncated to `dimensions` and L2-normalized as params say (NULL: defaults).
 * Input i is the n_tokens[i] tokens that follow the previous inputs in `tokens` (one array, the
 * inputs back to back; include BOS yourself); each is evaluated by itself (no attention between
 * inputs) in chunks of n_batch tokens, which do not change the result.
 * out receives n_inputs rows of width = dimensions (or n_embd) floats, row-major; *n_floats
 * receives n_inputs × width. With capacity (in floats) smaller than that, nothing is evaluated and
 * TRIT_ERR_BUFFER_TOO_SMALL is returned (out may be NULL when capacity is 0): call with capacity 0
 * to learn the size. The caller owns every buffer; the library keeps none of them.
 * The sequence seq_id must be empty (TRIT_ERR_STATE otherwise: reset it first) and is empty again
 * when the call returns, successful or not: nothing of the inputs stays in the KV cache. Other
 * sequences are untouched. Thread-safety as the context's (one thread at a time: TRIT_ERR_STATE
 * when busy). The context's abort callback is asked between layers (TRIT_ERR_CANCELLED).
 * Returns TRIT_OK, TRIT_ERR_ARG (NULL pointers, n_inputs 0, an empty input, a token out of range,
 * an unknown pooling, dimensions outside 0..n_embd, seq_id out of range, a bad params size),
 * TRIT_ERR_CONTEXT_FULL (an input longer than n_ctx, or than the free cells),
 * TRIT_ERR_BUFFER_TOO_SMALL, TRIT_ERR_CANCELLED or TRIT_ERR_STATE. */
trit_status trit_embed(trit_context *ctx, const int32_t *tokens, const size_t *n_tokens, size_t n_inputs,
                       const trit_embed_params *params, float *out, size_t capacity, size_t *n_floats);

/* ---- Sampling parameters ------------------------------------------------------------ */

/* How a token is chosen from a row of logits: used by trit_sampler_create() and, as the
 * `sampling` member, by trit_generate_params. */
#define TRIT_SEED_RANDOM UINT64_MAX   /* a seed taken from the system at creation */

typedef struct trit_logit_bias {
    int32_t token;
    float bias;                /* added to the token's logit; -INFINITY bans it */
} trit_logit_bias;

typedef struct trit_sampler_params {
    uint32_t size;             /* sizeof(trit_sampler_params); set by trit_sampler_default_params() */
    float temperature;         /* ≤ 0: greedy */
    int32_t top_k;             /* 0 = off */
    float top_p;               /* (0, 1]; 1 = off */
    float min_p;               /* [0, 1]; 0 = off */
    float repeat_penalty;      /* 1 = off */
    float presence_penalty;    /* [-100, 100]; 0 = off (OpenAI's meaning) */
    float frequency_penalty;   /* [-100, 100]; 0 = off (OpenAI's meaning) */
    int32_t penalty_last_n;    /* the window of the three penalties, in tokens */
    uint64_t seed;             /* TRIT_SEED_RANDOM: from the system */
    const trit_logit_bias *logit_bias;   /* copied at creation */
    size_t n_logit_bias;
} trit_sampler_params;

/* llama.cpp's defaults: temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, penalties off over
 * 64 tokens, seed 0xC0FFEE, no bias. Inline; thread-safe. */
static inline trit_sampler_params trit_sampler_default_params(void) {
    trit_sampler_params p = {0};
    p.size = (uint32_t)sizeof p;
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.penalty_last_n = 64;
    p.seed = 0xC0FFEE;
    return p;
}

/* ---- Generation ------------------------------------------------------------------------- */

/* A token constraint (structured output: JSON schemas, grammars, regular expressions), carried by
 * trit_generate_params and trit_request. Before each sampling step the library clears an array of
 * n_words = ceil(n_vocab / 32) words and calls the mask callback to fill it: bit (t % 32) of word
 * t / 32 set allows token t (bits past n_vocab are ignored). The sampler then treats every
 * disallowed token as -INFINITY before its chain (logit bias → penalties → top-k → ... → draw),
 * so the chosen token is always allowed, and the accept callback (may be NULL) is told the chosen
 * token, an end-of-generation token included, before its text is delivered. A mask that allows
 * no token ends generation with TRIT_STOP_CONSTRAINT (a request: TRIT_FINISH_CONSTRAINT); no
 * unconstrained token is ever chosen. A callback that returns nonzero reports an error: see
 * trit_generate and TRIT_FINISH_CONSTRAINT_ERROR. mask is valid only during the call.
 * With TRIT_HEAD_CERTIFIED a constrained step takes its candidates among the allowed tokens only
 * (the tokens are exact mode's under the same mask); it computes the whole exact head row when
 * the mask leaves fewer tokens than the chain's truncation keeps, or when logprobs are asked.
 * Threads: trit_generate* calls both on the caller's thread; an engine request on the engine's
 * scheduler thread (as its other callbacks). Lifetime: the callbacks and their user data must
 * stay valid until trit_generate* returns, or until the request's done callback has run. */
typedef int32_t (*trit_mask_fn)(uint32_t *mask, size_t n_words, void *user_data);
typedef int32_t (*trit_token_fn)(int32_t token, void *user_data);

/* Jump-forward (optional, with a constraint): after each chosen token the constraint has accepted
 * (not an end-of-generation token), the library calls constraint_forced with a buffer of
 * `capacity` (TRIT_FORCED_CAPACITY) token ids. It writes the tokens the constraint forces next —
 * text that is the grammar's only continuation, in its canonical tokenization — and returns their
 * count (0: none). The constraint counts them as accepted (constraint_accept is not told them).
 * The library appends them to the sequence together with the chosen token as one prompt chunk
 * (one forward pass, no sampling step each): they are generated tokens (n_generated_tokens,
 * usage.completion_tokens, max_tokens), their text is generated text (stop strings apply), and
 * trit_generate_result.n_forced_tokens / trit_usage.forced_tokens count them, so decode steps =
 * generated - forced. Generation ends where max_tokens, a stop string or a full context (without
 * a context shift) cuts them. An engine request's on_logprobs reports each forced token with
 * log-probability 0 (certain under the constraint) and no alternatives. A negative return is the
 * callback's error (as a mask callback's nonzero: TRIT_ERR_CANCELLED naming it). A count above
 * capacity, an id outside the vocabulary or an end-of-generation token (those are always sampled)
 * is refused: trit_generate* returns TRIT_ERR_ARG naming it. Either way the context is as after a
 * callback error, and a request ends with TRIT_FINISH_CONSTRAINT_ERROR. Thread, lifetime and user
 * data: as constraint_mask. */
#define TRIT_FORCED_CAPACITY 256
typedef int32_t (*trit_forced_fn)(int32_t *tokens, size_t capacity, void *user_data);

typedef struct trit_generate_params {
    uint32_t size;             /* sizeof(trit_generate_params); set by trit_generate_default_params() */
    int32_t max_tokens;        /* tokens to generate at most; ≤ 0: until EOS or the context is full */
    float temperature;         /* ≤ 0: greedy (argmax) */
    int32_t top_k;             /* keep the k most likely tokens; 0 = off */
    float top_p;               /* nucleus sampling threshold in (0, 1]; 1 = off */
    float min_p;               /* drop tokens below min_p × the top probability; 0 = off */
    float repeat_penalty;      /* 1 = off; > 1 discourages tokens seen in the window */
    int32_t repeat_last_n;     /* window of the repetition penalty, in tokens */
    uint64_t seed;             /* same seed, same prompt, same parameters → same text */
    const char *const *stop;   /* stop strings (NUL-terminated); the text ends before the first one */
    size_t n_stop;
    bool ignore_eos;           /* keep generating past end-of-generation tokens */
    bool add_special;          /* trit_generate: add BOS to the prompt if the context is empty */
    bool parse_special;        /* trit_generate: parse control-token texts in the prompt */
    bool context_shift;        /* when the context is full: drop the older half of the positions
                                  after the first n_keep and go on (llama.cpp's --context-shift;
                                  see trit_context_shift); false: stop with TRIT_STOP_CONTEXT_FULL */
    int32_t n_keep;            /* positions a context shift keeps at the start (≥ 0; e.g. the
                                  system prompt) */
    trit_sampler_params sampling;  /* the whole sampler (penalties, logit bias, ...): used instead
                                  of the fields temperature … seed above when sampling.size is
                                  set (e.g. p.sampling = trit_sampler_default_params()); left 0
                                  (the default) those fields apply, so code written for them and
                                  callers built before this member existed (their smaller `size`
                                  ends before it) keep working unchanged */
    trit_mask_fn constraint_mask;     /* NULL (the default): unconstrained; see trit_mask_fn */
    trit_token_fn constraint_accept;  /* told each chosen token; may be NULL */
    void *constraint_user_data;       /* passed to both */
    trit_forced_fn constraint_forced; /* NULL: no jump-forward; see trit_forced_fn (needs constraint_mask) */
} trit_generate_params;

/* Defaults (llama.cpp's): max_tokens 128, temperature 0.8, top_k 40, top_p 0.95, min_p 0.05,
 * repeat_penalty 1.0, repeat_last_n 64, seed 0xC0FFEE, no stop strings, ignore_eos false,
 * add_special true, parse_special false, no context shift (n_keep 0), sampling unset (size 0:
 * the fields above apply). Inline; thread-safe. */
static inline trit_generate_params trit_generate_default_params(void) {
    trit_generate_params p = {0};
    p.size = (uint32_t)sizeof p;
    p.max_tokens = 128;
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    p.seed = 0xC0FFEE;
    p.add_special = true;
    return p;
}

/* Receives generated text as it becomes final: whole UTF-8 characters, never part of a stop
 * string. piece is not NUL-terminated and is valid only during the call. Return false to
 * stop generation (the result's stop_reason is then TRIT_STOP_CALLBACK). */
typedef bool (*trit_piece_fn)(const char *piece, size_t len, void *user_data);

/* Values of trit_generate_result.stop_reason. */
typedef enum trit_stop_reason {
    TRIT_STOP_LENGTH = 0,       /* max_tokens reached */
    TRIT_STOP_EOG = 1,          /* an end-of-generation token */
    TRIT_STOP_STRING = 2,       /* a stop string */
    TRIT_STOP_CONTEXT_FULL = 3, /* the context has no free position */
    TRIT_STOP_CALLBACK = 4,     /* the piece callback returned false */
    TRIT_STOP_ABORTED = 5,      /* the context's abort callback returned true */
    TRIT_STOP_CONSTRAINT = 6    /* the constraint's mask allowed no token (trit_mask_fn) */
} trit_stop_reason;

typedef struct trit_generate_result {
    uint32_t size;                /* set by the caller: sizeof(trit_generate_result) */
    int32_t n_prompt_tokens;
    int32_t n_generated_tokens;
    int32_t stop_reason;          /* a trit_stop_reason */
    double prompt_seconds;        /* time to evaluate the prompt */
    double generation_seconds;    /* time spent generating */
    int32_t n_forced_tokens;      /* of n_generated_tokens, those forced by the constraint (trit_forced_fn) */
} trit_generate_result;

/* Tokenize prompt (NUL-terminated), append it to the context, and generate. Text goes to
 * on_piece (may be NULL); result (may be NULL, else result->size set) receives counts and
 * timings. Generation continues the context: call trit_context_reset() first for an
 * unrelated prompt.
 * Afterwards the context holds the prompt and exactly the text delivered to on_piece (tokens
 * past a stop string or a callback's stop are removed; a token cut by them is replaced by the
 * tokens of its kept part), followed by the end-of-generation token when generation ended on
 * one (TRIT_STOP_EOG). A chat turn that ended otherwise has no end-of-turn token: close it
 * (e.g. "<|eot_id|>") before the next turn. The context's abort callback is asked before each
 * token (TRIT_STOP_ABORTED, TRIT_OK) and during the prompt (TRIT_ERR_CANCELLED).
 * Returns TRIT_OK (also when stopped by the callback or a full context),
 * TRIT_ERR_ARG (NULL ctx/prompt, invalid UTF-8 or params), TRIT_ERR_CONTEXT_FULL (the prompt
 * does not fit), TRIT_ERR_STATE (busy, or the model has no tokenizer), TRIT_ERR_CANCELLED (a
 * constraint callback returned nonzero: trit_last_error() names the callback and its value;
 * result is not written and the context holds the prompt and the text delivered, as after
 * TRIT_STOP_CALLBACK). */
trit_status trit_generate(trit_context *ctx, const char *prompt, const trit_generate_params *params,
                          trit_piece_fn on_piece, void *user_data, trit_generate_result *result);

/* As trit_generate, with the prompt already tokenized. n_tokens may be 0 to continue from
 * the context's last logits; after trit_context_truncate() of any position or a
 * trit_eval_batch() that appended to sequence 0 there are none: TRIT_ERR_STATE. */
trit_status trit_generate_tokens(trit_context *ctx, const int32_t *tokens, size_t n_tokens,
                                 const trit_generate_params *params, trit_piece_fn on_piece,
                                 void *user_data, trit_generate_result *result);

/* ---- Samplers ------------------------------------------------------------------------- */

/* A sampler chooses a token from any row of logits: logit bias → repetition penalty →
 * presence and frequency penalties → top-k → top-p → min-p → temperature → draw (greedy when
 * temperature ≤ 0), as llama.cpp orders them. It keeps the window of recent tokens (accept)
 * and its random state; the same seed and inputs give the same tokens. Not thread-safe: one
 * thread at a time per sampler. */
typedef struct trit_sampler trit_sampler;

/* A sampler for the model's vocabulary; free with trit_sampler_free(). Returns TRIT_OK,
 * TRIT_ERR_ARG (a parameter out of range, a bias on a token outside the vocabulary) or
 * TRIT_ERR_OOM. */
trit_status trit_sampler_create(const trit_model *model, const trit_sampler_params *params, trit_sampler **out);
/* NULL and freed handles are no-ops. */
void trit_sampler_free(trit_sampler *sampler);
/* Chooses a token from n_vocab logits (e.g. a row from trit_decode). It is not accepted:
 * call trit_sampler_accept with the token you keep. Returns TRIT_OK or TRIT_ERR_ARG. */
trit_status trit_sampler_sample(trit_sampler *sampler, const float *logits, int32_t *token);
/* Adds a token (a prompt token or a kept sample) to the penalty window. */
trit_status trit_sampler_accept(trit_sampler *sampler, int32_t token);
/* Empties the window and restarts the random state from the seed. */
trit_status trit_sampler_reset(trit_sampler *sampler);

/* ---- Engine: continuous batching ------------------------------------------------------- */

/* An engine owns a context with n_slots sequences and one scheduler thread. Each step decodes
 * one batch: a row for every running request and chunks of waiting prompts up to n_batch tokens
 * (a long prompt never stalls the running streams for more than a step). Requests start in
 * arrival order when a slot is free; a finished request's tokens stay in its slot, and a new
 * request takes the free slot sharing the longest token prefix with its prompt (multi-turn chat,
 * shared system prompts), evaluating only the rest.
 * Thread-safe: every function may be called from any thread. The callbacks of a request run on
 * the scheduler thread, one request at a time, and may call the engine's functions. */
typedef struct trit_engine trit_engine;

typedef struct trit_engine_params {
    uint32_t size;          /* sizeof(trit_engine_params); set by trit_engine_default_params() */
    int32_t n_slots;        /* requests decoded together (1..256) */
    int32_t n_ctx;          /* positions per slot (0 = the model's training context, at most 4096) */
    int32_t n_batch;        /* tokens per step (1..4096) */
    int32_t n_threads;      /* 0 = one per online core */
    int32_t queue_limit;    /* waiting requests beyond which submit returns TRIT_ERR_BUSY */
    int32_t n_cells;        /* positions all slots hold together (0 = n_slots × n_ctx) */
    int32_t type_k;         /* trit_kv_type of the cached keys (default TRIT_KV_F16) */
    int32_t type_v;         /* trit_kv_type of the cached values (default TRIT_KV_F16) */
    int32_t checkpoints;    /* hybrid models (qwen35): copies of a slot's recurrent state kept at prompt chunk
                             * ends, so a request sharing a prefix (a chat's next turn) resumes from the longest
                             * one within it; 0 to 64 (default 4; 0: none, a slot is reused only when its whole
                             * sequence prefixes the new prompt). Memory:
                             * n_slots × checkpoints × one state (157 MiB at 27B). llama-server's --ctx-checkpoints */
    int32_t min_prompt_tokens;  /* prompt tokens a step takes at least while requests decode, 1 to 4096 (within
                                 * n_batch; default 16: the streams' inter-token gaps stay within about two
                                 * decode steps while prompts are read; n_batch: every step filled, as
                                 * llama-server does: more tokens/s with many requests, longer gaps meanwhile) */
    bool attn_int8;         /* int8 attention scores, as trit_context_params.attn_int8 (default false; needs
                             * type_k TRIT_KV_Q8_0, else trit_engine_create returns TRIT_ERR_ARG) */
} trit_engine_params;

/* n_slots 4, n_ctx 0, n_batch 128, n_threads 0, queue_limit 256, n_cells 0, F16 keys and
 * values, 4 checkpoints, min_prompt_tokens 16, float attention (also for a caller whose struct predates
 * type_k / type_v / checkpoints / min_prompt_tokens / attn_int8). Inline. */
static inline trit_engine_params trit_engine_default_params(void) {
    trit_engine_params p = {0};
    p.size = (uint32_t)sizeof p;
    p.n_slots = 4;
    p.n_batch = 128;
    p.queue_limit = 256;
    p.type_k = TRIT_KV_F16;
    p.type_v = TRIT_KV_F16;
    p.checkpoints = 4;
    p.min_prompt_tokens = 16;
    return p;
}

/* Values of the finish_reason of a request's done callback. */
typedef enum trit_finish_reason {
    TRIT_FINISH_LENGTH = 0,        /* max_tokens reached */
    TRIT_FINISH_STOP = 1,          /* an end-of-generation token or a stop string */
    TRIT_FINISH_CONTEXT_FULL = 2,  /* the slot (or the cache) has no free position */
    TRIT_FINISH_CANCELLED = 3,     /* trit_engine_cancel, the piece callback, or trit_engine_free */
    TRIT_FINISH_CONSTRAINT = 4,    /* the request's constraint allowed no token (trit_mask_fn) */
    TRIT_FINISH_CONSTRAINT_ERROR = 5  /* a constraint callback returned nonzero */
} trit_finish_reason;

typedef struct trit_usage {
    uint32_t size;               /* sizeof(trit_usage) as the library fills it */
    int32_t prompt_tokens;
    int32_t completion_tokens;
    int32_t cached_tokens;       /* prompt tokens reused from a slot's cache */
    int32_t forced_tokens;       /* of completion_tokens, those the constraint forced (trit_forced_fn) */
} trit_usage;

/* Called once when a request ends, last of its callbacks. usage is valid during the call. */
typedef void (*trit_done_fn)(int64_t id, int32_t finish_reason, const trit_usage *usage, void *user_data);

/* A sampled token with its log-probability (log-softmax of the model's logits) and the n_top most
 * likely tokens with theirs (most likely first). The arrays are valid during the call. */
typedef void (*trit_logprobs_fn)(int32_t token, float logprob, const int32_t *top_tokens, const float *top_logprobs,
                                 size_t n_top, void *user_data);

/* An embedding request's row: width floats, valid during the call; before its done callback. */
typedef void (*trit_embedding_fn)(const float *row, size_t width, void *user_data);

typedef struct trit_request {
    uint32_t size;                  /* sizeof(trit_request); set by trit_request_default() */
    const char *prompt;             /* NUL-terminated UTF-8, or NULL to use tokens */
    const int32_t *tokens;          /* the prompt as token ids when prompt is NULL */
    size_t n_tokens;
    bool add_special;               /* text prompts: add BOS as the vocabulary asks */
    bool parse_special;             /* text prompts: parse control-token texts */
    bool ignore_eos;
    const trit_sampler_params *sampling;   /* NULL: defaults; copied at submit */
    int32_t max_tokens;             /* ≤ 0: until the slot is full */
    const char *const *stop;        /* stop strings; the text ends before the first one */
    size_t n_stop;
    trit_piece_fn on_piece;         /* text as it becomes final; return false to cancel */
    trit_done_fn on_done;           /* the end, with the finish reason and the token counts */
    void *user_data;                /* passed to the callbacks */
    int32_t logprobs;               /* report this many most likely tokens with each token (0..20) */
    trit_logprobs_fn on_logprobs;   /* with logprobs > 0: each sampled token, before its text */
    trit_mask_fn constraint_mask;     /* NULL: unconstrained; else called on the scheduler thread
                                         before each of the request's sampling steps (trit_mask_fn) */
    trit_token_fn constraint_accept;  /* told each chosen token; may be NULL */
    void *constraint_user_data;       /* passed to both (not user_data) */
    trit_forced_fn constraint_forced; /* NULL: no jump-forward; else called on the scheduler thread after
                                         each accepted token (trit_forced_fn); the forced tokens go into
                                         the request's next step as a prompt chunk */
    const trit_embed_params *embedding;  /* non-NULL: an embedding request (its pooling, normalize and
                                            dimensions; seq_id unused): no token is generated, the
                                            prompt's row goes to on_embedding, finish reason STOP, and
                                            nothing of it stays cached. Its prompt chunks share the
                                            engine's steps with generation requests. TRIT_ERR_ARG for
                                            dimensions out of range; TRIT_ERR_UNSUPPORTED with the
                                            certified head. Copied at submit. */
    trit_embedding_fn on_embedding;   /* the row, on the scheduler thread (user_data passed) */
} trit_request;

/* add_special true, max_tokens 128, everything else 0/NULL. Inline. */
static inline trit_request trit_request_default(void) {
    trit_request r = {0};
    r.size = (uint32_t)sizeof r;
    r.add_special = true;
    r.max_tokens = 128;
    return r;
}

/* Starts an engine on a model (which it keeps alive). Free with trit_engine_free(). Returns
 * TRIT_OK, TRIT_ERR_ARG, TRIT_ERR_STATE (the model has no tokenizer) or TRIT_ERR_OOM. */
trit_status trit_engine_create(trit_model *model, const trit_engine_params *params, trit_engine **out);

/* Cancels every request (each done callback runs, TRIT_FINISH_CANCELLED), joins the scheduler
 * thread and frees the engine. NULL and freed handles are no-ops. Not to be called from a
 * callback of the same engine. */
void trit_engine_free(trit_engine *engine);

/* Queues a request; *id receives its id (> 0). The request's callbacks are called later, on
 * the scheduler thread; on failure neither is called. Returns TRIT_OK, TRIT_ERR_ARG (bad
 * request: empty or invalid UTF-8 prompt, tokens out of range, sampler parameters),
 * TRIT_ERR_CONTEXT_FULL (the prompt is longer than a slot), TRIT_ERR_BUSY (the queue is
 * full) or TRIT_ERR_UNSUPPORTED (an embedding model: it has no head to generate with). */
trit_status trit_engine_submit(trit_engine *engine, const trit_request *request, int64_t *id);

/* Stops a request at the next step and frees its slot (its done callback runs with
 * TRIT_FINISH_CANCELLED). Returns TRIT_OK, or TRIT_ERR_ARG for an unknown or finished id. */
trit_status trit_engine_cancel(trit_engine *engine, int64_t id);

typedef struct trit_engine_stats {
    uint32_t size;               /* set by the caller: sizeof(trit_engine_stats) */
    int32_t running;             /* requests holding a slot */
    int32_t waiting;             /* requests in the queue */
    int32_t cells_used;          /* cache positions held (running and cached prefixes) */
    int32_t cells_total;
    int64_t tokens_generated;
    int64_t prompt_tokens_evaluated;
    int64_t requests_finished;
    int32_t n_ctx_slot;          /* positions one request (slot) may hold: trit_engine_params.n_ctx resolved */
    int64_t tokens_forced;       /* of tokens_generated, those forced by constraints (trit_forced_fn) */
} trit_engine_stats;

/* Returns TRIT_OK or TRIT_ERR_ARG. */
trit_status trit_engine_get_stats(trit_engine *engine, trit_engine_stats *out);

/* ---- Scoring ---------------------------------------------------------------------------- */

/* Log-likelihood of `continuation` after `context` (lm-eval's loglikelihood): resets the context,
 * evaluates both, and writes Σ log p(continuation_i | ...) to *log_prob and whether every
 * continuation token is the greedy choice to *is_greedy (either may be NULL). The context must
 * start the text (include BOS yourself). Returns TRIT_OK, TRIT_ERR_ARG (NULL, empty, token out of
 * range), TRIT_ERR_CONTEXT_FULL or TRIT_ERR_STATE (busy). */
trit_status trit_score(trit_context *ctx, const int32_t *context, size_t n_context,
                       const int32_t *continuation, size_t n_continuation, double *log_prob, bool *is_greedy);

/* ---- Chat ------------------------------------------------------------------------------- */

typedef struct trit_chat_message {
    const char *role;     /* "system", "user" or "assistant" (NUL-terminated) */
    const char *content;  /* NUL-terminated UTF-8 */
} trit_chat_message;

/* Format messages as the model's chat prompt. template_name NULL picks the format from the
 * architecture and vocabulary ("bitnet" for BitNet b1.58 2B4T, "llama3", "chatml" for Qwen3 /
 * Bonsai vocabularies with <|im_start|> and <|im_end|>, else "plain"); "bitnet", "llama3",
 * "chatml" or "plain" force one. The text has no BOS: pass it to trit_generate
 * with add_special and parse_special true. Output as in trit_detokenize (NUL-terminated,
 * TRIT_ERR_BUFFER_TOO_SMALL with the needed length). Thread-safe.
 * Returns TRIT_OK, TRIT_ERR_ARG (NULL, unknown template) or TRIT_ERR_BUFFER_TOO_SMALL. */
trit_status trit_chat_format(const trit_model *model, const trit_chat_message *messages, size_t n_messages,
                             const char *template_name, bool add_generation_prompt,
                             char *buf, size_t capacity, size_t *n_bytes);

#ifdef __cplusplus
}
#endif
#endif /* TRIT_H */
