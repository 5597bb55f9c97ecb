import XCTest
import TritKernels
@testable import Trit

/// Every ISA variant against the scalar reference: the integer sums bit for bit (the outputs
/// share one float epilogue, so they are equal exactly), on random shapes including widths that
/// are not a multiple of the block.
final class KernelVariantTests: XCTestCase {
    /// An unknown variant, by name or by TRIT_KERNEL, is a clear error at load, not a trap.
    func testUnknownVariantIsAnError() throws {
        XCTAssertThrowsError(try KernelSelection.kernels(named: "avx9000")) { e in
            XCTAssertEqual((e as? TritError)?.kind, .unsupported)
            XCTAssertTrue((e as? TritError)?.message.contains("avx9000") == true, "\(e)")
        }
        setenv("TRIT_KERNEL", "avx9000", 1)
        defer { unsetenv("TRIT_KERNEL") }
        var o = Model.LoadOptions()
        o.head = .int8   // the head is quantized at load with the selected variant
        XCTAssertThrowsError(try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf", options: o)) { e in
            XCTAssertEqual((e as? TritError)?.kind, .unsupported, "\(e)")
        }
    }

    func testTernaryGemmVariantsEqualScalar() throws {
        var rng = Xoshiro256(seed: 99)
        let scalar = tk_kernels_named("scalar")!
        for (rows, cols, n) in [(7, 128, 1), (33, 640, 5), (16, 8640, 2), (5, 100, 3), (64, 2560, 9), (3, 300, 4), (11, 384, 2), (50, 256, 7),
                                (20, 384, 16), (13, 256, 17), (8, 640, 22), (10, 256, 66), (7, 128, 67), (9, 512, 13), (5, 1024, 7)] {
            // up to 64 tokens: rows outside; more: token groups outside; tails of 1-3 tokens in both
            // (AVX2: groups of 8 tokens up to 3072 columns, 4 beyond; tails of 1-7)
            let vals = (0..<(rows * cols)).map { _ in Int8(Int(rng.next() % 3)) - 1 }
            let m = try TernaryPacking.build(rows: rows, cols: cols, scale: 0.37, what: "t") { r, v in
                for c in 0..<cols { v[c] = vals[r * cols + c] }
            }
            let x = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 4 - 2) }
            let kp = m.paddedCols
            var q = [Int8](repeating: 0, count: n * kp), s = [Float](repeating: 0, count: n), qs = [Int32](repeating: 0, count: n)
            tk_quantize_rows(x, Int64(cols), Int64(cols), Int64(n), &q, Int64(kp), &s, &qs)
            func run(_ k: UnsafePointer<tk_kernels>) -> [Float] {
                var out = [Float](repeating: 0, count: n * rows)
                k.pointee.ternary_gemm(m.codes, Int64(m.rowBytes), 0, Int64(rows), q, s, qs, Int64(n), m.scale, &out, Int64(rows))
                return out
            }
            let ref = run(scalar)
            // the scalar kernel itself against a direct sum
            for t in 0..<n { for r in 0..<rows {
                var acc = 0
                for c in 0..<cols { acc += Int(vals[r * cols + c]) * Int(q[t * kp + c]) }
                XCTAssertEqual(ref[t * rows + r], Float(acc) / s[t] * 0.37, accuracy: abs(Float(acc) / s[t] * 0.37) * 1e-6 + 1e-6)
            } }
            for name in variantsUnderTest() {
                XCTAssertEqual(run(tk_kernels_named(name)!), ref, "\(name) \(rows)x\(cols) n=\(n)")
            }
        }
    }

    /// The extremes of the integer sums: every weight +1 (code 2) against activations of -128 or 127,
    /// so a kernel that keeps 16-bit partial sums (the AVX2 form, 16 blocks at a time) is at its bound
    /// (16 blocks x -2048 = -32768 a lane); 17 blocks per partial sum overflow and differ here (checked).
    func testTernaryGemmExtremeSumsEqualScalar() throws {
        let scalar = tk_kernels_named("scalar")!
        let rows = 4, cols = 8192, n = 3
        let m = try TernaryPacking.build(rows: rows, cols: cols, scale: 1, what: "t") { _, v in
            for c in 0..<cols { v[c] = 1 }
        }
        let kp = m.paddedCols
        var q = [Int8](repeating: -128, count: n * kp)
        for c in 0..<kp { q[kp + c] = 127; q[2 * kp + c] = c % 2 == 0 ? -128 : 127 }
        let s = [Float](repeating: 1, count: n)
        let qs = (0..<n).map { t in Int32(q[(t * kp)..<((t + 1) * kp)].reduce(0) { $0 + Int($1) }) }
        func run(_ k: UnsafePointer<tk_kernels>) -> [Float] {
            var out = [Float](repeating: 0, count: n * rows)
            k.pointee.ternary_gemm(m.codes, Int64(m.rowBytes), 0, Int64(rows), q, s, qs, Int64(n), m.scale, &out, Int64(rows))
            return out
        }
        let ref = run(scalar)
        XCTAssertEqual(ref[0], Float(-128 * cols) * m.scale)
        XCTAssertEqual(ref[rows], Float(127 * cols) * m.scale)
        for name in variantsUnderTest() {
            XCTAssertEqual(run(tk_kernels_named(name)!), ref, name)
        }
    }

    func testDenseGemmVariants() throws {
        var rng = Xoshiro256(seed: 5)
        // one-token shapes cover the 4-row tiles, remainder rows and the 32/16/scalar K steps
        for (rows, cols, n) in [(9, 37, 1), (16, 256, 6), (3, 1000, 2), (13, 1000, 1), (6, 1040, 1)] {
            let w = (0..<(rows * cols)).map { _ in Float(rng.nextUnit() - 0.5) }
            let h = w.map { tk_f32_to_f16($0) }
            let bf = w.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
            let x = (0..<(n * cols)).map { _ in Float(rng.nextUnit() - 0.5) }
            for name in variantsUnderTest() {
                let k = tk_kernels_named(name)!
                for (dtype, data) in [(TK_F32, w.withUnsafeBytes { Array($0) }), (TK_F16, h.withUnsafeBytes { Array($0) }),
                                      (TK_BF16, bf.withUnsafeBytes { Array($0) })] {
                    var out = [Float](repeating: 0, count: n * rows)
                    data.withUnsafeBytes { k.pointee.dense_gemm($0.baseAddress, dtype, Int64(cols), 0, Int64(rows), x, Int64(cols), Int64(n), &out, Int64(rows)) }
                    for t in 0..<n { for r in 0..<rows {
                        var e = 0.0
                        for c in 0..<cols {
                            let wv = dtype == TK_F32 ? w[r * cols + c] : dtype == TK_F16 ? tk_f16_to_f32(h[r * cols + c]) : tk_bf16_to_f32(bf[r * cols + c])
                            e += Double(wv) * Double(x[t * cols + c])
                        }
                        XCTAssertEqual(Double(out[t * rows + r]), e, accuracy: 1e-4, "\(name) \(dtype) \(rows)x\(cols) n=\(n)")
                    } }
                }
            }
        }
    }

    /// The head of a batch: each token's logits, bit for bit, what that token alone gets (the
    /// engine's batch invariance rests on it) in every variant, whatever the token count and the
    /// rows a thread's chunk starts at. 1100 columns: the AVX2 form's blocks of 1024 and a tail of 4.
    func testDenseGemmTokensDoNotInteract() throws {
        var rng = Xoshiro256(seed: 17)
        let rows = 23, cols = 1100
        let h = (0..<(rows * cols)).map { _ in tk_f32_to_f16(Float(rng.nextUnit() - 0.5)) }
        for name in variantsUnderTest() {
            let k = tk_kernels_named(name)!
            for n in 1...9 {
                let x = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
                var batch = [Float](repeating: 0, count: n * rows)
                h.withUnsafeBytes { k.pointee.dense_gemm($0.baseAddress, TK_F16, Int64(cols), 0, Int64(rows), x, Int64(cols), Int64(n), &batch, Int64(rows)) }
                for t in 0..<n {
                    var one = [Float](repeating: 0, count: rows)
                    x.withUnsafeBufferPointer { xp in
                        h.withUnsafeBytes { k.pointee.dense_gemm($0.baseAddress, TK_F16, Int64(cols), 0, Int64(rows), xp.baseAddress! + t * cols,
                                                                 Int64(cols), 1, &one, Int64(rows)) }
                    }
                    XCTAssertEqual(Array(batch[(t * rows)..<((t + 1) * rows)]).map(\.bitPattern), one.map(\.bitPattern), "\(name) n=\(n) t=\(t)")
                    if n == 1 {   // a row alone (the certified head's exact rows) equals it in a tile
                        for r in 0..<rows {
                            var alone = [Float](repeating: 0, count: rows)
                            h.withUnsafeBytes { k.pointee.dense_gemm($0.baseAddress, TK_F16, Int64(cols), Int64(r), Int64(r + 1), x,
                                                                     Int64(cols), 1, &alone, Int64(rows)) }
                            XCTAssertEqual(alone[r].bitPattern, one[r].bitPattern, "\(name) row \(r) alone")
                        }
                    }
                }
            }
        }
    }

    func testQuantizationRoundsHalfToEvenAndClamps() {
        // s = 127/max|x|; values chosen to land on .5 after scaling
        let x: [Float] = [127, 0.5, 1.5, -2.5, -127]
        var q = [Int8](repeating: 0, count: 128), s: Float = 0, sum: Int32 = 0
        tk_quantize_rows(x, 5, 5, 1, &q, 128, &s, &sum)
        XCTAssertEqual(s, 1)
        XCTAssertEqual(Array(q[0..<5]), [127, 0, 2, -2, -127])
        XCTAssertEqual(sum, 0)
        XCTAssertTrue(q[5...].allSatisfy { $0 == 0 }, "padding is zero")
        let zeros = [Float](repeating: 0, count: 4)
        tk_quantize_rows(zeros, 4, 4, 1, &q, 128, &s, &sum)
        XCTAssertEqual(s, 127 / 1e-5)
    }

    /// The vector quantizers give the scalar's bytes, scales and sums exactly, with ties, NaN,
    /// infinities and widths around the 8/32-element steps.
    func testQuantizeVariantsEqualScalar() {
        var rng = Xoshiro256(seed: 21)
        for (cols, n) in [(5, 1), (32, 2), (100, 3), (2560, 2), (6912, 1), (37, 4)] {
            var x = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 6 - 3) }
            for i in stride(from: 0, to: x.count, by: 7) { x[i] = Float(Int(rng.next() % 255) - 127) / 2 }  // ties
            if cols >= 100 { x[3] = .nan; x[x.count - 5] = .infinity; x[17] = -.infinity }
            let kp = (cols + 127) / 128 * 128
            func run(_ k: UnsafePointer<tk_kernels>) -> ([Int8], [Float], [Int32]) {
                var q = [Int8](repeating: 7, count: n * kp), s = [Float](repeating: 0, count: n), qs = [Int32](repeating: 0, count: n)
                k.pointee.quantize_rows(x, Int64(cols), Int64(cols), Int64(n), &q, Int64(kp), &s, &qs)
                return (q, s, qs)
            }
            let ref = run(tk_kernels_named("scalar")!)
            for name in variantsUnderTest() {
                let got = run(tk_kernels_named(name)!)
                XCTAssertEqual(got.0, ref.0, "\(name) \(cols)x\(n)")
                XCTAssertEqual(got.1.map(\.bitPattern), ref.1.map(\.bitPattern), "\(name) \(cols)x\(n)")
                XCTAssertEqual(got.2, ref.2, "\(name) \(cols)x\(n)")
            }
        }
    }

    func testNormVariantsMatchScalar() {
        var rng = Xoshiro256(seed: 22)
        for n in [1, 9, 2560, 6917] {
            let x = (0..<n).map { _ in Float(rng.nextUnit() * 8 - 4) }, g = (0..<n).map { _ in Float(rng.nextUnit()) }
            func run(_ k: UnsafePointer<tk_kernels>) -> [Float] {
                var y = [Float](repeating: 0, count: n)
                k.pointee.rmsnorm(x, g, Int64(n), 1e-5, &y)
                return y
            }
            let ref = run(tk_kernels_named("scalar")!)
            for name in variantsUnderTest() {
                for (a, b) in zip(run(tk_kernels_named(name)!), ref) { XCTAssertEqual(a, b, accuracy: abs(b) * 1e-6 + 1e-7, "\(name) rmsnorm \(n)") }
            }
        }
    }
}

