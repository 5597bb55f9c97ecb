/* _trit: the CPython extension over trit.h. Handles travel as capsules holding a small box
 * (the handle, cleared when closed); every long call releases the GIL; every failure raises
 * trit.TritError(status, message). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "trit.h"
#include "limited_api.h"

static PyObject *TritError;

static PyObject *raise_status(trit_status st) {
    PyObject *args = Py_BuildValue("(is)", (int)st, trit_last_error());
    if (args) { PyErr_SetObject(TritError, args); Py_DECREF(args); }
    return NULL;
}

static PyObject *raise_error(trit_status st, const char *message) {
    PyObject *args = Py_BuildValue("(is)", (int)st, message);
    if (args) { PyErr_SetObject(TritError, args); Py_DECREF(args); }
    return NULL;
}

/* ---- capsules ----
 * A capsule holds a box: the trit handle (NULL once closed), and for a context the sizes its
 * outputs need and the flag its abort callback reads (set by abort() from another thread). */
typedef struct {
    void *handle;
    int kind;                 /* 0 context, 1 model, 2 tokenizer, 3 engine */
    int32_t n_vocab;          /* context: the model's vocabulary */
    atomic_int abort;         /* context: asks the running call to stop */
} box;

static const char *const capsule_names[] = {"trit_context", "trit_model", "trit_tokenizer", "trit_engine"};
#define N_KINDS 4

static void free_handle(box *b) {
    if (!b->handle) return;
    void *h = b->handle;
    b->handle = NULL;
    if (b->kind == 0) trit_context_free(h);
    else if (b->kind == 1) trit_model_free(h);
    else if (b->kind == 2) trit_tokenizer_free(h);
    else {
        /* the scheduler thread's callbacks take the GIL: let them run while it is joined */
        Py_BEGIN_ALLOW_THREADS
        trit_engine_free(h);
        Py_END_ALLOW_THREADS
    }
}

static void free_capsule(PyObject *cap) {
    for (int k = 0; k < N_KINDS; k++) {
        if (PyCapsule_IsValid(cap, capsule_names[k])) {
            box *b = PyCapsule_GetPointer(cap, capsule_names[k]);
            free_handle(b);
            PyMem_RawFree(b);
        }
    }
}

static PyObject *new_capsule(void *handle, int kind, box **out) {
    box *b = PyMem_RawCalloc(1, sizeof *b);
    if (!b) {
        void *h = handle;
        box tmp = {h, kind, 0, 0};
        free_handle(&tmp);
        return PyErr_NoMemory();
    }
    b->handle = handle;
    b->kind = kind;
    PyObject *cap = PyCapsule_New(b, capsule_names[kind], free_capsule);
    if (!cap) { free_handle(b); PyMem_RawFree(b); return NULL; }
    if (out) *out = b;
    return cap;
}

/* The box of a capsule of kind k with a live handle, or NULL with an exception set. */
static box *box_of(PyObject *cap, int kind) {
    if (!PyCapsule_IsValid(cap, capsule_names[kind])) {
        PyErr_Format(PyExc_TypeError, "expected a %s handle", capsule_names[kind]);
        return NULL;
    }
    box *b = PyCapsule_GetPointer(cap, capsule_names[kind]);
    if (!b->handle) { raise_error(TRIT_ERR_STATE, "the object is closed"); return NULL; }
    return b;
}

static bool abort_requested(void *user) { return atomic_load((atomic_int *)user) != 0; }

/* A tokenizer from a capsule: either a loaded tokenizer or a model's. */
static const trit_tokenizer *tokenizer_of(PyObject *cap) {
    if (PyCapsule_IsValid(cap, "trit_tokenizer")) {
        box *b = box_of(cap, 2);
        return b ? b->handle : NULL;
    }
    if (PyCapsule_IsValid(cap, "trit_model")) {
        box *b = box_of(cap, 1);
        if (!b) return NULL;
        const trit_tokenizer *t = NULL;
        trit_status st = trit_model_get_tokenizer(b->handle, &t);
        if (st != TRIT_OK) { raise_status(st); return NULL; }
        return t;
    }
    PyErr_SetString(PyExc_TypeError, "expected a model or tokenizer handle");
    return NULL;
}

static PyObject *py_model_load(PyObject *self, PyObject *args) {
    const char *path;
    int int8_head = 0, head = TRIT_HEAD_EXACT, float_act = 0, layout = TRIT_TERNARY_AUTO;
    if (!PyArg_ParseTuple(args, "s|pipi", &path, &int8_head, &head, &float_act, &layout)) return NULL;
    trit_model *m = NULL;
    trit_model_params mp = trit_model_default_params();
    mp.int8_head = int8_head;
    mp.head = head;
    mp.float_activations = float_act;
    mp.ternary_layout = layout;
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_model_load(path, &mp, &m);
    Py_END_ALLOW_THREADS
    if (st != TRIT_OK) return raise_status(st);
    return new_capsule(m, 1, NULL);
}

static PyObject *py_tokenizer_load(PyObject *self, PyObject *args) {
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    trit_tokenizer *t = NULL;
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_tokenizer_load(path, &t);
    Py_END_ALLOW_THREADS
    if (st != TRIT_OK) return raise_status(st);
    return new_capsule(t, 2, NULL);
}

/* Frees a handle now (close()); the capsule then holds nothing and later calls raise. */
static PyObject *py_close(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    for (int k = 0; k < N_KINDS; k++) {
        if (PyCapsule_IsValid(cap, capsule_names[k])) {
            box *b = PyCapsule_GetPointer(cap, capsule_names[k]);
            void *h = b->handle;
            b->handle = NULL;
            box tmp = {h, k, 0, 0};
            if (k == 3) {
                free_handle(&tmp);   /* releases the GIL itself */
            } else {
                Py_BEGIN_ALLOW_THREADS   /* a context waits for a call another thread is making */
                free_handle(&tmp);
                Py_END_ALLOW_THREADS
            }
        }
    }
    Py_RETURN_NONE;
}

/* Asks the context's running call (another thread's) to stop at its next layer or token. */
static PyObject *py_abort(PyObject *self, PyObject *args) {
    PyObject *cap;
    int on = 1;
    if (!PyArg_ParseTuple(args, "O|p", &cap, &on)) return NULL;
    if (!PyCapsule_IsValid(cap, "trit_context")) { PyErr_SetString(PyExc_TypeError, "expected a context handle"); return NULL; }
    box *b = PyCapsule_GetPointer(cap, "trit_context");
    atomic_store(&b->abort, on);
    Py_RETURN_NONE;
}

/* The model file's chat template (str), or None when it has none. */
static PyObject *py_model_chat_template(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    box *mb = box_of(cap, 1);
    if (!mb) return NULL;
    const char *t = NULL;
    trit_status st = trit_model_get_chat_template(mb->handle, &t);
    if (st == TRIT_ERR_STATE) Py_RETURN_NONE;
    if (st != TRIT_OK) return raise_status(st);
    return PyUnicode_DecodeUTF8(t, (Py_ssize_t)strlen(t), "replace");
}

