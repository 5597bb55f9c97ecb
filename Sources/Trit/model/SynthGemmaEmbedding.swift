/// Synthetic BitNet-embedding-270M models (the `gemma3-bitnet-embedding` description: Gemma3 with
/// a BitLinear norm before each of the seven projections, tied embedding, last-token pooling) in
/// llama.cpp's gemma3 GGUF layout (Gemma's own norms stored as 1 + w, the `*_norm_in` norms as
/// they are), with a valid Gemma-like SentencePiece vocabulary, so embedding speed can be measured
/// on the real shape without the real weights.
extension Synth {
    public struct GemmaEmbeddingShape: Sendable {
        public let name: String
        public let dim, ffn, layers, heads, kvHeads, headDim, vocab, ctx, slidingWindow: Int
    }

    /// BitNet-embedding-270M's shape (Gemma3-270M's config: every 6th layer global, the others a
    /// 512-position window); a tiny one with the same layer pattern for tests.
    public static let gemmaEmbeddingPresets: [GemmaEmbeddingShape] = [
        GemmaEmbeddingShape(name: "bitnet-embedding-270m", dim: 640, ffn: 2048, layers: 18, heads: 4, kvHeads: 1,
                            headDim: 256, vocab: 262_144, ctx: 32768, slidingWindow: 512),
        GemmaEmbeddingShape(name: "bitnet-embedding-270m-tiny", dim: 256, ffn: 512, layers: 6, heads: 2, kvHeads: 1,
                            headDim: 256, vocab: 1024, ctx: 512, slidingWindow: 4),
    ]

    public static func gemmaEmbeddingPreset(_ name: String) -> GemmaEmbeddingShape? {
        gemmaEmbeddingPresets.first { $0.name == name.lowercased() }
    }

