import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `trit bench --concurrency LIST`: N simultaneous requests through the engine, each with a
/// P-token prompt and G generated tokens. Aggregate generated tokens/s, time to first token and
/// inter-token latency (p50/p99, timed per sampled token), and optionally the inter-token latency
/// of the running streams while a long prompt is admitted.
enum EngineBench {
    final class Timings: @unchecked Sendable {
        var lock = pthread_mutex_t()
        var stamps: [[Double]]
        var submitted: [Double]
        var done = 0
        init(_ n: Int) {
            stamps = Array(repeating: [], count: n)
            submitted = Array(repeating: 0, count: n)
            pthread_mutex_init(&lock, nil)
        }
        func token(_ i: Int) { pthread_mutex_lock(&lock); stamps[i].append(monotonicSeconds()); pthread_mutex_unlock(&lock) }
        /// The fewest tokens any of the first n streams has, and whether stream i has one.
        func least(_ n: Int) -> Int { pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }; return stamps.prefix(n).map(\.count).min() ?? 0 }
        func started(_ i: Int) -> Bool { pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }; return !stamps[i].isEmpty }
        func finish() { pthread_mutex_lock(&lock); done += 1; pthread_mutex_unlock(&lock) }
        var finished: Int { pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }; return done }
    }

    struct Row {
        var n = 0, tps = 0.0, wall = 0.0, ttft50 = 0.0, ttft99 = 0.0, itl50 = 0.0, itl99 = 0.0
        var longITL99: Double?, peakCells = 0, peakRSS = 0
        var decodeRowsPerStep = 0.0, decodeRowsPerSecond = 0.0   // steps of decode rows only
        var fullSteps = 0, fullRowsPerSecond = 0.0               // those of n rows (every request decoding)
        var headSeconds = 0.0                                    // the run's time in the output head
    }

    /// Ternary (or group-scaled) multiply-adds per token: the products the int8 peak bounds.
    static func ternaryMACs(_ m: Model) -> Int {
        var s = 0
        for l in m.layers {
            for (_, lin) in l.linears {
                switch lin { case .ternary, .grouped: s += lin.rows * lin.cols; default: break }
            }
        }
        return s
    }

    static func pct(_ xs: [Double], _ q: Double) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? .nan : s[min(s.count - 1, Int(q * Double(s.count)))]
    }

    /// One run of n requests (plus, when longPrompt > 0, one long prompt admitted mid-run).
    static func run(_ engine: Engine, n: Int, p: Int, g: Int, longPrompt: Int, rng: inout Xoshiro256) throws -> Row {
        let vocab = engine.model.config.vocabSize
        let total = n + (longPrompt > 0 ? 1 : 0)
        let t = Timings(total)
        var peak = 0
        func submit(_ i: Int, _ len: Int, _ gen: Int, _ rng: inout Xoshiro256) throws {
            var r = Engine.Request(prompt: (0..<len).map { _ in Int32(rng.next() % UInt64(vocab)) })
            r.sampling = .greedy
            r.maxTokens = gen
            r.ignoreEOS = true
            r.onToken = { _ in t.token(i) }
            r.onDone = { _, _, _ in t.finish() }
            t.submitted[i] = monotonicSeconds()
            _ = try engine.submit(r)
        }
        let before = engine.currentStats()
        let t0 = monotonicSeconds()
        for i in 0..<n { try submit(i, p, g, &rng) }
        var longWindow: (Double, Double)?
        if longPrompt > 0 {
            // streams running steadily, then the long prompt arrives
            while t.finished < n, t.least(n) < min(8, g / 2) { usleep(1000) }
            let start = monotonicSeconds()
            try submit(n, longPrompt, 1, &rng)
            while !t.started(n) && t.finished < total { usleep(500) }
            longWindow = (start, monotonicSeconds())
        }
        while t.finished < total { usleep(1000) }
        let after = engine.currentStats()
        peak = after.cellsPeak
        let wall = monotonicSeconds() - t0
        var row = Row()
        row.n = n
        row.wall = wall
        row.peakCells = peak
        row.headSeconds = after.headSeconds - before.headSeconds
        let steps = after.decodeSteps - before.decodeSteps, rows = after.decodeRows - before.decodeRows
        let secs = after.decodeSeconds - before.decodeSeconds
        if steps > 0 && secs > 0 { row.decodeRowsPerStep = Double(rows) / Double(steps); row.decodeRowsPerSecond = Double(rows) / secs }
        func at(_ s: Engine.Stats) -> (steps: Int, seconds: Double) { n < s.decodeByRows.count ? s.decodeByRows[n] : (0, 0) }
        let full = (at(after).steps - at(before).steps, at(after).seconds - at(before).seconds)
        if full.0 > 0 && full.1 > 0 { row.fullSteps = full.0; row.fullRowsPerSecond = Double(n * full.0) / full.1 }
        let streams = t.stamps.prefix(n)
        row.tps = Double(streams.map(\.count).reduce(0, +)) / wall
        let ttft = (0..<n).compactMap { i in t.stamps[i].first.map { $0 - t.submitted[i] } }
        var itl: [Double] = [], during: [Double] = []
        for s in streams {
            for k in 1..<max(s.count, 1) {
                itl.append(s[k] - s[k - 1])
                if let w = longWindow, s[k] >= w.0, s[k - 1] <= w.1 { during.append(s[k] - s[k - 1]) }
            }
        }
        row.ttft50 = pct(ttft, 0.5); row.ttft99 = pct(ttft, 0.99)
        row.itl50 = pct(itl, 0.5); row.itl99 = pct(itl, 0.99)
        if !during.isEmpty { row.longITL99 = pct(during, 0.99) }
        return row
    }

    /// The prompt and decode rates of one request alone (the concurrency-1 row), if the run has one:
    /// pp = P / TTFT, tg = the tokens after the first over the time after the first.
    static func oneRequestRates(_ rows: [Row], p: Int, g: Int) -> (pp: Double, tg: Double)? {
        guard g > 1, let r = rows.first(where: { $0.n == 1 }), r.ttft50 > 0, r.wall > r.ttft50 else { return nil }
        return (Double(p) / r.ttft50, Double(g - 1) / (r.wall - r.ttft50))
    }

    /// The engine's compute bound on aggregate generated tokens/s for n requests of p + g tokens.
    static func bound(n: Int, p: Int, g: Int, pp: Double, tg: Double) -> Double {
        let all = Double(n * (p + g)) / pp, alone = Double(p) / pp + Double(g) / tg
        return Double(n * g) / max(all, alone)
    }

    /// The same bound with the f32 head's floor added: a generated token's head row (vocab × dim
    /// multiply-adds in f32, exact mode) is work the prompt rate does not count (pp has one head row
    /// per P tokens: the first token's), so N·(G − 1) rows at the cores' measured f32 FMA rate `fma`.
    static func boundWithHead(n: Int, p: Int, g: Int, pp: Double, tg: Double, headMACs: Double, fma: Double) -> Double {
        let all = Double(n * (p + g)) / pp + Double(n * (g - 1)) * headMACs / fma
        let alone = Double(p) / pp + Double(g) / tg
        return Double(n * g) / max(all, alone)
    }

    static func main(model: Model, path: String, levels: [Int], p: Int, g: Int, threads: Int, longPrompt: Int,
                     minPromptTokens: Int = 16, kvTypes: (KVCacheType, KVCacheType), json: Bool) throws {
        let slots = (levels.max() ?? 1) + (longPrompt > 0 ? 1 : 0)   // a free slot for the long prompt
        var o = Engine.Options()
        o.slots = slots
        o.nCtx = p + g + max(longPrompt, 0) + 8
        o.nThreads = threads
        o.nBatch = 128
        o.minPromptTokens = minPromptTokens
        (o.kvType, o.valueType) = kvTypes
        o.attentionInt8 = attentionInt8
        var rows: [Row] = []
        var rng = Xoshiro256(seed: 7)
        for n in levels {
            let engine = try Engine(model: model, options: o)
            _ = try run(engine, n: 1, p: 8, g: 2, longPrompt: 0, rng: &rng)   // warm-up: pages in the weights
            progressLine("bench: concurrency \(n) ")
            var row = try run(engine, n: n, p: p, g: g, longPrompt: n == levels.last ? longPrompt : 0, rng: &rng)
            row.peakRSS = MemoryProbe.peakRSS()   // the process's peak so far (levels run in increasing order)
            rows.append(row)
            engine.shutdown()
        }
        endProgressLine()
        let base = rows.first?.tps ?? 1
        let rates = oneRequestRates(rows, p: p, g: g)
        let macs = ternaryMACs(model)
        // the f32 head's floor: exact mode's head is vocab × dim f32 multiply-adds a row
        let headMACs = Double(model.config.vocabSize * model.config.dim)
        let fma = model.headMode == .exact && rates != nil ? ArithmeticProbe.f32FMAPerSecond(threads: threads) : 0
        let kv = model.kvCacheBytes(nCtx: 1, type: kvTypes.0) / 2 + model.kvCacheBytes(nCtx: 1, type: kvTypes.1) / 2
        if json {
            var s = "[\n"
            for (i, r) in rows.enumerated() {
                s += "  {\"model\": \"\(jsonEscape(path))\", \"concurrency\": \(r.n), \"threads\": \(threads), \"prompt\": \(p), \"generated\": \(g), "
                s += "\"tokens_per_second\": \(fmt(r.tps, 3)), \"speedup\": \(fmt(r.tps / base, 3)), "
                s += "\"ttft_p50_ms\": \(fmt(r.ttft50 * 1000, 2)), \"ttft_p99_ms\": \(fmt(r.ttft99 * 1000, 2)), "
                s += "\"itl_p50_ms\": \(fmt(r.itl50 * 1000, 2)), \"itl_p99_ms\": \(fmt(r.itl99 * 1000, 2)), "
                s += "\"peak_kv_cells\": \(r.peakCells), \"peak_kv_bytes\": \(r.peakCells * kv), \"peak_rss_bytes\": \(r.peakRSS), "
                s += "\"decode_rows_per_step\": \(fmt(r.decodeRowsPerStep, 2)), \"decode_rows_per_second\": \(fmt(r.decodeRowsPerSecond, 3)), "
                s += "\"decode_ternary_gmacs\": \(fmt(r.decodeRowsPerSecond * Double(macs) / 1e9, 2)), "
                s += "\"full_decode_steps\": \(r.fullSteps), \"full_decode_rows_per_second\": \(fmt(r.fullRowsPerSecond, 3)), "
                s += "\"full_decode_ternary_gmacs\": \(fmt(r.fullRowsPerSecond * Double(macs) / 1e9, 2))"
                if let (pp, tg) = rates {
                    let b = bound(n: r.n, p: p, g: g, pp: pp, tg: tg)
                    s += ", \"bound_tokens_per_second\": \(fmt(b, 3)), \"share_of_bound\": \(fmt(r.tps / b, 3)), "
                    s += "\"bound_pp_tokens_per_second\": \(fmt(pp, 3)), \"bound_tg_tokens_per_second\": \(fmt(tg, 3))"
                    s += ", \"head_seconds\": \(fmt(r.headSeconds, 3))"
                    if fma > 0 {
                        let bh = boundWithHead(n: r.n, p: p, g: g, pp: pp, tg: tg, headMACs: headMACs, fma: fma)
                        s += ", \"f32_fma_per_second\": \(fmt(fma, 0)), \"bound_with_head_tokens_per_second\": \(fmt(bh, 3)), "
                        s += "\"share_of_bound_with_head\": \(fmt(r.tps / bh, 3))"
                    }
                }
                if let l = r.longITL99 { s += ", \"itl_p99_during_long_prompt_ms\": \(fmt(l * 1000, 2))" }
                s += "}" + (i + 1 < rows.count ? ",\n" : "\n")
            }
            print(s + "]")
            return
        }
        print("model: \(path); \(threads) threads; prompts \(p) tokens, \(g) generated per request; greedy")
        print("| concurrency | tokens/s | × one request | bound | share | bound with head | share | TTFT p50 | TTFT p99 "
              + "| ITL p50 | ITL p99 | peak KV | peak RSS |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows {
            let b = rates.map { bound(n: r.n, p: p, g: g, pp: $0.pp, tg: $0.tg) }
            let bh = fma > 0 ? rates.map { boundWithHead(n: r.n, p: p, g: g, pp: $0.pp, tg: $0.tg, headMACs: headMACs, fma: fma) } : nil
            print("| \(r.n) | \(fmt(r.tps, 1)) | \(fmt(r.tps / base, 2)) | \(b.map { fmt($0, 1) } ?? "-") | "
                  + "\(b.map { fmt(100 * r.tps / $0, 0) + "%" } ?? "-") | \(bh.map { fmt($0, 1) } ?? "-") | "
                  + "\(bh.map { fmt(100 * r.tps / $0, 0) + "%" } ?? "-") | "
                  + "\(fmt(r.ttft50 * 1000, 0)) ms | \(fmt(r.ttft99 * 1000, 0)) ms | "
                  + "\(fmt(r.itl50 * 1000, 1)) ms | \(fmt(r.itl99 * 1000, 1)) ms | \(fmtBytes(r.peakCells * kv)) | \(fmtBytes(r.peakRSS)) |")
        }
        if let (pp, tg) = rates {
            print("\nbound = N·G / max(N·(P+G) / pp, P / pp + G / tg): every prompt and generated token passes the "
                  + "weights once, at most at the prompt rate, and no request ends sooner than one alone; pp = P / TTFT = "
                  + "\(fmt(pp, 1)) tokens/s and tg = (G − 1) / (time after the first token) = \(fmt(tg, 1)) tokens/s of the "
                  + "one-request row, this run")
            if fma > 0 {
                print("bound with head = N·G / max(N·(P+G) / pp + N·(G − 1)·V·D / F, P / pp + G / tg): a generated token's "
                      + "head row (V·D = \(fmt(headMACs / 1e6, 1)) M f32 multiply-adds, exact mode) is work pp does not count, "
                      + "at least V·D / F with F = \(fmt(fma / 1e9, 1)) G f32 multiply-adds/s, the \(threads) threads' FMA rate "
                      + "measured now (ArithmeticProbe)")
            }
            print("time in the output head: "
                  + rows.map { r in
                      let headRows = Double(r.n * g)
                      return "at \(r.n): H \(fmt(r.headSeconds, 2)) s, \(fmt(1000 * r.headSeconds / headRows, 2)) ms a row "
                          + "(\(fmt(headRows * headMACs / r.headSeconds / 1e9, 1)) G multiply-adds/s as the full head)"
                  }.joined(separator: "; "))
        }
        if macs > 0 {
            print("\ndecode phase (steps of decode rows only; their whole time, head, attention and sampling included): "
                  + rows.filter { $0.decodeRowsPerSecond > 0 }.map {
                      "at \($0.n): \(fmt($0.decodeRowsPerStep, 1)) rows a step, \(fmt($0.decodeRowsPerSecond, 1)) rows/s = "
                      + "\(fmt($0.decodeRowsPerSecond * Double(macs) / 1e9, 1)) G ternary multiply-adds/s"
                      + ($0.fullSteps > 0 ? ", its \($0.fullSteps) steps of \($0.n) rows \(fmt($0.fullRowsPerSecond * Double(macs) / 1e9, 1)) G/s" : "")
                  }.joined(separator: "; ") + " (\(fmt(Double(macs) / 1e9, 3)) G a row; scripts/fma_peak.sh gives the peak)")
        }
        if let r = rows.last, let l = r.longITL99 {
            print("\ninter-token latency p99 of the \(r.n) running streams while a \(longPrompt)-token prompt was admitted: "
                  + "\(fmt(l * 1000, 1)) ms = \(fmt(l / r.itl50, 2)) × the steady p50 (\(fmt(r.itl50 * 1000, 1)) ms)")
        }
    }
}
