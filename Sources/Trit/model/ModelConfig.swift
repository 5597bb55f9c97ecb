/// A model's hyperparameters, and the description of its architecture that the forward pass reads.
public struct ModelConfig: Sendable {
    /// What the layers do (Architecture.swift).
    public var arch: Architecture
    /// The RoPE pairing of this file's Q/K rows (GGUF `llama` files permute them: adjacent pairs).
    public var rope: Architecture.RoPEPairs
    public var architecture: String { arch.name }
    public var dim: Int
    public var ffnDim: Int
    public var nLayers: Int
    public var nHeads: Int
    public var nKVHeads: Int
    public var headDim: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var ropeTheta: Float
    public var normEps: Float
    public var tiedEmbeddings: Bool
    /// Linear or YaRN RoPE scaling from the file (none for most models).
    public var ropeScaling = RoPEScaling()
    /// The rotated dimensions of a head (partial rotary: qwen35 rotates a quarter); 0 = headDim.
    public var ropeDimensions = 0
    public var ropeDim: Int { ropeDimensions > 0 ? ropeDimensions : headDim }
    /// Each layer's kind when the file lists them (qwen35 `layer_types` / `full_attention_interval`);
    /// empty: the architecture's pattern.
    public var layerKinds: [Architecture.LayerKind] = []
    /// The shape of the Gated DeltaNet layers (nil when the model has none).
    public var deltaNet: DeltaNetShape? = nil

    public func kind(ofLayer l: Int) -> Architecture.LayerKind {
        l < layerKinds.count ? layerKinds[l] : arch.layers.kind(ofLayer: l)
    }
    public var hasDeltaNet: Bool { (0..<nLayers).contains { kind(ofLayer: $0) == .gatedDeltaNet } }

    /// The attention's score scale (Gemma3: query_pre_attn_scalar^-½); nil: 1/√head_dim.
    public var attentionScale: Float? = nil
    /// Sliding-window attention (Gemma3): a query of a sliding layer sees the `slidingWindow`
    /// positions ending at its own (transformers: kv > q − window); `slidingLayers[l]` says which
    /// layers slide (empty: none).
    public var slidingWindow = 0
    public var slidingLayers: [Bool] = []
    /// The RoPE base of the sliding layers (Gemma3 rope_local_base_freq; 0: ropeTheta).
    public var localRopeTheta: Float = 0
    /// Causal attention, or every position of an input seeing every other (transformers'
    /// use_bidirectional_attention, GGUF `attention.causal` false).
    public var causal = true

    public var qDim: Int { nHeads * headDim }
    public var kvDim: Int { nKVHeads * headDim }

    /// The file's name for each value, so an error names the key a user can look up.
    struct KeyNames {
        var dim = "embedding length", ffnDim = "feed-forward length", nLayers = "block count"
        var nHeads = "head count", nKVHeads = "KV head count", headDim = "head dimension"
        var vocabSize = "vocabulary size", contextLength = "context length"
        var ropeTheta = "rope theta", normEps = "RMS norm epsilon"
    }

    /// Consistency checks on values read from a file. Every size then fits an Int32 (the C API's
    /// int32_t fields) and every product of sizes the engine forms fits an Int.
    func validate(origin: String, keys k: KeyNames = KeyNames()) throws {
        func bad(_ m: String) -> TritError { TritError.format("\(origin): \(m)") }
        let limit = 1 << 20
        for (name, v) in [(k.dim, dim), (k.ffnDim, ffnDim), (k.nLayers, nLayers),
                          (k.nHeads, nHeads), (k.nKVHeads, nKVHeads), (k.vocabSize, vocabSize)] {
            guard v > 0, v <= limit else { throw bad("\(name) \(v) is out of range (1...\(limit))") }
        }
        guard nHeads % nKVHeads == 0 else { throw bad("\(k.nHeads) \(nHeads) is not a multiple of \(k.nKVHeads) \(nKVHeads)") }
        guard headDim > 0, headDim % 2 == 0, headDim <= 1024 else { throw bad("\(k.headDim) \(headDim) must be even and at most 1024") }
        // the int8 kernels sum up to 127 × 64 × K in int32 (a code scaled by at most 64, see the
        // VNNI kernels): K ≤ 2^17 keeps that below 2^31
        let widthLimit = 1 << 17
        for (name, v) in [(k.dim, dim), (k.ffnDim, ffnDim), ("\(k.nHeads) × \(k.headDim)", nHeads * headDim)] {
            guard v <= widthLimit else { throw TritError.unsupported("\(origin): \(name) \(v) is wider than trit's int8 kernels allow (\(widthLimit))") }
        }
        guard contextLength > 0, contextLength <= Int(Int32.max) else {
            throw bad("\(k.contextLength) \(contextLength) is out of range (1...\(Int32.max))")
        }
        guard ropeTheta > 0, ropeTheta.isFinite else { throw bad("\(k.ropeTheta) \(ropeTheta) is invalid") }
        guard normEps > 0, normEps.isFinite, normEps < 1 else { throw bad("\(k.normEps) \(normEps) is invalid") }
    }
}

/// A Gated DeltaNet layer's shape (transformers' linear_* keys; GGUF ssm.*).
public struct DeltaNetShape: Sendable, Equatable {
    public var keyHeads: Int         // linear_num_key_heads (ssm.group_count)
    public var valueHeads: Int       // linear_num_value_heads (ssm.time_step_rank)
    public var keyHeadDim: Int       // linear_key_head_dim (ssm.state_size)
    public var valueHeadDim: Int     // linear_value_head_dim (ssm.inner_size / time_step_rank)
    public var convKernel: Int       // linear_conv_kernel_dim (ssm.conv_kernel)
    /// Which key head value head h reads: grouped (h / (valueHeads / keyHeads), transformers'
    /// repeat_interleave) or tiled (h % keyHeads: llama.cpp's converter reorders the V heads).
    public var tiledValueHeads: Bool

    public var keyDim: Int { keyHeads * keyHeadDim }
    public var valueDim: Int { valueHeads * valueHeadDim }
    public var convDim: Int { 2 * keyDim + valueDim }
    @inline(__always) public func keyHead(ofValueHead h: Int) -> Int {
        tiledValueHeads ? h % keyHeads : h / (valueHeads / keyHeads)
    }

    func validate(origin: String) throws {
        for (n, v) in [("key heads", keyHeads), ("value heads", valueHeads), ("key head dim", keyHeadDim),
                       ("value head dim", valueHeadDim), ("conv kernel", convKernel)] where v <= 0 || v > 1 << 16 {
            throw TritError.format("\(origin): Gated DeltaNet \(n) \(v) is out of range")
        }
        guard valueHeads % keyHeads == 0 else {
            throw TritError.format(
                "\(origin): Gated DeltaNet value heads \(valueHeads) are not a multiple of key heads \(keyHeads)")
        }
        guard valueHeadDim <= 1024 else {   // TK_DELTA_MAX_DV
            throw TritError.unsupported("\(origin): Gated DeltaNet value head dim \(valueHeadDim) is over 1024")
        }
        guard convKernel >= 2, convKernel <= 16 else {
            throw TritError.unsupported("\(origin): Gated DeltaNet conv kernel \(convKernel) is not between 2 and 16")
        }
    }
}
