/// Reads the tokenizer.ggml.* keys (docs/formats.md §4.3).
enum GGUFTokenizerLoader {
    /// The tokenizer a GGUF carries, or nil when it has none.
    static func loadIfPresent(_ g: GGUFFile) throws -> Tokenizer? {
        guard let model = g.metadata["tokenizer.ggml.model"]?.string else { return nil }
        let path = g.path
        let kind: Tokenizer.Kind
        switch model {
        case "llama": kind = .spm
        case "gpt2": kind = .bpe
        case "no_vocab", "none": return nil
        default: throw TritError.unsupported("\(path): tokenizer.ggml.model \"\(model)\" is not supported (llama or gpt2)")
        }
        guard case .strings(let tokens)? = g.metadata["tokenizer.ggml.tokens"]?.array else {
            throw TritError.format("\(path): tokenizer.ggml.tokens is missing or not an array of strings")
        }
        var scores: [Float] = []
        if let a = g.metadata["tokenizer.ggml.scores"]?.array {
            guard case .floats(let f, _) = a else { throw TritError.format("\(path): tokenizer.ggml.scores is not an array of floats") }
            scores = f.map { Float($0) }
        }
        var types: [Tokenizer.TokenType] = []
        if let a = g.metadata["tokenizer.ggml.token_type"]?.array {
            guard case .ints(let v, _) = a else { throw TritError.format("\(path): tokenizer.ggml.token_type is not an array of integers") }
            types = v.map { Tokenizer.TokenType(rawValue: Int32(truncatingIfNeeded: $0)) ?? .normal }
        }
        var merges: [String] = []
        if kind == .bpe {
            guard case .strings(let m)? = g.metadata["tokenizer.ggml.merges"]?.array else {
                throw TritError.format("\(path): tokenizer.ggml.merges is missing (a gpt2 tokenizer needs its merges)")
            }
            merges = m
        }
        func id(_ k: String) throws -> Int32? {
            guard let v = g.metadata["tokenizer.ggml.\(k)"] else { return nil }
            guard let i = v.int, let id = Int32(exactly: i), id >= 0, Int(id) < tokens.count else {
                throw TritError.format("\(path): tokenizer.ggml.\(k) \(v.summary) is outside the vocabulary (\(tokens.count) tokens)")
            }
            return id
        }
        func flag(_ k: String, _ d: Bool) -> Bool { g.metadata["tokenizer.ggml.\(k)"]?.bool ?? d }
        let pre = g.metadata["tokenizer.ggml.pre"]?.string
        let preTok: PreTokenizer
        switch kind {
        case .spm: preTok = .none
        case .bpe: preTok = try choosePre(pre, tokens: tokens, origin: path)
        }
        var eot: [Int32] = []
        if let e = try id("eot_token_id") { eot.append(e) }
        if let e = try id("eom_token_id") { eot.append(e) }
        let t = try Tokenizer(kind: kind, tokens: tokens, scores: scores, types: types, merges: merges,
                              bos: try id("bos_token_id"), eos: try id("eos_token_id"), unk: try id("unknown_token_id"), eot: eot,
                              addBOS: flag("add_bos_token", kind == .spm || preTok == .llama3), addEOS: flag("add_eos_token", false),
                              addSpacePrefix: flag("add_space_prefix", kind == .spm), preTokenizer: preTok, origin: path)
        t.preTokenizerName = pre
        return t
    }

    /// The pre-tokenizer for a byte-level vocabulary. A missing `pre` on LLaMA 3's vocabulary
    /// (the published 2B4T GGUF) means llama-bpe (docs/formats.md §4.3).
    static func choosePre(_ pre: String?, tokens: [String], origin: String) throws -> PreTokenizer {
        switch pre {
        case "llama-bpe", "llama3", "llama-v3", "falcon3", "bitnet": return .llama3
        case "gpt-2", "gpt2", "default": return .gpt2
        case "qwen2", "deepseek-r1-qwen": return .qwen2
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b": return .starcoder
        case nil:
            if tokens.count == 128256 && tokens.contains("<|begin_of_text|>") { return .llama3 }
            return .gpt2
        case let p?:
            throw TritError.unsupported("\(origin): tokenizer.ggml.pre \"\(p)\" is not supported (llama-bpe or gpt-2)")
        }
    }
}
