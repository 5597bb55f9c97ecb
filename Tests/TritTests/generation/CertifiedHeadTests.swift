import Foundation
import TritKernels
import XCTest
@testable import Trit

/// The certified head (docs/formats.md §7): its kernels in every variant against the scalar twins,
/// the bound on random heads and on the fixtures, and the tokens it generates against exact mode.
final class CertifiedHeadTests: XCTestCase {
    static let bundled = Fixtures.root + "/../../Models/trit-bundled-i2_s.gguf"
    /// The certified heads: int8 and 4-bit compact heads (docs/formats.md §7, §7.1).
    static let modes: [Model.HeadMode] = [.certified, .certified4]

    func load(_ path: String, _ head: Model.HeadMode) throws -> Model {
        var o = Model.LoadOptions()
        o.head = head
        return try Model.load(path: path, options: o)
    }

    // MARK: kernels

    /// Bounds, k-th largest and collection: every variant gives the scalar's bits, on lengths around
    /// the 8-wide step, with repeated values, infinities and NaN in the int8 logits.
    func testSelectionKernelsEqualScalar() {
        var rng = Xoshiro256(seed: 3)
        let scalar = tk_kernels_named("scalar")!
        for n in [1, 7, 8, 9, 100, 1001, 4096] {
            var l = (0..<n).map { _ in Float(rng.nextUnit() * 20 - 10) }
            for i in stride(from: 0, to: n, by: 5) { l[i] = l[i / 2] }   // repeats
            let a = (0..<n).map { _ in Float(rng.nextUnit() * 0.01) }, b = (0..<n).map { _ in Float(rng.nextUnit() * 0.1) }
            func run(_ k: UnsafePointer<tk_kernels>, _ l: [Float]) -> (Int64, [Float], [Float]) {
                var lo = [Float](repeating: 0, count: n), hi = lo
                let bad = k.pointee.head_bounds(l, a, b, 3.5, 0.02, 8.0 / 16_777_216.0, Int64(n), &lo, &hi)
                return (bad, lo, hi)
            }
            let ref = run(scalar, l)
            XCTAssertEqual(ref.0, 0)
            var withBad = l
            if n > 8 { withBad[3] = .nan; withBad[n - 1] = .infinity; withBad[n / 2] = -.infinity }
            let refBad = run(scalar, withBad)
            XCTAssertEqual(refBad.0, n > 8 ? 3 : 0, "non-finite count, n=\(n)")
            for name in variantsUnderTest() {
                let k = tk_kernels_named(name)!
                let got = run(k, l)
                XCTAssertEqual(got.0, 0)
                XCTAssertEqual(got.1.map(\.bitPattern), ref.1.map(\.bitPattern), "\(name) lo n=\(n)")
                XCTAssertEqual(got.2.map(\.bitPattern), ref.2.map(\.bitPattern), "\(name) hi n=\(n)")
                XCTAssertEqual(run(k, withBad).0, refBad.0, "\(name) non-finite count n=\(n)")
                for kk in [1, 2, 40, 256] where kk <= n {
                    var top = [Float](repeating: 0, count: kk)
                    let want = l.sorted(by: >)[kk - 1]
                    XCTAssertEqual(k.pointee.kth_largest(l, Int64(n), Int64(kk), &top), want, "\(name) k=\(kk) n=\(n)")
                }
                let t = l.sorted(by: >)[min(n - 1, n / 3)]
                var idx = [Int32](repeating: -1, count: n)
                let c = Int(k.pointee.collect_at_least(l, Int64(n), t, &idx))
                XCTAssertEqual(Array(idx[0..<c]), (0..<n).filter { l[$0] >= t }.map { Int32($0) }, "\(name) collect n=\(n)")
            }
        }
    }

