import TritKernels

/// Synthetic models: random ternary weights in a preset shape, with a valid byte-level BPE
/// tokenizer, written as GGUF — so speed can be measured where real weights cannot be had.
public enum Synth {
    public struct Shape: Sendable {
        public let name: String
        public let dim, ffn, layers, heads, kvHeads, vocab, ctx: Int
        public let arch: String
    }

    /// 2B4T (docs/formats.md §1.2); the BitNet paper's LLaMA-like sizes (Table 2: hidden, GLU, heads, layers);
    /// and a tiny one for tests.
    public static let presets: [Shape] = [
        Shape(name: "2b4t", dim: 2560, ffn: 6912, layers: 30, heads: 20, kvHeads: 5, vocab: 128256, ctx: 4096, arch: "bitnet-b1.58"),
        Shape(name: "700m", dim: 1536, ffn: 4096, layers: 24, heads: 16, kvHeads: 16, vocab: 32002, ctx: 2048, arch: "bitnet-b1.58"),
        Shape(name: "1.3b", dim: 2048, ffn: 5460, layers: 24, heads: 32, kvHeads: 32, vocab: 32002, ctx: 2048, arch: "bitnet-b1.58"),
        Shape(name: "3b", dim: 3200, ffn: 8640, layers: 26, heads: 32, kvHeads: 32, vocab: 32002, ctx: 2048, arch: "bitnet-b1.58"),
        Shape(name: "3.9b", dim: 3200, ffn: 8640, layers: 30, heads: 32, kvHeads: 32, vocab: 32002, ctx: 2048, arch: "bitnet-b1.58"),
        Shape(name: "tiny", dim: 256, ffn: 768, layers: 4, heads: 4, kvHeads: 2, vocab: 1024, ctx: 512, arch: "bitnet-b1.58"),
    ]

    public static func preset(_ name: String) -> Shape? { presets.first { $0.name == name.lowercased() } }

    /// A byte-level BPE vocabulary of `size` tokens: the 256 byte tokens, then specials
    /// (<|begin_of_text|>, <|end_of_text|>, <|eot_id|>) and reserved control tokens. No merges.
    /// `textVocab`: the tokens after the specials are normal text tokens " w<id>" instead (greedy tokens
    /// on random weights then carry text, so a server's stream has chunks to time); never produced by
    /// encoding (no merges), only by generation.
    static func tokenizerMetadata(size: Int, textVocab: Bool = false, into w: GGUFWriter) {
        var tokens: [String] = []
        var types: [Int64] = []
        for b in 0..<256 { tokens.append(ByteLevel.encode([UInt8(b)])); types.append(1) }
        let specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
        for (i, s) in specials.enumerated() where tokens.count < size { tokens.append(s); types.append(3); _ = i }
        while tokens.count < size {
            if textVocab { tokens.append(ByteLevel.encode(Array(" w\(tokens.count)".utf8))); types.append(1) }
            else { tokens.append("<|reserved_\(tokens.count)|>"); types.append(3) }
        }
        w.set("tokenizer.ggml.model", "gpt2")
        w.set("tokenizer.ggml.pre", "llama-bpe")
        w.set("tokenizer.ggml.tokens", .array(.strings(tokens)))
        w.set("tokenizer.ggml.token_type", .array(.ints(types, type: 5)))
        w.set("tokenizer.ggml.merges", .array(.strings([])))
        w.set("tokenizer.ggml.bos_token_id", u32: 256)
        w.set("tokenizer.ggml.eos_token_id", u32: 257)
        w.set("tokenizer.ggml.eot_token_id", u32: 258)
        w.set("tokenizer.ggml.add_bos_token", .bool(true))
    }