static PyObject *py_model_info(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    box *mb = box_of(cap, 1);
    if (!mb) return NULL;
    trit_model *m = mb->handle;
    trit_model_info i = {.size = sizeof i};
    trit_status st = trit_model_get_info(m, &i);
    if (st != TRIT_OK) return raise_status(st);
    return Py_BuildValue("{s:s,s:s,s:L,s:L,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}",
                         "architecture", i.architecture, "file_type", i.file_type, "n_params", (long long)i.n_params,
                         "weight_bytes", (long long)i.weight_bytes, "n_vocab", i.n_vocab, "n_ctx_train", i.n_ctx_train,
                         "n_embd", i.n_embd, "n_layer", i.n_layer, "n_head", i.n_head, "n_head_kv", i.n_head_kv,
                         "n_ff", i.n_ff, "bos", i.bos, "eos", i.eos, "eot", i.eot);
}

static PyObject *py_tokenize(PyObject *self, PyObject *args) {
    PyObject *cap;
    const char *text;
    Py_ssize_t len;
    int add_special, parse_special;
    if (!PyArg_ParseTuple(args, "Oy#pp", &cap, &text, &len, &add_special, &parse_special)) return NULL;
    const trit_tokenizer *t = tokenizer_of(cap);
    if (!t) return NULL;
    size_t cap_n = (size_t)len + 8, n = 0;
    if (cap_n > PY_SSIZE_T_MAX / sizeof(int32_t)) return PyErr_NoMemory();
    int32_t *ids = PyMem_Malloc(cap_n * sizeof(int32_t));
    if (!ids) return PyErr_NoMemory();
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_tokenize(t, text, (size_t)len, add_special, parse_special, ids, cap_n, &n);
    Py_END_ALLOW_THREADS
    if (st == TRIT_ERR_BUFFER_TOO_SMALL) {
        PyMem_Free(ids);
        cap_n = n;
        ids = PyMem_Malloc((cap_n ? cap_n : 1) * sizeof(int32_t));
        if (!ids) return PyErr_NoMemory();
        st = trit_tokenize(t, text, (size_t)len, add_special, parse_special, ids, cap_n, &n);
    }
    if (st != TRIT_OK) { PyMem_Free(ids); return raise_status(st); }
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (!list) { PyMem_Free(ids); return NULL; }
    for (size_t i = 0; list && i < n; i++) PyList_SET_ITEM(list, (Py_ssize_t)i, PyLong_FromLong(ids[i]));
    PyMem_Free(ids);
    return list;
}

/* Reads a Python sequence of ints into a malloc'd int32 array. */
static int32_t *int_array(PyObject *seq, Py_ssize_t *n) {
    if (PyUnicode_Check(seq) || PyBytes_Check(seq) || PyByteArray_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "token ids must be a sequence of ints, not text or bytes");
        return NULL;
    }
    PyObject *fast = PySequence_Fast(seq, "token ids must be a sequence of ints");
    if (!fast) return NULL;
    *n = PySequence_Fast_GET_SIZE(fast);
    if ((size_t)*n > PY_SSIZE_T_MAX / sizeof(int32_t)) { Py_DECREF(fast); PyErr_NoMemory(); return NULL; }
    int32_t *out = PyMem_Malloc((size_t)(*n ? *n : 1) * sizeof(int32_t));
    if (!out) { Py_DECREF(fast); PyErr_NoMemory(); return NULL; }
    for (Py_ssize_t i = 0; i < *n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        if (!PyLong_Check(item)) {
            PyMem_Free(out); Py_DECREF(fast);
            char at[48];
            snprintf(at, sizeof at, " at index %zd", i);
            type_error_got("token ids must be ints, got ", item, at);
            return NULL;
        }
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(item, &overflow);
        if (v == -1 && PyErr_Occurred()) { PyMem_Free(out); Py_DECREF(fast); return NULL; }
        if (overflow || v < INT32_MIN || v > INT32_MAX) {   /* out of any vocabulary: the library's error */
            PyMem_Free(out); Py_DECREF(fast);
            char msg[96];
            snprintf(msg, sizeof msg, "token id at index %zd does not fit in a 32-bit int", i);
            raise_error(TRIT_ERR_ARG, msg);
            return NULL;
        }
        out[i] = (int32_t)v;
    }
    Py_DECREF(fast);
    return out;
}

static PyObject *py_detokenize(PyObject *self, PyObject *args) {
    PyObject *cap, *seq;
    int render_special = 0;
    if (!PyArg_ParseTuple(args, "OO|p", &cap, &seq, &render_special)) return NULL;
    const trit_tokenizer *t = tokenizer_of(cap);
    if (!t) return NULL;
    Py_ssize_t n;
    int32_t *ids = int_array(seq, &n);
    if (!ids) return NULL;
    size_t need = 0;
    trit_status st = trit_detokenize(t, ids, (size_t)n, render_special, NULL, 0, &need);
    if (st != TRIT_OK && st != TRIT_ERR_BUFFER_TOO_SMALL) { PyMem_Free(ids); return raise_status(st); }
    char *buf = PyMem_Malloc(need + 1);
    if (!buf) { PyMem_Free(ids); return PyErr_NoMemory(); }
    st = trit_detokenize(t, ids, (size_t)n, render_special, buf, need + 1, &need);
    PyMem_Free(ids);
    if (st != TRIT_OK) { PyMem_Free(buf); return raise_status(st); }
    PyObject *r = PyBytes_FromStringAndSize(buf, (Py_ssize_t)need);
    PyMem_Free(buf);
    return r;
}

static PyObject *py_context_create(PyObject *self, PyObject *args) {
    PyObject *cap;
    int n_ctx, n_threads, n_batch, n_seq = 1, type_k = TRIT_KV_F16, type_v = TRIT_KV_F16, attn_int8 = 0;
    if (!PyArg_ParseTuple(args, "Oiii|iiip", &cap, &n_ctx, &n_threads, &n_batch, &n_seq, &type_k, &type_v, &attn_int8))
        return NULL;
    box *mb = box_of(cap, 1);
    if (!mb) return NULL;
    trit_model_info info = {.size = sizeof info};
    trit_status st = trit_model_get_info(mb->handle, &info);
    if (st != TRIT_OK) return raise_status(st);
    box *b = PyMem_RawCalloc(1, sizeof *b);
    if (!b) return PyErr_NoMemory();
    trit_context_params p = trit_context_default_params();
    p.n_ctx = n_ctx; p.n_threads = n_threads; p.n_batch = n_batch; p.n_seq = n_seq;
    p.type_k = type_k; p.type_v = type_v; p.attn_int8 = attn_int8 != 0;
    p.abort_callback = abort_requested;
    p.abort_user_data = &b->abort;
    trit_context *c = NULL;
    Py_BEGIN_ALLOW_THREADS
    st = trit_context_create(mb->handle, &p, &c);
    Py_END_ALLOW_THREADS
    if (st != TRIT_OK) { PyMem_RawFree(b); return raise_status(st); }
    b->handle = c;
    b->kind = 0;
    b->n_vocab = info.n_vocab;
    PyObject *out = PyCapsule_New(b, "trit_context", free_capsule);
    if (!out) { free_handle(b); PyMem_RawFree(b); }
    return out;
}