    /// The per-row constants made at load: every variant gives the scalar's bits (F16, BF16, F32
    /// heads; widths around the 8-wide step; rows with NaN and infinity get the largest constant).
    func testRowBoundsVariantsEqualScalar() throws {
        var rng = Xoshiro256(seed: 4)
        for (rows, cols) in [(5, 7), (9, 64), (17, 1001), (3, 2560)] {
            var w = (0..<(rows * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) * (rng.nextUnit() < 0.01 ? 30 : 1) }
            if rows > 4 { w[cols + 2] = .nan; w[2 * cols + cols - 1] = .infinity }
            let h = w.map { tk_f32_to_f16($0) }, bf = w.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
            for (dtype, data) in [(TK_F32, w.withUnsafeBytes { Array($0) }), (TK_F16, h.withUnsafeBytes { Array($0) }),
                                  (TK_BF16, bf.withUnsafeBytes { Array($0) })] {
                let kp = (cols + 127) / 128 * 128
                var q = [Int8](repeating: 0, count: rows * kp), sc = [Float](repeating: 0, count: rows)
                data.withUnsafeBytes { tk_quantize_weight_rows($0.baseAddress, dtype, Int64(cols), Int64(rows), &q, Int64(kp), &sc) }
                func run(_ k: UnsafePointer<tk_kernels>) -> ([Float], [Float]) {
                    var a = [Float](repeating: 0, count: rows), b = a
                    data.withUnsafeBytes { k.pointee.head_row_bounds($0.baseAddress, dtype, Int64(cols), 0, Int64(rows), q, Int64(kp), sc, &a, &b) }
                    return (a, b)
                }
                let ref = run(tk_kernels_named("scalar")!)
                if rows > 4 { XCTAssertEqual(ref.0[1], .greatestFiniteMagnitude); XCTAssertEqual(ref.0[2], .greatestFiniteMagnitude) }
                XCTAssertTrue(ref.0.allSatisfy { $0 > 0 && $0.isFinite } && ref.1.allSatisfy { $0.isFinite })
                for name in variantsUnderTest() {
                    let got = run(tk_kernels_named(name)!)
                    XCTAssertEqual(got.0.map(\.bitPattern), ref.0.map(\.bitPattern), "\(name) \(dtype) \(rows)x\(cols) a")
                    XCTAssertEqual(got.1.map(\.bitPattern), ref.1.map(\.bitPattern), "\(name) \(dtype) \(rows)x\(cols) b")
                }
            }
        }
    }

    /// One row of the head computed alone gives the bits it gets in the whole product (one token):
    /// the certified head recomputes single rows and must get exact mode's logits.
    func testDenseRowAloneEqualsWholeProduct() {
        var rng = Xoshiro256(seed: 8)
        for (rows, cols) in [(13, 37), (9, 256), (21, 1000), (7, 2560)] {
            let h = (0..<(rows * cols)).map { _ in tk_f32_to_f16(Float(rng.nextUnit() - 0.5)) }
            let x = (0..<cols).map { _ in Float(rng.nextUnit() * 2 - 1) }
            for name in variantsUnderTest() {
                let k = tk_kernels_named(name)!
                var whole = [Float](repeating: 0, count: rows), alone = whole
                h.withUnsafeBytes { w in
                    k.pointee.dense_gemm(w.baseAddress, TK_F16, Int64(cols), 0, Int64(rows), x, Int64(cols), 1, &whole, Int64(rows))
                    for r in 0..<rows {
                        k.pointee.dense_gemm(w.baseAddress, TK_F16, Int64(cols), Int64(r), Int64(r + 1), x, Int64(cols), 1, &alone, Int64(rows))
                    }
                }
                XCTAssertEqual(alone.map(\.bitPattern), whole.map(\.bitPattern), "\(name) \(rows)x\(cols)")
            }
        }
    }

    // MARK: the bound

