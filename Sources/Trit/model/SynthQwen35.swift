/// Synthetic `qwen35` hybrids (Gated DeltaNet + gated attention) in the group-scaled types, with
/// llama.cpp's tensor names and keys, so their speed can be measured without the real weights.
extension Synth {
    public struct Qwen35Shape: Sendable {
        public let name: String
        public let dim, ffn, layers, heads, kvHeads, headDim, vocab, ctx: Int
        /// Gated DeltaNet: key heads, value heads, key and value head dims; every `interval`-th layer attends.
        public let keyHeads, valueHeads, keyHeadDim, valueHeadDim, interval: Int
        public let ropeTheta: Float
    }

    /// bonsai-27b: Ternary-Bonsai-27B's shape, Qwen3.6-27B's text config (hidden 5120, intermediate 17408,
    /// 64 layers, full_attention_interval 4, 24 heads / 4 KV heads of 256, linear 16 key / 48 value heads
    /// of 128, conv 4, vocab 248320, θ 1e7, partial rotary 0.25, untied head). qwen35-2b: a small hybrid
    /// for quick runs in the shape of Qwen3.5-2B's text config as recalled (hidden 2048, intermediate 6144,
    /// 24 layers, 8 / 2 heads of 256, 16 / 16 linear heads of 128); qwen35-tiny for tests.
    public static let qwen35Presets: [Qwen35Shape] = [
        Qwen35Shape(name: "bonsai-27b", dim: 5120, ffn: 17408, layers: 64, heads: 24, kvHeads: 4, headDim: 256,
                    vocab: 248320, ctx: 262144, keyHeads: 16, valueHeads: 48, keyHeadDim: 128, valueHeadDim: 128,
                    interval: 4, ropeTheta: 10_000_000),
        Qwen35Shape(name: "qwen35-2b", dim: 2048, ffn: 6144, layers: 24, heads: 8, kvHeads: 2, headDim: 256,
                    vocab: 248320, ctx: 262144, keyHeads: 16, valueHeads: 16, keyHeadDim: 128, valueHeadDim: 128,
                    interval: 4, ropeTheta: 10_000_000),
        Qwen35Shape(name: "qwen35-tiny", dim: 256, ffn: 512, layers: 4, heads: 4, kvHeads: 2, headDim: 64,
                    vocab: 1024, ctx: 512, keyHeads: 2, valueHeads: 4, keyHeadDim: 32, valueHeadDim: 32,
                    interval: 2, ropeTheta: 1_000_000),
    ]

    public static func qwen35Preset(_ name: String) -> Qwen35Shape? {
        qwen35Presets.first { $0.name == name.lowercased() }
    }

    /// How a synthetic file declares Hadamard folding (`prism.hadamard.*`, block 128 listing every large
    /// linear): none, identity signs, or explicit random signs per input width.
    public enum HadamardKeys: String, Sendable { case none, identity, explicit }

