import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A command-line option: its spellings, whether it takes a value, and its help line.
struct Opt {
    let names: [String]
    let value: String?      // placeholder of the value, nil for a flag
    let help: String
}

/// Parsed options of one subcommand.
struct Parsed {
    var values: [String: [String]] = [:]
    var positional: [String] = []

    func string(_ key: String) -> String? { values[key]?.last }
    func all(_ key: String) -> [String] { values[key] ?? [] }
    func flag(_ key: String) -> Bool { values[key] != nil }

    func int(_ key: String, _ d: Int) throws -> Int {
        guard let s = string(key) else { return d }
        guard let v = Int(s) else { throw CLIError("option \(key) expects an integer, got \"\(s)\"") }
        return v
    }
    func float(_ key: String, _ d: Float) throws -> Float {
        guard let s = string(key) else { return d }
        guard let v = Float(s), v.isFinite else { throw CLIError("option \(key) expects a number, got \"\(s)\"") }
        return v
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ s: String) { description = s }
}

/// Parses argv against a list of options; the first spelling of each option is its key.
func parse(_ args: [String], _ opts: [Opt]) throws -> Parsed {
    var p = Parsed()
    var i = 0
    while i < args.count {
        let a = args[i]
        if a == "--" { p.positional += args[(i + 1)...]; break }
        if a.hasPrefix("-") && a.count > 1 && Double(a) == nil {
            var name = a, inline: String? = nil
            if let eq = a.firstIndex(of: "="), a.hasPrefix("--") { name = String(a[..<eq]); inline = String(a[a.index(after: eq)...]) }
            guard let o = opts.first(where: { $0.names.contains(name) }) else {
                throw CLIError("unknown option \(name) (see --help)")
            }
            let key = o.names[0]
            if o.value != nil {
                if let v = inline { p.values[key, default: []].append(v) } else {
                    guard i + 1 < args.count else { throw CLIError("option \(name) needs a value (\(o.value!))") }
                    p.values[key, default: []].append(args[i + 1])
                    i += 1
                }
            } else {
                p.values[key, default: []].append("")
            }
        } else {
            p.positional.append(a)
        }
        i += 1
    }
    return p
}

func helpText(_ usage: String, _ about: String, _ opts: [Opt]) -> String {
    var s = "usage: \(usage)\n\n\(about)\n\noptions:\n"
    for o in opts {
        var left = "  " + o.names.joined(separator: ", ")
        if let v = o.value { left += " \(v)" }
        if left.count < 28 { left += String(repeating: " ", count: 28 - left.count) } else { left += "\n" + String(repeating: " ", count: 28) }
        s += left + o.help + "\n"
    }
    return s
}

// MARK: - Shared options

let modelOpt = Opt(names: ["-m", "--model"], value: "PATH", help: "GGUF file or Hugging Face folder (default: the bundled model)")
let threadsOpt = Opt(names: ["-t", "--threads"], value: "N", help: "threads (default: one per core)")
let ctxOpt = Opt(names: ["-c", "--ctx-size"], value: "N", help: "context size in tokens (default: the model's, at most 4096)")
let helpOpt = Opt(names: ["-h", "--help"], value: nil, help: "show this help")
let kvOpts = [
    Opt(names: ["-ctk", "--cache-type-k"], value: "TYPE", help: "KV cache type of keys: f16 (default), q8_0 (about half of f16) or f32 (exact)"),
    Opt(names: ["-ctv", "--cache-type-v"], value: "TYPE", help: "KV cache type of values: f16 (default), q8_0 or f32"),
    Opt(names: ["--attn-int8"], value: nil, help: "int8 attention scores over a q8_0 key cache (-ctk q8_0): the query quantized per 32 values, integer K·Q dots as llama.cpp; logits move slightly"),
]
nonisolated(unsafe) var attentionInt8 = false

