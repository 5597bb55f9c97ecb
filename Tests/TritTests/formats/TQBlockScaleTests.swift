import Foundation
import TritKernels
import XCTest
@testable import Trit

/// TQ1_0 / TQ2_0 tensors whose 256-weight blocks carry different scales (TriLM-style files) load
/// through the group kernels instead of being refused; tensors with one scale keep the ternary kernels.
final class TQBlockScaleTests: XCTestCase {
    /// A copy of a fixture file where, in every linear tensor of `type`, every other block's fp16 scale
    /// is one unit in the last place larger: blocks differ, the function moves by about 1e-3 relative
    /// in half the blocks (the edited weights are t·d', exactly as stored).
    func bumped(_ relative: String, type: GGMLType, blockBytes: Int) throws -> String {
        let path = Fixtures.root + "/" + relative
        let g = try GGUFFile(path: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var edited = 0
        for t in g.tensors where t.type == type {
            let n = (t.byteSize ?? 0) / blockBytes
            for b in stride(from: 1, to: n, by: 2) {
                let o = t.offset + b * blockBytes + blockBytes - 2
                let bits = UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
                guard bits & 0x7FFF != 0 else { continue }
                let up = bits &+ 1
                bytes[o] = UInt8(up & 0xFF); bytes[o + 1] = UInt8(up >> 8)
            }
            edited += 1
        }
        XCTAssertEqual(edited, 7 * 4, "every linear of the 4-layer fixture")
        let out = NSTemporaryDirectory() + "trit-tq-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: out))
        addTeardownBlock { unlink(out) }
        return out
    }

    /// Max |Δlogit| against transformers' reference over the prompt, the greedy tokens matched, and
    /// whether the argmax equals the reference's wherever its top-2 margin is ≥ 0.2.
    func compare(_ path: String, kernel: String, groupKernels: Bool = false) throws -> (Float, Int, Bool) {
        let ref = try Fixtures.reference("b158-tiny/reference.json")
        let model = try GGUFModelLoader.load(try GGUFFile(path: path), tqOnGroupKernels: groupKernels)
        let vocab = model.config.vocabSize
        let state = try InferenceState(model: model, nCtx: 128, nThreads: 2, kernel: kernel)
        var logits = [Float](repeating: 0, count: ref.tokens.count * vocab)
        try logits.withUnsafeMutableBufferPointer { try state.evaluate(ref.tokens, allLogits: $0.baseAddress) }
        let (maxAbs, argmaxOK) = Fixtures.compare(logits, ref, vocab: vocab)
        return (maxAbs, try Fixtures.greedyMatch(state, ref), argmaxOK)
    }

    /// The group kernels on the unedited BitNet fixtures (one scale a tensor, forced onto the TriLM
    /// path): transformers' logits within the strict tier of the ternary kernels.
    func testGroupKernelsMatchTheReferenceOnTQFiles() throws {
        for file in ["b158-tiny/model.tq2_0.gguf", "b158-tiny/model.tq1_0.gguf"] {
            let m = try GGUFModelLoader.load(try GGUFFile(path: Fixtures.root + "/" + file), tqOnGroupKernels: true)
            guard case .grouped? = m.layers[0].linear(.down) else { return XCTFail("\(file): group kernels expected") }
            for kernel in variantsUnderTest() {
                let (d, match, _) = try compare(Fixtures.root + "/" + file, kernel: kernel, groupKernels: true)
                print("\(file) on the group kernels [\(kernel)]: max |Δlogit| \(d), greedy \(match)/32")
                XCTAssertLessThanOrEqual(d, FixtureLogitsTests.measured, "\(file) [\(kernel)]")
                XCTAssertEqual(match, 32, "\(file) [\(kernel)]")
            }
        }
    }

    func testDifferentBlockScalesRunOnTheGroupKernels() throws {
        for (file, type, bb) in [("b158-tiny/model.tq2_0.gguf", GGMLType.tq2_0, 66), ("b158-tiny/model.tq1_0.gguf", .tq1_0, 54)] {
            let plain = try Model.load(path: Fixtures.root + "/" + file)
            guard case .ternary? = plain.layers[0].linear(.q) else { return XCTFail("\(file): one scale a tensor keeps the ternary kernels") }
            let path = try bumped(file, type: type, blockBytes: bb)
            let m = try Model.load(path: path)
            for l in m.layers {
                for (_, lin) in l.linears {
                    guard case .grouped(let g) = lin else { return XCTFail("\(file): per-block scales need the group kernels") }
                    XCTAssertEqual(g.group, 128)
                }
            }
            XCTAssertTrue(m.fileType.contains("per-block scales"), m.fileType)
            for kernel in variantsUnderTest() {
                let (d, match, argmaxOK) = try compare(path, kernel: kernel)
                let (d0, _, _) = try compare(Fixtures.root + "/" + file, kernel: kernel)
                print("\(file) with per-block scales [\(kernel)]: max |Δlogit| \(d) (unedited \(d0)), greedy \(match)/32")
                // The edit changes the function by ~1e-3 in half the blocks; through 4 layers of per-token
                // int8 activations that flips roundings, so the fixture README's flip tier applies (≤ 0.1,
                // argmax equal where the reference's margin is ≥ 0.2). A decoding error (a code, a half, the scale of
                // another block) misses by the logits' own size (std ~0.3; code 3 read as +1: 0.38).
                XCTAssertLessThanOrEqual(d, FixtureLogitsTests.flip, "\(file) [\(kernel)]")
                XCTAssertGreaterThan(d, d0, "\(file): the edit must be visible, or the test checks nothing")
                XCTAssertTrue(argmaxOK, "\(file) [\(kernel)]: argmax differs where the margin is ≥ 0.2")
            }
        }
    }

    /// `bytes` as a mapped tensor of `type` (rows × cols).
    func tensor(_ bytes: [UInt8], _ type: GGMLType, rows: Int, cols: Int) throws -> RawTensor {
        let path = NSTemporaryDirectory() + "trit-tq-t-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let f = try MappedFile(path: path)
        return RawTensor(name: "w", origin: "test", shape: [cols, rows], encoding: .ggml(type), bytes: try f.bytes(0, bytes.count, what: "w"), file: f)
    }

    /// Hand-built blocks: the converted 128-groups hold t + 1 for every weight of the 256-block and
    /// the block's own scale (read back from the kernels' tiles).
    func testConversionKeepsEveryWeightAndItsBlockScale() throws {
        var rng = Xoshiro256(seed: 77)
        for type in [GGMLType.tq2_0, .tq1_0] {
            let rows = 3, cols = 512
            let bb = type == .tq2_0 ? 66 : 54
            let t = (0..<(rows * cols)).map { _ in Int8(Int(rng.next() % 3) - 1) }
            let enc: TernaryFileType = type == .tq2_0 ? .tq2_0 : .tq1_0
            var bytes = [UInt8](repeating: 0, count: try enc.byteSize(rows: rows, cols: cols))
            bytes.withUnsafeMutableBytes { out in
                TernaryEncoding.encode(enc, rows: rows, cols: cols, scale: 1, source: { r, v in
                    for k in 0..<cols { v[k] = t[r * cols + k] }
                }, into: out)
            }
            let scales: [Float] = [0.5, -0.25, 0.125, 2, 0.0625, 1.5]   // one a block, one negative
            for (b, s) in scales.enumerated() {
                let h = tk_f32_to_f16(s)
                bytes[b * bb + bb - 2] = UInt8(h & 0xFF); bytes[b * bb + bb - 1] = UInt8(h >> 8)
            }
            let raw = try GroupScaled.fromTQ(try tensor(bytes, type, rows: rows, cols: cols), type: type, rows: rows, cols: cols)
            // a non-finite block scale is refused, naming the block
            var bad = bytes
            bad[3 * bb + bb - 2] = 0x00; bad[3 * bb + bb - 1] = 0x7E   // fp16 NaN in block 3
            let badTensor = try tensor(bad, type, rows: rows, cols: cols)
            XCTAssertThrowsError(try GroupScaled.fromTQ(badTensor, type: type, rows: rows, cols: cols)) { e in
                XCTAssertTrue("\(e)".contains("block 3") && "\(e)".contains("finite"), "\(e)")
            }
            let ng = cols / 128
            for g in 0..<(rows * ng) {
                let r = g / ng, gi = g % ng
                XCTAssertEqual(raw.scale(row: r, group: gi), scales[g / 2], "\(type) group \(g)")
                let c = (0..<128).map { Int8(raw.code(row: r, col: gi * 128 + $0)) }
                XCTAssertEqual(c, Array(t[(g * 128)..<(g * 128 + 128)]), "\(type) group \(g)")
            }
        }
    }
}
