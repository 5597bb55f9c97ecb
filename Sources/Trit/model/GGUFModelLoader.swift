/// Builds a Model from a GGUF file (docs/formats.md §1.6, §2, §3).
enum GGUFModelLoader {

    static func load(path: String, floatActivations: Bool = false, headBlocksInPlace: Bool = true,
                     progress: LoadProgress = LoadProgress(callback: nil)) throws -> Model {
        try load(try GGUFFile(path: path), floatActivations: floatActivations, headBlocksInPlace: headBlocksInPlace,
                 progress: progress)
    }

    /// `floatActivations`: group-scaled linears decoded to F16 (the float path) instead of the
    /// int8-activation kernels' layout. `tqOnGroupKernels`: TQ1_0/TQ2_0 linears on the group kernels
    /// even when a tensor has one scale (tests: the TriLM path checked against a BitNet reference).
    /// `headBlocksInPlace`: a head or embedding in ggml's block types (Q8_0, Q6_K, ...) read in its blocks
    /// (docs/formats.md §10); off, decoded to an F32 copy at load (the former path: the tests' reference).
    static func load(_ g: GGUFFile, floatActivations: Bool = false, tqOnGroupKernels: Bool = false,
                     headBlocksInPlace: Bool = true,
                     progress: LoadProgress = LoadProgress(callback: nil)) throws -> Model {
        let path = g.path
        guard let arch = g.metadata["general.architecture"]?.string else {
            throw TritError.format("\(path): metadata key general.architecture is missing")
        }
        guard let base = Architecture.named(arch), base.variantOf == nil else {
            throw TritError.unsupported("\(path): general.architecture \"\(arch)\" is not supported (trit runs \(Architecture.names))")
        }
        let spec = Architecture.refined(base, \.gguf, has: { g.tensor($0) != nil })
        // Ternary-Bonsai-2's Hadamard-folded weights: the keys checked here, the transform marked below
        let hadamard = try HadamardFolding.parse(g) { n in g.tensor(n).flatMap { $0.shape.first } }
        func int(_ k: String, default d: Int? = nil) throws -> Int {
            let key = "\(arch).\(k)"
            if let v = g.metadata[key] {
                guard let i = v.int else { throw TritError.format("\(path): metadata \(key) is not an integer") }
                return i
            }
            if let d { return d }
            throw TritError.format("\(path): metadata key \(key) is missing")
        }
        func float(_ k: String, default d: Float) throws -> Float {
            let key = "\(arch).\(k)"
            guard let v = g.metadata[key] else { return d }
            guard let x = v.double else { throw TritError.format("\(path): metadata \(key) is not a number") }
            return Float(x)
        }
        let dim = try int("embedding_length")
        let nHeads = try int("attention.head_count")
        let hasKeyLength = g.metadata["\(arch).attention.key_length"] != nil
        guard nHeads > 0, dim % nHeads == 0 || hasKeyLength else {
            throw TritError.format("\(path): \(arch).embedding_length \(dim) is not a multiple of attention.head_count \(nHeads)")
        }
        let embd = spec.gguf.candidates(.tokenEmbedding, layer: 0).first.flatMap { g.tensor($0) }
        let vocabFromTensor = embd?.shape.count == 2 ? embd!.shape[1] : nil
        // trit's FP twins (Examples/train) keep float linears in a bitnet architecture
        let denseLinears = g.metadata["trit.dense_linears"]?.bool == true
        try spec.checkImplemented(origin: path)
        var cfg = ModelConfig(
            arch: spec,
            rope: spec.rope.ggufPairs,
            dim: dim,
            ffnDim: try int("feed_forward_length"),
            nLayers: try int("block_count"),
            nHeads: nHeads,
            nKVHeads: try int("attention.head_count_kv", default: nHeads),
            headDim: dim / nHeads,
            vocabSize: try int("vocab_size", default: vocabFromTensor ?? g.metadata["tokenizer.ggml.tokens"]?.array?.count ?? 0),
            contextLength: try int("context_length", default: 2048),
            ropeTheta: try float("rope.freq_base", default: 10000),
            normEps: try float("attention.layer_norm_rms_epsilon", default: spec.defaultNormEps),
            tiedEmbeddings: !spec.gguf.candidates(.output, layer: 0).contains { g.tensor($0) != nil })
        var keys = ModelConfig.KeyNames()
        keys.dim = "\(arch).embedding_length"; keys.ffnDim = "\(arch).feed_forward_length"
        keys.nLayers = "\(arch).block_count"; keys.nHeads = "\(arch).attention.head_count"
        keys.nKVHeads = "\(arch).attention.head_count_kv"; keys.vocabSize = "\(arch).vocab_size"
        keys.contextLength = "\(arch).context_length"; keys.ropeTheta = "\(arch).rope.freq_base"
        keys.normEps = "\(arch).attention.layer_norm_rms_epsilon"
        keys.headDim = "head size (\(arch).embedding_length / attention.head_count)"
        if hasKeyLength {
            cfg.headDim = try int("attention.key_length")
            keys.headDim = "\(arch).attention.key_length"
            let vl = try int("attention.value_length", default: cfg.headDim)
            guard vl == cfg.headDim else {
                throw TritError.unsupported("\(path): \(arch).attention.value_length \(vl) differs from attention.key_length \(cfg.headDim)")
            }
        }
        try cfg.validate(origin: path, keys: keys)
        try cfg.readAttentionLayout(gguf: g, arch: arch, origin: path)
        let ropeDim = try int("rope.dimension_count", default: cfg.headDim)
        if spec.rope.partialFactor != 1 {
            // qwen35: the rotated part of a head; the multimodal sections (rope.dimension_sections)
            // give every section the same position for text, which is the plain rotation
            guard ropeDim >= 2, ropeDim <= cfg.headDim, ropeDim % 2 == 0 else {
                throw TritError.format(
                    "\(path): \(arch).rope.dimension_count \(ropeDim) must be even and at most \(keys.headDim) \(cfg.headDim)")
            }
            cfg.ropeDimensions = ropeDim
        } else if ropeDim != cfg.headDim {
            throw TritError.unsupported("\(path): \(arch).rope.dimension_count \(ropeDim) differs from the \(keys.headDim) \(cfg.headDim); partial rotary embeddings are not supported")
        }
        if spec.layers != .all(.attention) {
            // llama.cpp's qwen35 keys: full_attention_interval and the ssm.* shape (V heads tiled)
            let n = try int("full_attention_interval", default: 4)
            guard n >= 1 else {
                throw TritError.format("\(path): \(arch).full_attention_interval \(n) must be at least 1")
            }
            let p = Architecture.LayerPattern.attentionEvery(interval: n, other: .gatedDeltaNet)
            cfg.layerKinds = (0..<cfg.nLayers).map { p.kind(ofLayer: $0) }
            if cfg.hasDeltaNet {
                let nV = try int("ssm.time_step_rank"), inner = try int("ssm.inner_size")
                guard nV > 0, inner % nV == 0 else {
                    throw TritError.format(
                        "\(path): \(arch).ssm.inner_size \(inner) is not a multiple of ssm.time_step_rank \(nV)")
                }
                let shape = DeltaNetShape(keyHeads: try int("ssm.group_count"), valueHeads: nV,
                                          keyHeadDim: try int("ssm.state_size"), valueHeadDim: inner / nV,
                                          convKernel: try int("ssm.conv_kernel"), tiledValueHeads: true)
                try shape.validate(origin: path)
                cfg.deltaNet = shape
            }
        }
        if let v = g.metadata["\(arch).rope.scaling.type"] {
            guard let st = v.string else { throw TritError.format("\(path): \(arch).rope.scaling.type is not a string") }
            guard let kind = RoPEScaling.Kind(rawValue: st) else {
                throw TritError.unsupported("\(path): \(arch).rope.scaling.type \"\(st)\" is not supported (none, linear or yarn)")
            }
            var rs = RoPEScaling()
            rs.kind = kind
            if kind != .none {
                guard g.metadata["\(arch).rope.scaling.factor"] != nil else {
                    throw TritError.format("\(path): \(arch).rope.scaling.factor is missing for rope scaling \(st)")
                }
                rs.factor = Double(try float("rope.scaling.factor", default: 1))
                rs.originalContext = try int("rope.scaling.original_context_length", default: 0)
                rs.betaFast = Double(try float("rope.scaling.yarn_beta_fast", default: 32))
                rs.betaSlow = Double(try float("rope.scaling.yarn_beta_slow", default: 1))
                try rs.validate(origin: path, factorKey: "\(arch).rope.scaling.factor", prefix: "\(arch).rope.scaling.yarn_")
            }
            cfg.ropeScaling = rs
        }

        func linear(_ t: RawTensor, rows: Int, cols: Int, _: WeightReader) throws -> Linear {
            guard case .ggml(let type) = t.encoding else { throw t.fail("is not a GGUF tensor") }
            if GroupScaled.geometry(type) != nil {
                // group-scaled (Bonsai): int8 activations with the group kernels, or code·d decoded to
                // F16 with float activations (the reference's arithmetic)
                if floatActivations { return .dense(try GroupScaled.dense(t, type: type, rows: rows, cols: cols)) }
                return .grouped(try GroupScaled.grouped(t, type: type, rows: rows, cols: cols))
            }
            if type == .tq1_0 || type == .tq2_0,
               tqOnGroupKernels || !TensorConversion.tqHasOneScale(t, type: type) {
                // block scales that differ (TriLM-style): the group kernels, one scale a 128-group
                return .grouped(try GroupScaled.fromTQ(t, type: type, rows: rows, cols: cols))
            }
            if spec.linears == .asStored || denseLinears, t.floatKind != nil || type == .q8_0 || type == .q6_K {
                // `llama` with float linears: the FP16 baseline, run densely.
                return .dense(try TensorConversion.dense(t, rows: rows, cols: cols))
            }
            return .ternary(try TensorConversion.ternary(t, rows: rows, cols: cols, floats: .exactOrAbsmean))
        }
        let reader = WeightReader(config: cfg, names: spec.gguf, origin: path, gain: spec.norms.ggufGain,
                                  has: { g.tensor($0) != nil },
                                  fetch: { name in
                                      guard let t = g.tensor(name) else { throw TritError.format("\(path): tensor \(name) is missing") }
                                      return RawTensor(name: name, origin: path, shape: t.shape, encoding: .ggml(t.type),
                                                       bytes: try g.data(of: t), file: g.file)
                                  }, linear: linear)

        func headMatrix(_ t: RawTensor) throws -> DenseMatrix {
            headBlocksInPlace ? try TensorConversion.denseOrBlocks(t, rows: cfg.vocabSize, cols: dim)
                              : try TensorConversion.dense(t, rows: cfg.vocabSize, cols: dim)
        }
        let tokenEmbedding = try headMatrix(try reader.raw(.tokenEmbedding))
        let output = cfg.tiedEmbeddings ? tokenEmbedding : try headMatrix(try reader.raw(.output))
        let outputNorm = try reader.norm(.outputNorm, dim)
        var layers: [LayerWeights] = []
        for l in 0..<cfg.nLayers {
            layers.append(try reader.layer(l))
            try progress.layer(l, of: cfg.nLayers)
        }
        var foldedEmbedding = false
        if let h = hadamard {
            foldedEmbedding = try markHadamard(h, &layers, reader: reader, path: path)
        }
        let ropeFreqs = reader.name(.ropeFrequencies) != nil ? try reader.vector(.ropeFrequencies, cfg.headDim / 2) : nil
        let (unknown, known) = reader.unusedTensors(of: g.tensors.map(\.name))
        try reader.refuseUnknown(unknown)

        let tokenizer = try GGUFTokenizerLoader.loadIfPresent(g)
        var meta: [(String, String)] = []
        for k in g.metadataOrder where !k.hasPrefix("tokenizer.ggml.") || k.hasSuffix("_id") || k.hasSuffix(".model") || k.hasSuffix(".pre") {
            meta.append((k, g.metadata[k]!.summary))
        }
        if !known.isEmpty {
            meta.append(("warning", "\(known.count) tensor(s) this architecture does not use were ignored (\(known.prefix(4).joined(separator: ", ")))"))
        }
        // The file type: the type of the first layer's q projection.
        let q0 = reader.name(.linear(.q)).flatMap { g.tensor($0) }
        var ft = q0.map { $0.type.description } ?? "?"
        if let t = q0, let (grp, _) = GroupScaled.geometry(t.type) {
            ft = "\(t.type.description), groups of \(grp), \(floatActivations ? "float" : "int8") activations"
        }
        if case .grouped(let gm)? = layers.first?.linear(.q), gm.type == .tq1_0 || gm.type == .tq2_0 {
            ft = "\(gm.type.description), per-block scales (group kernels, 128-groups, int8 activations)"
        }
        if !g.legacyQ2Tensors.isEmpty {
            meta.append(("warning", "\(g.legacyQ2Tensors.count) type-42 tensors read as the early PrismML Q2_0 layout (128-groups), from their data sizes"))
        }
        let model = Model(config: cfg, layers: layers, tokenEmbedding: tokenEmbedding, outputNorm: outputNorm,
                     output: output, ropeFreqFactors: ropeFreqs, path: path, source: .gguf, fileType: ft,
                     name: g.metadata["general.name"]?.string ?? "", tokenizer: tokenizer, metadata: meta, files: [g.file])
        model.chatTemplateSource = g.metadata["tokenizer.chat_template"]?.string
        model.filePooling = try FilePooling.gguf(g, arch: arch)
        model.hadamard = hadamard
        model.foldedEmbedding = foldedEmbedding
        return model
    }

