import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `trit bench --paper`: the BitNet b1.58 paper's cost comparisons in miniature, on this CPU.
///  - cost by size: synthetic ternary (I2_S) and FP16 models at the paper's LLaMA-like sizes through
///    the same engine: weight memory, per-token decode latency, and the ratios (paper Table 2);
///  - arithmetic energy of the matrix products per token (paper Figure 3 method).
enum PaperBench {
    /// Energy per operation in pJ, as the BitNet papers cite them (Horowitz, ISSCC 2014, for 45 nm;
    /// the 7 nm figures from the same papers' table): (INT8 add, FP16 add, FP16 mul).
    static let energy45 = (int8Add: 0.03, fp16Add: 0.40, fp16Mul: 1.10)
    static let energy7 = (int8Add: 0.007, fp16Add: 0.16, fp16Mul: 0.34)

    static func run(sizes: [String], dir: String, tokens: Int, threads: Int) throws {
        print("## Cost by size (this CPU, \(threads) threads; decode = mean over \(tokens) generated tokens after a 16-token prompt)\n")
        print("| size | FP16 weights | ternary weights | memory ratio | FP16 latency | ternary latency | speed-up |")
        print("|---|---|---|---|---|---|---|")
        var energyRows: [String] = []
        for name in sizes {
            guard let shape = Synth.preset(name) else { throw CLIError("unknown size \(name)") }
            var mem: [Int] = [], lat: [Double] = []
            for type in [TernaryFileType.f16, .i2s] {
                let path = "\(dir)/paper-\(shape.name)-\(type.rawValue).gguf"
                if access(path, R_OK) != 0 {
                    stderrPrint("writing \(path) ...\n")
                    try Synth.write(shape, type: type, to: path)
                }
                let m = try Model.load(path: path)
                let s = try InferenceState(model: m, nCtx: 16 + tokens + 1, nThreads: threads)
                try s.evaluate((0..<16).map { Int32($0 % 200) })
                try s.evaluate([5])   // warm-up: every weight page read once
                let t0 = monotonicSeconds()
                for i in 0..<tokens { try s.evaluate([Int32(i % 200)]) }
                lat.append((monotonicSeconds() - t0) / Double(tokens))
                mem.append(m.weightBytes + m.kvCacheBytes(nCtx: 2048))
                if type == .i2s {
                    // energy of the linear layers' products per token (no attention, no head)
                    var macs = 0.0
                    for l in m.layers { for (_, lin) in l.linears { macs += Double(lin.rows * lin.cols) } }
                    let fp45 = macs * (energy45.fp16Add + energy45.fp16Mul), fp7 = macs * (energy7.fp16Add + energy7.fp16Mul)
                    let t45 = macs * energy45.int8Add, t7 = macs * energy7.int8Add
                    energyRows.append("| \(shape.name) | \(fmt(macs / 1e9, 2)) G | \(fmt(fp45 / 1e9, 3)) | \(fmt(t45 / 1e9, 3)) | \(fmt(fp45 / t45, 1))× | \(fmt(fp7 / 1e9, 3)) | \(fmt(t7 / 1e9, 4)) | \(fmt(fp7 / t7, 1))× |")
                }
            }
            print("| \(shape.name) | \(fmtBytes(mem[0])) | \(fmtBytes(mem[1])) | \(fmt(Double(mem[0]) / Double(mem[1]), 2))× | \(fmt(lat[0] * 1000, 1)) ms | \(fmt(lat[1] * 1000, 1)) ms | \(fmt(lat[0] / lat[1], 2))× |")
        }
        print("\nMemory = weights + an f32 KV cache of 2048 positions. Paper (GPU, FP16 vs BitNet b1.58): 3B 3.55× less memory, 2.71× faster.\n")
        print("## Arithmetic energy of the matrix products per token\n")
        print("FP16: one multiply and one add per weight; ternary: one INT8 add per weight (paper's method; energies per op from the BitNet papers: 45 nm INT8 add 0.03 pJ, FP16 add 0.40, FP16 mul 1.10; 7 nm 0.007, 0.16, 0.34).\n")
        print("| size | MACs/token | FP16 45 nm (mJ) | ternary 45 nm (mJ) | ratio | FP16 7 nm (mJ) | ternary 7 nm (mJ) | ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for r in energyRows { print(r) }
    }

    /// Throughput against batch size: B sequences decoded together (one weight pass serves all B
    /// rows), up to the largest B whose weights + KV cache fit `budget` bytes.
    static func batchCurve(preset: String, dir: String, budget: Int, ctxPerSeq: Int, steps: Int, threads: Int) throws {
        guard let shape = Synth.preset(preset) else { throw CLIError("unknown size \(preset)") }
        print("\n## Throughput with batching (\(shape.name) shape, \(threads) threads, memory budget \(fmtBytes(budget)), \(ctxPerSeq) positions per sequence)\n")
        print("| model | batch | tokens/s | memory |")
        print("|---|---|---|---|")
        var best: [String: (Int, Double)] = [:]
        for type in [TernaryFileType.f16, .i2s] {
            let path = "\(dir)/paper-\(shape.name)-\(type.rawValue).gguf"
            if access(path, R_OK) != 0 { try Synth.write(shape, type: type, to: path) }
            let m = try Model.load(path: path)
            let label = type == .f16 ? "FP16" : "ternary"
            var b = 1
            while b <= 256 {
                let mem = m.weightBytes + m.kvCacheBytes(nCtx: ctxPerSeq) * b
                if mem > budget { break }
                let s = try InferenceState(model: m, nCtx: ctxPerSeq, nThreads: threads, maxBatch: max(b, 1), nSeq: b)
                var logits = [Float](repeating: 0, count: b * m.config.vocabSize)
                let seqs = (0..<b).map { Int32($0) }
                var toks = (0..<b).map { Int32(($0 * 7) % 200) }
                func step() throws {
                    try toks.withUnsafeBufferPointer { t in try seqs.withUnsafeBufferPointer { q in
                        try logits.withUnsafeMutableBufferPointer { try s.evaluateBatch(t, sequences: q, logits: $0.baseAddress!) } } }
                    for i in 0..<b { toks[i] = Int32((Int(toks[i]) * 31 + 7) % 200) }
                }
                try step()   // warm-up
                let t0 = monotonicSeconds()
                for _ in 0..<steps { try step() }
                let tps = Double(b * steps) / (monotonicSeconds() - t0)
                print("| \(label) | \(b) | \(fmt(tps, 1)) | \(fmtBytes(mem)) |")
                if tps > (best[label]?.1 ?? 0) { best[label] = (b, tps) }
                b *= 2
            }
        }
        if let f = best["FP16"], let t = best["ternary"] {
            print("\nBest: FP16 \(fmt(f.1, 1)) tokens/s at batch \(f.0); ternary \(fmt(t.1, 1)) tokens/s at batch \(t.0) " +
                  "(\(fmt(t.1 / f.1, 2))× the throughput). Paper, 70B on GPUs: 11× the batch, 8.9× the throughput.")
        }
    }
}
