import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `trit bench`: prompt and generation speed over repeated runs, like llama-bench.
enum BenchCommand {
    static let opts: [Opt] = [modelOpt,
        Opt(names: ["-p", "--n-prompt"], value: "N", help: "prompt tokens per pp test (default 128; 0 = skip)"),
        Opt(names: ["-n", "--n-gen"], value: "N", help: "generated tokens per tg test (default 64; 0 = skip)"),
        Opt(names: ["-r", "--repetitions"], value: "N", help: "runs of each test (default 5); the median is reported"),
        Opt(names: ["-t", "--threads"], value: "LIST", help: "thread counts, comma-separated (default: 1,<cores>)"),
        Opt(names: ["-b", "--batch"], value: "N", help: "prompt tokens per forward pass (default 128)"),
        Opt(names: ["-d", "--n-depth"], value: "LIST", help: "depths, comma-separated (default 0): each test runs after DEPTH tokens are already in the cache"),
        ] + kvOpts + [
        Opt(names: ["--no-bandwidth"], value: nil, help: "skip the memory read-bandwidth probe"),
        Opt(names: ["--paired-roofline"], value: nil, help: "tg: a probe pass after each token; roofline share = median over tokens of the token's GB/s (weights + KV) over the pass's (bandwidth that moves within a run)"),
        Opt(names: ["--json"], value: nil, help: "print a JSON list, one object per test and thread count"),
        Opt(names: ["--paper"], value: nil, help: "the BitNet paper's cost tables: synthetic FP16 vs ternary models by size, and matmul energy"),
        Opt(names: ["--sizes"], value: "LIST", help: "--paper: sizes (default 700m,1.3b,3b,3.9b)"),
        Opt(names: ["--dir"], value: "PATH", help: "--paper: where the synthetic models are written/reused (default .)"),
        Opt(names: ["--batch-size-of"], value: "SIZE", help: "--paper: the shape of the batching curve (default 700m)"),
        Opt(names: ["--budget-gib"], value: "N", help: "--paper: memory budget of the batching curve (default 4)"),
        Opt(names: ["--concurrency"], value: "LIST", help: "engine: simultaneous requests, e.g. 1,2,4,8,16 (prompts -p, outputs -n, one thread count -t)"),
        Opt(names: ["--min-prompt-tokens"], value: "N", help: "--concurrency: prompt tokens a step takes at least while requests decode (default 16; 128 fills every step)"),
        Opt(names: ["--long-prompt"], value: "N", help: "--concurrency: admit an N-token prompt mid-run at the largest level and report the streams' latency"),
        Opt(names: ["--embed"], value: nil, help: "embedding throughput: --texts texts of -p tokens embedded in one call, texts/s and tokens/s"),
        Opt(names: ["--texts"], value: "N", help: "--embed: texts per batch (default 32)"),
        ] + headOpts + [helpOpt]