    /// |exact − int8| ≤ e for every row of random F16 heads, over many activations (Gaussian, uniform,
    /// sparse, one huge component, mixed scales), in every variant; and the bound is not vacuous
    /// (its median is below the logits' spread, so a wrong, too small bound would be caught).
    func testBoundHoldsOnRandomHeads() throws {
        var rng = Xoshiro256(seed: 11)
        func gauss() -> Float { Float((-2 * log(max(rng.nextUnit(), 1e-300))).squareRoot() * cos(2 * .pi * rng.nextUnit())) }
        var checked = 0
        for (rows, cols, spread) in [(300, 64, Float(1)), (257, 1000, 0.02), (130, 2560, 0.05), (64, 130, 100)] {
            let w = (0..<(rows * cols)).map { i -> UInt16 in
                // rows of different scales, some with one large weight
                let v = gauss() * spread * (1 + Float(i / cols % 4))
                return tk_f32_to_f16(i % cols == 7 && (i / cols) % 3 == 0 ? v * 50 : v)
            }
            let buf = try AlignedBuffer(byteCount: w.count * 2, what: "test head")
            w.withUnsafeBytes { buf.raw.copyMemory(from: $0.baseAddress!, byteCount: w.count * 2) }
            let d = DenseMatrix(rows: rows, cols: cols, dtype: TK_F16, data: UnsafeRawPointer(buf.raw), owner: buf)
            let h8 = try Int8Matrix(quantizing: d)
            let hb = try HeadBounds(head: d, int8: h8)
            for trial in 0..<40 {
                var x = (0..<cols).map { _ in gauss() }
                switch trial % 5 {
                case 1: x = (0..<cols).map { _ in Float(rng.nextUnit() * 2 - 1) }
                case 2: for i in x.indices where i % 9 != 0 { x[i] = 0 }
                case 3: x[Int(rng.next() % UInt64(cols))] = 1e4                 // one huge component
                case 4: for i in x.indices { x[i] *= powf(10, Float(Int(rng.next() % 7)) - 3) }
                default: break
                }
                for name in variantsUnderTest() {
                    let k = tk_kernels_named(name)!
                    var exact = [Float](repeating: 0, count: rows), approx = exact, lo = exact, hi = exact
                    k.pointee.dense_gemm(d.data, TK_F16, Int64(cols), 0, Int64(rows), x, Int64(cols), 1, &exact, Int64(rows))
                    var q = [Int8](repeating: 0, count: h8.paddedCols), s: Float = 0, qs: Int32 = 0
                    k.pointee.quantize_rows(x, Int64(cols), Int64(cols), 1, &q, Int64(h8.paddedCols), &s, &qs)
                    h8.scales.withUnsafeBufferPointer { sc in
                        k.pointee.i8_gemm(h8.weights.raw.assumingMemoryBound(to: Int8.self), sc.baseAddress, Int64(h8.paddedCols), 0,
                                          Int64(rows), q, &s, 1, &approx, Int64(rows))
                    }
                    var norm: Float = 0, eps: Float = 0
                    XCTAssertEqual(tk_head_act_bounds(x, Int64(cols), q, s, &norm, &eps), 1)
                    XCTAssertEqual(k.pointee.head_bounds(approx, hb.a.ptr, hb.b.ptr, norm, eps, CertifiedHeadBound.relative,
                                                         Int64(rows), &lo, &hi), 0)
                    var widths: [Float] = []
                    for r in 0..<rows {
                        XCTAssertTrue(lo[r] <= exact[r] && exact[r] <= hi[r],
                                      "\(name) \(rows)x\(cols) trial \(trial) row \(r): exact \(exact[r]) outside [\(lo[r]), \(hi[r])]")
                        widths.append(hi[r] - approx[r])
                        checked += 1
                    }
                    let mean = exact.reduce(0, +) / Float(rows)
                    let sd = (exact.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(rows)).squareRoot()
                    if trial % 5 < 2 {   // dense activations: the bound is narrower than the logits' spread
                        XCTAssertLessThan(widths.sorted()[rows / 2], 2 * sd, "\(name) \(rows)x\(cols) trial \(trial): the bound is vacuous")
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 10_000)
    }

    /// The bound on the fixtures' real heads, at every position of the reference text.
    func testBoundHoldsOnFixtures() throws {
        for (path, ref) in Fixtures.cases { for mode in Self.modes {
            let m = try load(Fixtures.root + "/" + path, mode)
            let r = try Fixtures.reference(ref)
            for name in variantsUnderTest() {
                let st = try InferenceState(model: m, nCtx: r.tokens.count + 1, kernel: name)
                let cs = try XCTUnwrap(st.certified)
                st.deferHead = true
                for (i, t) in r.tokens.enumerated() {
                    try st.evaluate([t])
                    XCTAssertTrue(st.headPending)
                    XCTAssertTrue(st.certifiedIntervals(st.headInput.ptr, cs), "\(path) \(name) position \(i)")
                    let exact = Array(st.lastLogits)   // computed now, from the same hidden row
                    for row in 0..<m.config.vocabSize {
                        XCTAssertTrue(cs.lo.ptr[row] <= exact[row] && exact[row] <= cs.hi.ptr[row],
                                      "\(path) \(mode) \(name) position \(i) row \(row): \(exact[row]) outside [\(cs.lo.ptr[row]), \(cs.hi.ptr[row])]")
                    }
                }
            }
        } }
    }

    // MARK: tokens

    /// The chains the tests run: certifiable ones (greedy, top-k, min-p first, with penalties and
    /// a logit bias) and one that is not (top-p first: every token from the whole head).
    static func chains(vocab: Int) -> [(String, SamplingParams, certifiable: Bool)] {
        var topk = SamplingParams(); topk.seed = 5                         // llama.cpp's default chain
        var minp = SamplingParams(); minp.topK = 0; minp.topP = 1; minp.minP = 0.1; minp.seed = 6
        var pen = SamplingParams.greedy; pen.repeatPenalty = 1.3; pen.presencePenalty = 0.4; pen.frequencyPenalty = -0.2
        pen.logitBias = [(token: 5, bias: 3), (token: Int32(vocab - 1), bias: -2)]
        var pen2 = topk; pen2.repeatPenalty = 1.1; pen2.topK = 7; pen2.temperature = 1.5
        var topp = SamplingParams(); topp.topK = 0; topp.topP = 0.9; topp.seed = 7
        return [("greedy", .greedy, true), ("top-k", topk, true), ("min-p", minp, true), ("penalties", pen, true),
                ("top-k 7 penalties", pen2, true), ("top-p", topp, false)]
    }

    /// 8 prompts × 256 tokens on the bundled model, greedy, and every chain on shorter runs: the
    /// certified head generates exact mode's tokens, in every kernel variant.
    func testCertifiedGeneratesExactModesTokensOnTheBundledModel() throws {
        let exact = try load(Self.bundled, .exact)
        for mode in Self.modes {
        let cert = try load(Self.bundled, mode)
        let tok = exact.tokenizer!
        let prompts = ["Once upon a time", "The king", "In the morning the", "She said", "Long ago, in a land",
                       "The little dog", "It was a dark", "Tom and his sister"]
        for name in variantsUnderTest() {
            var candidates: [Int] = []
            for (i, prompt) in prompts.enumerated() {
                for (label, sp, certifiable) in Self.chains(vocab: exact.config.vocabSize) where label == "greedy" || i < 2 {
                    var p = GenerationParams()
                    p.maxTokens = label == "greedy" ? 256 : 96
                    p.ignoreEOS = true
                    p.sampling = sp
                    let ids = [0] + tok.encode(prompt)
                    let a = try InferenceState(model: exact, nCtx: 512, nThreads: 2, kernel: name).generate(prompt: ids, params: p)
                    let st = try InferenceState(model: cert, nCtx: 512, nThreads: 2, kernel: name)
                    let b = try st.generate(prompt: ids, params: p)
                    XCTAssertEqual(b.tokens, a.tokens, "\(mode) \(name) \"\(prompt)\" \(label)")
                    XCTAssertEqual(b.tokens.count, p.maxTokens)
                    let s = try XCTUnwrap(st.certifiedStats)
                    if certifiable {
                        XCTAssertEqual(s.fullSteps, 0, "\(name) \(label): every token certified")
                        XCTAssertEqual(s.steps, p.maxTokens)
                        candidates += s.candidates
                    } else {
                        XCTAssertEqual(s.steps, 0, "\(name) \(label): top-p first needs the whole row")
                    }
                }
            }
            candidates.sort()
            let mean = Double(candidates.reduce(0, +)) / Double(candidates.count)
            print("bundled model, \(mode) \(name): candidates per token mean \(String(format: "%.1f", mean)), median "
                  + "\(candidates[candidates.count / 2]), p99 \(candidates[candidates.count * 99 / 100]), "
                  + "max \(candidates.last!) of \(exact.config.vocabSize)")
            XCTAssertLessThan(candidates[candidates.count / 2], exact.config.vocabSize / 8)
        }
        }
    }

    /// Every fixture: greedy and sampled tokens equal exact mode's.
    func testCertifiedGeneratesExactModesTokensOnEveryFixture() throws {
        for (path, _) in Fixtures.cases {
            let exact = try load(Fixtures.root + "/" + path, .exact)
            let n = min(exact.config.contextLength, 44)
            for mode in Self.modes {
            let cert = try load(Fixtures.root + "/" + path, mode)
            for name in variantsUnderTest() {
                for (label, sp, _) in Self.chains(vocab: exact.config.vocabSize) {
                    var p = GenerationParams()
                    p.maxTokens = n - 4
                    p.ignoreEOS = true
                    p.sampling = sp
                    let ids: [Int32] = [1, 2, 3]
                    let a = try InferenceState(model: exact, nCtx: n, kernel: name).generate(prompt: ids, params: p)
                    let b = try InferenceState(model: cert, nCtx: n, kernel: name).generate(prompt: ids, params: p)
                    XCTAssertEqual(b.tokens, a.tokens, "\(path) \(mode) \(name) \(label)")
                }
            }
            }
        }
    }

    /// Two head rows made equal: the exact logits tie, exact mode takes the lower id, and so does
    /// the certified head (the tie rule).
    func testNearTieTakesTheLowerIDAsExactModeDoes() throws {
        // the first greedy token t after the prompt, then a copy of the model whose head row t-1
        // is row t (tied head: the embedding of t-1 changes too, and the prompt does not use it)
        let m0 = try load(Self.bundled, .exact)
        let prompt = [0] + m0.tokenizer!.encode("Once upon a time")
        var p = GenerationParams()
        p.maxTokens = 1
        p.sampling = .greedy
        let t = Int(try InferenceState(model: m0, nCtx: 64).generate(prompt: prompt, params: p).tokens[0])
        XCTAssertGreaterThan(t, 0)
        XCTAssertFalse(prompt.contains(Int32(t - 1)))
        let g = try GGUFFile(path: Self.bundled)
        let name = g.tensorIndex["output.weight"] != nil ? "output.weight" : "token_embd.weight"
        let info = g.tensors[g.tensorIndex[name]!]
        let rowBytes = try XCTUnwrap(info.byteSize) / info.shape[1]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.bundled))
        let src = info.offset + t * rowBytes, dst = info.offset + (t - 1) * rowBytes
        bytes.replaceSubrange(dst..<(dst + rowBytes), with: bytes.subdata(in: src..<(src + rowBytes)))
        let path = NSTemporaryDirectory() + "trit-tie-\(getpid()).gguf"
        try bytes.write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        for name in variantsUnderTest() { for mode in Self.modes {
            let exact = try load(path, .exact), cert = try load(path, mode)
            let se = try InferenceState(model: exact, nCtx: 64, kernel: name)
            try se.evaluate(prompt)
            XCTAssertEqual(se.lastLogits[t - 1], se.lastLogits[t], "\(name): the rows tie")
            XCTAssertEqual(se.lastLogits.max(), se.lastLogits[t], "\(name): and are the maximum")
            let a = try InferenceState(model: exact, nCtx: 64, kernel: name).generate(prompt: prompt, params: p)
            let st = try InferenceState(model: cert, nCtx: 64, kernel: name)
            let b = try st.generate(prompt: prompt, params: p)
            XCTAssertEqual(a.tokens, [Int32(t - 1)], "\(name): exact mode takes the lower id")
            XCTAssertEqual(b.tokens, a.tokens, "\(name) \(mode): the certified head too")
            XCTAssertEqual(st.certifiedStats?.steps, 1)
        } }
    }

    /// trit_eval-style full rows stay exact in certified mode.
    func testFullRowsStayExact() throws {
        for mode in Self.modes {
        let exact = try load(Self.bundled, .exact), cert = try load(Self.bundled, mode)
        let ids = [0] + exact.tokenizer!.encode("The king")
        let a = try InferenceState(model: exact, nCtx: 64), b = try InferenceState(model: cert, nCtx: 64)
        try a.evaluate(ids); try b.evaluate(ids)
        XCTAssertEqual(Array(b.lastLogits).map(\.bitPattern), Array(a.lastLogits).map(\.bitPattern))
        // after generation too (the pending row is computed when asked for)
        var p = GenerationParams(); p.maxTokens = 5; p.sampling = .greedy; p.ignoreEOS = true
        _ = try a.generate(prompt: [], params: p); _ = try b.generate(prompt: [], params: p)
        XCTAssertEqual(Array(b.lastLogits).map(\.bitPattern), Array(a.lastLogits).map(\.bitPattern))
        }
    }
}
