import TritKernels

/// Synthetic BitNet-embedding models (the `qwen3-bitnet-embedding` description: qwen3 with a
/// BitLinear norm before each of the seven projections, tied embedding, last-token pooling) in
/// the layout of bitnet.cpp's utils/convert-bitnet-embedding-to-gguf.py, with a valid Qwen-like
/// byte-level tokenizer, so embedding speed can be measured without the real weights.
extension Synth {
    public struct EmbeddingShape: Sendable {
        public let name: String
        public let dim, ffn, layers, heads, kvHeads, headDim, vocab, ctx: Int
    }

    /// BitNet-embedding-0.6B's config.json (Qwen3-Embedding-0.6B's shape); a tiny one for tests.
    public static let embeddingPresets: [EmbeddingShape] = [
        EmbeddingShape(name: "bitnet-embedding-0.6b", dim: 1024, ffn: 3072, layers: 28, heads: 16, kvHeads: 8,
                       headDim: 128, vocab: 151669, ctx: 32768),
        EmbeddingShape(name: "bitnet-embedding-tiny", dim: 256, ffn: 512, layers: 2, heads: 4, kvHeads: 2,
                       headDim: 128, vocab: 512, ctx: 512),
    ]

    public static func embeddingPreset(_ name: String) -> EmbeddingShape? {
        embeddingPresets.first { $0.name == name.lowercased() }
    }

    /// Writes a random BitNet-embedding model of `shape`: the seven projections in `type` (I2_S as
    /// bitnet.cpp's converter packs it; F16 master-like weights trit ternarizes on load), their
    /// input norms and the other norms F32, the embedding F16, no output.weight; metadata as the
    /// converter writes it (architecture qwen3, pooling_type last, EOS <|endoftext|> appended).
    public static func writeEmbedding(_ shape: EmbeddingShape, type: TernaryFileType, to path: String,
                                      seed: UInt64 = 1, progress: ((Int, Int) -> Void)? = nil) throws {
        guard type != .f32 else {
            throw TritError.argument("trit synth writes embedding models in i2_s, tq2_0, tq1_0 or f16")
        }
        let a = "qwen3"
        guard let spec = Architecture.named("qwen3-bitnet-embedding") else {
            throw TritError.argument("no qwen3-bitnet-embedding description")
        }
        let w = GGUFWriter()
        let cfg = ModelConfig(arch: spec, rope: .neox, dim: shape.dim, ffnDim: shape.ffn,
                              nLayers: shape.layers, nHeads: shape.heads, nKVHeads: shape.kvHeads,
                              headDim: shape.headDim, vocabSize: shape.vocab, contextLength: shape.ctx,
                              ropeTheta: 1_000_000, normEps: 1e-6, tiedEmbeddings: true)
        w.setHParams(cfg, arch: a, name: "trit-synth-\(shape.name)", fileType: type.fileType)
        w.set("\(a).attention.key_length", u32: shape.headDim)
        w.set("\(a).attention.value_length", u32: shape.headDim)
        w.set("\(a).pooling_type", u32: 3)   // llama.cpp's LLAMA_POOLING_TYPE_LAST
        qwenTokenizerMetadata(size: shape.vocab, into: w)
        // the converter's Qwen3 branch: <|endoftext|> ends every input, for last-token pooling
        w.kv.removeAll { $0.0 == "tokenizer.ggml.eos_token_id" }
        w.set("tokenizer.ggml.eos_token_id", u32: 256)
        w.set("tokenizer.ggml.add_eos_token", .bool(true))

        var seedCounter = seed
        func nextSeed() -> UInt64 { seedCounter &+= 0x9E37_79B9_7F4A_7C15; return seedCounter }
        func vector(_ name: String, _ n: Int) { addNormVector(w, name, n, seed: nextSeed()) }
        func linear(_ name: String, rows: Int, cols: Int) throws {
            try addRandomTernary(w, name, rows: rows, cols: cols, type: type, seed: nextSeed())
            vector(name.replacingSuffix(".weight", with: "_norm_in.weight"), cols)
        }
        addRandomF16(w, "token_embd.weight", rows: shape.vocab, cols: shape.dim, seed: nextSeed())
        vector("output_norm.weight", shape.dim)
        try addQwen3Layers(layers: shape.layers, dim: shape.dim, ffn: shape.ffn, heads: shape.heads,
                           kvHeads: shape.kvHeads, headDim: shape.headDim, vector: vector,
                           linear: { try linear($0, rows: $1, cols: $2) })
        try w.write(to: path, progress: progress)
    }

    /// A [rows × cols] linear in `type`: ternary values (−1 and +1 a quarter each, 0 half) with β = 0.0199,
    /// or (F16) Gaussian-like values of that scale.
    static func addRandomTernary(_ w: GGUFWriter, _ name: String, rows: Int, cols: Int, type: TernaryFileType,
                                 seed: UInt64) throws {
        guard type.accepts(rows: rows, cols: cols) else {
            throw TritError.unsupported("\(name): \(rows)x\(cols) cannot be stored as \(type.rawValue)")
        }
        let bytes = try type.byteSize(rows: rows, cols: cols)
        w.addTensor(name, shape: [cols, rows], typeID: type.typeID, byteSize: bytes) { out in
            var rng = Xoshiro256(seed: seed)
            if type == .f16 {
                for i in 0..<(rows * cols) {
                    let x = Float((rng.nextUnit() + rng.nextUnit() + rng.nextUnit() - 1.5) * 0.04)
                    out.storeBytes(of: tk_f32_to_f16(x).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
                return
            }
            TernaryEncoding.encode(type, rows: rows, cols: cols, scale: 0.0199, source: { _, v in
                var k = 0
                while k < cols {
                    var bits = rng.next()
                    for _ in 0..<16 where k < cols {
                        let x = Int8(truncatingIfNeeded: bits & 3)
                        v[k] = x == 3 ? 0 : x - 1
                        bits >>= 4
                        k += 1
                    }
                }
            }, into: out)
        }
    }
}

private extension String {
    func replacingSuffix(_ suffix: String, with other: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + other : self
    }
}
