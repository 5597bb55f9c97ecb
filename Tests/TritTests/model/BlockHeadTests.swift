import Foundation
import XCTest
import TritKernels
@testable import Trit

/// A head / token embedding in ggml's block types (docs/formats.md §10) read in place: the same logits as the
/// same file with the head decoded to an F32 copy at load (the former path), less memory, the certified head
/// still giving exact mode's tokens, and the writers (synth, export) producing such files.
final class BlockHeadTests: XCTestCase {
    static let blockTypes: [HeadFileType] = [.q6_K, .q5_K, .q4_K, .q8_0, .q4_0]

    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "trit-blockhead-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func load(_ path: String, inPlace: Bool, head: Model.HeadMode = .exact) throws -> Model {
        var o = Model.LoadOptions()
        o.headBlocksInPlace = inPlace
        o.head = head
        return try Model.load(path: path, options: o)
    }

    func logits(_ m: Model, _ tokens: [Int32], kernel: String) throws -> [Float] {
        let s = try InferenceState(model: m, nCtx: 32, kernel: kernel)
        var out = [Float](repeating: 0, count: tokens.count * m.config.vocabSize)
        try out.withUnsafeMutableBufferPointer { try s.evaluate(tokens, allLogits: $0.baseAddress) }
        return out
    }

    /// In place vs the F32 copy: the weights are the same f32 values (the decoders are exact, checked against
    /// gguf-py) and so is the embedding row, hence the hidden state; only the head's sum of K = dim products may
    /// be taken in another order (the scalar twin, AVX-512's 16 lanes), off by at most ~K·2⁻²⁴·Σ|w·x|
    /// (≈ 1.5e-5·Σ|w·x| for K = 256): 1e-4 of the largest logit holds that with room. On AVX2 the block
    /// kernel runs the dense kernel's own chain and reduction: bit for bit.
    func assertSameLogits(_ a: [Float], _ b: [Float], kernel: String, _ what: String,
                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count)
        let scale = max(1, b.map(abs).max() ?? 0)
        var worst: Float = 0
        for i in 0..<min(a.count, b.count) { worst = max(worst, abs(a[i] - b[i])) }
        XCTAssertTrue(a.allSatisfy(\.isFinite), what, file: file, line: line)
        if kernel == "avx2" {
            XCTAssertEqual(worst, 0, "\(what) \(kernel): bit for bit", file: file, line: line)
        } else {
            XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(what) \(kernel)", file: file, line: line)
        }
    }

    /// Every block type: a block written from floats decodes within a fraction of its step (a wrong bit
    /// layout is off by the whole range).
    func testQuantizersRoundTrip() {
        var rng = Xoshiro256(seed: 5)
        let n = 512
        var x = [Float](repeating: 0, count: n), y = [Float](repeating: 0, count: n)
        for i in 0..<n { x[i] = Float((rng.nextUnit() + rng.nextUnit() + rng.nextUnit() - 1.5) * 0.05) }
        x[7] = 0.3; x[300] = -0.25
        let amax = x.map(abs).max()!
        let bound: [HeadFileType: Float] = [.q8_0: 0.005, .q6_K: 0.03, .q5_K: 0.05, .q4_K: 0.1, .q4_0: 0.1]
        for t in Self.blockTypes {
            var blocks = [UInt8](repeating: 0, count: t.rowBytes(cols: n))
            x.withUnsafeBufferPointer { xp in
                blocks.withUnsafeMutableBytes { t.encodeRow(xp.baseAddress!, cols: n, into: $0.baseAddress!) }
            }
            blocks.withUnsafeBytes { tk_block_rows_to_f32($0.baseAddress, t.blockType!, Int64(n), 0, 1, &y) }
            var worst: Float = 0
            for i in 0..<n { worst = max(worst, abs(x[i] - y[i])) }
            XCTAssertLessThan(worst, bound[t]! * amax, "\(t.rawValue)")
            XCTAssertGreaterThan(worst, 0, "\(t.rawValue) is lossy")
        }
        // all zeros and a NaN: valid blocks, no trap
        var z = [Float](repeating: 0, count: 256)
        z[3] = .nan
        for t in Self.blockTypes {
            var blocks = [UInt8](repeating: 0, count: t.rowBytes(cols: 256))
            z.withUnsafeBufferPointer { zp in
                blocks.withUnsafeMutableBytes { t.encodeRow(zp.baseAddress!, cols: 256, into: $0.baseAddress!) }
            }
        }
    }

    /// The tied embedding/head in each block type: the same logits in place as with the F32 copy, in every
    /// kernel variant, the embedding rows equal, and the model smaller by the copy.
    func testBlockHeadGivesTheLogitsOfItsF32Copy() throws {
        let tokens: [Int32] = [256, 72, 101, 108, 108, 111, 44, 32, 1000, 7]
        for t in Self.blockTypes {
            let path = dir + "/\(t.rawValue).gguf"
            try Synth.write(Synth.preset("tiny")!, type: .i2s, to: path, head: t)
            let inPlace = try load(path, inPlace: true), copy = try load(path, inPlace: false)
            XCTAssertEqual(inPlace.output.dtype, t.blockType!)
            XCTAssertEqual(copy.output.dtype, TK_F32)
            XCTAssertTrue(inPlace.output === inPlace.tokenEmbedding, "tied")
            let headBytes = inPlace.output.byteCount, copyBytes = copy.output.byteCount
            XCTAssertEqual(headBytes, 1024 * t.rowBytes(cols: 256))
            XCTAssertEqual(copy.weightBytes - inPlace.weightBytes, copyBytes - headBytes)
            print("\(t.rawValue) head 1024 x 256: \(headBytes) bytes in place, \(copyBytes) as the F32 copy")
            var a = [Float](repeating: 0, count: 256), b = a
            for r in [0, 1, 511, 1023] {
                inPlace.tokenEmbedding.row(r, into: &a)
                copy.tokenEmbedding.row(r, into: &b)
                XCTAssertEqual(a, b, "\(t.rawValue) embedding row \(r)")
            }
            for name in variantsUnderTest() {
                assertSameLogits(try logits(inPlace, tokens, kernel: name), try logits(copy, tokens, kernel: name),
                                 kernel: name, t.rawValue)
            }
        }
    }

    /// An untied head (llama-ternary-tiny's lm_head) exported as Q6_K and Q8_0: the head in place gives the
    /// logits of its F32 copy; the same model exported with the head as F32 (the dequantized weights in the file)
    /// gives them too; and exporting the block file again keeps its blocks byte for byte.
    func testUntiedHeadAndExport() throws {
        let src = try Model.load(path: Fixtures.root + "/llama-ternary-tiny/hf")
        XCTAssertFalse(src.config.tiedEmbeddings)
        let tokens: [Int32] = [1, 450, 996, 354, 701, 916, 432]
        for t in [HeadFileType.q6_K, .q8_0] {
            let path = dir + "/untied-\(t.rawValue).gguf"
            try ModelExport.write(src, to: path, linears: .i2s, head: t)
            let inPlace = try load(path, inPlace: true), copy = try load(path, inPlace: false)
            XCTAssertEqual(inPlace.output.dtype, t.blockType!)
            XCTAssertEqual(inPlace.tokenEmbedding.dtype, t.blockType!)
            XCTAssertFalse(inPlace.output === inPlace.tokenEmbedding)
            let f32Path = dir + "/untied-\(t.rawValue)-f32.gguf"
            try ModelExport.write(inPlace, to: f32Path, linears: .i2s, head: .f32)
            let f32 = try Model.load(path: f32Path)
            XCTAssertEqual(f32.output.dtype, TK_F32)
            for name in variantsUnderTest() {
                let l = try logits(inPlace, tokens, kernel: name)
                assertSameLogits(l, try logits(copy, tokens, kernel: name), kernel: name, "\(t.rawValue) copy")
                assertSameLogits(l, try logits(f32, tokens, kernel: name), kernel: name, "\(t.rawValue) F32 file")
            }
            let again = dir + "/untied-\(t.rawValue)-again.gguf"
            try ModelExport.write(inPlace, to: again, linears: .i2s)
            let back = try load(again, inPlace: true)
            XCTAssertEqual(back.output.dtype, t.blockType!)
            XCTAssertEqual(memcmp(back.output.data, inPlace.output.data, inPlace.output.byteCount), 0)
            let e = inPlace.tokenEmbedding
            XCTAssertEqual(memcmp(back.tokenEmbedding.data, e.data, e.byteCount), 0)
        }
    }

    /// The certified head on a block head: exact mode's tokens (greedy and sampled chains), greedy tokens all
    /// certified, and the same counters as the certified head on the F32 copy (the same bounds: the int8 head and
    /// the row bounds are made from the same f32 values); the int8 head loads from the blocks as well.
    func testCertifiedHeadStaysExactOnABlockHead() throws {
        for t in [HeadFileType.q6_K, .q4_K] {
            let path = dir + "/cert-\(t.rawValue).gguf"
            try Synth.write(Synth.preset("tiny")!, type: .i2s, to: path, seed: 3, head: t)
            let exact = try load(path, inPlace: true), cert = try load(path, inPlace: true, head: .certified)
            let certCopy = try load(path, inPlace: false, head: .certified)
            let int8 = try load(path, inPlace: true, head: .int8)
            XCTAssertEqual(cert.output.dtype, t.blockType!)
            for name in variantsUnderTest() {
                for (label, sp, _) in CertifiedHeadTests.chains(vocab: exact.config.vocabSize) {
                    var p = GenerationParams()
                    p.maxTokens = 48
                    p.ignoreEOS = true
                    p.sampling = sp
                    let ids: [Int32] = [256, 72, 101]
                    let a = try InferenceState(model: exact, nCtx: 64, kernel: name).generate(prompt: ids, params: p)
                    let st = try InferenceState(model: cert, nCtx: 64, kernel: name)
                    let b = try st.generate(prompt: ids, params: p)
                    XCTAssertEqual(b.tokens, a.tokens, "\(t.rawValue) \(name) \(label)")
                    let sc = try InferenceState(model: certCopy, nCtx: 64, kernel: name)
                    XCTAssertEqual(try sc.generate(prompt: ids, params: p).tokens, a.tokens, "\(name) \(label) copy")
                    let s = try XCTUnwrap(st.certifiedStats), c = try XCTUnwrap(sc.certifiedStats)
                    XCTAssertEqual([s.steps, s.fullSteps], [c.steps, c.fullSteps], "\(name) \(label)")
                    XCTAssertEqual(s.candidates, c.candidates, "\(name) \(label)")
                    if label == "greedy" { XCTAssertEqual(s.fullSteps, 0, "\(name): every greedy token certified") }
                }
                let s8 = try InferenceState(model: int8, nCtx: 16, kernel: name)
                try s8.evaluate([256, 72])
                XCTAssertTrue(s8.lastLogits.allSatisfy(\.isFinite))
            }
        }
    }
}
