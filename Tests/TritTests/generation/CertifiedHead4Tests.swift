import Foundation
import TritKernels
import XCTest
@testable import Trit

/// The 4-bit certified head (docs/formats.md §7.1): its product in every variant against the scalar
/// twin (bit for bit) and against a double reference, and its bound on random heads. The tokens and
/// the bound on the fixtures are CertifiedHeadTests' and CertifiedMaskTests' (run for both modes).
final class CertifiedHead4Tests: XCTestCase {
    func gaussian(_ rng: inout Xoshiro256) -> Float {
        Float((-2 * log(max(rng.nextUnit(), 1e-300))).squareRoot() * cos(2 * .pi * rng.nextUnit()))
    }

    func head(_ w: [Float], rows: Int, cols: Int) throws -> (DenseMatrix, Q4Head) {
        let h = w.map { tk_f32_to_f16($0) }
        let buf = try AlignedBuffer(byteCount: h.count * 2, what: "test head")
        h.withUnsafeBytes { buf.raw.copyMemory(from: $0.baseAddress!, byteCount: h.count * 2) }
        let d = DenseMatrix(rows: rows, cols: cols, dtype: TK_F16, data: UnsafeRawPointer(buf.raw), owner: buf)
        return (d, try Q4Head(head: d))
    }

    /// The per-token inputs of the product for n activation rows x (cols values each).
    struct Act { var q: [Int8]; var s: [Float]; var corr: [Int32]; var gn: [Float]; var eps: [Float] }
    func act(_ x: [Float], n: Int, cols: Int, kp: Int) -> Act {
        var a = Act(q: [Int8](repeating: 0, count: n * kp), s: [Float](repeating: 0, count: n),
                    corr: [Int32](repeating: 0, count: n * kp / 4), gn: [Float](repeating: 0, count: n * kp / 32),
                    eps: [Float](repeating: 0, count: n))
        var qs = [Int32](repeating: 0, count: n)
        tk_quantize_rows(x, Int64(cols), Int64(cols), Int64(n), &a.q, Int64(kp), &a.s, &qs)
        for t in 0..<n {
            let ok = x.withUnsafeBufferPointer { xp in
                a.q.withUnsafeBufferPointer { qp in
                    a.corr.withUnsafeMutableBufferPointer { cp in
                        a.gn.withUnsafeMutableBufferPointer { gp in
                            tk_head4_act(xp.baseAddress! + t * cols, Int64(cols), qp.baseAddress! + t * kp, Int64(kp), a.s[t],
                                         cp.baseAddress! + t * kp / 4, gp.baseAddress! + t * kp / 32, &a.eps[t])
                        }
                    }
                }
            }
            XCTAssertEqual(ok, 1)
        }
        return a
    }

    func product(_ k: UnsafePointer<tk_kernels>, _ h4: Q4Head, _ a: Act, n: Int, r0: Int = 0) -> ([Float], [Float]) {
        var out = [Float](repeating: 0, count: n * h4.rows), err = out
        k.pointee.q4_gemm(h4.nibbles.raw.assumingMemoryBound(to: UInt8.self),
                          h4.scales.raw.assumingMemoryBound(to: UInt16.self), Int64(h4.paddedCols), Int64(r0),
                          Int64(h4.rows), a.q, a.s, a.corr, a.gn, Int64(n), &out, &err, Int64(h4.rows))
        return (out, err)
    }

    /// Every variant gives the scalar twin's bits for 1 to 6 tokens (the vector form's token groups
    /// of 4 and its tail), widths that pad to 256, rows of very different scales; the scalar twin
    /// is within 1e-5 of a double product of the nibbles and scales it reads.
    func testProductVariantsEqualScalar() throws {
        var rng = Xoshiro256(seed: 21)
        for (rows, cols) in [(5, 32), (19, 300), (33, 2560)] {
            let w = (0..<(rows * cols)).map { i in gaussian(&rng) * powf(10, Float(i / cols % 5) - 2) }
            let (_, h4) = try head(w, rows: rows, cols: cols)
            let kp = h4.paddedCols
            let nib = h4.nibbles.raw.assumingMemoryBound(to: UInt8.self)
            let sc = h4.scales.raw.assumingMemoryBound(to: UInt16.self)
            for n in 1...6 {
                let x = (0..<(n * cols)).map { _ in gaussian(&rng) * (rng.nextUnit() < 0.02 ? 40 : 1) }
                let a = act(x, n: n, cols: cols, kp: kp)
                let ref = product(tk_kernels_named("scalar")!, h4, a, n: n)
                for t in 0..<n {
                    for r in 0..<rows {
                        var l = 0.0, e = 0.0
                        for g in 0..<(kp / 32) {
                            let c = Double(tk_f16_to_f32(sc[r * kp / 32 + g]))
                            var p = 0
                            for i in 0..<32 {
                                let byte = nib[r * kp / 2 + g * 16 + i % 16]
                                let u = i < 16 ? Int(byte & 15) : Int(byte >> 4)
                                p += (u - 8) * Int(a.q[t * kp + g * 32 + i])
                            }
                            l += c * Double(p)
                            e += c * Double(a.gn[t * kp / 32 + g])
                        }
                        l /= Double(a.s[t])
                        XCTAssertEqual(Double(ref.0[t * rows + r]), l, accuracy: 1e-5 * max(1, abs(l)), "logit \(rows)x\(cols) t\(t) r\(r)")
                        XCTAssertEqual(Double(ref.1[t * rows + r]), e, accuracy: 1e-5 * max(1e-6, e), "err \(rows)x\(cols) t\(t) r\(r)")
                    }
                }
                for name in variantsUnderTest() {
                    let got = product(tk_kernels_named(name)!, h4, a, n: n)
                    XCTAssertEqual(got.0.map(\.bitPattern), ref.0.map(\.bitPattern), "\(name) \(rows)x\(cols) n=\(n) logits")
                    XCTAssertEqual(got.1.map(\.bitPattern), ref.1.map(\.bitPattern), "\(name) \(rows)x\(cols) n=\(n) err")
                }
            }
        }
    }