    /// Gemma's SentencePiece layout in `size` tokens: <pad> <eos> <bos> <unk> <mask>, the turn
    /// markers, the 256 <0xXX> byte tokens, "▁" and the printable ASCII characters, then pieces of
    /// 2, 3, 4 … lowercase letters, each with and without a leading ▁ (every prefix of a piece is a
    /// piece, so text merges up to them), best-scored first.
    static func gemmaTokenizerMetadata(size: Int, into w: GGUFWriter) {
        var tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]
        var types: [Int64] = [3, 3, 3, 2, 3, 3, 3]
        for b in 0..<256 {
            tokens.append("<0x\(String(b, radix: 16, uppercase: true).leftPadded(2))>")
            types.append(6)
        }
        tokens.append("\u{2581}"); types.append(1)
        for c in 33..<127 { tokens.append(String(UnicodeScalar(UInt8(c)))); types.append(1) }
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var words = letters.map { String($0) }
        while tokens.count < size {
            var longer: [String] = []
            for word in words {
                for l in letters where tokens.count < size {
                    tokens.append(word + String(l)); types.append(1)
                    if tokens.count < size { tokens.append("\u{2581}" + word); types.append(1) }
                    longer.append(word + String(l))
                }
                if tokens.count >= size { break }
            }
            words = longer
        }
        tokens = Array(tokens.prefix(size)); types = Array(types.prefix(size))
        w.set("tokenizer.ggml.model", "llama")
        w.set("tokenizer.ggml.pre", "default")
        w.set("tokenizer.ggml.tokens", .array(.strings(tokens)))
        w.set("tokenizer.ggml.scores", .array(.floats((0..<tokens.count).map { -Double($0) }, type: 6)))
        w.set("tokenizer.ggml.token_type", .array(.ints(types, type: 5)))
        w.set("tokenizer.ggml.bos_token_id", u32: 2)
        w.set("tokenizer.ggml.eos_token_id", u32: 1)
        w.set("tokenizer.ggml.unknown_token_id", u32: 3)
        w.set("tokenizer.ggml.padding_token_id", u32: 0)
        w.set("tokenizer.ggml.add_bos_token", .bool(true))
        w.set("tokenizer.ggml.add_eos_token", .bool(false))
        w.set("tokenizer.ggml.add_space_prefix", .bool(false))
    }

    /// Writes a random BitNet-embedding-270M-like model of `shape`: the seven projections in `type`
    /// (I2_S as bitnet.cpp packs it; F16 master-like weights trit ternarizes on load), the norms
    /// F32, the embedding F16, no output.weight; gemma3 metadata with llama.cpp's keys (the window,
    /// the local RoPE base, pooling_type last; the 6-layer pattern is llama.cpp's default).
    public static func writeGemmaEmbedding(_ shape: GemmaEmbeddingShape, type: TernaryFileType, to path: String,
                                           seed: UInt64 = 1, progress: ((Int, Int) -> Void)? = nil) throws {
        guard type != .f32 else {
            throw TritError.argument("trit synth writes embedding models in i2_s, tq2_0, tq1_0 or f16")
        }
        let a = "gemma3"
        guard let spec = Architecture.named("gemma3-bitnet-embedding") else {
            throw TritError.argument("no gemma3-bitnet-embedding description")
        }
        let w = GGUFWriter()
        let cfg = ModelConfig(arch: spec, rope: .neox, dim: shape.dim, ffnDim: shape.ffn,
                              nLayers: shape.layers, nHeads: shape.heads, nKVHeads: shape.kvHeads,
                              headDim: shape.headDim, vocabSize: shape.vocab, contextLength: shape.ctx,
                              ropeTheta: 1_000_000, normEps: 1e-6, tiedEmbeddings: true)
        w.setHParams(cfg, arch: a, name: "trit-synth-\(shape.name)", fileType: type.fileType)
        w.set("\(a).attention.key_length", u32: shape.headDim)
        w.set("\(a).attention.value_length", u32: shape.headDim)
        w.set("\(a).attention.sliding_window", u32: shape.slidingWindow)
        w.set("\(a).rope.freq_base_swa", f32: 10000)
        w.set("\(a).pooling_type", u32: 3)   // llama.cpp's LLAMA_POOLING_TYPE_LAST
        gemmaTokenizerMetadata(size: shape.vocab, into: w)

        var seedCounter = seed
        func nextSeed() -> UInt64 { seedCounter &+= 0x9E37_79B9_7F4A_7C15; return seedCounter }
        func vector(_ name: String, _ n: Int) { addNormVector(w, name, n, seed: nextSeed()) }
        func linear(_ name: String, rows: Int, cols: Int) throws {
            try addRandomTernary(w, name + ".weight", rows: rows, cols: cols, type: type, seed: nextSeed())
            vector(name + "_norm_in.weight", cols)
        }
        addRandomF16(w, "token_embd.weight", rows: shape.vocab, cols: shape.dim, seed: nextSeed())
        vector("output_norm.weight", shape.dim)
        let q = shape.heads * shape.headDim, kv = shape.kvHeads * shape.headDim
        for l in 0..<shape.layers {
            let p = "blk.\(l)."
            vector(p + "attn_norm.weight", shape.dim)
            try linear(p + "attn_q", rows: q, cols: shape.dim)
            try linear(p + "attn_k", rows: kv, cols: shape.dim)
            try linear(p + "attn_v", rows: kv, cols: shape.dim)
            vector(p + "attn_q_norm.weight", shape.headDim)
            vector(p + "attn_k_norm.weight", shape.headDim)
            try linear(p + "attn_output", rows: shape.dim, cols: q)
            vector(p + "post_attention_norm.weight", shape.dim)
            vector(p + "ffn_norm.weight", shape.dim)
            try linear(p + "ffn_gate", rows: shape.ffn, cols: shape.dim)
            try linear(p + "ffn_up", rows: shape.ffn, cols: shape.dim)
            try linear(p + "ffn_down", rows: shape.dim, cols: shape.ffn)
            vector(p + "post_ffw_norm.weight", shape.dim)
        }
        try w.write(to: path, progress: progress)
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
