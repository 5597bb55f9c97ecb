/// What an architecture is, as data: the layers and their kinds, which norms sit where, the
/// activation, the rotary embedding, the attention's form, the output, and the names of every
/// tensor in GGUF and Hugging Face files. Both loaders build a Model from it and the forward pass
/// (InferenceState+Forward.swift) reads it; nothing else decides what an architecture does.
///
/// Adding an architecture = one entry in `Architecture.all` (usually `llamaFamily` with changes)
/// and its fixture test. Fields whose values the forward pass does not implement yet are refused
/// at load by `checkImplemented()` with their name, so a description can be written before the
/// code that runs it, never run wrongly.
public struct Architecture: Sendable {
    // MARK: The vocabulary of a description

    /// What mixes positions in a layer.
    public enum LayerKind: String, Sendable {
        case attention                   // softmax attention over a KV cache
        case gatedDeltaNet = "gated DeltaNet"  // linear attention with a recurrent state (qwen35)
    }
    /// Which kind each layer is.
    public enum LayerPattern: Sendable, Equatable {
        case all(LayerKind)
        /// Every `interval`-th layer (the last of each group) is `.attention`, the others `other`
        /// (qwen35's `full_attention_interval`).
        case attentionEvery(interval: Int, other: LayerKind)

        public func kind(ofLayer l: Int) -> LayerKind {
            switch self {
            case .all(let k): return k
            case .attentionEvery(let n, let other): return (l + 1) % max(n, 1) == 0 ? .attention : other
            }
        }
    }
    public enum Activation: String, Sendable { case relu2, silu, geluTanh = "gelu_pytorch_tanh" }
    /// How an RMSNorm applies its gain: x̂·w (Llama) or x̂·(1 + w) (Gemma, qwen35).
    public enum NormGain: String, Sendable { case weight, onePlusWeight = "1 + weight" }
    public enum RoPEPairs: String, Sendable {
        case neox      // pairs (i, i + d/2): HF rotate_half, every native BitNet checkpoint
        case adjacent  // pairs (2i, 2i+1): GGUF `llama` files with permuted Q/K
    }
    public enum AttentionMask: String, Sendable {
        case causal, bidirectional
        case fromConfig = "causal or bidirectional as the config says"   // Gemma3 use_bidirectional_attention
    }
    /// Which positions a layer's attention sees.
    public enum AttentionSpan: Sendable, Equatable {
        case global
        /// Sliding-window layers as the file's config lists them (Gemma3 `layer_types`).
        case slidingFromConfig
    }
    public enum AttentionScale: Sendable, Equatable {
        case inverseSqrtHeadDim            // 1/√head_dim
        case inverseSqrtOf(configKey: String)   // Gemma3: query_pre_attn_scalar^-½
    }
    public enum EmbeddingScale: String, Sendable { case none, sqrtDim = "√hidden" }
    /// What the last hidden states become.
    public enum Output: String, Sendable {
        case head         // logits over the vocabulary (tied or not)
        case pooling      // an embedding model: pooled, normalised hidden states
        case headAndPooling = "head and pooling"
    }
    /// How the loaders treat float linears.
    public enum Linears: Sendable {
        case ternarized   // BitNet: float linears become ternary (absmean), ternary types used as they are
        case asStored     // float and group-scaled linears run as stored, ternary types as ternary
    }

