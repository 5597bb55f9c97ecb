import TritKernels

/// Synthetic `qwen3` models in the group-scaled types (docs/formats.md §8), in the shapes of
/// Bonsai / Ternary-Bonsai 1.7B / 4B / 8B (Qwen3-1.7B / 4B / 8B), with a valid byte-level
/// tokenizer, so the speed of these files can be measured without the real weights.
extension Synth {
    public struct Qwen3Shape: Sendable {
        public let name: String
        public let dim, ffn, layers, heads, kvHeads, headDim, vocab, ctx: Int
        public let tied: Bool   // tie_word_embeddings of the Qwen3 config of that size
    }

    /// Qwen3-1.7B / 4B / 8B's config.json values; a tiny one for tests.
    public static let qwen3Presets: [Qwen3Shape] = [
        Qwen3Shape(name: "bonsai-1.7b", dim: 2048, ffn: 6144, layers: 28, heads: 16, kvHeads: 8, headDim: 128, vocab: 151936,
                   ctx: 40960, tied: true),
        Qwen3Shape(name: "bonsai-4b", dim: 2560, ffn: 9728, layers: 36, heads: 32, kvHeads: 8, headDim: 128, vocab: 151936,
                   ctx: 40960, tied: true),
        Qwen3Shape(name: "bonsai-8b", dim: 4096, ffn: 12288, layers: 36, heads: 32, kvHeads: 8, headDim: 128, vocab: 151936,
                   ctx: 40960, tied: false),
        Qwen3Shape(name: "bonsai-tiny", dim: 256, ffn: 768, layers: 2, heads: 4, kvHeads: 2, headDim: 64, vocab: 1024,
                   ctx: 512, tied: false),
    ]

    public static func qwen3Preset(_ name: String) -> Qwen3Shape? { qwen3Presets.first { $0.name == name.lowercased() } }

    /// The group-scaled types a qwen3 synth can be written in, by the names `trit synth --type` takes.
    public static let groupTypes: [(name: String, type: GGMLType, id: UInt32)] = [
        ("q2_0", .q2_0, 42), ("pq2_0", .pq2_0, 142), ("ptq1_0", .ptq1_0, 143), ("q1_0", .q1_0, 41),
    ]