static box *context_box(PyObject *cap) { return box_of(cap, 0); }
static trit_context *context_of(PyObject *cap) {
    box *b = context_box(cap);
    return b ? b->handle : NULL;
}

/* The context of cap and two int sequences as int32 arrays (free both with PyMem_Free); NULL with
 * an exception set and nothing to free on failure. */
static trit_context *context_and_arrays(PyObject *cap, PyObject *sa, PyObject *sb, int32_t **a, Py_ssize_t *na,
                                        int32_t **b, Py_ssize_t *nb) {
    trit_context *c = context_of(cap);
    if (!c) return NULL;
    if (!(*a = int_array(sa, na))) return NULL;
    if (!(*b = int_array(sb, nb))) { PyMem_Free(*a); return NULL; }
    return c;
}

static PyObject *py_context_size(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    trit_context *c = context_of(cap);
    if (!c) return NULL;
    int32_t past = 0, n = 0;
    trit_status st = trit_context_get_size(c, &past, &n);
    if (st != TRIT_OK) return raise_status(st);
    return Py_BuildValue("(ii)", past, n);
}

/* The context's parameters as the library resolved them (its "0 = default"s filled in). */
static PyObject *py_context_params(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    trit_context *c = context_of(cap);
    if (!c) return NULL;
    trit_context_params p = {.size = sizeof p};
    trit_status st = trit_context_get_params(c, &p);
    if (st != TRIT_OK) return raise_status(st);
    return Py_BuildValue("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:O}", "n_ctx", p.n_ctx, "n_threads", p.n_threads, "n_batch",
                         p.n_batch, "n_seq", p.n_seq, "n_cells", p.n_cells, "type_k", p.type_k, "type_v", p.type_v,
                         "attn_int8", p.attn_int8 ? Py_True : Py_False);
}

/* Logits rows come back as a bytearray of n × n_vocab floats; n_vocab is the library's. */
static PyObject *py_eval(PyObject *self, PyObject *args) {
    PyObject *cap, *seq;
    int want_logits;
    if (!PyArg_ParseTuple(args, "OOp", &cap, &seq, &want_logits)) return NULL;
    box *cb = context_box(cap);
    if (!cb) return NULL;
    trit_context *c = cb->handle;
    const size_t n_vocab = (size_t)cb->n_vocab;
    Py_ssize_t n;
    int32_t *ids = int_array(seq, &n);
    if (!ids) return NULL;
    PyObject *out = NULL;
    float *dst = NULL;
    if (want_logits) {
        if (n > 0 && (size_t)n > PY_SSIZE_T_MAX / sizeof(float) / n_vocab) {
            PyMem_Free(ids);
            return PyErr_NoMemory();
        }
        out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)((size_t)n * n_vocab * sizeof(float)));
        if (!out) { PyMem_Free(ids); return NULL; }
        dst = (float *)PyByteArray_AS_STRING(out);
    }
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_eval(c, ids, (size_t)n, dst);
    Py_END_ALLOW_THREADS
    PyMem_Free(ids);
    if (st != TRIT_OK) { Py_XDECREF(out); return raise_status(st); }
    if (!out) Py_RETURN_NONE;
    return out;
}

static PyObject *py_eval_batch(PyObject *self, PyObject *args) {
    PyObject *cap, *tseq, *sseq;
    if (!PyArg_ParseTuple(args, "OOO", &cap, &tseq, &sseq)) return NULL;
    Py_ssize_t n, ns;
    int32_t *ids, *seqs;
    trit_context *c = context_and_arrays(cap, tseq, sseq, &ids, &n, &seqs, &ns);
    if (!c) return NULL;
    const size_t n_vocab = (size_t)context_box(cap)->n_vocab;
    if (n != ns || n == 0) {
        PyMem_Free(ids); PyMem_Free(seqs);
        PyErr_SetString(PyExc_ValueError, "tokens and seq_ids must be non-empty and of equal length");
        return NULL;
    }
    if ((size_t)n > PY_SSIZE_T_MAX / sizeof(float) / n_vocab) { PyMem_Free(ids); PyMem_Free(seqs); return PyErr_NoMemory(); }
    PyObject *out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)((size_t)n * n_vocab * sizeof(float)));
    if (!out) { PyMem_Free(ids); PyMem_Free(seqs); return NULL; }
    float *dst = (float *)PyByteArray_AS_STRING(out);
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_eval_batch(c, ids, seqs, (size_t)n, dst);
    Py_END_ALLOW_THREADS
    PyMem_Free(ids); PyMem_Free(seqs);
    if (st != TRIT_OK) { Py_DECREF(out); return raise_status(st); }
    return out;
}

/* embed(ctx, tokens, lengths, pooling, normalize, dimensions, seq_id) -> (bytearray of floats, width):
 * the inputs back to back in tokens, input i of lengths[i] tokens (trit_embed). */
static PyObject *py_embed(PyObject *self, PyObject *args) {
    PyObject *cap, *tseq, *lseq;
    int pooling, normalize, dimensions, seq_id;
    if (!PyArg_ParseTuple(args, "OOOipii", &cap, &tseq, &lseq, &pooling, &normalize, &dimensions, &seq_id)) return NULL;
    Py_ssize_t n, n_inputs;
    int32_t *ids, *lens32;
    trit_context *c = context_and_arrays(cap, tseq, lseq, &ids, &n, &lens32, &n_inputs);
    if (!c) return NULL;
    size_t *lens = PyMem_Malloc((size_t)(n_inputs ? n_inputs : 1) * sizeof(size_t));
    if (!lens) { PyMem_Free(ids); PyMem_Free(lens32); return PyErr_NoMemory(); }
    for (Py_ssize_t i = 0; i < n_inputs; i++) lens[i] = lens32[i] < 0 ? SIZE_MAX : (size_t)lens32[i];
    PyMem_Free(lens32);
    trit_embed_params p = trit_embed_default_params();
    p.pooling = pooling;
    p.normalize = normalize != 0;
    p.dimensions = dimensions;
    p.seq_id = seq_id;
    size_t needed = 0;
    trit_status st = trit_embed(c, ids, lens, (size_t)n_inputs, &p, NULL, 0, &needed);
    PyObject *out = NULL;
    if (st == TRIT_ERR_BUFFER_TOO_SMALL) {
        if (needed > PY_SSIZE_T_MAX / sizeof(float)) st = TRIT_ERR_OOM;
        else if (!(out = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(needed * sizeof(float))))) {
            PyMem_Free(ids); PyMem_Free(lens);
            return NULL;
        } else {
            float *dst = (float *)PyByteArray_AS_STRING(out);
            Py_BEGIN_ALLOW_THREADS
            st = trit_embed(c, ids, lens, (size_t)n_inputs, &p, dst, needed, &needed);
            Py_END_ALLOW_THREADS
        }
    } else if (st == TRIT_OK) {
        st = TRIT_ERR_INTERNAL;   /* a zero-float result cannot be: n_inputs ≥ 1 and width ≥ 1 */
    }
    PyMem_Free(ids); PyMem_Free(lens);
    if (st == TRIT_ERR_OOM && !out) return PyErr_NoMemory();
    if (st != TRIT_OK) { Py_XDECREF(out); return raise_status(st); }
    return Py_BuildValue("(Nn)", out, (Py_ssize_t)(needed / (size_t)n_inputs));
}