    /// |exact − 4-bit| ≤ e for every row of random F16 heads over many activations (Gaussian, uniform,
    /// sparse, one huge component, mixed scales), in every variant. The test can fail: with half the
    /// weight term (alpha/2) some row of the one-huge-component activations falls outside.
    func testBoundHoldsOnRandomHeads() throws {
        var rng = Xoshiro256(seed: 12)
        var checked = 0, violatedWithHalf = 0
        var widthRatio: [Float] = []
        for (rows, cols, spread) in [(300, 64, Float(1)), (257, 1000, 0.02), (130, 2560, 0.05), (64, 130, 100)] {
            let w = (0..<(rows * cols)).map { i -> Float in
                let v = gaussian(&rng) * spread * (1 + Float(i / cols % 4))
                return i % cols == 7 && (i / cols) % 3 == 0 ? v * 50 : v
            }
            let (d, h4) = try head(w, rows: rows, cols: cols)
            XCTAssertTrue(h4.badRows.isEmpty)
            XCTAssertTrue(h4.alpha > 0.5 && h4.alpha < 0.51, "alpha \(h4.alpha)")
            for trial in 0..<40 {
                var x = (0..<cols).map { _ in gaussian(&rng) }
                switch trial % 5 {
                case 1: x = (0..<cols).map { _ in Float(rng.nextUnit() * 2 - 1) }
                case 2: for i in x.indices where i % 9 != 0 { x[i] = 0 }
                case 3: x[Int(rng.next() % UInt64(cols))] = 1e4
                case 4: for i in x.indices { x[i] *= powf(10, Float(Int(rng.next() % 7)) - 3) }
                default: break
                }
                let a = act(x, n: 1, cols: cols, kp: h4.paddedCols)
                for name in variantsUnderTest() {
                    let k = tk_kernels_named(name)!
                    var exact = [Float](repeating: 0, count: rows), lo = exact, hi = exact, lo2 = exact, hi2 = exact
                    k.pointee.dense_gemm(d.data, TK_F16, Int64(cols), 0, Int64(rows), x, Int64(cols), 1, &exact, Int64(rows))
                    let (approx, err) = product(k, h4, a, n: 1)
                    XCTAssertEqual(k.pointee.head_bounds(approx, err, h4.b.ptr, h4.alpha, a.eps[0], CertifiedHeadBound.relative,
                                                         Int64(rows), &lo, &hi), 0)
                    _ = k.pointee.head_bounds(approx, err, h4.b.ptr, h4.alpha / 2, a.eps[0], CertifiedHeadBound.relative,
                                              Int64(rows), &lo2, &hi2)
                    for r in 0..<rows {
                        XCTAssertTrue(lo[r] <= exact[r] && exact[r] <= hi[r],
                                      "\(name) \(rows)x\(cols) trial \(trial) row \(r): exact \(exact[r]) outside [\(lo[r]), \(hi[r])]")
                        if !(lo2[r] <= exact[r] && exact[r] <= hi2[r]) { violatedWithHalf += 1 }
                        checked += 1
                    }
                    if trial % 5 == 0 {   // dense Gaussian: the bound's median width against the logits' spread
                        let mean = exact.reduce(0, +) / Float(rows)
                        let sd = (exact.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(rows)).squareRoot()
                        widthRatio.append(zip(hi, approx).map { $0 - $1 }.sorted()[rows / 2] / sd)
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 10_000)
        XCTAssertGreaterThan(violatedWithHalf, 0, "half the weight term should not hold everywhere")
        widthRatio.sort()
        print("4-bit bound: median half-width / logit sd on dense activations: \(widthRatio[widthRatio.count / 2]); "
              + "rows outside with alpha/2: \(violatedWithHalf) of \(checked)")
    }

    /// A row with a non-finite weight is always a candidate (lo = -inf, hi = +inf after step 2), and
    /// the other rows keep their bounds.
    func testNonFiniteRowIsAlwaysACandidate() throws {
        var rng = Xoshiro256(seed: 13)
        let rows = 9, cols = 64
        var w = (0..<(rows * cols)).map { _ in gaussian(&rng) }
        w[2 * cols + 5] = .nan
        w[6 * cols] = .infinity
        let (_, h4) = try head(w, rows: rows, cols: cols)
        XCTAssertEqual(h4.badRows, [2, 6])
        XCTAssertTrue(h4.b.ptr[0].isFinite && h4.alpha.isFinite)
    }
}