    /// Marks each weight `h` lists (its Projection's flag); refuses a listed tensor the transform is not
    /// applied to, and q/k/v or gate/up or in_proj_qkv/z folded differently (they share one input).
    /// Returns whether the token embedding is a listed latent table.
    static func markHadamard(_ h: HadamardFolding, _ layers: inout [LayerWeights], reader: WeightReader,
                             path: String) throws -> Bool {
        var marked = Set<String>()
        func listed(_ role: Architecture.TensorRole, _ l: Int) -> Bool {
            guard let n = reader.name(role, layer: l), h.weightNames.contains(n) else { return false }
            marked.insert(n)
            return true
        }
        func alike(_ flags: [Bool], _ what: String, _ l: Int) throws {
            guard Set(flags).count == 1 else {
                throw TritError.unsupported("\(path): prism.hadamard.weight_names lists some of layer \(l)'s \(what) but not all")
            }
        }
        for l in layers.indices {
            var layer = layers[l]
            switch layer.mixer {
            case .attention(var a):
                a.q.hadamard = listed(.linear(.q), l); a.k.hadamard = listed(.linear(.k), l)
                a.v.hadamard = listed(.linear(.v), l); a.o.hadamard = listed(.linear(.o), l)
                try alike([a.q.hadamard, a.k.hadamard, a.v.hadamard], "q, k, v", l)
                layer.mixer = .attention(a)
            case .gatedDeltaNet(var d):
                d.qkv.hadamard = listed(.deltaNet(.qkv), l); d.z.hadamard = listed(.deltaNet(.z), l)
                d.bHadamard = listed(.deltaNet(.b), l); d.aHadamard = listed(.deltaNet(.a), l)
                d.out.hadamard = listed(.deltaNet(.out), l)
                try alike([d.qkv.hadamard, d.z.hadamard], "in_proj_qkv, in_proj_z", l)
                layer.mixer = .gatedDeltaNet(d)
            }
            layer.feedForward.gate.hadamard = listed(.linear(.gate), l)
            layer.feedForward.up.hadamard = listed(.linear(.up), l)
            layer.feedForward.down.hadamard = listed(.linear(.down), l)
            try alike([layer.feedForward.gate.hadamard, layer.feedForward.up.hadamard], "gate, up", l)
            layers[l] = layer
        }
        if !marked.isEmpty && !reader.config.arch.norms.beforeProjection.isEmpty {
            throw TritError.unsupported("\(path): prism.hadamard.* with norms before projections is not supported")
        }
        if let n = h.weightNames.subtracting(marked).sorted().first {
            throw TritError.unsupported("\(path): prism.hadamard.weight_names lists \(n); trit folds only the layers' linears")
        }
        let embedding = reader.name(.tokenEmbedding)
        if let n = h.inverseWeightNames.subtracting([embedding ?? ""]).sorted().first {
            throw TritError.unsupported("\(path): prism.hadamard.inverse_weight_names lists \(n); trit unfolds only the token embedding")
        }
        return embedding.map { h.inverseWeightNames.contains($0) } ?? false
    }
}
