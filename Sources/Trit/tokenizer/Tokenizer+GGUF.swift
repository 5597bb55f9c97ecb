extension Tokenizer {
    /// Writes this tokenizer as GGUF tokenizer.ggml.* metadata (docs/formats.md §4.3).
    public func writeMetadata(to w: GGUFWriter) {
        w.set("tokenizer.ggml.model", kind == .spm ? "llama" : "gpt2")
        if kind == .bpe {
            let name: String
            switch preTokenizer {
            case .llama3: name = "llama-bpe"
            case .qwen2: name = "qwen2"
            case .starcoder: name = "starcoder"
            case .gpt2, .none: name = "gpt-2"
            }
            w.set("tokenizer.ggml.pre", preTokenizerName ?? name)
        }
        w.set("tokenizer.ggml.tokens", .array(.strings(tokens)))
        w.set("tokenizer.ggml.scores", .array(.floats(scores.map(Double.init), type: 6)))
        w.set("tokenizer.ggml.token_type", .array(.ints(types.map { Int64($0.rawValue) }, type: 5)))
        if kind == .bpe { w.set("tokenizer.ggml.merges", .array(.strings(mergeList))) }
        if let b = bos { w.set("tokenizer.ggml.bos_token_id", u32: Int(b)) }
        if let e = eos { w.set("tokenizer.ggml.eos_token_id", u32: Int(e)) }
        if let u = unk { w.set("tokenizer.ggml.unknown_token_id", u32: Int(u)) }
        if let e = endOfTurn { w.set("tokenizer.ggml.eot_token_id", u32: Int(e)) }
        w.set("tokenizer.ggml.add_bos_token", .bool(addBOS))
        w.set("tokenizer.ggml.add_eos_token", .bool(addEOS))
        if kind == .spm { w.set("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix)) }
    }
}