/// The KV cache types of -ctk / -ctv (F16 unless told, as llama.cpp); sets attentionInt8 (--attn-int8).
func readKVTypes(_ p: Parsed) throws -> (KVCacheType, KVCacheType) {
    func one(_ name: String) throws -> KVCacheType {
        guard let s = p.string(name) else { return Defaults.kvType }
        guard let t = KVCacheType(name: s) else { throw CLIError("option \(name) expects f16, q8_0 or f32; got \"\(s)\"") }
        return t
    }
    let types = (try one("-ctk"), try one("-ctv"))
    attentionInt8 = p.flag("--attn-int8")
    if attentionInt8 && types.0 != .q8_0 {
        throw CLIError("--attn-int8 needs a q8_0 key cache (-ctk q8_0); the keys are \(types.0.name)")
    }
    return types
}
let headOpts = [
    Opt(names: ["--head"], value: "MODE", help: "output head: exact (default), int8 (half the head's bytes per token, logits move by ~1e-2), certified (the exact tokens from the int8 head plus the rows that can win; see README), certified4 (the same from a 4-bit head: fewer bytes, more candidates)"),
    Opt(names: ["--int8-head"], value: nil, help: "the same as --head int8"),
    Opt(names: ["--ternary-layout"], value: "L", help: "ternary weights in memory: auto (default: 2bit on the x86 CPUs measured), 2bit, 5trit (1.6 bits a weight: 20% fewer bytes a token, more work to decode; a TQ1_0 file's blocks in place, no copy), both (5trit for decoding, 2bit for prompts); logits identical"),
    Opt(names: ["--float-activations"], value: nil, help: "group-scaled models (Q1_0, Q2_0, PQ2_0, PTQ1_0): float activations, the reference's arithmetic (slower, 2 bytes a weight); default int8 activations"),
]
nonisolated(unsafe) var floatActivations = false
nonisolated(unsafe) var headMode = Model.HeadMode.exact
nonisolated(unsafe) var ternaryLayout = TernaryLayout.auto

/// The head mode of --head / --int8-head.
func readHeadMode(_ p: Parsed) throws -> Model.HeadMode {
    floatActivations = p.flag("--float-activations")
    if let s = p.string("--ternary-layout") {
        guard let l = TernaryLayout(rawValue: s) else {
            throw CLIError("option --ternary-layout expects auto, 2bit, 5trit or both; got \"\(s)\"")
        }
        ternaryLayout = l
    }
    if p.flag("--int8-head") { return .int8 }
    guard let s = p.string("--head") else { return .exact }
    guard let m = Model.HeadMode(rawValue: s) else {
        throw CLIError("option --head expects exact, int8, certified or certified4; got \"\(s)\"")
    }
    return m
}

let samplingOpts: [Opt] = [
    Opt(names: ["-n", "--n-predict"], value: "N", help: "tokens to generate, at least 1 (default 128; -1 = until EOS or the context is full)"),
    Opt(names: ["--temp"], value: "T", help: "temperature (default 0.8; 0 = greedy)"),
    Opt(names: ["--top-k"], value: "K", help: "keep the K most likely tokens (default 40; 0 = off)"),
    Opt(names: ["--top-p"], value: "P", help: "nucleus sampling: smallest set with probability >= P (default 0.95; 1 = off)"),
    Opt(names: ["--min-p"], value: "P", help: "drop tokens below P x the top probability (default 0.05; 0 = off)"),
    Opt(names: ["--repeat-penalty"], value: "R", help: "penalise tokens of the last --repeat-last-n (default 1.0 = off)"),
    Opt(names: ["--repeat-last-n"], value: "N", help: "window of the repetition penalty (default 64)"),
    Opt(names: ["-s", "--seed"], value: "N", help: "random seed (default 12648430); same seed, same text"),
    Opt(names: ["--stop"], value: "TEXT", help: "stop before this text (repeatable)"),
    Opt(names: ["--ignore-eos"], value: nil, help: "keep generating past end-of-generation tokens"),
    Opt(names: ["--context-shift"], value: nil, help: "when the context is full, drop the older half after --keep and go on (default: stop)"),
    Opt(names: ["--keep"], value: "N", help: "positions a context shift keeps at the start (default 0)"),
]