final class Int8HeadTests: XCTestCase {
    func testI8GemmVariantsEqualScalar() {
        var rng = Xoshiro256(seed: 8)
        for (rows, kp, n) in [(5, 128, 1), (33, 256, 3), (8, 2560, 2), (7, 2560, 1), (13, 384, 1), (9, 2560, 8), (11, 640, 5),
                              (6, 384, 13), (4, 96, 4)] {   // batched rows: token groups of 4 and their tails, Kp % 64 ≠ 0
            let w = (0..<(rows * kp)).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
            let q = (0..<(n * kp)).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
            let sc = (0..<rows).map { _ in Float(rng.nextUnit()) }, s = (0..<n).map { _ in Float(1 + rng.nextUnit()) }
            func run(_ k: UnsafePointer<tk_kernels>) -> [Float] {
                var out = [Float](repeating: 0, count: n * rows)
                k.pointee.i8_gemm(w, sc, Int64(kp), 0, Int64(rows), q, s, Int64(n), &out, Int64(rows))
                return out
            }
            let ref = run(tk_kernels_named("scalar")!)
            for name in variantsUnderTest() { XCTAssertEqual(run(tk_kernels_named(name)!), ref, name) }
        }
    }

    /// The load-time head quantizer, every variant, against a direct computation (ties, a zero
    /// row, K % 8 ≠ 0).
    func testWeightRowQuantization() {
        var rng = Xoshiro256(seed: 9)
        let rows = 5, cols = 37, kp = 128
        var w = (0..<(rows * cols)).map { _ in Float(rng.nextUnit() * 4 - 2) }
        for k in 0..<cols { w[2 * cols + k] = 0 }
        w[0] = 127; w[1] = 0.5; w[2] = 1.5; w[3] = -2.5   // row 0: scale 1, ties round to even
        let h = w.map { tk_f32_to_f16($0) }
        for name in variantsUnderTest() {
        let quantize = tk_kernels_named(name)!.pointee.quantize_weight_rows!
        for (dtype, data) in [(TK_F32, w.withUnsafeBytes { Array($0) }), (TK_F16, h.withUnsafeBytes { Array($0) })] {
            var out = [Int8](repeating: 9, count: rows * kp), sc = [Float](repeating: 0, count: rows)
            data.withUnsafeBytes { quantize($0.baseAddress, dtype, Int64(cols), Int64(rows), &out, Int64(kp), &sc) }
            for r in 0..<rows {
                let vals = (0..<cols).map { dtype == TK_F32 ? w[r * cols + $0] : tk_f16_to_f32(h[r * cols + $0]) }
                let m = vals.map { abs($0) }.max()!
                let want = m > 0 ? m / 127 : 1
                XCTAssertEqual(sc[r], want, name)
                for k in 0..<cols { XCTAssertEqual(out[r * kp + k], Int8((vals[k] / want).rounded(.toNearestOrEven)), "\(name) \(dtype) \(r) \(k)") }
                XCTAssertTrue(out[(r * kp + cols)..<((r + 1) * kp)].allSatisfy { $0 == 0 }, name)
            }
            XCTAssertEqual(Array(out[0..<4]), [127, 0, 2, -2], name)
        }
        }
    }