static PyObject *py_score(PyObject *self, PyObject *args) {
    PyObject *cap, *cseq, *tseq;
    if (!PyArg_ParseTuple(args, "OOO", &cap, &cseq, &tseq)) return NULL;
    Py_ssize_t nc, nt;
    int32_t *ctx_ids, *cont;
    trit_context *c = context_and_arrays(cap, cseq, tseq, &ctx_ids, &nc, &cont, &nt);
    if (!c) return NULL;
    double lp = 0;
    bool greedy = false;
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_score(c, ctx_ids, (size_t)nc, cont, (size_t)nt, &lp, &greedy);
    Py_END_ALLOW_THREADS
    PyMem_Free(ctx_ids); PyMem_Free(cont);
    if (st != TRIT_OK) return raise_status(st);
    return Py_BuildValue("(dO)", lp, greedy ? Py_True : Py_False);
}

static PyObject *py_context_tokens(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    trit_context *c = context_of(cap);
    if (!c) return NULL;
    size_t n = 0;
    trit_status st = trit_context_get_tokens(c, NULL, 0, &n);
    if (st != TRIT_OK && st != TRIT_ERR_BUFFER_TOO_SMALL) return raise_status(st);
    int32_t *ids = PyMem_Malloc((n ? n : 1) * sizeof(int32_t));
    if (!ids) return PyErr_NoMemory();
    st = trit_context_get_tokens(c, ids, n, &n);
    if (st != TRIT_OK) { PyMem_Free(ids); return raise_status(st); }
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) PyList_SET_ITEM(list, (Py_ssize_t)i, PyLong_FromLong(ids[i]));
    PyMem_Free(ids);
    return list;
}

static PyObject *py_reset(PyObject *self, PyObject *args) {
    PyObject *cap;
    int keep = 0;
    if (!PyArg_ParseTuple(args, "O|i", &cap, &keep)) return NULL;
    trit_context *c = context_of(cap);
    if (!c) return NULL;
    /* reset(ctx) forgets everything; reset(ctx, n) is truncate, whatever n (the library checks it) */
    trit_status st = PyTuple_Size(args) > 1 ? trit_context_truncate(c, keep) : trit_context_reset(c);
    if (st != TRIT_OK) return raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *py_shift(PyObject *self, PyObject *args) {
    PyObject *cap;
    int keep, discard;
    if (!PyArg_ParseTuple(args, "Oii", &cap, &keep, &discard)) return NULL;
    trit_context *c = context_of(cap);
    if (!c) return NULL;
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_context_shift(c, keep, discard);
    Py_END_ALLOW_THREADS
    if (st != TRIT_OK) return raise_status(st);
    Py_RETURN_NONE;
}

/* ---- saved state ---- */
static PyObject *py_state_save(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    trit_context *c = context_of(cap);
    if (!c) return NULL;
    size_t n = 0;
    trit_status st = trit_state_save(c, NULL, 0, &n);
    if (st != TRIT_OK && st != TRIT_ERR_BUFFER_TOO_SMALL) return raise_status(st);
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (!out) return NULL;
    size_t got = 0;
    Py_BEGIN_ALLOW_THREADS
    st = trit_state_save(c, (uint8_t *)PyBytes_AS_STRING(out), n, &got);
    Py_END_ALLOW_THREADS
    if (st != TRIT_OK) { Py_DECREF(out); return raise_status(st); }
    return out;
}

static PyObject *py_state_load(PyObject *self, PyObject *args) {
    PyObject *cap;
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "Oy*", &cap, &b)) return NULL;
    trit_context *c = context_of(cap);
    if (!c) { PyBuffer_Release(&b); return NULL; }
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_state_load(c, (const uint8_t *)b.buf, (size_t)b.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&b);
    if (st != TRIT_OK) return raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *py_state_file(PyObject *self, PyObject *args) {
    PyObject *cap;
    const char *path;
    int save;
    if (!PyArg_ParseTuple(args, "Osp", &cap, &path, &save)) return NULL;
    trit_context *c = context_of(cap);
    if (!c) return NULL;
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = save ? trit_state_save_file(c, path) : trit_state_load_file(c, path);
    Py_END_ALLOW_THREADS
    if (st != TRIT_OK) return raise_status(st);
    Py_RETURN_NONE;
}

/* ---- token constraints (trit.h's trit_mask_fn / trit_token_fn) ---- */
/* A constraint from Python: an object with fill_mask(address, n_bytes), which writes the allowed
 * tokens' bits into the n_bytes at address (valid during the call only), and accept(token). A raised
 * exception makes the callback fail; trit_generate then leaves it set (it is re-raised), an engine
 * request finishes with "constraint_error" (the object keeps its own record of the error). */
static int32_t call_constraint(PyObject *c, const char *method, PyObject *args, int keep_error) {
    if (!args) { if (!keep_error) PyErr_Clear(); return 1; }
    PyObject *f = PyObject_GetAttrString(c, method);
    PyObject *r = f ? PyObject_Call(f, args, NULL) : NULL;
    Py_XDECREF(f);
    Py_DECREF(args);
    if (!r) { if (!keep_error) PyErr_Clear(); return 1; }
    Py_DECREF(r);
    return 0;
}
static int32_t constraint_mask(PyObject *c, uint32_t *mask, size_t n_words, int keep_error) {
    PyGILState_STATE gs = PyGILState_Ensure();
    int32_t rc = call_constraint(c, "fill_mask", Py_BuildValue("(Kn)", (unsigned long long)(uintptr_t)mask,
                                                              (Py_ssize_t)(n_words * sizeof(uint32_t))), keep_error);
    PyGILState_Release(gs);
    return rc;
}
static int32_t constraint_accept(PyObject *c, int32_t token, int keep_error) {
    PyGILState_STATE gs = PyGILState_Ensure();
    int32_t rc = call_constraint(c, "accept", Py_BuildValue("(i)", token), keep_error);
    PyGILState_Release(gs);
    return rc;
}
/* Jump-forward (trit_forced_fn): forced_tokens(capacity) returns the ids the constraint forces next
 * (at most capacity, already counted as accepted by it); -1 when it raised or returned no int list. */
