#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a Model from a Hugging Face folder: config.json plus one or many *.safetensors
/// (docs/formats.md §1.2, §1.3, §2).
enum HFModelLoader {
    static func load(folder: String, progress: LoadProgress = LoadProgress(callback: nil)) throws -> Model {
        let configPath = folder + "/config.json"
        guard fileExists(configPath) else { throw TritError(.io, "\(folder): no config.json in this folder") }
        let config = try JSON.parse(try readWholeFile(configPath, limit: 1 << 24), origin: configPath)
        func int(_ k: String, default d: Int? = nil) throws -> Int {
            if let v = config[k], !v.isNull {
                guard let i = v.int else { throw TritError.format("\(configPath): \(k) is not an integer") }
                return i
            }
            if let d { return d }
            throw TritError.format("\(configPath): \(k) is missing")
        }
        func float(_ k: String, default d: Float) throws -> Float {
            guard let v = config[k], !v.isNull else { return d }
            guard let x = v.double else { throw TritError.format("\(configPath): \(k) is not a number") }
            return Float(x)
        }
        let archName = config["architectures"]?.array?.first?.string ?? ""
        // Gemma3's config names it hidden_activation
        let act = config["hidden_act"]?.string ?? config["hidden_activation"]?.string
            ?? (archName == "BitNetForCausalLM" ? "relu2" : "silu")
        guard Architecture.huggingFaceNames.contains(archName) else {
            throw TritError.unsupported("\(configPath): architectures \"\(archName)\" is not supported (trit runs \(Architecture.huggingFaceNames.joined(separator: ", ")))")
        }
        guard let base = Architecture.huggingFace(archName, activation: act) else {
            throw TritError.unsupported("\(configPath): hidden_act \"\(act)\" is not supported for \(archName)")
        }
        let tensors = try TensorSet(folder: folder)
        let spec = Architecture.refined(base, \.hf, has: tensors.has)
        try spec.checkImplemented(origin: configPath)
        if config["attention_bias"]?.bool == true {
            throw TritError.unsupported("\(configPath): attention_bias = true is not supported")
        }
        var ropeScaling = RoPEScaling()
        // transformers ≥ 5 writes rope_theta and the scaling into `rope_parameters`
        // (Gemma3 keeps one per layer type: its global layers' are the model's, AttentionLayout reads the rest)
        let ropeParameters = config["rope_parameters"].flatMap { $0.isNull ? nil : ($0["full_attention"] ?? $0) }
        if let rs = config["rope_scaling"].flatMap({ $0.isNull ? nil : $0 }) ?? ropeParameters {
            let type = rs["rope_type"]?.string ?? rs["type"]?.string ?? ""
            switch type {
            case "default": break
            case "linear": ropeScaling.kind = .linear
            case "yarn": ropeScaling.kind = .yarn
            default: throw TritError.unsupported("\(configPath): rope_scaling type \"\(type)\" is not supported (linear or yarn)")
            }
            func num(_ k: String) throws -> Double? {
                guard let v = rs[k], !v.isNull else { return nil }
                guard let x = v.double else { throw TritError.format("\(configPath): rope_scaling.\(k) is not a number") }
                return x
            }
            if ropeScaling.kind != .none {
                guard let f = try num("factor") else { throw TritError.format("\(configPath): rope_scaling.factor is missing") }
                ropeScaling.factor = f
                if let o = try num("original_max_position_embeddings") {
                    guard o.isFinite, o >= 0, o <= Double(Int32.max) else {
                        throw TritError.format("\(configPath): rope_scaling.original_max_position_embeddings \(o) is out of range")
                    }
                    ropeScaling.originalContext = Int(o)
                }
                // absent or 0: the defaults (transformers reads them with `or`)
                ropeScaling.betaFast = try num("beta_fast").flatMap { $0 == 0 ? nil : $0 } ?? 32
                ropeScaling.betaSlow = try num("beta_slow").flatMap { $0 == 0 ? nil : $0 } ?? 1
                ropeScaling.attentionFactor = try num("attention_factor")
                ropeScaling.mscale = try num("mscale")
                ropeScaling.mscaleAllDim = try num("mscale_all_dim")
                if let t = rs["truncate"], !t.isNull { ropeScaling.truncate = t.bool ?? true }
                try ropeScaling.validate(origin: configPath, factorKey: "rope_scaling.factor", prefix: "rope_scaling.")
            }
        }
        // How the linears are stored (docs/formats.md §1.2-§1.3, §2).
        enum LinearStorage { case packed(divide: Bool), masters, dense }
        let storage: LinearStorage
        if let q = config["quantization_config"], !q.isNull {
            guard q["quant_method"]?.string == "bitnet" else {
                throw TritError.unsupported("\(configPath): quantization_config.quant_method \"\(q["quant_method"]?.string ?? "?")\" is not supported")
            }
            if let u = q["use_rms_norm"]?.bool, u {
                throw TritError.unsupported("\(configPath): quantization_config.use_rms_norm = true is not supported")
            }
            let cls = q["linear_class"]?.string ?? "bitlinear"
            guard cls == "bitlinear" || cls == "autobitlinear" else {
                throw TritError.unsupported("\(configPath): quantization_config.linear_class \"\(cls)\" is not supported")
            }
            storage = (q["quantization_mode"]?.string ?? "offline") == "online" ? .masters : .packed(divide: cls == "bitlinear")
        } else if config["bitnet_dense"]?.bool == true {
            storage = .dense     // trit's full-precision twin of a BitNet model (Examples/train)
        } else if config["weight_bits"]?.int == 1 {
            storage = .masters   // 1bitLLM: fp16 latent weights quantized on the fly
        } else if spec.linears == .asStored {
            storage = .dense     // a full-precision Llama or Qwen3: run as stored (float activations)
        } else {
            storage = .masters
        }

        let dim = try int("hidden_size")
        let nHeads = try int("num_attention_heads")
        guard nHeads > 0, dim % nHeads == 0 || config["head_dim"] != nil else {
            throw TritError.format("\(configPath): hidden_size \(dim) is not a multiple of num_attention_heads \(nHeads)")
        }
        let hasLMHead = spec.hf.candidates(.output, layer: 0).contains(where: tensors.has)
        var cfg = ModelConfig(
            arch: spec,
            rope: .neox,   // transformers' rotate_half, whatever the architecture
            dim: dim,
            ffnDim: try int("intermediate_size"),
            nLayers: try int("num_hidden_layers"),
            nHeads: nHeads,
            nKVHeads: try int("num_key_value_heads", default: nHeads),
            headDim: try int("head_dim", default: dim / max(nHeads, 1)),
            vocabSize: try int("vocab_size"),
            contextLength: try int("max_position_embeddings", default: 2048),
            ropeTheta: try float("rope_theta", default: Float(ropeParameters?["rope_theta"]?.double ?? 10000)),
            normEps: try float("rms_norm_eps", default: 1e-6),
            tiedEmbeddings: !hasLMHead)
        cfg.ropeScaling = ropeScaling
        if config["tie_word_embeddings"]?.bool == false && !hasLMHead {
            throw TritError.format("\(folder): tie_word_embeddings is false but there is no lm_head.weight tensor")
        }
        cfg.tiedEmbeddings = !hasLMHead
        var keys = ModelConfig.KeyNames()
        keys.dim = "hidden_size"; keys.ffnDim = "intermediate_size"; keys.nLayers = "num_hidden_layers"
        keys.nHeads = "num_attention_heads"; keys.nKVHeads = "num_key_value_heads"; keys.headDim = "head_dim"
        keys.vocabSize = "vocab_size"; keys.contextLength = "max_position_embeddings"; keys.ropeTheta = "rope_theta"
        keys.normEps = "rms_norm_eps"
        try cfg.validate(origin: configPath, keys: keys)
        try cfg.readAttentionLayout(hf: config, origin: configPath)
        if spec.rope.partialFactor != 1 || spec.layers != .all(.attention) {
            try hybridShape(config, into: &cfg, spec: spec, origin: configPath)
        }

        func linear(_ t: RawTensor, rows: Int, cols: Int, reader: WeightReader) throws -> Linear {
            switch storage {
            case .dense:
                return .dense(try TensorConversion.dense(t, rows: rows, cols: cols))
            case .masters:
                return .ternary(try TensorConversion.ternary(t, rows: rows, cols: cols, floats: .absmean))
            case .packed(let divide):
                guard t.encoding == .safetensors("U8") else {
                    throw TritError.format("\(t.origin): tensor \(t.name) has dtype \(t.typeName), expected packed U8 ternary weights (quantization_mode offline)")
                }
                // the scale beside the packed weight: NAME.weight → NAME.weight_scale
                let st = try reader.raw(String(t.name.dropLast(".weight".count)) + ".weight_scale")
                guard st.elementCount == 1, st.floatKind != nil else {
                    throw TritError.format("\(st.origin): tensor \(st.name) must be one float value")
                }
                let ws = try TensorConversion.floats(st)[0]
                guard ws.isFinite, ws > 0 else { throw TritError.format("\(st.origin): tensor \(st.name) = \(ws) is not a positive number") }
                // autobitlinear: W = T·ws; bitlinear: W = T / ws (docs/formats.md §0).
                return .ternary(try TensorConversion.fromHFPacked(t, rows: rows, cols: cols, scale: divide ? 1 / ws : ws))
            }
        }
        let reader = WeightReader(config: cfg, names: spec.hf, origin: folder, gain: spec.norms.gain, has: tensors.has,
                                  fetch: tensors.raw, linear: linear)
        reader.storesALog = true   // transformers keeps A_log; GGUF −exp(A_log)

        let embd = try TensorConversion.dense(try reader.raw(.tokenEmbedding), rows: cfg.vocabSize, cols: dim)
        let head = hasLMHead ? try TensorConversion.dense(try reader.raw(.output), rows: cfg.vocabSize, cols: dim) : embd
        let outputNorm = try reader.norm(.outputNorm, dim)
        var layers: [LayerWeights] = []
        for l in 0..<cfg.nLayers {
            layers.append(try reader.layer(l))
            try progress.layer(l, of: cfg.nLayers)
        }
        // buffers transformers saves with some checkpoints (recomputed from the config)
        let (unknown, known) = reader.unusedTensors(of: tensors.byName.keys.sorted(), ignore: { $0.hasSuffix("rotary_emb.inv_freq") })
        try reader.refuseUnknown(unknown)
        let tokenizer = try HFTokenizerLoader.loadIfPresent(folder: folder, config: config)
        let fileType: String
        switch storage {
        case .packed: fileType = "HF packed ternary"
        case .masters: fileType = "HF float masters (ternarized on load)"
        case .dense: fileType = "HF float (dense)"
        }
        var meta: [(String, String)] = []
        if !known.isEmpty {
            meta.append(("warning", "\(known.count) tensor(s) this architecture does not use were ignored (\(known.prefix(4).joined(separator: ", ")))"))
        }
        for (k, v) in config.object ?? [] {
            switch v {
            case .string(let s): meta.append((k, "\"\(s)\""))
            case .number(_, let t): meta.append((k, t))
            case .bool(let b): meta.append((k, "\(b)"))
            default: break
            }
        }
        let model = Model(config: cfg, layers: layers, tokenEmbedding: embd, outputNorm: outputNorm,
                     output: head, ropeFreqFactors: nil, path: folder, source: .huggingface, fileType: fileType,
                     name: archName, tokenizer: tokenizer, metadata: meta, files: tensors.files)
        model.chatTemplateSource = try chatTemplate(folder: folder)
        model.filePooling = try FilePooling.sentenceTransformers(folder: folder)
        return model
    }

