import Foundation
import XCTest
@testable import Trit

/// trit's GGUF writer: every fixture exported as I2_S, TQ2_0 and TQ1_0 loads back to the same
/// logits as the reference (the ternary values and scales survive exactly).
final class ExportRoundTripTests: XCTestCase {
    func testExportedFilesKeepTheReferenceLogits() throws {
        let dir = NSTemporaryDirectory() + "trit-export-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (src, refPath, types) in [("b158-tiny/hf-autobitlinear", "b158-tiny/reference.json", [TernaryFileType.i2s, .tq2_0, .tq1_0]),
                                      ("llama-ternary-tiny/hf", "llama-ternary-tiny/reference.json", [.i2s, .tq2_0])] {
            let ref = try Fixtures.reference(refPath)
            let m = try Model.load(path: Fixtures.root + "/" + src)
            for t in types {
                let out = dir + "/\(t.rawValue).gguf"
                try ModelExport.write(m, to: out, linears: t)
                let back = try Model.load(path: out)
                XCTAssertEqual(back.fileType, t == .i2s ? "I2_S" : t == .tq2_0 ? "TQ2_0" : "TQ1_0")
                let s = try InferenceState(model: back, nCtx: 32)
                let vocab = back.config.vocabSize
                var logits = [Float](repeating: 0, count: ref.tokens.count * vocab)
                try logits.withUnsafeMutableBufferPointer { try s.evaluate(ref.tokens, allLogits: $0.baseAddress) }
                var worst: Float = 0
                for i in 0..<ref.tokens.count { for j in 0..<vocab { worst = max(worst, abs(logits[i * vocab + j] - ref.logits[i][j])) } }
                if src.hasPrefix("b158") {
                    XCTAssertLessThan(worst, 1e-4, "\(src) as \(t.rawValue)")
                } else {
                    // GGUF `llama` files hold Q/K permuted for adjacent-pair RoPE, which reorders the
                    // q·k sums (a possible int8 rounding flip); TQ2_0 also rounds β = 1/weight_scale to f16.
                    XCTAssertLessThan(worst, 0.1, "\(src) as \(t.rawValue): the flip tier")
                    for i in 0..<ref.tokens.count {
                        let row = Array(logits[(i * vocab)..<((i + 1) * vocab)])
                        let sorted = ref.logits[i].sorted(by: >)
                        if sorted[0] - sorted[1] >= 0.2 {
                            XCTAssertEqual(row.firstIndex(of: row.max()!), ref.logits[i].firstIndex(of: sorted[0]), "argmax at \(i)")
                        }
                    }
                }
                XCTAssertEqual(back.tokenizer?.encode(ref.text).prefix(24).map { $0 }, ref.tokens)
            }
        }
    }

    func testSynthPresetsAreValidAndLoad() throws {
        let dir = NSTemporaryDirectory() + "trit-synth-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tiny = Synth.preset("tiny")!
        for t in [TernaryFileType.i2s, .tq2_0, .tq1_0, .f16] {
            let p = dir + "/\(t.rawValue).gguf"
            try Synth.write(tiny, type: t, to: p)
            let m = try Model.load(path: p)
            XCTAssertEqual(m.config.dim, 256)
            if t == .f16 { if case .dense? = m.layers[0].linear(.q) {} else { XCTFail("f16 synth runs dense") } }
            let s = try InferenceState(model: m, nCtx: 16)
            try s.evaluate([1, 2, 3])
            XCTAssertTrue(s.lastLogits.allSatisfy { $0.isFinite })
        }
        // the same seed writes the same I2_S weights in every format
        let a = try Model.load(path: dir + "/i2_s.gguf"), b = try Model.load(path: dir + "/tq1_0.gguf")
        guard case .ternary(let ta)? = a.layers[2].linear(.down), case .ternary(let tb)? = b.layers[2].linear(.down) else { return XCTFail() }
        for r in 0..<8 { for c in 0..<ta.cols { XCTAssertEqual(ta.value(row: r, col: c), tb.value(row: r, col: c)) } }
    }
}