static int32_t constraint_forced(PyObject *c, int32_t *out, size_t capacity, int keep_error) {
    PyGILState_STATE gs = PyGILState_Ensure();
    int32_t n = -1;
    PyObject *r = PyObject_CallMethod(c, "forced_tokens", "n", (Py_ssize_t)capacity);
    PyObject *fast = r ? PySequence_Fast(r, "forced_tokens() must return a list of token ids") : NULL;
    if (fast) {
        Py_ssize_t k = PySequence_Fast_GET_SIZE(fast);
        n = (int32_t)(k > (Py_ssize_t)capacity ? (Py_ssize_t)capacity + 1 : k);   /* too many: refused by libtrit */
        for (Py_ssize_t i = 0; i < k && i < (Py_ssize_t)capacity; i++) {
            long t = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
            if (t == -1 && PyErr_Occurred()) { n = -1; break; }
            out[i] = t < INT32_MIN || t > INT32_MAX ? -1 : (int32_t)t;   /* out of range: refused by libtrit */
        }
    }
    Py_XDECREF(fast);
    Py_XDECREF(r);
    if (n < 0 && !keep_error) PyErr_Clear();
    PyGILState_Release(gs);
    return n;
}
/* Whether a constraint object asks for jump-forward (its jump_forward attribute is true). */
static int wants_jump_forward(PyObject *c) {
    PyObject *v = PyObject_GetAttrString(c, "jump_forward");
    if (!v) { PyErr_Clear(); return 0; }
    int on = PyObject_IsTrue(v) == 1;
    Py_DECREF(v);
    if (PyErr_Occurred()) PyErr_Clear();
    return on;
}

/* ---- generation ---- */
typedef struct { PyObject *callback; int failed; PyObject *constraint; } gen_state;

static int32_t gen_mask(uint32_t *mask, size_t n_words, void *ud) {
    return constraint_mask(((gen_state *)ud)->constraint, mask, n_words, 1);
}
static int32_t gen_accept(int32_t token, void *ud) { return constraint_accept(((gen_state *)ud)->constraint, token, 1); }
static int32_t gen_forced(int32_t *out, size_t capacity, void *ud) {
    return constraint_forced(((gen_state *)ud)->constraint, out, capacity, 1);
}

static bool on_piece(const char *piece, size_t len, void *ud) {
    gen_state *g = ud;
    if (!g->callback || g->failed) return !g->failed;
    PyGILState_STATE gs = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction(g->callback, "y#", piece, (Py_ssize_t)len);
    bool go = true;
    if (!r) { g->failed = 1; go = false; }
    else { go = PyObject_IsTrue(r) != 0; Py_DECREF(r); }
    PyGILState_Release(gs);
    return go;
}

static PyObject *py_generate(PyObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"ctx", "prompt", "callback", "max_tokens", "temperature", "top_k", "top_p", "min_p",
                            "repeat_penalty", "repeat_last_n", "seed", "stop", "ignore_eos", "add_special",
                            "parse_special", "context_shift", "n_keep", "constraint", NULL};
    PyObject *cap, *prompt, *callback = Py_None, *stop = Py_None, *constraint = Py_None;
    trit_generate_params p = trit_generate_default_params();
    int ignore_eos = 0, add_special = 1, parse_special = 0, context_shift = 0;
    unsigned long long seed = p.seed;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OififffiKOppppiO", names, &cap, &prompt, &callback, &p.max_tokens,
                                     &p.temperature, &p.top_k, &p.top_p, &p.min_p, &p.repeat_penalty,
                                     &p.repeat_last_n, &seed, &stop, &ignore_eos, &add_special, &parse_special,
                                     &context_shift, &p.n_keep, &constraint))
        return NULL;
    trit_context *c = context_of(cap);
    if (!c) return NULL;
    p.seed = seed; p.ignore_eos = ignore_eos; p.add_special = add_special; p.parse_special = parse_special;
    p.context_shift = context_shift;
    /* stop strings */
    PyObject *stop_fast = NULL;
    const char **stops = NULL;
    if (stop != Py_None) {
        stop_fast = PySequence_Fast(stop, "stop must be a list of strings");
        if (!stop_fast) return NULL;
        Py_ssize_t ns = PySequence_Fast_GET_SIZE(stop_fast);
        stops = PyMem_Malloc((size_t)(ns ? ns : 1) * sizeof(char *));
        if (!stops) { Py_DECREF(stop_fast); return PyErr_NoMemory(); }
        for (Py_ssize_t i = 0; i < ns; i++) {
            PyObject *si = PySequence_Fast_GET_ITEM(stop_fast, i);
            if (!PyUnicode_Check(si)) {
                PyMem_Free(stops); Py_DECREF(stop_fast);
                return type_error_got("stop strings must be str, got ", si, "");
            }
            stops[i] = PyUnicode_AsUTF8(si);
            if (!stops[i]) { PyMem_Free(stops); Py_DECREF(stop_fast); return NULL; }
        }
        p.stop = stops; p.n_stop = (size_t)ns;
    }
    gen_state g = {callback == Py_None ? NULL : callback, 0, constraint == Py_None ? NULL : constraint};
    if (g.constraint) {   /* the caller keeps the object alive for the call */
        p.constraint_mask = gen_mask;
        p.constraint_accept = gen_accept;
        if (wants_jump_forward(g.constraint)) p.constraint_forced = gen_forced;
        p.constraint_user_data = &g;
    }
    trit_generate_result res = {.size = sizeof res};
    trit_status st;
    if (PyUnicode_Check(prompt)) {
        const char *text = PyUnicode_AsUTF8(prompt);
        if (!text) { PyMem_Free(stops); Py_XDECREF(stop_fast); return NULL; }
        Py_BEGIN_ALLOW_THREADS
        st = trit_generate(c, text, &p, on_piece, &g, &res);
        Py_END_ALLOW_THREADS
    } else {
        Py_ssize_t n;
        int32_t *ids = int_array(prompt, &n);
        if (!ids) { PyMem_Free(stops); Py_XDECREF(stop_fast); return NULL; }
        Py_BEGIN_ALLOW_THREADS
        st = trit_generate_tokens(c, ids, (size_t)n, &p, on_piece, &g, &res);
        Py_END_ALLOW_THREADS
        PyMem_Free(ids);
    }
    PyMem_Free(stops);
    Py_XDECREF(stop_fast);
    if (g.failed) return NULL;   /* the callback raised */
    if (st != TRIT_OK && PyErr_Occurred()) return NULL;   /* the constraint raised */
    if (st != TRIT_OK) return raise_status(st);
    static const char *reasons[] = {"length", "eos", "stop", "context", "callback", "aborted", "constraint"};
    return Py_BuildValue("{s:i,s:i,s:i,s:s,s:d,s:d}", "n_prompt_tokens", res.n_prompt_tokens,
                         "n_generated_tokens", res.n_generated_tokens, "n_forced_tokens", res.n_forced_tokens,
                         "stop_reason", reasons[res.stop_reason >= 0 && res.stop_reason <= 6 ? res.stop_reason : 0],
                         "prompt_seconds", res.prompt_seconds, "generation_seconds", res.generation_seconds);
}

