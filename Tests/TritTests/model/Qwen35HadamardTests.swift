import XCTest
@testable import Trit

/// Hadamard-folded weights (`prism.hadamard.*`): the folded PQ2_0 file equals its unfolded F32 twin
/// (W = W_file·H·diag(s)) when each listed weight's input becomes H·(s ⊙ x); bad keys are refused naming
/// the key (Tests/Fixtures/qwen35-ternary-g128-tiny/hadamard, scripts/make_qwen35_hadamard_fixture.py).
final class Qwen35HadamardTests: XCTestCase {
    static let dir = Fixtures.root + "/qwen35-ternary-g128-tiny/hadamard"
    let tokens: [Int32] = (0..<40).map { Int32(($0 * 37 + 11) % 1000) }

    func logits(_ file: String, floatActivations: Bool, kernel: String? = nil) throws -> [Float] {
        var o = Model.LoadOptions()
        o.floatActivations = floatActivations
        let m = try Model.load(path: Self.dir + "/" + file, options: o)
        let s = try InferenceState(model: m, nCtx: 64, nThreads: 2, maxBatch: 16, kernel: kernel)
        var out = [Float](repeating: 0, count: tokens.count * m.config.vocabSize)
        try out.withUnsafeMutableBufferPointer { try s.evaluate(tokens, allLogits: $0.baseAddress) }
        return out
    }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    func testFoldedFileEqualsItsUnfoldedTwin() throws {
        let folded = try Model.load(path: Self.dir + "/model.pq2_0.gguf")
        XCTAssertEqual(folded.hadamard?.blockSize, 128)
        XCTAssertEqual(folded.hadamard?.weightNames.count, 26)
        for k in variantsUnderTest() {
            let twin = try logits("model.twin.f32.gguf", floatActivations: true, kernel: k)
            let f = try logits("model.pq2_0.gguf", floatActivations: true, kernel: k)
            let q = try logits("model.pq2_0.gguf", floatActivations: false, kernel: k)
            print("hadamard [\(k)]: folded vs twin \(maxDiff(f, twin)) (float), \(maxDiff(q, twin)) (int8 activations)")
            XCTAssertLessThanOrEqual(maxDiff(f, twin), 1e-5, k)
            // int8 activations: the rounding these random DeltaNet layers amplify (0.22 from fp32 on the
            // unfolded fixture); measured 0.107-0.112
            XCTAssertLessThanOrEqual(maxDiff(q, twin), 0.15, k)
        }
        // without the transform the folded file is another function: the check above can fail
        var o = Model.LoadOptions()
        o.floatActivations = true
        let m = try Model.load(path: Self.dir + "/model.pq2_0.gguf", options: o)
        m.hadamard = nil
        let s = try InferenceState(model: m, nCtx: 64)
        try s.evaluate(tokens)
        let twin = try logits("model.twin.f32.gguf", floatActivations: true)
        let last = Array(twin[((tokens.count - 1) * m.config.vocabSize)...])
        XCTAssertGreaterThan(maxDiff(Array(s.lastLogits), last), 0.2)
    }

    /// The fixture's folded file rewritten with some `prism.hadamard.*` keys changed (nil: removed).
    func refusal(_ keys: [String: GGUFValue?]) throws -> String {
        let g = try GGUFFile(path: Self.dir + "/model.pq2_0.gguf")
        let w = GGUFWriter()
        for k in g.metadataOrder where keys[k] == nil { w.set(k, g.metadata[k]!) }
        for (k, v) in keys { if let v { w.set(k, v) } }
        for t in g.tensors {
            let bytes = try g.data(of: t)
            w.addTensor(t.name, shape: t.shape, typeID: t.typeID, byteSize: bytes.count) { $0.copyMemory(from: bytes) }
        }
        let path = NSTemporaryDirectory() + "trit-hadamard-bad-\(getpid())-\(UUID().uuidString).gguf"
        try w.write(to: path)
        defer { unlink(path) }
        do { _ = try Model.load(path: path); return "loaded" } catch let e as TritError { return e.message }
    }