    /// Writes a random model of `shape` with linears in `type`. Ternary values are uniform over
    /// {−1, 0, +1}; β = 0.02-ish per tensor; embeddings N(0, 0.02)-like, in F16 or `head` (the tied embedding
    /// in one of ggml's block types: bitnet.cpp's `--quant-embd` files are Q6_K; docs/formats.md §10).
    public static func write(_ shape: Shape, type: TernaryFileType, to path: String, seed: UInt64 = 1,
                             head: HeadFileType = .f16, textVocab: Bool = false,
                             progress: ((Int, Int) -> Void)? = nil) throws {
        guard head.accepts(cols: shape.dim) else {
            throw TritError.unsupported("dim \(shape.dim) is not a whole number of \(head.rawValue) blocks")
        }
        let w = GGUFWriter()
        let a = shape.arch
        let hd = shape.dim / shape.heads
        guard let spec = Architecture.named(a) else { throw TritError.argument("unknown architecture \(a)") }
        let cfg = ModelConfig(arch: spec, rope: .neox, dim: shape.dim, ffnDim: shape.ffn,
                              nLayers: shape.layers, nHeads: shape.heads, nKVHeads: shape.kvHeads, headDim: hd,
                              vocabSize: shape.vocab, contextLength: shape.ctx, ropeTheta: 500000, normEps: 1e-5, tiedEmbeddings: true)
        w.setHParams(cfg, arch: a, name: "trit-synth-\(shape.name)", fileType: type.fileType)
        if type == .f16 || type == .f32 { w.set("trit.dense_linears", .bool(true)) }
        tokenizerMetadata(size: shape.vocab, textVocab: textVocab, into: w)

        var seedCounter = seed
        func nextSeed() -> UInt64 { seedCounter &+= 0x9E37_79B9_7F4A_7C15; return seedCounter }
        func vector(_ name: String, _ n: Int) { addNormVector(w, name, n, seed: nextSeed()) }
        func linear(_ name: String, rows: Int, cols: Int) throws {
            let s = nextSeed()
            let t: TernaryFileType = type.accepts(rows: rows, cols: cols) ? type : .i2s   // TQ blocks need K % 256 == 0
            guard t.accepts(rows: rows, cols: cols) else {
                throw TritError.unsupported("\(name): \(rows)x\(cols) cannot be stored as \(type.rawValue)")
            }
            let beta: Float = 0.0199
            w.addTensor(name, shape: [cols, rows], typeID: t.typeID, byteSize: try t.byteSize(rows: rows, cols: cols)) { out in
                var rng = Xoshiro256(seed: s)
                if t == .f16 || t == .f32 {
                    // the FP baseline: Gaussian-like weights of the same scale
                    let n = rows * cols
                    for i in 0..<n {
                        let x = Float((rng.nextUnit() + rng.nextUnit() + rng.nextUnit() - 1.5) * 0.04)
                        if t == .f16 { out.storeBytes(of: tk_f32_to_f16(x).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
                        else { out.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                    }
                    return
                }
                TernaryEncoding.encode(t, rows: rows, cols: cols, scale: beta, source: { _, v in
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
        addRandomF16(w, "token_embd.weight", rows: shape.vocab, cols: shape.dim, seed: nextSeed(), as: head)
        vector("output_norm.weight", shape.dim)
        for l in 0..<shape.layers {
            let p = "blk.\(l)."
            vector(p + "attn_norm.weight", shape.dim)
            try linear(p + "attn_q.weight", rows: shape.heads * hd, cols: shape.dim)
            try linear(p + "attn_k.weight", rows: shape.kvHeads * hd, cols: shape.dim)
            try linear(p + "attn_v.weight", rows: shape.kvHeads * hd, cols: shape.dim)
            try linear(p + "attn_output.weight", rows: shape.dim, cols: shape.heads * hd)
            vector(p + "attn_sub_norm.weight", shape.heads * hd)
            vector(p + "ffn_norm.weight", shape.dim)
            try linear(p + "ffn_gate.weight", rows: shape.ffn, cols: shape.dim)
            try linear(p + "ffn_up.weight", rows: shape.ffn, cols: shape.dim)
            try linear(p + "ffn_down.weight", rows: shape.dim, cols: shape.ffn)
            vector(p + "ffn_sub_norm.weight", shape.ffn)
        }
        try w.write(to: path, progress: progress)
    }

    /// A norm gain of n values in [0.5, 1.5), F32.
    static func addNormVector(_ w: GGUFWriter, _ name: String, _ n: Int, seed: UInt64) {
        w.addTensor(name, shape: [n], typeID: 0, byteSize: n * 4) { out in
            var rng = Xoshiro256(seed: seed)
            for i in 0..<n { out.storeBytes(of: Float(0.5 + rng.nextUnit()).bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
    }

    /// An F16 matrix [rows × cols] of N(0, 0.02)-like values: 256 such values picked at random (fast
    /// for the 600M elements of an 8B model's embedding). `type` other than F16: the same values written
    /// in that type.
    static func addRandomF16(_ w: GGUFWriter, _ name: String, rows: Int, cols: Int, seed: UInt64,
                             as type: HeadFileType = .f16) {
        guard type == .f16 else {
            let rowBytes = type.rowBytes(cols: cols)
            w.addTensor(name, shape: [cols, rows], typeID: type.typeID, byteSize: rows * rowBytes) { out in
                let f16 = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * cols)
                let row = UnsafeMutablePointer<Float>.allocate(capacity: cols)
                defer { f16.deallocate(); row.deallocate() }
                fillRandomF16(f16, rows * cols, seed: seed)
                for r in 0..<rows {
                    for k in 0..<cols { row[k] = tk_f16_to_f32(UInt16(littleEndian: f16[r * cols + k])) }
                    type.encodeRow(row, cols: cols, into: out.baseAddress! + r * rowBytes)
                }
            }
            return
        }
        w.addTensor(name, shape: [cols, rows], typeID: 1, byteSize: rows * cols * 2) { out in
            fillRandomF16(out.baseAddress!.assumingMemoryBound(to: UInt16.self), rows * cols, seed: seed)
        }
    }

    /// n F16 values at p (little-endian): 256 N(0, 0.02)-like values, each element one of them at random.
    static func fillRandomF16(_ p: UnsafeMutablePointer<UInt16>, _ n: Int, seed: UInt64) {
        var rng = Xoshiro256(seed: seed)
        var table = [UInt16](repeating: 0, count: 256)
        for i in 0..<256 {
            table[i] = tk_f32_to_f16(Float((rng.nextUnit() + rng.nextUnit() + rng.nextUnit() - 1.5) * 0.04))
        }
        var i = 0
        while i < n {
            var bits = rng.next()
            for _ in 0..<8 where i < n { p[i] = table[Int(bits & 255)].littleEndian; bits >>= 8; i += 1 }
        }
    }
}