static PyObject *py_chat_format(PyObject *self, PyObject *args) {
    PyObject *cap, *msgs;
    const char *tmpl = NULL;
    int add_gen = 1;
    if (!PyArg_ParseTuple(args, "OO|zp", &cap, &msgs, &tmpl, &add_gen)) return NULL;
    box *mb = box_of(cap, 1);
    if (!mb) return NULL;
    trit_model *m = mb->handle;
    PyObject *fast = PySequence_Fast(msgs, "messages must be a list of (role, content) pairs");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    trit_chat_message *cm = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *cm);
    if (!cm) { Py_DECREF(fast); return PyErr_NoMemory(); }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        if (!PyArg_ParseTuple(item, "ss", &cm[i].role, &cm[i].content)) { PyMem_Free(cm); Py_DECREF(fast); return NULL; }
    }
    size_t need = 0;
    trit_status st = trit_chat_format(m, cm, (size_t)n, tmpl, add_gen, NULL, 0, &need);
    PyObject *r = NULL;
    if (st == TRIT_OK || st == TRIT_ERR_BUFFER_TOO_SMALL) {
        char *buf = PyMem_Malloc(need + 1);
        if (!buf) { PyMem_Free(cm); Py_DECREF(fast); return PyErr_NoMemory(); }
        st = trit_chat_format(m, cm, (size_t)n, tmpl, add_gen, buf, need + 1, &need);
        if (st == TRIT_OK) r = PyUnicode_FromStringAndSize(buf, (Py_ssize_t)need);
        PyMem_Free(buf);
    }
    PyMem_Free(cm);
    Py_DECREF(fast);
    if (st != TRIT_OK) return raise_status(st);
    return r;
}

static PyObject *py_token_is_eog(PyObject *self, PyObject *args) {
    PyObject *cap;
    int id;
    if (!PyArg_ParseTuple(args, "Oi", &cap, &id)) return NULL;
    const trit_tokenizer *t = tokenizer_of(cap);
    if (!t) return NULL;
    return PyBool_FromLong(trit_token_is_eog(t, id));
}

static PyObject *py_n_vocab(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    const trit_tokenizer *t = tokenizer_of(cap);
    if (!t) return NULL;
    return PyLong_FromLong(trit_tokenizer_n_vocab(t));
}

/* ---- engine ---- */

static PyObject *py_engine_create(PyObject *self, PyObject *args) {
    PyObject *cap;
    trit_engine_params p = trit_engine_default_params();
    int attn_int8 = 0;
    if (!PyArg_ParseTuple(args, "Oiiiiii|iiiip", &cap, &p.n_slots, &p.n_ctx, &p.n_batch, &p.n_threads, &p.queue_limit,
                          &p.n_cells, &p.type_k, &p.type_v, &p.checkpoints, &p.min_prompt_tokens, &attn_int8))
        return NULL;
    p.attn_int8 = attn_int8 != 0;
    box *mb = box_of(cap, 1);
    if (!mb) return NULL;
    trit_engine *e = NULL;
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_engine_create(mb->handle, &p, &e);
    Py_END_ALLOW_THREADS
    if (st != TRIT_OK) return raise_status(st);
    return new_capsule(e, 3, NULL);
}

/* A request's Python callbacks, alive until its done callback. Without a piece callback the text
 * is collected here, on the scheduler thread without the GIL, and handed over once at the end. */
typedef struct {
    PyObject *on_piece, *on_done, *on_logprobs, *constraint, *on_embedding;
    char *buf;
    size_t len, cap;
    int overflow;
} py_request;

static int32_t engine_mask(uint32_t *mask, size_t n_words, void *ud) {
    return constraint_mask(((py_request *)ud)->constraint, mask, n_words, 0);
}
static int32_t engine_accept(int32_t token, void *ud) {
    return constraint_accept(((py_request *)ud)->constraint, token, 0);
}
static int32_t engine_forced(int32_t *out, size_t capacity, void *ud) {
    return constraint_forced(((py_request *)ud)->constraint, out, capacity, 0);
}

static void engine_logprobs(int32_t token, float lp, const int32_t *ids, const float *lps, size_t n, void *ud) {
    py_request *r = ud;
    PyGILState_STATE gs = PyGILState_Ensure();
    PyObject *top = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; top && i < n; i++) PyList_SET_ITEM(top, (Py_ssize_t)i, Py_BuildValue("(if)", ids[i], lps[i]));
    PyObject *res = top ? PyObject_CallFunction(r->on_logprobs, "ifO", token, lp, top) : NULL;
    if (!res) PyErr_WriteUnraisable(r->on_logprobs);
    Py_XDECREF(res);
    Py_XDECREF(top);
    PyGILState_Release(gs);
}

/* An embedding request's row, as bytes of float32 (the Python side makes the row). */
static void engine_embedding(const float *row, size_t width, void *ud) {
    py_request *r = ud;
    PyGILState_STATE gs = PyGILState_Ensure();
    PyObject *res = PyObject_CallFunction(r->on_embedding, "y#", (const char *)row, (Py_ssize_t)(width * sizeof *row));
    if (!res) PyErr_WriteUnraisable(r->on_embedding);
    Py_XDECREF(res);
    PyGILState_Release(gs);
}

static bool engine_piece(const char *piece, size_t len, void *ud) {
    py_request *r = ud;
    if (r->on_piece == Py_None) {
        if (r->len + len > r->cap) {
            size_t cap = r->cap ? r->cap : 256;
            while (cap < r->len + len) cap *= 2;
            char *b = PyMem_RawRealloc(r->buf, cap);
            if (!b) { r->overflow = 1; return false; }
            r->buf = b;
            r->cap = cap;
        }
        memcpy(r->buf + r->len, piece, len);
        r->len += len;
        return true;
    }
    PyGILState_STATE gs = PyGILState_Ensure();
    bool go = true;
    PyObject *res = PyObject_CallFunction(r->on_piece, "y#", piece, (Py_ssize_t)len);
    if (!res) { PyErr_WriteUnraisable(r->on_piece); go = false; }
    else { go = PyObject_IsTrue(res) != 0; Py_DECREF(res); }
    PyGILState_Release(gs);
    return go;
}

static void engine_done(int64_t id, int32_t reason, const trit_usage *u, void *ud) {
    py_request *r = ud;
    static const char *reasons[] = {"length", "stop", "context", "cancelled", "constraint", "constraint_error"};
    PyGILState_STATE gs = PyGILState_Ensure();
    PyObject *text = r->on_piece == Py_None && !r->overflow ? PyBytes_FromStringAndSize(r->buf ? r->buf : "", (Py_ssize_t)r->len)
                                                             : (Py_INCREF(Py_None), Py_None);
    PyObject *res = text ? PyObject_CallFunction(r->on_done, "Ls{s:i,s:i,s:i,s:i}O", (long long)id,
                                                 reasons[reason >= 0 && reason <= 5 ? reason : 3],
                                                 "prompt_tokens", u->prompt_tokens, "completion_tokens", u->completion_tokens,
                                                 "cached_tokens", u->cached_tokens, "forced_tokens", u->forced_tokens,
                                                 text) : NULL;
    if (!res) PyErr_WriteUnraisable(r->on_done);
    Py_XDECREF(res);
    Py_XDECREF(text);
    PyMem_RawFree(r->buf);
    Py_DECREF(r->on_piece);
    Py_DECREF(r->on_done);
    Py_XDECREF(r->on_logprobs);
    Py_XDECREF(r->constraint);
    Py_XDECREF(r->on_embedding);
    PyMem_RawFree(r);
    PyGILState_Release(gs);
}

