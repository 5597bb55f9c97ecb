import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `trit perplexity`: llama-perplexity's method — non-overlapping windows of n_ctx tokens,
/// each scored on its second half (the first half is context only).
enum PerplexityCommand {
    static let opts: [Opt] = [modelOpt, Opt(names: ["-f", "--file"], value: "PATH", help: "text to score (required)"),
                              ctxOpt, threadsOpt] + kvOpts + [
                              Opt(names: ["--chunks"], value: "N", help: "score at most N windows"),
                              ] + headOpts + [helpOpt]

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        headMode = try readHeadMode(p)
        if p.flag("-h") {
            print(helpText("trit perplexity -m MODEL -f TEXT [-c N]", """
            Perplexity of a model on a text, as llama-perplexity computes it: the text is cut into windows of
            n_ctx tokens (BOS first when the model uses one); each window is evaluated from an empty context
            and its second half is scored. Prints the running estimate per window and the final
            PPL ± its standard error.
            """, opts), terminator: "")
            return
        }
        guard let file = p.string("-f") else { throw CLIError("-f TEXT is required") }
        let (kt, vt) = try readKVTypes(p)
        let (model, _) = try loadModel(try modelPath(p))
        guard let tok = model.tokenizer else { throw CLIError("the model has no tokenizer") }
        let nCtx = try p.int("-c", min(512, model.config.contextLength))
        guard nCtx >= 16 else { throw CLIError("-c must be at least 16") }
        let text = try readTextFile(file)
        let tokens = tok.encode(text, addSpecial: false)
        let nChunks = min(tokens.count / nCtx, try p.int("--chunks", Int.max))
        guard nChunks > 0 else { throw CLIError("the text has \(tokens.count) tokens: fewer than one window of \(nCtx)") }
        let state = try InferenceState(model: model, nCtx: nCtx, nThreads: try p.int("-t", defaultThreads()), kvType: kt, valueType: vt,
                                       attentionInt8: attentionInt8)
        let vocab = model.config.vocabSize
        var logits = [Float](repeating: 0, count: nCtx * vocab)
        var nll = 0.0, nll2 = 0.0, count = 0
        stderrPrint("perplexity: \(tokens.count) tokens, \(nChunks) windows of \(nCtx), scoring the second half of each\n")
        let t0 = monotonicSeconds()
        for c in 0..<nChunks {
            var chunk = Array(tokens[(c * nCtx)..<((c + 1) * nCtx)])
            if tok.addBOS, let b = tok.bos { chunk[0] = b }
            state.reset()
            try logits.withUnsafeMutableBufferPointer { try state.evaluate(chunk, allLogits: $0.baseAddress) }
            for i in (nCtx / 2)..<(nCtx - 1) {
                let row = i * vocab
                var mx = -Float.infinity
                for j in 0..<vocab { mx = max(mx, logits[row + j]) }
                var sum = 0.0
                for j in 0..<vocab { sum += Double(expf(logits[row + j] - mx)) }
                let lp = Double(logits[row + Int(chunk[i + 1])] - mx) - log(sum)
                nll -= lp; nll2 += lp * lp; count += 1
            }
            print("[\(c + 1)]\(fmt(exp(nll / Double(count)), 4))", terminator: c + 1 < nChunks ? "," : "\n")
            fflush(stdout)
            let done = Double(c + 1) / Double(nChunks)
            let eta = (monotonicSeconds() - t0) / done * (1 - done)
            let bar = String(repeating: "#", count: Int(done * 30)) + String(repeating: ".", count: 30 - Int(done * 30))
            progressLine("[\(bar)] \(c + 1)/\(nChunks) ETA \(fmt(eta, 0)) s ")
        }
        endProgressLine()
        let mean = nll / Double(count)
        let variance = max(0, nll2 / Double(count) - mean * mean)
        let se = (variance / Double(max(count - 1, 1))).squareRoot()
        let ppl = exp(mean)
        print("Final estimate: PPL = \(fmt(ppl, 4)) +/- \(fmt(ppl * se, 5))")
    }
}