    func testBadKeysAreRefusedNamingTheKey() throws {
        let p = "prism.hadamard."
        let g = try GGUFFile(path: Self.dir + "/model.pq2_0.gguf")
        guard case .ints(let signs, _)? = g.metadata[p + "sign_values"]?.array,
              case .strings(let names)? = g.metadata[p + "weight_names"]?.array else { return XCTFail("fixture keys") }
        let cases: [(String, [String: GGUFValue?], [String])] = [
            ("version", [p + "version": .u32(2)], [p + "version", "not supported"]),
            ("block size", [p + "block_size": .u32(96)], [p + "block_size"]),
            ("block size not dividing", [p + "block_size": .u32(256)], [p + "block_size", "does not divide"]),
            ("short signs", [p + "sign_values": .array(.ints(Array(signs.dropLast()), type: 5))], [p + "sign_values"]),
            ("a zero sign", [p + "sign_values": .array(.ints([0] + Array(signs.dropFirst()), type: 5))],
             [p + "sign_values[0]", "not ±1"]),
            ("missing weight", [p + "weight_names": .array(.strings(names + ["blk.9.attn_q.weight"]))],
             ["blk.9.attn_q.weight"]),
            ("head", [p + "weight_names": .array(.strings(names + ["output.weight"]))], ["output.weight"]),
            ("transform", [p + "transform": .string("dct")], [p + "transform"]),
            ("axis", [p + "axis": .string("output")], [p + "axis"]),
            ("sign mode", [p + "sign_mode": .string("random")], [p + "sign_mode"]),
            ("gdn_v_grouped", [p + "gdn_v_grouped": .bool(true)], [p + "gdn_v_grouped"]),
            ("unknown key", [p + "rotation": .u32(1)], [p + "rotation"]),
            ("no block size", [p + "block_size": nil], [p + "block_size", "missing"]),
        ]
        for (what, keys, needles) in cases {
            let msg = try refusal(keys)
            XCTAssertTrue(needles.allSatisfy { msg.contains($0) }, "\(what): \(msg)")
        }
        // q, k, v folded differently: refused (they share one input)
        let noQ = names.filter { $0 != "blk.1.attn_q.weight" }
        let msg = try refusal([p + "weight_names": .array(.strings(noQ))])
        XCTAssertTrue(msg.contains("layer 1") && msg.contains("q, k, v"), msg)
    }

    /// A latent token embedding (`inverse_weight_names`): the folded file with token_embd stored as
    /// z = H·(s ⊙ e) per row (F32) gives the folded file's logits: each looked-up row is unfolded.
    func testLatentEmbeddingIsUnfolded() throws {
        let src = Self.dir + "/model.pq2_0.gguf"
        let g = try GGUFFile(path: src)
        var o = Model.LoadOptions()
        o.floatActivations = true
        let m = try Model.load(path: src, options: o)
        let h = try XCTUnwrap(m.hadamard)
        let (vocab, dim) = (m.config.vocabSize, m.config.dim)
        var latent = [Float](repeating: 0, count: vocab * dim)
        latent.withUnsafeMutableBufferPointer { p in
            for r in 0..<vocab { m.tokenEmbedding.row(r, into: p.baseAddress! + r * dim) }
            h.fold(p.baseAddress!, width: dim, n: vocab)
        }
        let w = GGUFWriter()
        for k in g.metadataOrder { w.set(k, g.metadata[k]!) }
        w.set("prism.hadamard.inverse_weight_names", .array(.strings(["token_embd.weight"])))
        for t in g.tensors where t.name != "token_embd.weight" {
            let bytes = try g.data(of: t)
            w.addTensor(t.name, shape: t.shape, typeID: t.typeID, byteSize: bytes.count) { $0.copyMemory(from: bytes) }
        }
        w.addTensor("token_embd.weight", shape: [dim, vocab], typeID: 0, byteSize: vocab * dim * 4) { out in
            latent.withUnsafeBytes { out.copyMemory(from: $0) }
        }
        let path = NSTemporaryDirectory() + "trit-hadamard-latent-\(getpid()).gguf"
        try w.write(to: path)
        defer { unlink(path) }
        let lm = try Model.load(path: path, options: o)
        XCTAssertTrue(lm.foldedEmbedding)
        let a = try InferenceState(model: m, nCtx: 64), b = try InferenceState(model: lm, nCtx: 64)
        try a.evaluate(tokens); try b.evaluate(tokens)
        XCTAssertLessThanOrEqual(maxDiff(Array(a.lastLogits), Array(b.lastLogits)), 1e-5)
        lm.foldedEmbedding = false   // read as stored, the latent rows are other vectors
        let c = try InferenceState(model: lm, nCtx: 64)
        try c.evaluate(tokens)
        XCTAssertGreaterThan(maxDiff(Array(a.lastLogits), Array(c.lastLogits)), 0.05)
    }

    /// H is orthonormal and its own inverse: unfold(fold(x)) gives x back (identity signs).
    func testTransformIsItsOwnInverse() {
        let h = HadamardFolding(blockSize: 8, signs: [16: (0..<16).map { $0 % 3 == 0 ? -1 : 1 }], weightNames: [],
                                inverseWeightNames: [])
        var x: [Float] = (0..<16).map { Float($0) * 0.25 - 1 }
        let x0 = x
        x.withUnsafeMutableBufferPointer { h.fold($0.baseAddress!, width: 16, n: 1) }
        XCTAssertEqual(x.map { $0 * $0 }.reduce(0, +), x0.map { $0 * $0 }.reduce(0, +), accuracy: 1e-4)
        // H(s ⊙ x) then s ⊙ H(·) is the identity
        x.withUnsafeMutableBufferPointer { h.unfold($0.baseAddress!, width: 16) }
        for i in 0..<16 { XCTAssertEqual(x[i], x0[i], accuracy: 1e-5) }
    }
}