static PyObject *py_engine_submit(PyObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"engine", "prompt", "on_piece", "on_done", "max_tokens", "temperature", "top_k", "top_p",
                            "min_p", "repeat_penalty", "presence_penalty", "frequency_penalty", "penalty_last_n", "seed",
                            "stop", "ignore_eos", "add_special", "parse_special", "logit_bias", "logprobs", "on_logprobs",
                            "constraint", "embedding", "on_embedding", NULL};
    PyObject *cap, *prompt, *on_piece, *on_done, *stop = Py_None, *bias = Py_None, *on_logprobs = Py_None;
    PyObject *constraint = Py_None, *embedding = Py_None, *on_embedding = Py_None;
    trit_request req = trit_request_default();
    trit_embed_params ep = trit_embed_default_params();
    trit_sampler_params sp = trit_sampler_default_params();
    int ignore_eos = 0, add_special = 1, parse_special = 0;
    unsigned long long seed = sp.seed;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOO|ififffffiKOpppOiOOOO", names, &cap, &prompt, &on_piece, &on_done,
                                     &req.max_tokens, &sp.temperature, &sp.top_k, &sp.top_p, &sp.min_p, &sp.repeat_penalty,
                                     &sp.presence_penalty, &sp.frequency_penalty, &sp.penalty_last_n, &seed, &stop,
                                     &ignore_eos, &add_special, &parse_special, &bias, &req.logprobs, &on_logprobs,
                                     &constraint, &embedding, &on_embedding))
        return NULL;
    box *eb = box_of(cap, 3);
    if (!eb) return NULL;
    if ((on_piece != Py_None && !PyCallable_Check(on_piece)) || !PyCallable_Check(on_done)) {
        PyErr_SetString(PyExc_TypeError, "on_piece must be callable or None, on_done callable");
        return NULL;
    }
    if (embedding != Py_None) {   /* (pooling id, normalize, dimensions): an embedding request */
        int normalize = 1;
        if (!PyArg_ParseTuple(embedding, "ipi", &ep.pooling, &normalize, &ep.dimensions)) return NULL;
        if (!PyCallable_Check(on_embedding)) {
            PyErr_SetString(PyExc_TypeError, "on_embedding must be callable for an embedding request");
            return NULL;
        }
        ep.normalize = normalize;
        req.embedding = &ep;
        req.on_embedding = engine_embedding;
    }
    sp.seed = seed;
    req.ignore_eos = ignore_eos; req.add_special = add_special; req.parse_special = parse_special;
    req.sampling = &sp;
    int32_t *ids = NULL;
    const char **stops = NULL;
    trit_logit_bias *lb = NULL;
    PyObject *stop_fast = NULL, *result = NULL;
    if (PyUnicode_Check(prompt)) {
        if (!(req.prompt = PyUnicode_AsUTF8(prompt))) goto done;
    } else {
        Py_ssize_t n;
        if (!(ids = int_array(prompt, &n))) goto done;
        req.tokens = ids;
        req.n_tokens = (size_t)n;
    }
    if (stop != Py_None) {
        if (!(stop_fast = PySequence_Fast(stop, "stop must be a list of strings"))) goto done;
        Py_ssize_t ns = PySequence_Fast_GET_SIZE(stop_fast);
        if (!(stops = PyMem_Malloc((size_t)(ns ? ns : 1) * sizeof(char *)))) { PyErr_NoMemory(); goto done; }
        for (Py_ssize_t i = 0; i < ns; i++) {
            PyObject *si = PySequence_Fast_GET_ITEM(stop_fast, i);
            if (!PyUnicode_Check(si)) { PyErr_SetString(PyExc_TypeError, "stop strings must be str"); goto done; }
            if (!(stops[i] = PyUnicode_AsUTF8(si))) goto done;
        }
        req.stop = stops;
        req.n_stop = (size_t)ns;
    }
    if (bias != Py_None) {
        if (!PyDict_Check(bias)) { PyErr_SetString(PyExc_TypeError, "logit_bias must be a dict {token id: bias}"); goto done; }
        Py_ssize_t nb = PyDict_Size(bias), pos = 0, i = 0;
        if (!(lb = PyMem_Malloc((size_t)(nb ? nb : 1) * sizeof *lb))) { PyErr_NoMemory(); goto done; }
        PyObject *k, *v;
        while (PyDict_Next(bias, &pos, &k, &v)) {
            long t = PyLong_AsLong(k);
            double b = PyFloat_AsDouble(v);
            if (PyErr_Occurred()) goto done;
            if (t < INT32_MIN || t > INT32_MAX) { raise_error(TRIT_ERR_ARG, "logit_bias token id out of range"); goto done; }
            lb[i].token = (int32_t)t;
            lb[i].bias = (float)b;
            i++;
        }
        sp.logit_bias = lb;
        sp.n_logit_bias = (size_t)nb;
    }
    py_request *r = PyMem_RawCalloc(1, sizeof *r);
    if (!r) { PyErr_NoMemory(); goto done; }
    Py_INCREF(on_piece); Py_INCREF(on_done);
    r->on_piece = on_piece; r->on_done = on_done;
    if (on_logprobs != Py_None && req.logprobs > 0) {
        Py_INCREF(on_logprobs);
        r->on_logprobs = on_logprobs;
        req.on_logprobs = engine_logprobs;
    }
    if (req.embedding) {   /* held until the done callback */
        Py_INCREF(on_embedding);
        r->on_embedding = on_embedding;
    }
    if (constraint != Py_None) {   /* held until the done callback */
        Py_INCREF(constraint);
        r->constraint = constraint;
        req.constraint_mask = engine_mask;
        req.constraint_accept = engine_accept;
        if (wants_jump_forward(constraint)) req.constraint_forced = engine_forced;
        req.constraint_user_data = r;
    }
    req.on_piece = engine_piece;
    req.on_done = engine_done;
    req.user_data = r;
    int64_t id = 0;
    trit_status st;
    Py_BEGIN_ALLOW_THREADS
    st = trit_engine_submit(eb->handle, &req, &id);
    Py_END_ALLOW_THREADS
    if (st != TRIT_OK) {
        Py_DECREF(on_piece); Py_DECREF(on_done); Py_XDECREF(r->on_logprobs); Py_XDECREF(r->constraint);
        Py_XDECREF(r->on_embedding); PyMem_RawFree(r);
        raise_status(st);
        goto done;
    }
    result = PyLong_FromLongLong(id);
done:
    PyMem_Free(ids);
    PyMem_Free(stops);
    PyMem_Free(lb);
    Py_XDECREF(stop_fast);
    return result;
}

static PyObject *py_engine_cancel(PyObject *self, PyObject *args) {
    PyObject *cap;
    long long id;
    if (!PyArg_ParseTuple(args, "OL", &cap, &id)) return NULL;
    box *eb = box_of(cap, 3);
    if (!eb) return NULL;
    return PyBool_FromLong(trit_engine_cancel(eb->handle, id) == TRIT_OK);
}