    /// Writes a random qwen35 model: the large linears in `type` (as writeQwen3), in_proj_a/b, the conv,
    /// A, dt_bias and the norms F32 (norms stored as 1 + w, ssm_a = −exp(A_log), as llama.cpp's converter),
    /// embeddings and head F16; with `hadamard`, the folding keys (the random weights read as folded).
    public static func writeQwen35(_ shape: Qwen35Shape, type: GGMLType, to path: String, seed: UInt64 = 1,
                                   hadamard: HadamardKeys = .none, progress: ((Int, Int) -> Void)? = nil) throws {
        guard groupTypes.contains(where: { $0.type == type }) else {
            throw TritError.argument("\(type) is not a group-scaled type trit synth writes")
        }
        let w = GGUFWriter()
        let a = "qwen35"
        guard let spec = Architecture.named(a) else { throw TritError.argument("unknown architecture \(a)") }
        var cfg = ModelConfig(arch: spec, rope: .neox, dim: shape.dim, ffnDim: shape.ffn, nLayers: shape.layers,
                              nHeads: shape.heads, nKVHeads: shape.kvHeads, headDim: shape.headDim,
                              vocabSize: shape.vocab, contextLength: shape.ctx, ropeTheta: shape.ropeTheta,
                              normEps: 1e-6, tiedEmbeddings: false)
        let rot = shape.headDim / 4   // partial rotary 0.25
        cfg.ropeDimensions = rot
        w.setHParams(cfg, arch: a, name: "trit-synth-\(shape.name)", fileType: type == .q1_0 ? 40 : 41)
        // the multimodal sections (text positions use one position for all: plain RoPE); [11, 11, 10, 0] at 27B
        let t = rot / 2, s0 = (t + 2) / 3
        w.set("\(a).rope.dimension_sections", .array(.ints([Int64(s0), Int64(s0), Int64(t - 2 * s0), 0], type: 5)))
        w.set("\(a).attention.key_length", u32: shape.headDim)
        w.set("\(a).attention.value_length", u32: shape.headDim)
        w.set("\(a).ssm.conv_kernel", u32: 4)
        w.set("\(a).ssm.state_size", u32: shape.keyHeadDim)
        w.set("\(a).ssm.group_count", u32: shape.keyHeads)
        w.set("\(a).ssm.time_step_rank", u32: shape.valueHeads)
        w.set("\(a).ssm.inner_size", u32: shape.valueHeads * shape.valueHeadDim)
        w.set("\(a).full_attention_interval", u32: shape.interval)
        qwenTokenizerMetadata(size: shape.vocab, into: w)

        var seedCounter = seed
        func nextSeed() -> UInt64 { seedCounter &+= 0x9E37_79B9_7F4A_7C15; return seedCounter }
        func norm(_ name: String, _ n: Int) { addNormVector(w, name, n, seed: nextSeed()) }
        func dense(_ name: String, rows: Int, cols: Int) {
            addRandomF16(w, name, rows: rows, cols: cols, seed: nextSeed())
        }
        var folded: [String] = [], widths = Set<Int>()
        func linear(_ name: String, rows: Int, cols: Int) throws {
            try addGroupLinear(w, name, rows: rows, cols: cols, type: type, seed: nextSeed())
            folded.append(name); widths.insert(cols)
        }
        /// F32 values lo + (hi − lo)·U(0, 1), GGUF shape `ne`.
        func floats(_ name: String, _ ne: [Int], _ lo: Double, _ hi: Double) {
            let n = ne.reduce(1, *), s = nextSeed()
            w.addTensor(name, shape: ne, typeID: 0, byteSize: n * 4) { out in
                var rng = Xoshiro256(seed: s)
                for i in 0..<n {
                    let v = Float(lo + (hi - lo) * rng.nextUnit())
                    out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                }
            }
        }
        dense("token_embd.weight", rows: shape.vocab, cols: shape.dim)
        dense("output.weight", rows: shape.vocab, cols: shape.dim)
        norm("output_norm.weight", shape.dim)
        let q = shape.heads * shape.headDim, kv = shape.kvHeads * shape.headDim
        let keyDim = shape.keyHeads * shape.keyHeadDim, valueDim = shape.valueHeads * shape.valueHeadDim
        let convDim = 2 * keyDim + valueDim, nV = shape.valueHeads
        for l in 0..<shape.layers {
            let p = "blk.\(l)."
            norm(p + "attn_norm.weight", shape.dim)
            if (l + 1) % shape.interval == 0 {
                try linear(p + "attn_q.weight", rows: 2 * q, cols: shape.dim)   // query and gate per head
                try linear(p + "attn_k.weight", rows: kv, cols: shape.dim)
                try linear(p + "attn_v.weight", rows: kv, cols: shape.dim)
                norm(p + "attn_q_norm.weight", shape.headDim)
                norm(p + "attn_k_norm.weight", shape.headDim)
                try linear(p + "attn_output.weight", rows: shape.dim, cols: q)
            } else {
                try linear(p + "attn_qkv.weight", rows: convDim, cols: shape.dim)
                try linear(p + "attn_gate.weight", rows: valueDim, cols: shape.dim)
                floats(p + "ssm_beta.weight", [shape.dim, nV], -0.05, 0.05)
                floats(p + "ssm_alpha.weight", [shape.dim, nV], -0.05, 0.05)
                floats(p + "ssm_conv1d.weight", [4, convDim], -0.5, 0.5)
                floats(p + "ssm_a", [nV], -16, -1)
                floats(p + "ssm_dt.bias", [nV], -1, 1)
                norm(p + "ssm_norm.weight", shape.valueHeadDim)
                try linear(p + "ssm_out.weight", rows: shape.dim, cols: valueDim)
            }
            norm(p + "post_attention_norm.weight", shape.dim)
            try linear(p + "ffn_gate.weight", rows: shape.ffn, cols: shape.dim)
            try linear(p + "ffn_up.weight", rows: shape.ffn, cols: shape.dim)
            try linear(p + "ffn_down.weight", rows: shape.dim, cols: shape.ffn)
        }
        if hadamard != .none {
            let h = "prism.hadamard."
            w.set(h + "version", u32: 1)
            w.set(h + "block_size", u32: 128)
            w.set(h + "transform", "normalized-sylvester-walsh-hadamard")
            w.set(h + "axis", "input-last-dimension")
            w.set(h + "sign_mode", hadamard.rawValue)
            let ws = widths.sorted()
            var rng = Xoshiro256(seed: nextSeed())
            let values: [Int64] = hadamard == .explicit ? ws.flatMap { n in (0..<n).map { _ in rng.next() & 1 == 0 ? 1 : -1 } } : []
            w.set(h + "sign_widths", .array(.ints(ws.map(Int64.init), type: 5)))
            w.set(h + "sign_values", .array(.ints(values, type: 5)))
            w.set(h + "weight_names", .array(.strings(folded)))
            w.set(h + "gdn_v_grouped", .bool(false))
        }
        try w.write(to: path, progress: progress)
    }
}