    /// The option's effect on accuracy, against the reference logits (stated in the README).
    func testInt8HeadAccuracy() throws {
        var o = Model.LoadOptions()
        o.head = .int8
        // the README's table: argmax equal at 24/24 and 23/24 positions (the one change is a near-tie)
        for (path, refPath, argmaxWanted) in [("b158-tiny/model.i2_s.gguf", "b158-tiny/reference.json", 24),
                                              ("llama-ternary-tiny/hf", "llama-ternary-tiny/reference.json", 23)] {
            let m = try Model.load(path: Fixtures.root + "/" + path, options: o)
            let ref = try Fixtures.reference(refPath)
            let s = try InferenceState(model: m, nCtx: 64)
            let vocab = m.config.vocabSize
            var logits = [Float](repeating: 0, count: ref.tokens.count * vocab)
            try logits.withUnsafeMutableBufferPointer { try s.evaluate(ref.tokens, allLogits: $0.baseAddress) }
            var worst: Float = 0, argmaxSame = 0
            for i in 0..<ref.tokens.count {
                let row = Array(logits[(i * vocab)..<((i + 1) * vocab)])
                for j in 0..<vocab { worst = max(worst, abs(row[j] - ref.logits[i][j])) }
                if row.firstIndex(of: row.max()!) == ref.logits[i].firstIndex(of: ref.logits[i].max()!) { argmaxSame += 1 }
            }
            print("int8 head \(path): max |Δlogit| \(worst), argmax equal at \(argmaxSame)/\(ref.tokens.count) positions")
            XCTAssertLessThan(worst, 0.1)
            XCTAssertLessThan(worst, 0.02, "the README's table says 0.015 / 0.017")
            XCTAssertGreaterThanOrEqual(argmaxSame, argmaxWanted, path)
            XCTAssertEqual(s.lastLogits.count, vocab)
        }
    }
}
