import XCTest
import TritKernels
@testable import Trit

/// Ternary linears held as 5-trit rows (1.6 bits a weight) or both forms (TernaryLayout): the products are
/// exact integer sums, so every layout gives the packed rows' logits bit for bit, on every kernel variant, for
/// a prompt in one batch and token by token (the decode path).
final class TernaryLayoutTests: XCTestCase {
    static let files = ["model.i2_s.gguf", "model.tq2_0.gguf", "model.tq1_0.gguf"]

    func load(_ file: String, _ layout: TernaryLayout) throws -> Model {
        var o = Model.LoadOptions()
        o.ternaryLayout = layout
        return try Model.load(path: Fixtures.root + "/b158-tiny/" + file, options: o)
    }

    func logits(_ m: Model, _ tokens: [Int32], kernel: String, batch: Int) throws -> [Float] {
        let s = try InferenceState(model: m, nCtx: 64, maxBatch: batch, kernel: kernel)
        var out = [Float](repeating: 0, count: tokens.count * m.config.vocabSize)
        try out.withUnsafeMutableBufferPointer { try s.evaluate(tokens, allLogits: $0.baseAddress) }
        return out
    }

    func testEveryLayoutGivesThePackedLogits() throws {
        let tokens = try Fixtures.reference("b158-tiny/reference.json").tokens
        let names: [String] = ["scalar", "avx2", "avx512vnni", "neon", "dotprod", "i8mm"]
        let kernels = names.filter { name in name.withCString { tk_kernels_named($0) != nil } }
        for file in Self.files {
            let base = try load(file, .packed2)
            let t5 = try load(file, .trit5), both = try load(file, .both)
            for kernel in kernels {
                for batch in [128, 3, 1] {
                    let want = try logits(base, tokens, kernel: kernel, batch: batch)
                    XCTAssertTrue(want.allSatisfy { $0.isFinite })
                    for (name, m) in [("5trit", t5), ("both", both)] {
                        let got = try logits(m, tokens, kernel: kernel, batch: batch)
                        XCTAssertTrue(got.elementsEqual(want) { $0.bitPattern == $1.bitPattern },
                                      "\(file) \(name) \(kernel) batch \(batch)")
                    }
                }
            }
        }
    }

    /// The 5-trit form holds the same weights in 1.6 bits (plus a row's last block), and `both` keeps the
    /// packed rows for prompts.
    func testFiveTritRowsHoldTheWeights() throws {
        let base = try load("model.i2_s.gguf", .packed2), t5 = try load("model.i2_s.gguf", .trit5)
        let both = try load("model.i2_s.gguf", .both)
        XCTAssertLessThan(t5.bytesPerDecodedToken, base.bytesPerDecodedToken)
        XCTAssertEqual(both.bytesPerDecodedToken, t5.bytesPerDecodedToken)
        for (l, layer) in base.layers.enumerated() {
            for (i, (_, lin)) in layer.linears.enumerated() {
                guard case .ternary(let a) = lin, case .ternary(let b) = t5.layers[l].linears[i].linear,
                      case .ternary(let c) = both.layers[l].linears[i].linear else { return XCTFail("not ternary") }
                XCTAssertFalse(a.isTrit5)
                XCTAssertTrue(b.isTrit5 && b.prefill == nil && c.isTrit5 && c.prefill != nil)
                XCTAssertEqual(b.rowBytes, (a.paddedCols + 159) / 160 * 32)
                for r in stride(from: 0, to: a.rows, by: 7) {
                    for k in 0..<a.cols where a.value(row: r, col: k) != b.value(row: r, col: k) {
                        return XCTFail("layer \(l) linear \(i) (\(r), \(k))")
                    }
                }
                XCTAssertEqual(a.packedPrefix(1 << 16), b.packedPrefix(1 << 16))
            }
        }
        XCTAssertEqual(SavedState.fingerprint(base), SavedState.fingerprint(t5))
    }
}