    struct Row {
        var test: String; var threads: Int; var tps: Double; var stdev: Double; var samples: [Double]
        var bytesPerToken: Int; var gbps: Double; var readGBps: Double
        var readSamples: [Double] = []   // the probe after each run, paired with `samples`
        var pairedShares: [Double] = []  // --paired-roofline: each token's GB/s over the probe pass right after it
        var pairedProbe: [Double] = []   // and that pass's GB/s
        var pairedStream: [Double] = []  // and the share of the token's time in the products and the head
    }

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        headMode = try readHeadMode(p)
        if p.flag("--paired-roofline") {
            if p.flag("--no-bandwidth") { throw CLIError("--paired-roofline needs the bandwidth probe (drop --no-bandwidth)") }
            for o in ["--paper", "--embed"] where p.flag(o) { throw CLIError("--paired-roofline times generated tokens: not with \(o)") }
            if p.string("--concurrency") != nil { throw CLIError("--paired-roofline times generated tokens: not with --concurrency") }
        }
        if p.flag("-h") {
            print(helpText("trit bench [options]", """
            Measure prompt processing (ppN: N tokens in one evaluation, from an empty context) and
            generation (tgN: N tokens one at a time) in tokens/s over repeated runs: median and standard
            deviation, runs of the tests interleaved. Also: load time, peak memory, weight bytes read per
            generated token, the achieved GB/s and the machine's read bandwidth: after every run, the bytes a
            token reads streamed as fast as the machine can (the median of the runs is the roofline).
            With -d, every test runs after DEPTH random tokens already fill the cache (llama-bench's
            depth), and the bytes per generated token count the cache read as well (-ctk/-ctv set its type).
            Use `trit synth` to make a model of a real shape.
            """, opts), terminator: "")
            return
        }
        if p.flag("--paper") {
            try PaperBench.run(sizes: (p.string("--sizes") ?? "700m,1.3b,3b,3.9b").split(separator: ",").map(String.init),
                               dir: p.string("--dir") ?? ".", tokens: max(1, try p.int("-n", 8)),
                               threads: Int(p.string("-t") ?? "") ?? defaultThreads())
            try PaperBench.batchCurve(preset: p.string("--batch-size-of") ?? "700m", dir: p.string("--dir") ?? ".",
                                      budget: Int(try p.float("--budget-gib", 4) * Float(1 << 30)), ctxPerSeq: 256, steps: 4,
                                      threads: Int(p.string("-t") ?? "") ?? defaultThreads())
            return
        }
        // options first: a bad one costs no model load
        let nP = try p.int("-p", 128), nG = try p.int("-n", 64), reps = try p.int("-r", 5)
        let batch = try p.int("-b", 128)
        guard nP >= 0, nG >= 0 else { throw CLIError("-p and -n expect token counts >= 0 (0 skips the test)") }
        guard reps >= 1 else { throw CLIError("-r expects a number of runs >= 1, got \(reps)") }
        let paired = p.flag("--paired-roofline")
        guard batch >= 1, batch <= 4096 else { throw CLIError("-b expects 1 to 4096 tokens, got \(batch)") }
        let depths = try (p.string("-d") ?? "0").split(separator: ",").map { s -> Int in
            guard let v = Int(s), v >= 0, v <= 1 << 20 else { throw CLIError("bad depth \"\(s)\" (0 to 1048576 tokens)") }
            return v
        }
        let (kType, vType) = try readKVTypes(p)
        let threadList = try (p.string("-t") ?? "1,\(defaultThreads())").split(separator: ",").map { s -> Int in
            guard let v = Int(s), v > 0, v <= 512 else { throw CLIError("bad thread count \"\(s)\" (1 to 512)") }
            return v
        }
        let path = try modelPath(p)
        if p.flag("--embed") {
            let texts = try p.int("--texts", 32)
            guard texts >= 1, texts <= 1 << 16 else { throw CLIError("--texts expects 1 to 65536 texts, got \(texts)") }
            guard nP >= 1 else { throw CLIError("--embed needs -p of at least 1 token per text") }
            let (model, _) = try loadModel(path, quiet: p.flag("--json"))
            try EmbedBench.run(model: model, path: path, texts: texts, tokens: nP, reps: reps, threads: threadList,
                               batch: batch, kvTypes: (kType, vType), json: p.flag("--json"))
            return
        }
        if let levels = p.string("--concurrency") {
            let ns = try levels.split(separator: ",").map { s -> Int in
                guard let v = Int(s), v >= 1, v <= 256 else { throw CLIError("bad concurrency \"\(s)\" (1 to 256)") }
                return v
            }
            guard threadList.count == 1 else { throw CLIError("--concurrency takes one thread count (-t N)") }
            guard nP >= 1, nG >= 1 else { throw CLIError("--concurrency needs -p and -n of at least 1") }
            let long = try p.int("--long-prompt", 0)
            guard long >= 0 else { throw CLIError("--long-prompt expects a token count >= 0") }
            let minPrompt = try p.int("--min-prompt-tokens", 16)
            guard minPrompt >= 1, minPrompt <= 4096 else { throw CLIError("--min-prompt-tokens expects 1 to 4096") }
            let (model, _) = try loadModel(path, quiet: p.flag("--json"))
            try EngineBench.main(model: model, path: path, levels: ns, p: nP, g: nG, threads: threadList[0], longPrompt: long,
                                 minPromptTokens: minPrompt, kvTypes: (kType, vType), json: p.flag("--json"))
            return
        }
        let (model, loadSeconds) = try loadModel(path, quiet: p.flag("--json"))
        var seen = Set<Int>()
        let threadsToRun = threadList.filter { seen.insert($0).inserted }
        let vocab = model.config.vocabSize
        var rng = Xoshiro256(seed: 42)
        let promptTokens = (0..<max(nP, 1)).map { _ in Int32(rng.next() % UInt64(vocab)) }
        var bpt = model.bytesPerDecodedToken
        let greedy = try Sampler(params: .greedy, vocabSize: vocab)
        var certifiedStats: [CertifiedHeadStats] = []
        var rows: [Row] = []
        let c = model.config
        for t in threadsToRun {
            let state = try InferenceState(model: model, nCtx: depths.max()! + max(nP, nG) + 8, nThreads: t, maxBatch: batch,
                                           kvType: kType, valueType: vType, attentionInt8: attentionInt8)
            // warm-up: touches every weight page once
            try state.evaluate([promptTokens[0]]); state.reset()
            let probe = p.flag("--no-bandwidth") ? nil : SpanProbe(model: model, threads: t)
            let depthTokens = (0..<depths.max()!).map { _ in Int32(rng.next() % UInt64(vocab)) }
            for depth in depths {
                var pp: [Double] = [], tg: [Double] = [], bw: [Double] = []
                var tokenSeconds: [Double] = [], tokenProbe: [Double] = [], tokenStream: [Double] = []   // --paired-roofline
                // the cache is filled to the depth once; each run cuts back to it
                state.reset()
                if depth > 0 {
                    progressLine("bench: \(t) thread(s), filling the cache to depth \(depth) ")
                    try state.evaluate(Array(depthTokens.prefix(depth)))
                }
                let at = depth > 0 ? " @ d\(depth)" : ""
                // a recurrent state (qwen35) cannot be cut back to the depth: reloaded from a copy instead
                let snapshot = depth > 0 && state.model.config.hasDeltaNet ? state.saveState() : nil
                func backToDepth() throws {
                    if let snapshot, state.nPast > depth, !state.canRollBack(sequence: 0, to: depth) {
                        try snapshot.withUnsafeBytes { try state.loadState($0) }
                    } else {
                        try state.truncate(to: depth)
                    }
                }
                for rep in 0..<reps {
                    progressLine("bench: \(t) thread(s)\(at), run \(rep + 1)/\(reps) ")
                    if nP > 0 {
                        try backToDepth()
                        let t0 = monotonicSeconds()
                        try state.evaluate(Array(promptTokens.prefix(nP)))
                        pp.append(Double(nP) / (monotonicSeconds() - t0))
                    }
                    if nG > 0 {
                        // a generation step: evaluate a token, choose the next greedily (the head's
                        // work in every mode); the inputs are random, so no run settles into a loop
                        try backToDepth()
                        var tok = promptTokens[0]
                        // each token timed alone; --paired-roofline: then one probe pass over its bytes
                        var total = 0.0
                        for _ in 0..<nG {
                            let s0 = state.productSeconds + state.headSeconds
                            let t0 = monotonicSeconds()
                            _ = try state.evaluateAndSample([tok], greedy)
                            let dt = monotonicSeconds() - t0
                            total += dt
                            if paired, let probe {
                                tokenSeconds.append(dt)
                                tokenStream.append((state.productSeconds + state.headSeconds - s0) / dt)
                                tokenProbe.append(probe.measure(reps: 1))
                            }
                            tok = Int32(rng.next() % UInt64(vocab))
                        }
                        tg.append(Double(nG) / total)
                    }
                    if let probe { bw.append(probe.measure() / 1e9) }   // this run's roofline
                }
                endProgressLine()
                // the cache read per generated token: every layer's K and V rows of the positions it attends to
                let kvPerPosition = c.nLayers * c.nKVHeads * (kType.headBytes(c.headDim) + vType.headBytes(c.headDim))
                let kvRead = kvPerPosition * (depth + (nG + 1) / 2)
                if nP > 0 {
                    rows.append(Row(test: "pp\(nP)\(at)", threads: t, tps: median(pp), stdev: stdev(pp), samples: pp,
                                    bytesPerToken: bpt / max(1, batch), gbps: 0, readGBps: bw.isEmpty ? 0 : median(bw), readSamples: bw))
                }
                if let cs = state.certifiedStats {
                    certifiedStats.append(cs)
                    // the int8 (4-bit) head, plus the candidates' F16 rows, plus the whole F16 head on full steps
                    let meanCand = Double(cs.candidates.reduce(0, +)) / Double(max(cs.candidates.count, 1))
                    let rowBytes = Double(model.output.byteCount / max(model.output.rows, 1))
                    let full = Double(cs.fullSteps) / Double(max(cs.steps + cs.fullSteps, 1)) * Double(model.output.byteCount)
                    var compact = 0.0   // certified4: the int8 head read on the steps the 4-bit one could not decide
                    if let h4 = model.q4Output, let h8 = model.int8Output {
                        let steps = Double(max(cs.steps + cs.fullSteps, 1))
                        compact = (Double(cs.reads4 - cs.steps - cs.fullSteps) * Double(h4.byteCount)
                                   + Double(cs.reads8) * Double(h8.byteCount)) / steps
                    }
                    bpt = model.bytesPerDecodedToken + Int(compact + meanCand * rowBytes + full)
                }
                if nG > 0 {
                    let m = median(tg)
                    // paired: the bytes a token reads (weights + cache, as the run's GB/s) over the probe's rate
                    let shares = zip(tokenSeconds, tokenProbe).map { Double(bpt + kvRead) / $0.0 / $0.1 }
                    rows.append(Row(test: "tg\(nG)\(at)", threads: t, tps: m, stdev: stdev(tg), samples: tg, bytesPerToken: bpt + kvRead,
                                    gbps: Double(bpt + kvRead) * m / 1e9, readGBps: bw.isEmpty ? 0 : median(bw), readSamples: bw,
                                    pairedShares: shares, pairedProbe: tokenProbe.map { $0 / 1e9 }, pairedStream: tokenStream))
                }
            }
        }
        // peak memory of the model runs (the probe reads the model's own pages and adds none)
        let rss = MemoryProbe.peakRSS()
        // the certified head: candidates per generated token over every run
        let cand = certifiedStats.flatMap { $0.candidates }.sorted()
        let fullSteps = certifiedStats.reduce(0) { $0 + $1.fullSteps }
        func pct(_ q: Double) -> Int { cand.isEmpty ? 0 : cand[min(cand.count - 1, Int(q * Double(cand.count - 1) + 0.5))] }
        let certifiedHead = headMode == .certified || headMode == .certified4
        let candMean = Double(cand.reduce(0, +)) / Double(max(cand.count, 1))
        let candJSON = certifiedHead
            ? ", \"head\": \"\(headMode.rawValue)\", \"candidates_mean\": \(fmt(candMean, 1)), \"candidates_median\": \(pct(0.5)), \"candidates_p99\": \(pct(0.99)), \"candidates_max\": \(cand.last ?? 0), \"full_head_steps\": \(fullSteps)"
            : ", \"head\": \"\(headMode.rawValue)\""
        if p.flag("--json") {
            var s = "[\n"
            for (i, r) in rows.enumerated() {
                s += "  {\"model\": \"\(jsonEscape(path))\", \"file_type\": \"\(jsonEscape(model.fileType))\", \"test\": \"\(r.test)\", \"threads\": \(r.threads), "
                s += "\"tokens_per_second\": \(fmt(r.tps, 3)), \"stdev\": \(fmt(r.stdev, 3)), \"samples\": [\(r.samples.map { fmt($0, 3) }.joined(separator: ", "))], "
                s += "\"peak_rss_bytes\": \(rss), \"load_seconds\": \(fmt(loadSeconds, 4)), \"bytes_per_token\": \(r.test.hasPrefix("tg") ? r.bytesPerToken : 0), \"weight_bytes_per_token\": \(r.test.hasPrefix("tg") ? bpt : 0), "
                s += "\"achieved_gb_per_s\": \(fmt(r.gbps, 2)), \"read_bandwidth_gb_per_s\": \(fmt(r.readGBps, 2)), \"read_bandwidth_samples\": [\(r.readSamples.map { fmt($0, 2) }.joined(separator: ", "))], \"kernel\": \"\(kernelName())\", \"type_k\": \"\(kType.name)\", \"type_v\": \"\(vType.name)\", \"attn_int8\": \(attentionInt8)\(candJSON)"
                if !r.pairedShares.isEmpty {
                    s += ", \"roofline_share_paired\": \(fmt(median(r.pairedShares), 3)), \"paired_tokens\": \(r.pairedShares.count), "
                    s += "\"paired_share_samples\": [\(r.pairedShares.map { fmt($0, 3) }.joined(separator: ", "))], "
                    s += "\"paired_probe_gb_per_s\": [\(r.pairedProbe.map { fmt($0, 2) }.joined(separator: ", "))], "
                    s += "\"paired_stream_fraction\": [\(r.pairedStream.map { fmt($0, 3) }.joined(separator: ", "))]"
                }
                s += "}"
                s += i + 1 < rows.count ? ",\n" : "\n"
            }
            print(s + "]")
            return
        }
        print("model: \(path) (\(model.config.architecture), \(model.fileType), \(fmtCount(model.parameterCount)) params, weights \(fmtBytes(model.weightBytes)))")
        print("KV cache: keys \(kType.name), values \(vType.name)\(attentionInt8 ? ", int8 attention scores" : "")")
        print("load \(fmt(loadSeconds * 1000, 1)) ms, peak RSS \(fmtBytes(rss)), kernels \(kernelName()), \(reps) runs per test (median ± stdev)")
        if headMode != .exact { print("head: \(headMode.rawValue)") }
        if certifiedHead {
            let f4 = certifiedStats.reduce(0) { $0 + $1.failed4 }, r4 = certifiedStats.reduce(0) { $0 + $1.reads4 }
            if headMode == .certified4 {
                let c4 = certifiedStats.reduce(0) { $0 + $1.failed4Candidates }
                print("4-bit head: read for \(r4) steps; \(f4) of them had more than vocab/8 candidates "
                      + "(mean \(fmt(Double(c4) / Double(max(f4, 1)), 1))) and were decided by the int8 head")
            }
            print("certified head: candidates per token mean \(fmt(candMean, 1)), median \(pct(0.5)), p99 \(pct(0.99)), max \(cand.last ?? 0) (of \(vocab) rows; \(cand.count) tokens), whole head computed for \(fullSteps) tokens")
        }
        print("| test | threads | tokens/s | ± | bytes/token (weights + KV) | achieved GB/s | read GB/s | % of roofline |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows {
            let tg = r.test.hasPrefix("tg")
            let roof = tg && r.readGBps > 0 ? fmt(100 * r.gbps / r.readGBps, 0) + "%" : "-"
            print("| \(r.test) | \(r.threads) | \(fmt(r.tps, 2)) | \(fmt(r.stdev, 2)) | \(tg ? fmtBytes(r.bytesPerToken) : "-") | \(tg ? fmt(r.gbps, 2) : "-") | \(r.readGBps > 0 ? fmt(r.readGBps, 2) : "-") | \(roof) |")
        }
        for r in rows where !r.pairedShares.isEmpty {
            let q = r.pairedShares.sorted()
            print("\(r.test), \(r.threads) thread(s): paired roofline (each token's GB/s over the probe pass after it): "
                  + "median \(fmt(100 * median(q), 1))%, quartiles \(fmt(100 * q[q.count / 4], 1))-\(fmt(100 * q[3 * q.count / 4], 1))% "
                  + "over \(q.count) tokens; the products and the head took \(fmt(100 * median(r.pairedStream), 1))% "
                  + "of a token's time (median), so they streamed at \(fmt(100 * median(zip(r.pairedShares, r.pairedStream).map { $0.0 / $0.1 }), 1))% of the probe")
        }
    }

    static func kernelName() -> String { (try? InferenceState.kernelNameForCurrentCPU()) ?? "?" }
}

func median(_ v: [Double]) -> Double {
    guard !v.isEmpty else { return 0 }
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func stdev(_ v: [Double]) -> Double {
    guard v.count > 1 else { return 0 }
    let m = v.reduce(0, +) / Double(v.count)
    return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
}

func jsonEscape(_ s: String) -> String {
    var o = ""
    for c in s.unicodeScalars {
        switch c {
        case "\"": o += "\\\""
        case "\\": o += "\\\\"
        case "\n": o += "\\n"
        default: if c.value < 0x20 { o += "\\u00" + (c.value < 16 ? "0" : "") + String(c.value, radix: 16) } else { o.unicodeScalars.append(c) }
        }
    }
    return o
}
