import Trit

/// `trit embed`: the embeddings of texts (trit_embed's rows: output-normed final hidden states, pooled).
enum EmbedCommand {
    static let opts: [Opt] = [modelOpt, Opt(names: ["-p", "--prompt"], value: "TEXT", help: "a text to embed (repeatable: one row each)"),
                              Opt(names: ["-f", "--file"], value: "PATH", help: "embed each non-empty line of a file"),
                              Opt(names: ["--pooling"], value: "MODE", help: "last, mean or cls (the first token); default: the file's, else last"),
                              Opt(names: ["--dimensions"], value: "N", help: "keep the first N components (renormalized)"),
                              Opt(names: ["--no-normalize"], value: nil, help: "leave the rows unnormalized (default: L2 norm 1)"),
                              Opt(names: ["--json"], value: nil, help: "print OpenAI's embeddings response as JSON"),
                              threadsOpt, ctxOpt] + kvOpts + [helpOpt]

    static func pooling(_ s: String?, model: Model?) throws -> Pooling {
        switch s {
        case nil: return model?.defaultPooling ?? .last
        case "last": return .last
        case "mean": return .mean
        case "cls", "first": return .first
        default: throw CLIError("option --pooling expects last, mean or cls; got \"\(s!)\"")
        }
    }

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        if p.flag("-h") {
            print(helpText("trit embed [options] -p TEXT [-p TEXT ...]", "Print the embedding of each text: the final hidden state after the output norm, pooled over\nthe text's tokens (BOS and EOS added as the vocabulary asks), one line of floats per text (or JSON).", opts), terminator: "")
            return
        }
        var texts = p.all("-p") + (p.positional.isEmpty ? [] : [p.positional.joined(separator: " ")])
        if let f = p.string("-f") { texts += try readTextFile(f).split(separator: "\n").map(String.init).filter { !$0.isEmpty } }
        guard !texts.isEmpty else { throw CLIError("no text to embed: give -p TEXT or -f FILE") }
        let poolingName = p.string("--pooling")
        _ = try pooling(poolingName == nil ? "last" : poolingName, model: nil)
        let dimensions = try p.int("--dimensions", 0)
        guard dimensions >= 0 else { throw CLIError("option --dimensions expects a positive integer") }
        _ = try readKVTypes(p)
        let (model, _) = try loadModel(try modelPath(p), quiet: true)
        let options = EmbeddingOptions(pooling: try pooling(poolingName, model: model), normalize: !p.flag("--no-normalize"),
                                       dimensions: dimensions)
        guard let tok = model.tokenizer else { throw CLIError("the model has no tokenizer") }
        let inputs = texts.map { tok.encode($0, addSpecial: true, parseSpecial: false) }
        let longest = inputs.map(\.count).max() ?? 1
        var state = try makeState(model, p)
        if state.nCtx < longest && p.string("-c") == nil {   // the default context is too short: make one that fits
            let (kt, vt) = try readKVTypes(p)
            state = try InferenceState(model: model, nCtx: longest, nThreads: try p.int("-t", defaultThreads()), kvType: kt, valueType: vt,
                                       attentionInt8: attentionInt8)
        }
        let width = try state.embeddingWidth(options)
        var rows = [Float](repeating: 0, count: inputs.count * width)
        let buffers = inputs.map { ids -> UnsafeMutableBufferPointer<Int32> in
            let b = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(ids.count, 1))
            _ = b.initialize(from: ids)
            return UnsafeMutableBufferPointer(rebasing: b[0..<ids.count])
        }
        defer { buffers.forEach { $0.deallocate() } }
        try rows.withUnsafeMutableBufferPointer { out in
            try state.embed(buffers.map { UnsafeBufferPointer($0) }, sequence: 0, options: options, into: out.baseAddress!)
        }
        if p.flag("--json") {
            let n = inputs.reduce(0) { $0 + $1.count }
            var s = "{\"object\": \"list\", \"model\": \"\(jsonEscape(model.name))\", \"data\": ["
            for i in 0..<inputs.count {
                let row = rows[(i * width)..<((i + 1) * width)].map { "\($0)" }.joined(separator: ", ")
                s += (i > 0 ? ", " : "") + "{\"object\": \"embedding\", \"index\": \(i), \"embedding\": [\(row)]}"
            }
            s += "], \"usage\": {\"prompt_tokens\": \(n), \"total_tokens\": \(n)}}"
            print(s)
        } else {
            for i in 0..<inputs.count {
                print(rows[(i * width)..<((i + 1) * width)].map { "\($0)" }.joined(separator: " "))
            }
        }
    }
}
