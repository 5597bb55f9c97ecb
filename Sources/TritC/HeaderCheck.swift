import CTrit

// Swift never checks @_cdecl functions against the C header (docs/formats.md §6). Each line
// below makes the compiler unify the header's declaration (CTrit.f) with the Swift export
// (TritC.f): any difference in a parameter or result type is a compile error. (The
// *_default_params() functions are static inline in the header: nothing to check.)
@inline(never) func sameSignature<T>(_: T, _: T) {}

func checkExportsAgainstHeader() {
    sameSignature(CTrit.trit_version_number, TritC.trit_version_number)
    sameSignature(CTrit.trit_version_string, TritC.trit_version_string)
    sameSignature(CTrit.trit_status_string, TritC.trit_status_string)
    sameSignature(CTrit.trit_last_error, TritC.trit_last_error)
    sameSignature(CTrit.trit_model_load, TritC.trit_model_load)
    sameSignature(CTrit.trit_model_free, TritC.trit_model_free)
    sameSignature(CTrit.trit_model_get_info, TritC.trit_model_get_info)
    sameSignature(CTrit.trit_model_get_tokenizer, TritC.trit_model_get_tokenizer)
    sameSignature(CTrit.trit_tokenizer_load, TritC.trit_tokenizer_load)
    sameSignature(CTrit.trit_tokenizer_free, TritC.trit_tokenizer_free)
    sameSignature(CTrit.trit_tokenizer_n_vocab, TritC.trit_tokenizer_n_vocab)
    sameSignature(CTrit.trit_tokenize, TritC.trit_tokenize)
    sameSignature(CTrit.trit_detokenize, TritC.trit_detokenize)
    sameSignature(CTrit.trit_token_is_eog, TritC.trit_token_is_eog)
    sameSignature(CTrit.trit_context_create, TritC.trit_context_create)
    sameSignature(CTrit.trit_context_free, TritC.trit_context_free)
    sameSignature(CTrit.trit_eval, TritC.trit_eval)
    sameSignature(CTrit.trit_get_logits, TritC.trit_get_logits)
    sameSignature(CTrit.trit_context_get_size, TritC.trit_context_get_size)
    sameSignature(CTrit.trit_context_reset, TritC.trit_context_reset)
    sameSignature(CTrit.trit_context_truncate, TritC.trit_context_truncate)
    sameSignature(CTrit.trit_generate, TritC.trit_generate)
    sameSignature(CTrit.trit_generate_tokens, TritC.trit_generate_tokens)
    sameSignature(CTrit.trit_chat_format, TritC.trit_chat_format)
    sameSignature(CTrit.trit_eval_batch, TritC.trit_eval_batch)
    sameSignature(CTrit.trit_score, TritC.trit_score)
    sameSignature(CTrit.trit_context_reset_seq, TritC.trit_context_reset_seq)
    sameSignature(CTrit.trit_context_get_tokens, TritC.trit_context_get_tokens)
}
