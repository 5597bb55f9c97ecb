import Foundation
import TritKernels
import XCTest
@testable import Trit

/// TQ1_0 files read in place (tk_tq1_gemm_fn): the fixture's TQ1_0 file holds the I2_S / TQ2_0 files' weights,
/// so its logits in place equal theirs bit for bit (exact integer sums), on every kernel variant, for a prompt
/// in one batch and token by token; the model holds the file's blocks, no converted copy.
final class TQ1InPlaceTests: XCTestCase {
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

    func ternaries(_ m: Model) -> [TernaryMatrix] {
        m.layers.flatMap { $0.linears.compactMap { if case .ternary(let t) = $0.linear { return t } else { return nil } } }
    }

    func testInPlaceLogitsEqualTheI2SAndTQ2Files() throws {
        try XCTSkipUnless(Trit5.tq1InPlace, "no vector form of the in-place TQ1_0 product on this CPU")
        let tokens = try Fixtures.reference("b158-tiny/reference.json").tokens
        let tq1 = try load("model.tq1_0.gguf", .trit5), both = try load("model.tq1_0.gguf", .both)
        let i2s = try load("model.i2_s.gguf", .packed2), tq2 = try load("model.tq2_0.gguf", .auto)
        XCTAssertEqual(ternaries(tq1).count, 7 * 4)
        for t in ternaries(tq1) { XCTAssertTrue(t.isTQ1 && t.isMapped && t.prefill == nil) }
        for t in ternaries(both) { XCTAssertTrue(t.isTQ1 && t.isMapped && t.prefill != nil && !t.prefill!.isTQ1) }
        for kernel in variantsUnderTest() {
            for batch in [128, 3, 1] {   // batch 1 and 3: the decode path (n ≤ 4), 128: the prompt in one product
                let want = try logits(i2s, tokens, kernel: kernel, batch: batch)
                XCTAssertTrue(want.allSatisfy { $0.isFinite })
                XCTAssertTrue(try logits(tq2, tokens, kernel: kernel, batch: batch).elementsEqual(want) { $0.bitPattern == $1.bitPattern })
                for (name, m) in [("5trit", tq1), ("both", both)] {
                    let got = try logits(m, tokens, kernel: kernel, batch: batch)
                    XCTAssertTrue(got.elementsEqual(want) { $0.bitPattern == $1.bitPattern }, "\(name) \(kernel) batch \(batch)")
                }
            }
        }
        XCTAssertEqual(SavedState.fingerprint(tq1), SavedState.fingerprint(i2s))
    }

    /// The model holds the file's own bytes (54 a 256-block, mapped), not a converted copy, with `.5trit`; `.both`
    /// adds the packed rows; `.auto` and `.2bit` hold converted packed rows only. Every weight reads back as the
    /// I2_S file's.
    func testInPlaceHoldsTheFileBytesOnly() throws {
        try XCTSkipUnless(Trit5.tq1InPlace, "no vector form of the in-place TQ1_0 product on this CPU")
        let path = Fixtures.root + "/b158-tiny/model.tq1_0.gguf"
        let g = try GGUFFile(path: path)
        let tq1 = try load("model.tq1_0.gguf", .trit5), i2s = try load("model.i2_s.gguf", .packed2)
        let packed = try load("model.tq1_0.gguf", .packed2), auto = try load("model.tq1_0.gguf", .auto)
        let both = try load("model.tq1_0.gguf", .both)
        var linearBytes = 0, packedBytes = 0
        for (l, layer) in tq1.layers.enumerated() {
            for (i, (_, lin)) in layer.linears.enumerated() {
                guard case .ternary(let t) = lin, case .ternary(let a) = i2s.layers[l].linears[i].linear else {
                    return XCTFail("not ternary")
                }
                XCTAssertEqual(t.byteCount, t.rows * t.cols / 256 * 54)
                linearBytes += t.byteCount
                packedBytes += a.byteCount
                // the codes are a TQ1_0 tensor's bytes in the model's mapping of the file
                guard let f = t.owner as? MappedFile, let base = f.base else { return XCTFail("not mapped") }
                let at = UnsafeRawPointer(t.codes) - base
                let inFile = g.tensors.contains { $0.type == .tq1_0 && $0.offset == at && $0.byteSize == t.byteCount }
                XCTAssertTrue(inFile, "layer \(l) linear \(i): codes are not the file's bytes")
                for r in stride(from: 0, to: t.rows, by: 5) {
                    for k in 0..<t.cols where t.value(row: r, col: k) != a.value(row: r, col: k) {
                        return XCTFail("layer \(l) linear \(i) (\(r), \(k))")
                    }
                }
                XCTAssertEqual(t.packedPrefix(1 << 12), a.packedPrefix(1 << 12))
            }
        }
        // bytes held: the other weights are the same in every layout
        XCTAssertEqual(tq1.weightBytes - linearBytes, i2s.weightBytes - packedBytes)
        XCTAssertEqual(packed.weightBytes, i2s.weightBytes)
        XCTAssertEqual(auto.weightBytes, i2s.weightBytes)
        XCTAssertEqual(both.weightBytes, tq1.weightBytes + packedBytes)
        XCTAssertLessThan(tq1.weightBytes, i2s.weightBytes)
        XCTAssertEqual(tq1.bytesPerDecodedToken - linearBytes, i2s.bytesPerDecodedToken - packedBytes)
        for t in ternaries(packed) + ternaries(auto) { XCTAssertFalse(t.isTQ1 || t.isTrit5 || t.isMapped) }
    }