/// The generation options, validated (call it before loading the model, so a bad option costs
/// nothing and prints nothing else).
func generationParams(_ p: Parsed) throws -> GenerationParams {
    var g = GenerationParams()
    g.maxTokens = try p.int("-n", 128)
    guard g.maxTokens >= 1 || g.maxTokens == -1 else {
        throw CLIError("option -n expects a number of tokens >= 1, or -1 for no limit; got \(g.maxTokens)")
    }
    g.sampling.temperature = try p.float("--temp", 0.8)
    // the engine reads a temperature ≤ 0 as greedy (trit.h); on the command line 0 means greedy and a
    // negative value is a mistake, refused as the server refuses it
    guard g.sampling.temperature >= 0 else {
        throw CLIError("option --temp expects a temperature >= 0 (0 = greedy); got \(p.string("--temp") ?? "")")
    }
    g.sampling.topK = try p.int("--top-k", 40)
    g.sampling.topP = try p.float("--top-p", 0.95)
    g.sampling.minP = try p.float("--min-p", 0.05)
    g.sampling.repeatPenalty = try p.float("--repeat-penalty", 1.0)
    g.sampling.repeatLastN = try p.int("--repeat-last-n", 64)
    if let s = p.string("-s") {
        guard let v = UInt64(s) else { throw CLIError("option --seed expects a non-negative integer, got \"\(s)\"") }
        g.sampling.seed = v
    }
    g.stop = p.all("--stop")
    g.ignoreEOS = p.flag("--ignore-eos")
    g.contextShift = p.flag("--context-shift")
    g.nKeep = try p.int("--keep", 0)
    guard g.nKeep >= 0 else { throw CLIError("option --keep expects a number of positions >= 0; got \(g.nKeep)") }
    try g.sampling.validate()
    let t = try p.int("-t", defaultThreads())
    guard t >= 1, t <= 512 else { throw CLIError("option -t expects 1 to 512 threads, got \(t)") }
    if let c = p.string("-c") {
        guard let v = Int(c), v >= 1 else { throw CLIError("option -c expects a context size >= 1, got \"\(c)\"") }
    }
    return g
}

// MARK: - Model location and loading

/// The bundled model, found beside the executable (BundledModel: PREFIX/share/trit/ for an installed
/// `trit`, the source tree's Models/ for build/bin/trit and .build/release/trit-cli).
func defaultModelPath() throws -> String {
    guard let dir = executableDirectory() else {
        throw CLIError("no model given, and the bundled model cannot be looked for (the executable's path is "
            + "unknown); pass -m PATH")
    }
    do {
        return try BundledModel.find(besideBinaryIn: dir)
    } catch let e as TritError {
        throw CLIError("no model given and \(e.message); pass -m PATH")
    }
}

/// The real folder of this executable: /proc/self/exe on Linux, _NSGetExecutablePath on Darwin.
func executableDirectory() -> String? {
    #if os(Linux)
    return BundledModel.realDirectory(of: "/proc/self/exe")
    #elseif canImport(Darwin)
    var size: UInt32 = 4096
    var path = [CChar](repeating: 0, count: Int(size))
    guard _NSGetExecutablePath(&path, &size) == 0 else { return nil }
    return BundledModel.realDirectory(of: path)
    #else
    return nil
    #endif
}

func modelPath(_ p: Parsed) throws -> String {
    if let m = p.string("-m") { return m }
    return try defaultModelPath()
}

/// Whether the last text written to stderr ended a line (errors start on their own line).
nonisolated(unsafe) var stderrAtLineStart = true

func stderrPrint(_ s: String) {
    var line = s
    line.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, stderr) }
    if let last = s.utf8.last { stderrAtLineStart = last == 0x0A }
}

/// A progress line redrawn in place, only when stderr is a terminal (logs stay clean).
func progressLine(_ s: String) {
    guard isatty(STDERR_FILENO) != 0 else { return }
    stderrPrint("\r" + s)
}

/// Ends a progress line drawn by progressLine.
func endProgressLine() {
    if isatty(STDERR_FILENO) != 0, !stderrAtLineStart { stderrPrint("\n") }
}

// MARK: - Ctrl-C

/// Set by SIGINT while a long operation runs; cleared when it starts.
nonisolated(unsafe) var interrupted: sig_atomic_t = 0
/// Whether a SIGINT should stop the current operation (true) or end the program (false).
nonisolated(unsafe) var interruptible: sig_atomic_t = 0

