import Trit

/// `trit info MODEL`: metadata, tensor types and sizes, memory needed.
enum InfoCommand {
    static let opts: [Opt] = [modelOpt, ctxOpt] + kvOpts
        + [Opt(names: ["--tensors"], value: nil, help: "list every tensor of a GGUF file"), helpOpt]

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        if p.flag("-h") {
            print(helpText("trit info [options] [MODEL]", "Describe a model: architecture, shape, tensor types and sizes, tokenizer, and the memory a context needs.", opts), terminator: "")
            return
        }
        let (keyType, valueType) = try readKVTypes(p)   // checked before the model loads
        let path = try p.positional.first ?? modelPath(p)
        let (m, dt) = try loadModel(path, quiet: true)
        let c = m.config
        print("model          \(path)")
        print("format         \(m.source.rawValue), \(m.fileType)\(m.name.isEmpty ? "" : ", name \"\(m.name)\"")")
        print("architecture   \(c.architecture) (\(c.arch.summary), RoPE \(c.rope.rawValue), θ \(c.ropeTheta))")
        print("shape          \(c.nLayers) layers, dim \(c.dim), ffn \(c.ffnDim), heads \(c.nHeads) (kv \(c.nKVHeads), head dim \(c.headDim)), vocab \(c.vocabSize)")
        if let d = c.deltaNet {
            let att = (0..<c.nLayers).filter { c.kind(ofLayer: $0) == .attention }
            print("hybrid         \(c.nLayers - att.count) Gated DeltaNet layers (\(d.keyHeads) key / \(d.valueHeads) value heads "
                  + "of \(d.keyHeadDim) / \(d.valueHeadDim), conv \(d.convKernel)), gated attention in layers "
                  + "\(att.map(String.init).joined(separator: ", ")) (\(c.ropeDim) of \(c.headDim) dims rotated)")
        }
        print("context        trained with \(c.contextLength) tokens")
        print("parameters     \(fmtCount(m.parameterCount)) (\(c.tiedEmbeddings ? "tied" : "separate") output head)")
        print("weights        \(fmtBytes(m.weightBytes)) in memory (loaded in \(fmt(dt * 1000, 1)) ms)")
        let e = m.tokenEmbedding, h = m.output
        print("embedding      \(e.typeName) \(e.rows)x\(e.cols), \(fmtBytes(e.byteCount))"
              + (h === e ? " (also the output head)" : "; output head \(h.typeName), \(fmtBytes(h.byteCount))"))
        let nCtx = Defaults.contextSize(try p.int("-c", 0), model: m)
        // the cache `trit run` / `trit chat` would make with the same -c, -ctk and -ctv
        let attentionLayers = (0..<c.nLayers).filter { c.kind(ofLayer: $0) == .attention }.count
        let kvBytes = attentionLayers * nCtx * c.nKVHeads * (keyType.headBytes(c.headDim) + valueType.headBytes(c.headDim))
        let kvTypes = keyType == valueType ? keyType.name : "K \(keyType.name), V \(valueType.name)"
        print("KV cache       \(fmtBytes(kvBytes)) for \(nCtx) positions (\(kvTypes))")
        if let t = m.tokenizer {
            print("tokenizer      \(t.kind.rawValue), \(t.vocabSize) tokens, pre-tokenizer \(t.preTokenizer.rawValue), BOS \(t.bos.map(String.init) ?? "-"), EOS \(t.eos.map(String.init) ?? "-"), end of generation \(t.endOfGeneration.sorted())")
        } else {
            print("tokenizer      none")
        }
        print("chat format    \(ChatTemplate.detect(for: m).rawValue)")
        print("layer 0        " + m.layers[0].namedLinears.map { name, l in
            switch l {
            case .ternary(let t): return "\(name) \(t.rows)x\(t.cols) ternary β=\(t.scale)\(t.isMapped ? " (in place)" : "")"
            case .dense(let d): return "\(name) \(d.rows)x\(d.cols) dense"
            case .grouped(let g): return "\(name) \(g.rows)x\(g.cols) \(g.type) groups of \(g.group)"
            }
        }.joined(separator: ", "))
        if m.source == .gguf {
            let g = try GGUFFile(path: path)
            print("metadata       \(g.metadata.count) keys, GGUF v\(g.version), alignment \(g.alignment)")
            for k in g.metadataOrder { print("  \(k) = \(g.metadata[k]!.summary)") }
            var byType: [String: (Int, Int)] = [:]
            for t in g.tensors {
                let e = byType[t.type.description] ?? (0, 0)
                byType[t.type.description] = (e.0 + 1, e.1 + (t.byteSize ?? 0))
            }
            print("tensors        \(g.tensors.count): " + byType.sorted { $0.key < $1.key }.map { "\($0.value.0) \($0.key) (\(fmtBytes($0.value.1)))" }.joined(separator: ", "))
            if p.flag("--tensors") {
                for t in g.tensors { print("  \(t.name) \(t.type) \(t.shape) \(fmtBytes(t.byteSize ?? 0))") }
            }
        } else {
            for (k, v) in m.metadata { print("  \(k) = \(v)") }
        }
    }
}