    /// qwen35: partial rotary and the layer kinds (`rope_parameters`, `layer_types` or
    /// `full_attention_interval`) and the Gated DeltaNet shape (`linear_*`).
    static func hybridShape(_ j: JSON, into cfg: inout ModelConfig, spec: Architecture, origin: String) throws {
        func int(_ k: String, _ d: Int? = nil) throws -> Int {
            if let v = j[k], !v.isNull {
                guard let i = v.int else { throw TritError.format("\(origin): \(k) is not an integer") }
                return i
            }
            guard let d else { throw TritError.format("\(origin): \(k) is missing") }
            return d
        }
        let rp = j["rope_parameters"]
        let factor = rp?["partial_rotary_factor"]?.double ?? j["partial_rotary_factor"]?.double
            ?? Double(spec.rope.partialFactor)
        let rot = Int((Double(cfg.headDim) * factor).rounded(.down))
        guard factor > 0, factor <= 1, rot >= 2, rot % 2 == 0 else {
            throw TritError.format(
                "\(origin): partial_rotary_factor \(factor) gives \(rot) rotated dimensions of head_dim \(cfg.headDim)")
        }
        cfg.ropeDimensions = rot
        if let t = rp?["rope_type"]?.string, t != "default" {
            throw TritError.unsupported(
                "\(origin): rope_parameters.rope_type \"\(t)\" is not supported for \(spec.name)")
        }
        if let types = j["layer_types"]?.array {
            guard types.count == cfg.nLayers else {
                throw TritError.format("\(origin): layer_types has \(types.count) entries for \(cfg.nLayers) layers")
            }
            cfg.layerKinds = try types.enumerated().map { (i, t) in
                switch t.string {
                case "full_attention": return .attention
                case "linear_attention": return .gatedDeltaNet
                default:
                    throw TritError.unsupported("\(origin): layer_types[\(i)] \"\(t.string ?? "?")\" is not supported")
                }
            }
        } else {
            let n = try int("full_attention_interval", 4)
            guard n >= 1 else { throw TritError.format("\(origin): full_attention_interval \(n) must be at least 1") }
            let p = Architecture.LayerPattern.attentionEvery(interval: n, other: .gatedDeltaNet)
            cfg.layerKinds = (0..<cfg.nLayers).map { p.kind(ofLayer: $0) }
        }
        guard cfg.hasDeltaNet else { return }
        let shape = DeltaNetShape(keyHeads: try int("linear_num_key_heads"),
                                  valueHeads: try int("linear_num_value_heads"),
                                  keyHeadDim: try int("linear_key_head_dim"),
                                  valueHeadDim: try int("linear_value_head_dim"),
                                  convKernel: try int("linear_conv_kernel_dim", 4), tiledValueHeads: false)
        try shape.validate(origin: origin)
        cfg.deltaNet = shape
    }

