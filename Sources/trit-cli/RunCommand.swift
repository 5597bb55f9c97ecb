import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `trit run`: prompt in, streamed text out, timings at the end.
enum RunCommand {
    static let opts: [Opt] = [modelOpt, Opt(names: ["-p", "--prompt"], value: "TEXT", help: "the prompt (default: \"Once upon a time\")"),
                              Opt(names: ["-f", "--file"], value: "PATH", help: "read the prompt from a file"),
                              threadsOpt, ctxOpt] + kvOpts + samplingOpts + [
                              Opt(names: ["--no-bos"], value: nil, help: "do not add the BOS token"),
                              Opt(names: ["--special"], value: nil, help: "parse control-token texts (e.g. <|eot_id|>) in the prompt"),
                              Opt(names: ["--no-echo"], value: nil, help: "print only the generated text, not the prompt"),
                              Opt(names: ["--no-timings"], value: nil, help: "do not print timings to stderr"),
                              Opt(names: ["--prompt-cache"], value: "FILE", help: "reuse the longest common prefix of the prompt from FILE (a saved state of this model and cache type), and save the context to it at the end"),
                              ] + headOpts + ConstrainedRun.opts + [helpOpt]

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        headMode = try readHeadMode(p)
        if p.flag("-h") {
            print(helpText("trit run [options]", "Generate text from a prompt, streaming it to stdout as it is produced.\nLoad progress and timings go to stderr.", opts), terminator: "")
            print(ConstrainedRun.helpNote, terminator: "")
            return
        }
        if ConstrainedRun.requested(p) {
            _ = try generationParams(p)   // the same checks as a plain run, before Python starts
            _ = try readKVTypes(p)
            try ConstrainedRun.handOff(args)
        }
        if p.flag("--no-jump-forward") { throw CLIError("--no-jump-forward applies to a run with a grammar only") }
        let gp = try generationParams(p)
        _ = try readKVTypes(p)   // checked before the model loads
        var prompt = p.string("-p") ?? "Once upon a time"
        if let f = p.string("-f") { prompt = try readTextFile(f) }
        let (model, loadSeconds) = try loadModel(try modelPath(p), quiet: p.flag("--no-timings"))
        let state = try makeState(model, p)
        guard let tok = model.tokenizer else { throw CLIError("the model has no tokenizer") }
        let ids = tok.encode(prompt, addSpecial: !p.flag("--no-bos"), parseSpecial: p.flag("--special"))
        // a saved state: its tokens up to the first difference from this prompt are not evaluated again
        var history: [Int32] = []
        var rest = ids
        let cachePath = p.string("--prompt-cache")
        if let cachePath, access(cachePath, F_OK) == 0 {
            do {
                try state.loadState(path: cachePath)
                let cached = state.tokens
                var common = 0
                while common < min(cached.count, ids.count), cached[common] == ids[common] { common += 1 }
                let keep = min(common, ids.count - 1)   // the last prompt token is evaluated for its logits
                try state.truncate(to: keep)
                history = Array(ids[0..<keep]); rest = Array(ids[keep...])
                if !p.flag("--no-timings") { stderrPrint("prompt cache: \(keep) of \(ids.count) prompt tokens reused from \(cachePath)\n") }
            } catch {
                state.reset()
                stderrPrint("warning: prompt cache \(cachePath) not used: \(error)\n")
            }
        }
        if !p.flag("--no-echo") { var s = prompt; s.withUTF8 { writeOut($0) } }
        // Ctrl-C stops generation; the timings so far are still printed
        installInterruptHandler()
        let res: GenerationResult
        do {
            res = try interruptibly(state) {
                try state.generate(prompt: rest, params: gp, history: history) { piece in writeOut(piece); return true }
            }
        } catch let e as TritError where e.kind == .cancelled {
            print("")
            stderrPrint("\n[interrupted while reading the prompt]\n")
            return
        }
        print("")
        if res.stopReason == .aborted { stderrPrint("\n[interrupted]\n") }
        if let cachePath { try state.saveState(path: cachePath) }
        if !p.flag("--no-timings") { printTimings(res, loadSeconds: loadSeconds, threads: try p.int("-t", defaultThreads()), kernel: state.kernelName) }
    }
}

func printTimings(_ r: GenerationResult, loadSeconds: Double, threads: Int, kernel: String) {
    stderrPrint("\n")
    stderrPrint("load time   = \(fmt(loadSeconds * 1000, 2)) ms\n")
    stderrPrint("prompt eval = \(fmt(r.promptSeconds * 1000, 2)) ms / \(r.promptTokens) tokens (\(fmt(r.promptTokensPerSecond, 2)) tokens/s)\n")
    stderrPrint("generation  = \(fmt(r.generationSeconds * 1000, 2)) ms / \(r.tokens.count) tokens (\(fmt(r.tokensPerSecond, 2)) tokens/s)\n")
    stderrPrint("stopped by  = \(r.stopReason.rawValue); threads \(threads), kernels \(kernel)\n")
}

func readTextFile(_ path: String) throws -> String {
    guard let f = fopen(path, "rb") else { throw CLIError("cannot open \(path)") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: buf[0..<n])
    }
    let r = bytes.withUnsafeBufferPointer { firstInvalidUTF8($0) }
    if let bad = r { throw CLIError("\(path) is not valid UTF-8 (byte \(bad))") }
    return String(decoding: bytes, as: UTF8.self)
}