static PyObject *py_engine_stats(PyObject *self, PyObject *args) {
    PyObject *cap;
    if (!PyArg_ParseTuple(args, "O", &cap)) return NULL;
    box *eb = box_of(cap, 3);
    if (!eb) return NULL;
    trit_engine_stats s = {.size = sizeof s};
    trit_status st = trit_engine_get_stats(eb->handle, &s);
    if (st != TRIT_OK) return raise_status(st);
    return Py_BuildValue("{s:i,s:i,s:i,s:i,s:L,s:L,s:L,s:i}", "running", s.running, "waiting", s.waiting,
                         "cells_used", s.cells_used, "cells_total", s.cells_total,
                         "tokens_generated", (long long)s.tokens_generated,
                         "prompt_tokens_evaluated", (long long)s.prompt_tokens_evaluated,
                         "requests_finished", (long long)s.requests_finished, "n_ctx_slot", s.n_ctx_slot);
}

/* trit_status_string: the library's text for any status code. */
static PyObject *py_status_string(PyObject *self, PyObject *args) {
    int st;
    if (!PyArg_ParseTuple(args, "i", &st)) return NULL;
    return PyUnicode_FromString(trit_status_string((trit_status)st));
}

static PyObject *py_bundled_model_path(PyObject *self, PyObject *args) {
    (void)self; (void)args;
    const char *path = NULL;
    trit_status st = trit_bundled_model_path(&path);
    if (st != TRIT_OK) return raise_status(st);
    return PyUnicode_DecodeFSDefault(path);
}

static PyMethodDef methods[] = {
    {"status_string", py_status_string, METH_VARARGS, "The library's text for a status code."},
    {"bundled_model_path", py_bundled_model_path, METH_NOARGS, "The bundled model's path, found beside libtrit."},
    {"engine_create", py_engine_create, METH_VARARGS, "Start an engine on a model."},
    {"engine_submit", (PyCFunction)(void (*)(void))py_engine_submit, METH_VARARGS | METH_KEYWORDS, "Queue a request."},
    {"engine_cancel", py_engine_cancel, METH_VARARGS, "Cancel a request."},
    {"engine_stats", py_engine_stats, METH_VARARGS, "The engine's counters."},
    {"model_load", py_model_load, METH_VARARGS, "Load a model (GGUF file or HF folder)."},
    {"tokenizer_load", py_tokenizer_load, METH_VARARGS, "Load only a tokenizer."},
    {"close", py_close, METH_VARARGS, "Free a handle now."},
    {"abort", py_abort, METH_VARARGS, "Ask a context's running call to stop (or clear the request)."},
    {"context_tokens", py_context_tokens, METH_VARARGS, "The tokens a context holds."},
    {"model_info", py_model_info, METH_VARARGS, "Facts about a model."},
    {"model_chat_template", py_model_chat_template, METH_VARARGS, "The file's chat template, or None."},
    {"tokenize", py_tokenize, METH_VARARGS, "Text to token ids."},
    {"detokenize", py_detokenize, METH_VARARGS, "Token ids to bytes."},
    {"token_is_eog", py_token_is_eog, METH_VARARGS, "Whether a token ends generation."},
    {"n_vocab", py_n_vocab, METH_VARARGS, "Vocabulary size."},
    {"context_create", py_context_create, METH_VARARGS, "Create a context."},
    {"context_size", py_context_size, METH_VARARGS, "(n_past, n_ctx)."},
    {"context_params", py_context_params, METH_VARARGS, "The resolved context parameters (a dict)."},
    {"eval", py_eval, METH_VARARGS, "Evaluate tokens; bytearray of logits or None."},
    {"reset", py_reset, METH_VARARGS, "Reset or truncate a context."},
    {"shift", py_shift, METH_VARARGS, "Context shift: drop positions and re-rotate the rest."},
    {"state_save", py_state_save, METH_VARARGS, "A context's saved state as bytes."},
    {"state_load", py_state_load, METH_VARARGS, "Load a saved state from bytes."},
    {"state_file", py_state_file, METH_VARARGS, "Save (True) or load (False) a state file."},
    {"score", py_score, METH_VARARGS, "Log-likelihood of a continuation."},
    {"embed", py_embed, METH_VARARGS, "Pooled, normalized hidden states of token lists (trit_embed)."},
    {"eval_batch", py_eval_batch, METH_VARARGS, "Evaluate rows of several sequences in one pass."},
    {"generate", (PyCFunction)(void (*)(void))py_generate, METH_VARARGS | METH_KEYWORDS, "Generate text."},
    {"chat_format", py_chat_format, METH_VARARGS, "Format chat messages."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_trit", "CPython binding of libtrit", -1, methods};

PyMODINIT_FUNC PyInit__trit(void) {
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    PyObject *errors = PyImport_ImportModule("trit._errors");
    if (!errors) { Py_DECREF(m); return NULL; }
    TritError = PyObject_GetAttrString(errors, "TritError");
    Py_DECREF(errors);
    if (!TritError) { Py_DECREF(m); return NULL; }
    Py_INCREF(TritError);
    PyModule_AddObject(m, "TritError", TritError);
    PyModule_AddIntConstant(m, "VERSION_NUMBER", trit_version_number());
    PyModule_AddStringConstant(m, "VERSION", trit_version_string());
    /* trit.h's values, so that Python never repeats them */
    PyModule_AddIntConstant(m, "ERR_ARG", TRIT_ERR_ARG);
    PyModule_AddIntConstant(m, "ERR_IO", TRIT_ERR_IO);
    PyModule_AddIntConstant(m, "ERR_FORMAT", TRIT_ERR_FORMAT);
    PyModule_AddIntConstant(m, "ERR_UNSUPPORTED", TRIT_ERR_UNSUPPORTED);
    PyModule_AddIntConstant(m, "ERR_OOM", TRIT_ERR_OOM);
    PyModule_AddIntConstant(m, "ERR_STATE", TRIT_ERR_STATE);
    PyModule_AddIntConstant(m, "ERR_CONTEXT_FULL", TRIT_ERR_CONTEXT_FULL);
    PyModule_AddIntConstant(m, "ERR_CANCELLED", TRIT_ERR_CANCELLED);
    PyModule_AddIntConstant(m, "ERR_BUFFER_TOO_SMALL", TRIT_ERR_BUFFER_TOO_SMALL);
    PyModule_AddIntConstant(m, "ERR_INTERNAL", TRIT_ERR_INTERNAL);
    PyModule_AddIntConstant(m, "ERR_BUSY", TRIT_ERR_BUSY);
    PyModule_AddIntConstant(m, "KV_F32", TRIT_KV_F32);
    PyModule_AddIntConstant(m, "KV_F16", TRIT_KV_F16);
    PyModule_AddIntConstant(m, "KV_Q8_0", TRIT_KV_Q8_0);
    PyObject *seed_random = PyLong_FromUnsignedLongLong(TRIT_SEED_RANDOM);
    if (!seed_random || PyModule_AddObject(m, "SEED_RANDOM", seed_random) < 0) {
        Py_XDECREF(seed_random);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
