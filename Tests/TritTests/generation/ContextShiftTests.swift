import XCTest
import TritKernels
@testable import Trit

/// Context shift: the kept positions' keys are re-rotated to their new positions. In a one-layer
/// model every cached key and value depends only on its token and position, so after a shift the
/// next logits must equal those of evaluating the kept tokens afresh; in a deeper model the first
/// layer's cache must.
final class ContextShiftTests: XCTestCase {
    static let oneLayer: Model = {
        // float activations (dense F16 linears), so nothing but the cache's arithmetic can differ
        let shape = Synth.Shape(name: "one-layer", dim: 256, ffn: 512, layers: 1, heads: 4, kvHeads: 2, vocab: 300, ctx: 512,
                                arch: "bitnet-b1.58")
        let path = NSTemporaryDirectory() + "trit-shift-\(getpid()).gguf"
        try! Synth.write(shape, type: .f16, to: path, seed: 7)
        defer { unlink(path) }
        return try! Model.load(path: path)
    }()

    let tokens: [Int32] = (0..<60).map { Int32(($0 * 37 + 11) % 290) }

    func next(_ s: InferenceState, _ t: Int32) throws -> [Float] {
        try s.evaluate([t])
        return Array(s.lastLogits)
    }

    func testShiftEqualsFreshEvaluationInAOneLayerModel() throws {
        let m = Self.oneLayer
        let keep = 5, discard = 23
        let kept = Array(tokens[0..<keep] + tokens[(keep + discard)...])
        var freshF32: [Float] = []
        for type in KVCacheType.allCases {
            let shifted = try InferenceState(model: m, nCtx: 64, kvType: type)
            try shifted.evaluate(tokens)
            try shifted.shift(keep: keep, discard: discard)
            XCTAssertEqual(shifted.nPast, tokens.count - discard)
            XCTAssertEqual(shifted.tokens, kept)
            let a = try next(shifted, 99)
            let fresh = try InferenceState(model: m, nCtx: 64, kvType: type)
            try fresh.evaluate(kept)
            let b = try next(fresh, 99)
            if type == .f32 { freshF32 = b }
            let d = maxDiff(a, b)
            // the type's own rounding, for scale: its fresh logits against the F32 cache's
            let own = maxDiff(b, freshF32)
            print("shift \(type.name): max |Δlogit| shifted vs fresh = \(d) (the \(type.name) cache itself moves them \(own))")
            XCTAssertLessThanOrEqual(d, type == .f32 ? 2e-5 : 2 * own + 2e-5, type.name)
            // and the test can see a wrong rotation: the keys moved without re-rotating
            if type == .f32 {
                let wrong = try InferenceState(model: m, nCtx: 64, kvType: type)
                try wrong.evaluate(tokens)
                let saved = wrong.invFreq
                wrong.invFreq = [Float](repeating: 0, count: saved.count)
                try wrong.shift(keep: keep, discard: discard)
                wrong.invFreq = saved
                XCTAssertGreaterThan(maxDiff(try next(wrong, 99), b), 100 * max(d, 1e-6), "an unrotated shift is visible")
            }
        }
    }

    /// A deep model (the b158 fixture): the first layer's keys after a shift are the fresh ones.
    func testFirstLayerKeysAfterAShiftAreTheFreshOnes() throws {
        let m = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        let c = m.config
        let keep = 3, discard = 17
        let s = try InferenceState(model: m, nCtx: 64)
        try s.evaluate(tokens.map { $0 % Int32(c.vocabSize) })
        try s.shift(keep: keep, discard: discard)
        let fresh = try InferenceState(model: m, nCtx: 64)
        try fresh.evaluate(s.tokens)
        var worst: Float = 0, a = [Float](repeating: 0, count: c.headDim), b = a
        for h in 0..<c.nKVHeads {
            for p in 0..<s.nPast {
                tk_kv_load(0, s.kv.keys(sequence: 0, layer: 0) + (h * 64 + p) * s.kv.keyHeadBytes, 1, Int64(c.headDim), &a)
                tk_kv_load(0, fresh.kv.keys(sequence: 0, layer: 0) + (h * 64 + p) * s.kv.keyHeadBytes, 1, Int64(c.headDim), &b)
                worst = max(worst, maxDiff(a, b))
            }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5)
    }

    func testBadShiftsAreRefusedAndChangeNothing() throws {
        let s = try InferenceState(model: Self.oneLayer, nCtx: 64)
        try s.evaluate(Array(tokens[0..<10]))
        for (k, d) in [(-1, 2), (2, -1), (5, 6), (11, 0)] {
            XCTAssertThrowsError(try s.shift(keep: k, discard: d)) { e in XCTAssertEqual((e as? TritError)?.kind, .argument, "\(e)") }
            XCTAssertEqual(s.nPast, 10)
        }
        try s.shift(keep: 10, discard: 0)
        XCTAssertEqual(s.tokens, Array(tokens[0..<10]))
    }

    func testGenerationGoesOnPastAFullContext() throws {
        let m = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        var g = GenerationParams()
        g.maxTokens = 60
        g.sampling = .greedy
        g.ignoreEOS = true
        let prompt = Array(tokens[0..<10])
        let plain = try InferenceState(model: m, nCtx: 32)
        let r0 = try plain.generate(prompt: prompt, params: g)
        XCTAssertEqual(r0.stopReason, .contextFull)
        XCTAssertEqual(r0.tokens.count, 22)
        g.contextShift = true
        g.nKeep = 4
        let s = try InferenceState(model: m, nCtx: 32)
        let r = try s.generate(prompt: prompt, params: g)
        XCTAssertEqual(r.stopReason, .maxTokens)
        XCTAssertEqual(r.tokens.count, 60)
        XCTAssertEqual(Array(r.tokens.prefix(22)), r0.tokens, "the same text up to the first shift")
        XCTAssertEqual(Array(s.tokens.prefix(4)), Array(prompt.prefix(4)), "the first n_keep positions stay")
        XCTAssertEqual(Array(s.tokens.suffix(5)), Array(r.tokens.suffix(5)))
        g.nKeep = -1
        XCTAssertThrowsError(try s.generate(prompt: [1], params: g))
    }
}