    /// A byte-level vocabulary as Qwen's: 256 byte tokens, <|endoftext|>, <|im_start|>, <|im_end|>,
    /// then reserved control tokens; pre-tokenizer qwen2, no BOS, end of generation <|im_end|>.
    static func qwenTokenizerMetadata(size: Int, into w: GGUFWriter) {
        var tokens: [String] = [], types: [Int64] = []
        for b in 0..<256 { tokens.append(ByteLevel.encode([UInt8(b)])); types.append(1) }
        for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] where tokens.count < size { tokens.append(s); types.append(3) }
        while tokens.count < size { tokens.append("<|reserved_\(tokens.count)|>"); types.append(3) }
        w.set("tokenizer.ggml.model", "gpt2")
        w.set("tokenizer.ggml.pre", "qwen2")
        w.set("tokenizer.ggml.tokens", .array(.strings(tokens)))
        w.set("tokenizer.ggml.token_type", .array(.ints(types, type: 5)))
        w.set("tokenizer.ggml.merges", .array(.strings([])))
        w.set("tokenizer.ggml.eos_token_id", u32: 258)
        w.set("tokenizer.ggml.padding_token_id", u32: 256)
        w.set("tokenizer.ggml.add_bos_token", .bool(false))
    }

    /// Writes a random qwen3 model with its seven projections in `type` (codes uniform over the
    /// type's values, Q2_0 / PQ2_0 with a code 3 (+2) about once in 256; scales 0.02 × U(0.6, 1.4)
    /// in fp16), embeddings and head F16, norms F32.
    public static func writeQwen3(_ shape: Qwen3Shape, type: GGMLType, to path: String, seed: UInt64 = 1,
                                  progress: ((Int, Int) -> Void)? = nil) throws {
        guard groupTypes.contains(where: { $0.type == type }) else {
            throw TritError.argument("\(type) is not a group-scaled type trit synth writes")
        }
        let w = GGUFWriter()
        let a = "qwen3"
        guard let spec = Architecture.named(a) else { throw TritError.argument("unknown architecture \(a)") }
        let cfg = ModelConfig(arch: spec, rope: .neox, dim: shape.dim, ffnDim: shape.ffn,
                              nLayers: shape.layers, nHeads: shape.heads, nKVHeads: shape.kvHeads, headDim: shape.headDim,
                              vocabSize: shape.vocab, contextLength: shape.ctx, ropeTheta: 1_000_000, normEps: 1e-6,
                              tiedEmbeddings: shape.tied)
        w.setHParams(cfg, arch: a, name: "trit-synth-\(shape.name)", fileType: type == .q1_0 ? 40 : 41)
        w.set("\(a).attention.key_length", u32: shape.headDim)
        w.set("\(a).attention.value_length", u32: shape.headDim)
        qwenTokenizerMetadata(size: shape.vocab, into: w)

        var seedCounter = seed
        func nextSeed() -> UInt64 { seedCounter &+= 0x9E37_79B9_7F4A_7C15; return seedCounter }
        func vector(_ name: String, _ n: Int) { addNormVector(w, name, n, seed: nextSeed()) }
        func dense(_ name: String, rows: Int, cols: Int) { addRandomF16(w, name, rows: rows, cols: cols, seed: nextSeed()) }
        func linear(_ name: String, rows: Int, cols: Int) throws {
            try addGroupLinear(w, name, rows: rows, cols: cols, type: type, seed: nextSeed())
        }
        dense("token_embd.weight", rows: shape.vocab, cols: shape.dim)
        if !shape.tied { dense("output.weight", rows: shape.vocab, cols: shape.dim) }
        vector("output_norm.weight", shape.dim)
        try addQwen3Layers(layers: shape.layers, dim: shape.dim, ffn: shape.ffn, heads: shape.heads,
                           kvHeads: shape.kvHeads, headDim: shape.headDim, vector: vector,
                           linear: { try linear($0, rows: $1, cols: $2) })
        try w.write(to: path, progress: progress)
    }

    /// qwen3's layer tensors in llama.cpp's names, in the order trit synth writes them (each writer's
    /// seeds follow this order, so a file's bytes depend on it): used by the Bonsai and the
    /// BitNet-embedding-0.6B writers, which differ in how a linear is stored.
    static func addQwen3Layers(layers: Int, dim: Int, ffn: Int, heads: Int, kvHeads: Int, headDim: Int,
                               vector: (String, Int) -> Void,
                               linear: (String, Int, Int) throws -> Void) rethrows {
        let q = heads * headDim, kv = kvHeads * headDim
        for l in 0..<layers {
            let p = "blk.\(l)."
            vector(p + "attn_norm.weight", dim)
            try linear(p + "attn_q.weight", q, dim)
            try linear(p + "attn_k.weight", kv, dim)
            try linear(p + "attn_v.weight", kv, dim)
            vector(p + "attn_q_norm.weight", headDim)
            vector(p + "attn_k_norm.weight", headDim)
            try linear(p + "attn_output.weight", dim, q)
            vector(p + "ffn_norm.weight", dim)
            try linear(p + "ffn_gate.weight", ffn, dim)
            try linear(p + "ffn_up.weight", ffn, dim)
            try linear(p + "ffn_down.weight", dim, ffn)
        }
    }

    /// A random [rows × cols] linear in group-scaled `type`: codes uniform over the type's values (Q2_0 / PQ2_0
    /// with a code 3 (+2) about once in 256), scales 0.02 × U(0.6, 1.4) in fp16.
    static func addGroupLinear(_ w: GGUFWriter, _ name: String, rows: Int, cols: Int, type: GGMLType,
                               seed s: UInt64) throws {
        guard let entry = groupTypes.first(where: { $0.type == type }),
              let (group, blockBytes) = GroupScaled.geometry(type) else {
            throw TritError.argument("\(type) is not a group-scaled type trit synth writes")
        }
        guard cols % group == 0 else {
            throw TritError.unsupported("\(name): width \(cols) is not a multiple of \(type)'s group \(group)")
        }
        let blocks = rows * cols / group
        w.addTensor(name, shape: [cols, rows], typeID: entry.id, byteSize: blocks * blockBytes) { out in
            var rng = Xoshiro256(seed: s)
            let p = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for blk in 0..<blocks {
                let o = blk * blockBytes
                let d = tk_f32_to_f16(Float(0.02 * (0.6 + 0.8 * rng.nextUnit())))
                let scaleAt = type == .ptq1_0 ? o + 26 : o
                p[scaleAt] = UInt8(d & 0xFF); p[scaleAt + 1] = UInt8(d >> 8)
                let payload = type == .ptq1_0 ? o : o + 2
                switch type {
                case .q1_0:
                    for i in 0..<16 { p[payload + i] = UInt8(truncatingIfNeeded: rng.next()) }
                case .ptq1_0:
                    // each byte: five random trits, base 3, stored as ceil(q·256/243)
                    for i in 0..<26 { let q = Int(rng.next() % 243); p[payload + i] = UInt8((q * 256 + 242) / 243) }
                default:
                    // 2-bit codes over {0, 1, 2} (−1, 0, +1), and 3 (+2) about once in 256
                    for i in 0..<(blockBytes - 2) {
                        var byte: UInt8 = 0
                        for k in 0..<4 {
                            let r = rng.next() % 768
                            let c: UInt8 = r < 3 ? 3 : UInt8(r % 3)
                            byte |= c << UInt8(2 * k)
                        }
                        p[payload + i] = byte
                    }
                }
            }
        }
    }
}
