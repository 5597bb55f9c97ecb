import Trit

/// `trit synth`: write a random-weight model of a preset shape.
enum SynthCommand {
    static let opts: [Opt] = [
        Opt(names: ["--preset"], value: "NAME", help: "shape: " + (Synth.presets.map(\.name) + Synth.qwen3Presets.map(\.name)
                                                             + Synth.qwen35Presets.map(\.name)
                                                             + Synth.embeddingPresets.map(\.name)
                                                             + Synth.gemmaEmbeddingPresets.map(\.name))
                                                                .joined(separator: ", ") + " (default 2b4t)"),
        Opt(names: ["--type"], value: "TYPE", help: "linear weights: i2_s, tq2_0, tq1_0, f16 (BitNet shapes; default i2_s); q2_0, pq2_0, ptq1_0, q1_0 (bonsai shapes; default q2_0)"),
        Opt(names: ["--head-type"], value: "TYPE", help: "the tied embedding / head (BitNet shapes): "
                + HeadFileType.names + " (default f16; bitnet.cpp's --quant-embd: q6_k)"),
        Opt(names: ["-o", "--output"], value: "PATH", help: "output GGUF (default: synth-PRESET-TYPE[-HEAD].gguf)"),
        Opt(names: ["--seed"], value: "N", help: "random seed (default 1)"),
        Opt(names: ["--text-vocab"], value: nil, help: "BitNet shapes: the tokens after the 256 bytes and 3 specials "
                + "are normal text tokens \" w<id>\" (default: reserved control tokens), so generated tokens carry text"),
        Opt(names: ["--hadamard"], value: "MODE", help: "qwen35 presets: declare Hadamard folding (prism.hadamard.*) with identity or explicit signs"),
        helpOpt]

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        if p.flag("-h") {
            print(helpText("trit synth [options]", """
            Write a GGUF with random ternary weights (uniform over -1, 0, +1) in a preset shape and a valid
            byte-level tokenizer, so speed can be measured without real weights. I2_S files follow
            bitnet.cpp's x86 layout exactly, so bitnet.cpp runs the same file. Shapes:
            """ + Synth.presets.map { "\n  \($0.name): dim \($0.dim), ffn \($0.ffn), \($0.layers) layers, \($0.heads) heads (\($0.kvHeads) kv), vocab \($0.vocab)" }.joined()
              + "\nqwen3 (Bonsai / Ternary-Bonsai) shapes, linears in Q2_0, PQ2_0, PTQ1_0 or Q1_0:"
              + Synth.qwen3Presets.map { "\n  \($0.name): dim \($0.dim), ffn \($0.ffn), \($0.layers) layers, \($0.heads) heads (\($0.kvHeads) kv, head dim \($0.headDim)), vocab \($0.vocab)\($0.tied ? ", tied head" : "")" }.joined()
              + "\nqwen35 hybrid (Gated DeltaNet + gated attention) shapes, the same types:"
              + Synth.qwen35Presets.map { "\n  \($0.name): dim \($0.dim), ffn \($0.ffn), \($0.layers) layers (attention every "
                  + "\($0.interval)), \($0.heads) heads (\($0.kvHeads) kv, head dim \($0.headDim)), DeltaNet \($0.keyHeads) key / "
                  + "\($0.valueHeads) value heads of \($0.keyHeadDim), vocab \($0.vocab)" }.joined()
              + "\nBitNet-embedding (qwen3 + a norm before each projection, last-token pooling) shapes:"
              + Synth.embeddingPresets.map { "\n  \($0.name): dim \($0.dim), ffn \($0.ffn), \($0.layers) layers, "
                  + "\($0.heads) heads (\($0.kvHeads) kv, head dim \($0.headDim)), vocab \($0.vocab)" }.joined()
              + "\nBitNet-embedding-270M (gemma3 + a norm before each projection, last-token pooling) shapes:"
              + Synth.gemmaEmbeddingPresets.map { "\n  \($0.name): dim \($0.dim), ffn \($0.ffn), \($0.layers) layers, "
                  + "\($0.heads) heads (\($0.kvHeads) kv, head dim \($0.headDim)), window \($0.slidingWindow), "
                  + "vocab \($0.vocab)" }.joined(),
              opts), terminator: "")
            return
        }
        let name = p.string("--preset") ?? "2b4t"
        if p.flag("--text-vocab"), Synth.preset(name) == nil {
            throw CLIError("--text-vocab is for the BitNet shapes (" + Synth.presets.map(\.name).joined(separator: ", ")
                           + "), not \(name)")
        }
        if let shape = Synth.qwen3Preset(name) {   // qwen3 (Bonsai) shapes in the group-scaled types
            guard p.string("--head-type") == nil else {
                throw CLIError("--head-type is for the BitNet shapes; the qwen3 preset \(shape.name) writes F16 "
                               + "embeddings")
            }
            let tname = (p.string("--type") ?? "q2_0").lowercased()
            guard let gt = Synth.groupTypes.first(where: { $0.name == tname }) else {
                throw CLIError("type \(tname) is not a group-scaled type (q2_0, pq2_0, ptq1_0, q1_0) for the qwen3 preset \(shape.name)")
            }
            let out = p.string("-o") ?? "synth-\(shape.name)-\(gt.name).gguf"
            let t0 = monotonicSeconds()
            try Synth.writeQwen3(shape, type: gt.type, to: out, seed: UInt64(try p.int("--seed", 1))) { done, total in
                progressLine("writing \(out): \(done)/\(total) tensors")
            }
            endProgressLine()
            stderrPrint("wrote \(out) in \(fmt(monotonicSeconds() - t0, 1)) s\n")
            return
        }
        if let shape = Synth.qwen35Preset(name) {   // qwen35 hybrids in the group-scaled types
            guard p.string("--head-type") == nil else {
                throw CLIError("--head-type is for the BitNet shapes; the qwen35 preset \(shape.name) writes F16 "
                               + "embeddings")
            }
            let tname = (p.string("--type") ?? "q2_0").lowercased()
            guard let gt = Synth.groupTypes.first(where: { $0.name == tname }) else {
                throw CLIError("type \(tname) is not a group-scaled type (q2_0, pq2_0, ptq1_0, q1_0) for the qwen35 preset \(shape.name)")
            }
            let out = p.string("-o") ?? "synth-\(shape.name)-\(gt.name).gguf"
            let t0 = monotonicSeconds()
            guard let hk = Synth.HadamardKeys(rawValue: (p.string("--hadamard") ?? "none").lowercased()) else {
                throw CLIError("--hadamard takes identity or explicit")
            }
            try Synth.writeQwen35(shape, type: gt.type, to: out, seed: UInt64(try p.int("--seed", 1)),
                                  hadamard: hk) { done, total in
                progressLine("writing \(out): \(done)/\(total) tensors")
            }
            endProgressLine()
            stderrPrint("wrote \(out) in \(fmt(monotonicSeconds() - t0, 1)) s\n")
            return
        }
        if let shape = Synth.gemmaEmbeddingPreset(name) {
            let tname = (p.string("--type") ?? "i2_s").lowercased()
            guard let type = TernaryFileType(rawValue: tname), type != .f32 else {
                throw CLIError("unknown type \(tname) for the embedding preset \(shape.name) (i2_s, tq2_0, tq1_0, f16)")
            }
            let out = p.string("-o") ?? "synth-\(shape.name)-\(type.rawValue).gguf"
            let t0 = monotonicSeconds()
            let seed = UInt64(try p.int("--seed", 1))
            try Synth.writeGemmaEmbedding(shape, type: type, to: out, seed: seed) { done, total in
                progressLine("writing \(out): \(done)/\(total) tensors")
            }
            endProgressLine()
            stderrPrint("wrote \(out) in \(fmt(monotonicSeconds() - t0, 1)) s\n")
            return
        }
        if let shape = Synth.embeddingPreset(name) {
            let tname = (p.string("--type") ?? "i2_s").lowercased()
            guard let type = TernaryFileType(rawValue: tname), type != .f32 else {
                throw CLIError("unknown type \(tname) for the embedding preset \(shape.name) (i2_s, tq2_0, tq1_0, f16)")
            }
            let out = p.string("-o") ?? "synth-\(shape.name)-\(type.rawValue).gguf"
            let t0 = monotonicSeconds()
            try Synth.writeEmbedding(shape, type: type, to: out, seed: UInt64(try p.int("--seed", 1))) { done, total in
                progressLine("writing \(out): \(done)/\(total) tensors")
            }
            endProgressLine()
            stderrPrint("wrote \(out) in \(fmt(monotonicSeconds() - t0, 1)) s\n")
            return
        }
        guard let shape = Synth.preset(name) else { throw CLIError("unknown preset \(name)") }
        let tname = p.string("--type") ?? "i2_s"
        guard let type = TernaryFileType(rawValue: tname.lowercased()), type != .f32 else { throw CLIError("unknown type \(tname) (i2_s, tq2_0, tq1_0, f16)") }
        let hname = (p.string("--head-type") ?? "f16").lowercased()
        guard let head = HeadFileType(rawValue: hname) else {
            throw CLIError("unknown head type \(hname) (" + HeadFileType.names + ")")
        }
        let headSuffix = head == .f16 ? "" : "-" + head.rawValue
        let out = p.string("-o") ?? "synth-\(shape.name)-\(type.rawValue)\(headSuffix).gguf"
        let seed = UInt64(try p.int("--seed", 1))
        let t0 = monotonicSeconds()
        try Synth.write(shape, type: type, to: out, seed: seed, head: head,
                        textVocab: p.flag("--text-vocab")) { done, total in
            progressLine("writing \(out): \(done)/\(total) tensors")
        }
        endProgressLine()
        stderrPrint("wrote \(out) in \(fmt(monotonicSeconds() - t0, 1)) s\n")
    }
}