    /// tokenizer_config.json's `chat_template`: a string, or a list of {name, template} (the "default" one).
    static func chatTemplate(folder: String) throws -> String? {
        let path = folder + "/tokenizer_config.json"
        guard fileExists(path) else { return nil }
        let j = try JSON.parse(try readWholeFile(path, limit: 1 << 26), origin: path)
        guard let t = j["chat_template"], !t.isNull else { return nil }
        if let s = t.string { return s }
        if let list = t.array {
            return list.first { $0["name"]?.string == "default" }?["template"]?.string
        }
        throw TritError.format("\(path): chat_template is neither a string nor a list of named templates")
    }
}

/// The tensors of a HF folder, across one or many safetensors files.
struct TensorSet {
    var byName: [String: (SafetensorsFile, SafetensorsFile.TensorInfo)] = [:]
    var files: [SafetensorsFile] = []

    init(folder: String) throws {
        var names: [String] = []
        let index = folder + "/model.safetensors.index.json"
        if fileExists(index) {
            let j = try JSON.parse(try readWholeFile(index, limit: 1 << 26), origin: index)
            guard let map = j["weight_map"]?.object else { throw TritError.format("\(index): weight_map is missing") }
            var seen = Set<String>()
            for (_, v) in map {
                guard let f = v.string, !f.contains("/") else { throw TritError.format("\(index): weight_map has an invalid file name") }
                if seen.insert(f).inserted { names.append(f) }
            }
        } else if fileExists(folder + "/model.safetensors") {
            names = ["model.safetensors"]
        } else {
            names = listDirectory(folder).filter { $0.hasSuffix(".safetensors") }.sorted()
        }
        guard !names.isEmpty else { throw TritError(.io, "\(folder): no *.safetensors files in this folder") }
        for n in names {
            let f = try SafetensorsFile(path: folder + "/" + n)
            files.append(f)
            for (k, t) in f.tensors { byName[k] = (f, t) }
        }
        // a base model saved by itself (Qwen3Model, sentence-transformers) has no "model." prefix
        if byName["embed_tokens.weight"] != nil && !byName.keys.contains(where: { $0.hasPrefix("model.") }) {
            byName = Dictionary(uniqueKeysWithValues: byName.map { ("model." + $0.key, $0.value) })
        }
    }

    func has(_ name: String) -> Bool { byName[name] != nil }

    func raw(_ name: String) throws -> RawTensor {
        guard let (f, t) = byName[name] else {
            throw TritError.format("\(files.first.map { $0.path } ?? "model"): tensor \(name) is missing")
        }
        // safetensors shapes are [out, in]; RawTensor uses innermost first.
        return RawTensor(name: name, origin: f.path, shape: t.shape.reversed(), encoding: .safetensors(t.dtype),
                         bytes: try f.data(of: t), file: f.file)
    }
}

func listDirectory(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { out.append(name) }
    }
    return out
}