    // MARK: hostile and unusual tensors

    func tensor(_ bytes: [UInt8], rows: Int, cols: Int) throws -> RawTensor {
        let path = NSTemporaryDirectory() + "trit-tq1-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let f = try MappedFile(path: path)
        return RawTensor(name: "w", origin: "test", shape: [cols, rows], encoding: .ggml(.tq1_0),
                         bytes: try f.bytes(0, bytes.count, what: "w"), file: f)
    }

    func blocks(_ rows: Int, _ cols: Int, scale: Float) -> [UInt8] {
        var rng = Xoshiro256(seed: 5)
        var bytes = [UInt8](repeating: 0, count: rows * cols / 256 * 54)
        bytes.withUnsafeMutableBytes { out in
            TernaryEncoding.encode(.tq1_0, rows: rows, cols: cols, scale: scale, source: { _, v in
                for k in 0..<cols { v[k] = Int8(Int(rng.next() % 3) - 1) }
            }, into: out)
        }
        return bytes
    }

    func setScale(_ b: inout [UInt8], block: Int, _ d: Float) {
        let h = tk_f32_to_f16(d)
        b[block * 54 + 52] = UInt8(h & 0xFF); b[block * 54 + 53] = UInt8(h >> 8)
    }

    func testTruncatedTensorIsAClearError() throws {
        let b = blocks(3, 512, scale: 0.5)
        let short = try tensor(Array(b.dropLast(10)), rows: 3, cols: 512)
        XCTAssertThrowsError(try TensorConversion.ternary(short, rows: 3, cols: 512, floats: .exactOrAbsmean)) { e in
            XCTAssertTrue("\(e)".contains("truncated") && "\(e)".contains("w"), "\(e)")
        }
        // a file cut short: the GGUF reader names the tensor that runs past the end
        let path = Fixtures.root + "/b158-tiny/model.tq1_0.gguf"
        let all = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let cut = NSTemporaryDirectory() + "trit-tq1-cut-\(getpid()).gguf"
        try Data(all.prefix(all.count - 4096)).write(to: URL(fileURLWithPath: cut))
        defer { unlink(cut) }
        XCTAssertThrowsError(try Model.load(path: cut)) { e in
            XCTAssertTrue("\(e)".contains("truncated"), "\(e)")
        }
        // rows that are not whole 256-blocks: refused by name (ggml's TQ1_0 has no such rows)
        let odd = try tensor(b, rows: 6, cols: 256 + 128)
        XCTAssertThrowsError(try TensorConversion.ternary(odd, rows: 6, cols: 384, floats: .exactOrAbsmean)) { e in
            XCTAssertTrue("\(e)".contains("256"), "\(e)")
        }
    }

    /// In place only when the kernel's weights are the converted path's: one positive scale, or a zero scale
    /// over zero weights; a negative or different scale, or a zero scale over non-zero trits, is converted.
    func testScalesDecideInPlace() throws {
        let rows = 3, cols = 512
        let base = blocks(rows, cols, scale: 0.5)
        func load(_ b: [UInt8]) throws -> TernaryMatrix {
            try TensorConversion.ternary(try tensor(b, rows: rows, cols: cols), rows: rows, cols: cols, floats: .exactOrAbsmean)
        }
        XCTAssertTrue(try load(base).isTQ1)
        var zeroBlock = base
        // an all-zero block as ggml writes it: every trit 1 (v = 121 → byte ceil(121·256/243) = 128; qh: 40·3 → 127)
        for i in 0..<48 { zeroBlock[2 * 54 + i] = 128 }
        for i in 48..<52 { zeroBlock[2 * 54 + i] = 127 }
        setScale(&zeroBlock, block: 2, 0)
        let z = try load(zeroBlock)
        XCTAssertTrue(z.isTQ1)
        for k in 0..<256 { XCTAssertEqual(z.value(row: 1, col: k), 0) }
        var zeroScale = base
        setScale(&zeroScale, block: 2, 0)
        let zs = try load(zeroScale)
        XCTAssertFalse(zs.isTQ1)
        for k in 0..<256 { XCTAssertEqual(zs.value(row: 1, col: k), 0) }   // the converted path zeroes the block
        var negative = base
        setScale(&negative, block: 1, -0.5)
        let n = try load(negative), p = try load(base)
        XCTAssertFalse(n.isTQ1)
        for k in 0..<256 { XCTAssertEqual(n.value(row: 0, col: 256 + k), -p.value(row: 0, col: 256 + k)) }
        var nan = base
        nan[3 * 54 + 52] = 0x00; nan[3 * 54 + 53] = 0x7E
        XCTAssertThrowsError(try load(nan)) { e in XCTAssertTrue("\(e)".contains("block 3"), "\(e)") }
    }
}