/// Ctrl-C stops generation (as llama.cpp's interactive mode does) instead of killing the
/// process; a second one, or one outside generation, ends the program.
func installInterruptHandler() {
    signal(SIGINT) { _ in
        if interruptible != 0 && interrupted == 0 { interrupted = 1; return }
        signal(SIGINT, SIG_DFL)
        raise(SIGINT)
    }
}

/// Runs body with Ctrl-C stopping the state's work at the next layer or token.
func interruptibly<T>(_ state: InferenceState, _ body: () throws -> T) rethrows -> T {
    interrupted = 0
    interruptible = 1
    state.shouldAbort = { interrupted != 0 }
    defer { interruptible = 0; state.shouldAbort = nil }
    return try body()
}

func writeOut(_ bytes: UnsafeBufferPointer<UInt8>) {
    _ = fwrite(bytes.baseAddress, 1, bytes.count, stdout)
    fflush(stdout)
}

/// Loads a model, reporting progress and the load time on stderr.
func loadModel(_ path: String, quiet: Bool = false) throws -> (Model, Double) {
    if !quiet { stderrPrint("loading \(path) ...") }
    let t0 = monotonicSeconds()
    var o = Model.LoadOptions()
    o.head = headMode
    o.floatActivations = floatActivations
    o.ternaryLayout = ternaryLayout
    let m = try Model.load(path: path, options: o)
    let dt = monotonicSeconds() - t0
    if !quiet {
        stderrPrint(" done in \(fmt(dt * 1000, 1)) ms (\(m.config.architecture), \(m.fileType), \(fmtCount(m.parameterCount)) parameters)\n")
    }
    return (m, dt)
}

func defaultThreads() -> Int { Defaults.threads(0) }

func makeState(_ m: Model, _ p: Parsed) throws -> InferenceState {
    let ctx = Defaults.contextSize(try p.int("-c", 0), model: m)
    if ctx > m.config.contextLength {
        let scaling = m.config.ropeScaling.kind == .none ? "" : " (the file's \(m.config.ropeScaling.kind.rawValue) RoPE scaling is used)"
        stderrPrint("warning: -c \(ctx) is larger than the context the model was trained with (\(m.config.contextLength))\(scaling); text past that length may degrade\n")
    }
    let threads = try p.int("-t", defaultThreads())
    let (kt, vt) = try readKVTypes(p)
    return try InferenceState(model: m, nCtx: ctx, nThreads: threads, kvType: kt, valueType: vt,
                              attentionInt8: attentionInt8)
}

func fmt(_ x: Double, _ digits: Int) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (x * p).rounded() / p
    var s = "\(r)"
    if let dot = s.firstIndex(of: ".") {
        let dec = s.distance(from: dot, to: s.endIndex) - 1
        if dec < digits { s += String(repeating: "0", count: digits - dec) }
        if digits == 0 { s = String(s[..<dot]) }
    }
    return s
}

func fmtCount(_ n: Int) -> String {
    if n >= 1_000_000_000 { return fmt(Double(n) / 1e9, 2) + "B" }
    if n >= 1_000_000 { return fmt(Double(n) / 1e6, 2) + "M" }
    if n >= 1_000 { return fmt(Double(n) / 1e3, 1) + "K" }
    return "\(n)"
}

func fmtBytes(_ n: Int) -> String {
    if n >= 1 << 30 { return fmt(Double(n) / Double(1 << 30), 2) + " GiB" }
    if n >= 1 << 20 { return fmt(Double(n) / Double(1 << 20), 2) + " MiB" }
    if n >= 1 << 10 { return fmt(Double(n) / Double(1 << 10), 1) + " KiB" }
    return "\(n) B"
}

extension String {
    /// Splits at every occurrence of `sep` (no Foundation).
    func components(separatedBy sep: String) -> [String] {
        let s = Array(utf8), d = Array(sep.utf8)
        var out: [String] = []
        var start = 0, i = 0
        while i + d.count <= s.count {
            if s[i] == d[0] && Array(s[i..<(i + d.count)]) == d {
                out.append(String(decoding: s[start..<i], as: UTF8.self))
                i += d.count
                start = i
            } else {
                i += 1
            }
        }
        out.append(String(decoding: s[start...], as: UTF8.self))
        return out
    }
}
