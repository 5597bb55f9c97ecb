/// The attention values a file's config decides for architectures whose description says so
/// (Gemma3: `attention.span = .slidingFromConfig`, `rope.localBase`, `attention.scale`,
/// `attention.mask = .fromConfig`): which layers slide and how far, the local RoPE base, the
/// score scale, causal or bidirectional. Read from a Hugging Face config.json or from GGUF metadata
/// into ModelConfig; the forward pass reads them from there.
extension ModelConfig {
    /// transformers' Gemma3TextConfig: `layer_types` (or `sliding_window_pattern`, every n-th layer
    /// global), `sliding_window`, `rope_local_base_freq` or `rope_parameters.sliding_attention`,
    /// `query_pre_attn_scalar`, `use_bidirectional_attention`.
    mutating func readAttentionLayout(hf config: JSON, origin: String) throws {
        func num(_ v: JSON?, _ name: String) throws -> Double? {
            guard let v, !v.isNull else { return nil }
            guard let d = v.double, d.isFinite else { throw TritError.format("\(origin): \(name) is not a number") }
            return d
        }
        for k in ["attn_logit_softcapping", "final_logit_softcapping"] where try num(config[k], k) != nil {
            throw TritError.unsupported("\(origin): \(k) is set; logit soft-capping is not implemented")
        }
        if case .inverseSqrtOf(let key) = arch.attention.scale {
            guard let s = try num(config[key], key) else { throw TritError.format("\(origin): \(key) is missing") }
            guard s > 0 else { throw TritError.format("\(origin): \(key) \(s) must be positive") }
            attentionScale = Float(1 / s.squareRoot())
        }
        if arch.attention.mask == .fromConfig {
            if let b = config["use_bidirectional_attention"], !b.isNull {
                guard let v = b.bool else {
                    throw TritError.format("\(origin): use_bidirectional_attention is not a boolean")
                }
                causal = !v
            }
        }
        // transformers 5 keeps the bases per layer type; 4.x has rope_theta and rope_local_base_freq
        var globalBase: Double? = nil, localBase = try num(config["rope_local_base_freq"], "rope_local_base_freq")
        // (the global layers' scaling is the model's RoPE scaling, read by the loader; the local
        // layers' must be none)
        if let rp = config["rope_parameters"], rp["full_attention"] != nil || rp["sliding_attention"] != nil {
            if let p = rp["full_attention"] {
                globalBase = try num(p["rope_theta"], "rope_parameters.full_attention.rope_theta")
            }
            if let p = rp["sliding_attention"] {
                let type = p["rope_type"]?.string ?? "default"
                guard type == "default" else {
                    throw TritError.unsupported(
                        "\(origin): rope_parameters.sliding_attention.rope_type \"\(type)\" is not supported")
                }
                localBase = try num(p["rope_theta"], "rope_parameters.sliding_attention.rope_theta")
            }
        }
        for (base, name) in [(globalBase, "rope_theta"), (localBase, "local rope_theta")] {
            if let b = base, !(b > 0 && Float(b).isFinite) {
                throw TritError.format("\(origin): \(name) \(b) must be a positive float")
            }
        }
        if let g = globalBase { ropeTheta = Float(g) }
        guard arch.attention.span == .slidingFromConfig else { return }
        let window = config["sliding_window"].flatMap { $0.isNull ? nil : $0 }
        guard let window else { return }   // no window: every layer global
        guard var w = window.int, w > 0 else {
            throw TritError.format("\(origin): sliding_window is not a positive integer")
        }
        w = min(w, Int(Int32.max))   // wider than any context: the same positions, and p + w cannot overflow
        var sliding: [Bool]
        if let types = config["layer_types"]?.array {
            guard types.count == nLayers else {
                throw TritError.format("\(origin): layer_types has \(types.count) entries for \(nLayers) layers")
            }
            sliding = try types.map {
                switch $0.string {
                case "sliding_attention": return true
                case "full_attention": return false
                default:
                    throw TritError.unsupported("\(origin): layer_types entry \($0.string ?? "?") is not supported")
                }
            }
        } else {
            let key = config["sliding_window_pattern"] != nil ? "sliding_window_pattern" : "_sliding_window_pattern"
            let n = config[key]?.int ?? 6
            guard n > 0 else { throw TritError.format("\(origin): \(key) \(n) must be positive") }
            sliding = (0..<nLayers).map { ($0 + 1) % n != 0 }
        }
        // transformers: a bidirectional model's window is w // 2 + 1 positions either way (|q − kv| <
        // that), llama.cpp's symmetric window |q − kv| ≤ w / 2: the same positions
        slidingWindow = causal ? w : w / 2 + 1
        slidingLayers = sliding
        if arch.rope.localBase { localRopeTheta = Float(localBase ?? 10000) }
    }