    /// The projections of a layer, as a bit set (allocation-free to test in the forward pass).
    public struct Projections: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let q = Projections(rawValue: 1), k = Projections(rawValue: 2), v = Projections(rawValue: 4)
        public static let o = Projections(rawValue: 8), gate = Projections(rawValue: 16)
        public static let up = Projections(rawValue: 32), down = Projections(rawValue: 64)
        public static let each: [Projections] = [.q, .k, .v, .o, .gate, .up, .down]
        public var name: String {
            switch self {
            case .q: return "q"; case .k: return "k"; case .v: return "v"; case .o: return "o"
            case .gate: return "gate"; case .up: return "up"; case .down: return "down"
            default: return "projections \(rawValue)"
            }
        }
    }

    /// Where a norm sits in an attention layer with a feed-forward block.
    public struct Norms: Sendable {
        /// RMSNorm of a projection's input, its own gain, right before the projection (BitNet's
        /// sub-norms are those of o and down; BitNet-embedding has one before every projection).
        public var beforeProjection: Projections = []
        /// Per-head RMSNorm of q and k over head_dim before RoPE (Qwen3).
        public var qk = false
        /// RMSNorm of the attention / feed-forward output before it is added back (Gemma3).
        public var postAttention = false
        public var postFeedForward = false
        /// The gain of the architecture's own norms (not of the norms before projections, which are
        /// BitLinear's plain RMSNorms); the loaders fold a (1 + w) gain into the weight.
        public var gain: NormGain = .weight
        /// The gain as GGUF files store it: llama.cpp's and bitnet.cpp's Gemma converters add the 1.
        public var ggufGain: NormGain = .weight
    }

    public struct RoPE: Sendable {
        /// The pairing in GGUF files (HF checkpoints are always NeoX: rotate_half).
        public var ggufPairs: RoPEPairs = .neox
        /// The rotated fraction of head_dim (qwen35: 0.25).
        public var partialFactor: Float = 1
        /// A second base for sliding-window layers (Gemma3 `rope_local_base_freq`).
        public var localBase = false
    }

    public struct Attention: Sendable {
        public var mask: AttentionMask = .causal
        public var span: AttentionSpan = .global
        public var scale: AttentionScale = .inverseSqrtHeadDim
        /// q_proj also yields a gate per head; the attention output is multiplied by σ(gate) (qwen35).
        public var gatedOutput = false
    }

    /// A tensor's part in the model, the key of the name tables.
    public enum TensorRole: Hashable, Sendable {
        case tokenEmbedding, output, outputNorm, ropeFrequencies
        case inputNorm, feedForwardNorm, postAttentionNorm, postFeedForwardNorm, qNorm, kNorm
        case linear(Projections)
        case normBefore(Projections)
        case deltaNet(DeltaNetTensor)
        var isLayerTensor: Bool {
            switch self { case .tokenEmbedding, .output, .outputNorm, .ropeFrequencies: return false; default: return true }
        }
    }

    /// The tensors of a Gated DeltaNet layer (qwen35), beside its input norm and feed-forward block.
    public enum DeltaNetTensor: String, Hashable, Sendable, CaseIterable {
        case qkv, z, b, a, conv, aLog = "A", dtBias = "dt_bias", norm, out
    }

    /// The names of a format's tensors: model tensors by full name, layer tensors after
    /// "<layerPrefix><layer>."; alternates in order of preference.
    public struct TensorNames: Sendable {
        public var layerPrefix: String
        public var names: [TensorRole: [String]]

        /// The names a tensor may have (empty: the format has no name for it).
        public func candidates(_ role: TensorRole, layer: Int) -> [String] {
            let n = names[role] ?? []
            return role.isLayerTensor ? n.map { "\(layerPrefix)\(layer).\($0)" } : n
        }
    }

    // MARK: A description

    public let name: String                  // GGUF general.architecture; ModelConfig.architecture
    /// HF `architectures[0]` names, each with the `hidden_act` it must have (nil: any implemented).
    public var huggingFace: [(className: String, activation: Activation?)] = []
    public var layers: LayerPattern = .all(.attention)
    public var activation: Activation
    public var norms = Norms()
    public var rope = RoPE()
    public var attention = Attention()
    public var embeddingScale: EmbeddingScale = .none
    public var output: Output = .head
    public var linears: Linears
    public var defaultNormEps: Float
    /// The chat format this family's instruct models use when their vocabulary has its tokens.
    public var chatTemplate: ChatTemplate? = nil
    public var gguf: TensorNames = Architecture.llamaGGUFNames
    public var hf: TensorNames = Architecture.llamaHFNames
    /// Tensors a file may hold that this description knows and does not use (a vision tower, an
    /// MTP head), by name prefix: listed in a warning, not refused.
    public var ignoredTensorPrefixes: [String] = []
    /// A variant of the entry named `variantOf` (its GGUF `general.architecture` and HF classes),
    /// chosen for a file of that architecture holding layer 0's `recognizedBy` tensor:
    /// BitNet-embedding-0.6B is a `qwen3` file with a norm before every projection.
    public var variantOf: String? = nil
    public var recognizedBy: TensorRole? = nil
    /// The `general.architecture` of this description's GGUF files.
    public var ggufName: String { variantOf ?? name }

    /// The tensors of one layer of kind `kind`, in the order the loaders read them.
    public func layerRoles(_ kind: LayerKind) -> [TensorRole] {
        var r: [TensorRole] = [.inputNorm]
        switch kind {
        case .attention:
            for p in [Projections.q, .k, .v, .o] {
                if norms.beforeProjection.contains(p) { r.append(.normBefore(p)) }
                r.append(.linear(p))
            }
            if norms.qk { r += [.qNorm, .kNorm] }
        case .gatedDeltaNet:
            r += DeltaNetTensor.allCases.map { .deltaNet($0) }
        }
        if norms.postAttention { r.append(.postAttentionNorm) }
        r.append(.feedForwardNorm)
        for p in [Projections.gate, .up, .down] {
            if norms.beforeProjection.contains(p) { r.append(.normBefore(p)) }
            r.append(.linear(p))
        }
        if norms.postFeedForward { r.append(.postFeedForwardNorm) }
        return r
    }

    /// The description in a few words, for `trit info`.
    public var summary: String {
        var parts = ["activation \(activation.rawValue)"]
        let before = Projections.each.filter { norms.beforeProjection.contains($0) }.map(\.name)
        parts.append(before.isEmpty ? "no norms before projections" : "norms before \(before.joined(separator: ", "))")
        if norms.qk { parts.append("q/k head norms") }
        if norms.postAttention || norms.postFeedForward { parts.append("post-attention / feed-forward norms") }
        if norms.gain == .onePlusWeight { parts.append("(1 + w) gains") }
        if embeddingScale == .sqrtDim { parts.append("embeddings × √hidden") }
        if attention.span == .slidingFromConfig { parts.append("sliding-window and global layers") }
        return parts.joined(separator: ", ")
    }

    /// Refuses, naming the field, a description with values the forward pass does not run yet.
    func checkImplemented(origin: String) throws {
        var missing: [String] = []
        if attention.mask == .bidirectional { missing.append("bidirectional attention") }
        guard missing.isEmpty else {
            throw TritError.unsupported("\(origin): architecture \(name) needs \(missing.joined(separator: ", ")), which trit does not implement yet")
        }
    }

    // MARK: The table

    /// The Llama family's tensor names (llama.cpp's GGUF names; transformers' Llama names).
    public static let llamaGGUFNames = TensorNames(layerPrefix: "blk.", names: {
        var n: [TensorRole: [String]] = [
            .tokenEmbedding: ["token_embd.weight"], .output: ["output.weight"], .outputNorm: ["output_norm.weight"],
            .ropeFrequencies: ["rope_freqs.weight"],
            .inputNorm: ["attn_norm.weight"], .feedForwardNorm: ["ffn_norm.weight"],
            .postAttentionNorm: ["post_attention_norm.weight"], .postFeedForwardNorm: ["post_ffw_norm.weight"],
            .qNorm: ["attn_q_norm.weight"], .kNorm: ["attn_k_norm.weight"],
        ]
        let linear: [(Projections, String)] = [(.q, "attn_q"), (.k, "attn_k"), (.v, "attn_v"), (.o, "attn_output"),
                                                (.gate, "ffn_gate"), (.up, "ffn_up"), (.down, "ffn_down")]
        for (p, s) in linear {
            n[.linear(p)] = [s + ".weight"]
            n[.normBefore(p)] = [s + "_norm_in.weight"]   // bitnet.cpp's BitNet-embedding names
        }
        return n
    }())
    public static let llamaHFNames = TensorNames(layerPrefix: "model.layers.", names: {
        var n: [TensorRole: [String]] = [
            .tokenEmbedding: ["model.embed_tokens.weight"], .output: ["lm_head.weight"], .outputNorm: ["model.norm.weight"],
            .inputNorm: ["input_layernorm.weight"], .feedForwardNorm: ["post_attention_layernorm.weight"],
            .qNorm: ["self_attn.q_norm.weight"], .kNorm: ["self_attn.k_norm.weight"],
        ]
        let linear: [(Projections, String)] = [(.q, "self_attn.q_proj"), (.k, "self_attn.k_proj"), (.v, "self_attn.v_proj"),
                                                (.o, "self_attn.o_proj"), (.gate, "mlp.gate_proj"), (.up, "mlp.up_proj"),
                                                (.down, "mlp.down_proj")]
        for (p, s) in linear {
            n[.linear(p)] = [s + ".weight"]
            n[.normBefore(p)] = [s + ".norm.weight"]
        }
        return n
    }())

    /// A Llama-shaped block: RMSNorm, attention with RoPE, gated FFN.
    static func llamaFamily(_ name: String, activation: Activation = .silu, linears: Linears = .asStored,
                            normEps: Float = 1e-5) -> Architecture {
        Architecture(name: name, activation: activation, linears: linears, defaultNormEps: normEps)
    }

    /// BitNet b1.58: ternary linears, a sub-norm before o and before down.
    static func bitnetFamily(_ name: String, activation: Activation, hf: [(String, Activation?)]) -> Architecture {
        var a = llamaFamily(name, activation: activation, linears: .ternarized)
        a.huggingFace = hf
        a.norms.beforeProjection = [.o, .down]
        a.gguf.names[.normBefore(.o)] = ["attn_sub_norm.weight"]
        a.gguf.names[.normBefore(.down)] = ["ffn_sub_norm.weight"]
        // microsoft/bitnet-b1.58-2B-4T names, then 1bitLLM's
        a.hf.names[.normBefore(.o)] = ["self_attn.attn_sub_norm.weight", "self_attn.inner_attn_ln.weight"]
        a.hf.names[.normBefore(.down)] = ["mlp.ffn_sub_norm.weight", "mlp.ffn_layernorm.weight"]
        a.chatTemplate = .bitnet
        return a
    }

    public static let all: [Architecture] = {
        let bitnetHF = ["BitNetForCausalLM", "BitnetForCausalLM"]
        var llama = llamaFamily("llama")
        llama.huggingFace = [("LlamaForCausalLM", nil)]
        llama.rope.ggufPairs = .adjacent   // the llama converter permutes Q/K rows
        var qwen3 = llamaFamily("qwen3", normEps: 1e-6)
        qwen3.huggingFace = [("Qwen3ForCausalLM", .silu), ("Qwen3Model", .silu)]
        qwen3.norms.qk = true
        // BitNet-embedding-0.6B (microsoft/BitNet docs/bitnet-embeddings-i2s-guide.md): qwen3 with
        // BitLinear's RMSNorm before each of the seven ternary projections, tied embedding, no head:
        // last-token pooled, L2-normalised hidden states
        var qwen3Embedding = llamaFamily("qwen3-bitnet-embedding", linears: .ternarized, normEps: 1e-6)
        qwen3Embedding.norms.qk = true
        qwen3Embedding.norms.beforeProjection = [.q, .k, .v, .o, .gate, .up, .down]
        qwen3Embedding.output = .pooling
        qwen3Embedding.variantOf = "qwen3"
        qwen3Embedding.recognizedBy = .normBefore(.q)
        return [
            bitnetFamily("bitnet-b1.58", activation: .relu2, hf: bitnetHF.map { ($0, .relu2) }),
            bitnetFamily("bitnet-25", activation: .relu2, hf: []),
            bitnetFamily("bitnet", activation: .silu, hf: bitnetHF.map { ($0, .silu) }),
            llama,
            qwen3,
            gemma3,
            qwen3Embedding,
            gemma3Embedding,
            qwen35(),
        ]
    }()

    /// transformers' Gemma3TextModel / Gemma3ForCausalLM (text): GELU-tanh, (1 + w) gains, q/k
    /// head norms, norms after attention and after the feed-forward block, embeddings scaled by
    /// √hidden, sliding-window and global layers with their own RoPE bases, the score scale
    /// query_pre_attn_scalar^-½. GGUF names are llama.cpp's (and bitnet.cpp's BitNet-embedding
    /// converter's), whose norms hold 1 + w.
    static let gemma3: Architecture = {
        var a = gemma3Family("gemma3", linears: .asStored)
        a.huggingFace = [("Gemma3ForCausalLM", .geluTanh), ("Gemma3TextModel", .geluTanh)]
        return a
    }()

    /// BitNet-embedding-270M: gemma3 with BitLinear's RMSNorm (its gain as stored, not 1 + w)
    /// before each of the seven ternary projections, tied embedding, no head: pooled hidden states.
    static let gemma3Embedding: Architecture = {
        var a = gemma3Family("gemma3-bitnet-embedding", linears: .ternarized)
        a.norms.beforeProjection = [.q, .k, .v, .o, .gate, .up, .down]
        a.output = .pooling
        a.variantOf = "gemma3"
        a.recognizedBy = .normBefore(.q)
        return a
    }()

    static func gemma3Family(_ name: String, linears: Linears) -> Architecture {
        var a = llamaFamily(name, activation: .geluTanh, linears: linears, normEps: 1e-6)
        a.norms.qk = true
        a.norms.postAttention = true
        a.norms.postFeedForward = true
        a.norms.gain = .onePlusWeight
        a.norms.ggufGain = .weight
        a.rope.localBase = true
        a.attention.mask = .fromConfig
        a.attention.span = .slidingFromConfig
        a.attention.scale = .inverseSqrtOf(configKey: "query_pre_attn_scalar")
        a.embeddingScale = .sqrtDim
        a.hf.names[.postAttentionNorm] = ["post_attention_layernorm.weight"]
        a.hf.names[.feedForwardNorm] = ["pre_feedforward_layernorm.weight"]
        a.hf.names[.postFeedForwardNorm] = ["post_feedforward_layernorm.weight"]
        return a
    }

    /// qwen35 (Qwen3.5 / Qwen3.6, Ternary-Bonsai-27B): Gated DeltaNet layers with gated full attention
    /// every `full_attention_interval`-th layer, (1 + w) norms, q/k head norms, partial rotary.
    /// GGUF: llama.cpp's names (src/models/qwen35.cpp); its converter stores the norms as 1 + w
    /// (except ssm_norm) and -exp(A_log) as ssm_a, so the GGUF loader reads them as stored.
    static func qwen35() -> Architecture {
        var a = llamaFamily("qwen35", normEps: 1e-6)
        a.huggingFace = [("Qwen3_5ForCausalLM", .silu)]
        a.layers = .attentionEvery(interval: 4, other: .gatedDeltaNet)
        a.norms.qk = true
        a.norms.gain = .onePlusWeight
        a.norms.ggufGain = .weight   // llama.cpp's converter adds the 1 (not to ssm_norm, which is w itself)
        a.rope.partialFactor = 0.25
        a.attention.gatedOutput = true
        a.gguf.names[.feedForwardNorm] = ["post_attention_norm.weight"]
        let gguf: [(DeltaNetTensor, String)] = [
            (.qkv, "attn_qkv.weight"), (.z, "attn_gate.weight"), (.b, "ssm_beta.weight"), (.a, "ssm_alpha.weight"),
            (.conv, "ssm_conv1d.weight"), (.aLog, "ssm_a"), (.dtBias, "ssm_dt.bias"), (.norm, "ssm_norm.weight"),
            (.out, "ssm_out.weight")]
        for (t, n) in gguf { a.gguf.names[.deltaNet(t)] = [n] }
        let hf: [(DeltaNetTensor, String)] = [
            (.qkv, "in_proj_qkv.weight"), (.z, "in_proj_z.weight"), (.b, "in_proj_b.weight"), (.a, "in_proj_a.weight"),
            (.conv, "conv1d.weight"), (.aLog, "A_log"), (.dtBias, "dt_bias"), (.norm, "norm.weight"),
            (.out, "out_proj.weight")]
        for (t, n) in hf { a.hf.names[.deltaNet(t)] = ["linear_attn." + n] }
        a.ignoredTensorPrefixes = ["mtp.", "model.visual."]
        return a
    }

    public static func named(_ name: String) -> Architecture? { all.first { $0.name == name } }
    static var names: String { all.filter { $0.variantOf == nil }.map(\.name).joined(separator: ", ") }

    /// `base`, or its variant whose recognizing tensor the file has (`has`, names of the format `names`).
    static func refined(_ base: Architecture, _ names: KeyPath<Architecture, TensorNames>,
                        has: (String) -> Bool) -> Architecture {
        all.first { v in
            guard v.variantOf == base.name, let role = v.recognizedBy else { return false }
            return v[keyPath: names].candidates(role, layer: 0).contains(where: has)
        } ?? base
    }

    /// The architecture of a Hugging Face config: `architectures[0]` and `hidden_act`.
    static func huggingFace(_ className: String, activation: String) -> Architecture? {
        all.first { a in
            a.huggingFace.contains { $0.className == className && ($0.activation == nil || $0.activation?.rawValue == activation) }
        }
    }
    static var huggingFaceNames: [String] {
        var seen: [String] = []
        for a in all { for h in a.huggingFace where !seen.contains(h.className) { seen.append(h.className) } }
        return seen
    }
}