    /// llama.cpp's gemma3 keys: `attention.sliding_window` (absent or 0: no sliding layer),
    /// `attention.sliding_window_pattern` (n: every n-th layer global, default 6; or one bool per
    /// layer), `rope.freq_base_swa` (default 10000, llama.cpp's value), `attention.causal`. The
    /// scale is llama.cpp's: 1/√head_dim (Gemma3 writes no query_pre_attn_scalar to GGUF; its
    /// value is head_dim for every size but 27B, whose 62 layers llama.cpp scales by hidden/heads).
    /// bitnet.cpp's BitNet-embedding converter writes none of the window keys: such a file's
    /// layers are all global, as the file says (the HF folder's config is the one to trust).
    mutating func readAttentionLayout(gguf g: GGUFFile, arch name: String, origin: String) throws {
        func key(_ k: String) -> GGUFValue? { g.metadata["\(name).\(k)"] }
        if case .inverseSqrtOf = arch.attention.scale {
            let d = nLayers == 62 ? dim / nHeads : headDim
            attentionScale = 1 / Float(d).squareRoot()
        }
        if arch.attention.mask == .fromConfig, let v = key("attention.causal") {
            guard let b = v.bool else { throw TritError.format("\(origin): \(name).attention.causal is not a boolean") }
            causal = b
        }
        guard arch.attention.span == .slidingFromConfig, let wv = key("attention.sliding_window") else { return }
        guard var w = wv.int, w >= 0 else {
            throw TritError.format("\(origin): \(name).attention.sliding_window is invalid")
        }
        w = min(w, Int(Int32.max))   // wider than any context: the same positions, and p + w cannot overflow
        guard w > 0 else { return }
        var sliding = (0..<nLayers).map { ($0 + 1) % 6 != 0 }
        if let p = key("attention.sliding_window_pattern") {
            if let n = p.int {
                guard n > 0 else {
                    throw TritError.format("\(origin): \(name).attention.sliding_window_pattern \(n) must be positive")
                }
                sliding = (0..<nLayers).map { ($0 + 1) % n != 0 }
            } else if case .ints(let flags, _)? = p.array, flags.count == nLayers {
                sliding = flags.map { $0 != 0 }
            } else {
                throw TritError.format(
                    "\(origin): \(name).attention.sliding_window_pattern is neither a count nor one flag per layer")
            }
        }
        // transformers: a bidirectional model's window is w // 2 + 1 positions either way (|q − kv| <
        // that), llama.cpp's symmetric window |q − kv| ≤ w / 2: the same positions
        slidingWindow = causal ? w : w / 2 + 1
        slidingLayers = sliding
        if arch.rope.localBase {
            let v = key("rope.freq_base_swa")
            guard let base = v == nil ? 10000 : v?.double, base > 0, base.isFinite else {
                throw TritError.format("\(origin): \(name).rope.freq_base_swa is invalid")
            }
            localRopeTheta = Float(base)
        }
    }
}
