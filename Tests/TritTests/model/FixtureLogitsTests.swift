import XCTest
@testable import Trit

/// The engine against Hugging Face transformers' logits and greedy tokens for every fixture
/// model and file format (tolerances: Tests/Fixtures/README.md, "RECOMMENDED TOLERANCE").
final class FixtureLogitsTests: XCTestCase {
    struct Result { let maxAbs: Float; let argmaxOK: Bool; let greedyMatch: Int; let greedyRequired: Int }

    /// Strict tier 1e-4; the flip tier (≤ 0.1 with argmax equal where the margin ≥ 0.2) is
    /// accepted only for the named online-quantized cases, where the README measured flips.
    static let strict: Float = 1e-4
    static let flip: Float = 0.1
    /// What trit measures on every strict-tier file in every kernel variant (at most 8.3e-7):
    /// asserted too, so the README's "within 1e-6" is a tested claim and a regression shows.
    static let measured: Float = 1e-6
    /// The same for the qwen3 files (float activations through 4 layers of dense products: 1.1-1.9e-6
    /// measured in every variant; the fixture README's own fp32 forward lands 1.0-1.4e-6 away).
    static let measuredQwen3: Float = 2.5e-6

    func run(_ modelPath: String, _ refPath: String, kernel: String? = nil, floatActivations: Bool = false) throws -> Result {
        let ref = try Fixtures.reference(refPath)
        var o = Model.LoadOptions()
        o.floatActivations = floatActivations
        let model = try Model.load(path: Fixtures.root + "/" + modelPath, options: o)
        let vocab = model.config.vocabSize
        XCTAssertEqual(vocab, ref.logits[0].count)

        // the prompt's tokens from our tokenizer equal the reference's
        let tok = try XCTUnwrap(model.tokenizer)
        XCTAssertEqual(Array(tok.encode(ref.text).prefix(ref.tokens.count)), ref.tokens, "\(modelPath): tokens")

        // all prompt positions in one call
        let state = try InferenceState(model: model, nCtx: 128, nThreads: 2, kernel: kernel)
        var logits = [Float](repeating: 0, count: ref.tokens.count * vocab)
        try logits.withUnsafeMutableBufferPointer { try state.evaluate(ref.tokens, allLogits: $0.baseAddress) }
        let (maxAbs, argmaxOK) = Fixtures.compare(logits, ref, vocab: vocab)

        // token-at-a-time evaluation gives the same last logits as the batched call
        let single = try InferenceState(model: model, nCtx: 128, nThreads: 1, kernel: kernel)
        for t in ref.tokens { try single.evaluate([t]) }
        let a = Array(state.lastLogits), b = Array(single.lastLogits)
        XCTAssertEqual(a.count, b.count)
        for j in 0..<a.count { XCTAssertEqual(a[j], b[j], accuracy: 1e-5, "\(modelPath): batched vs one-by-one at \(j)") }

        // greedy continuation with the KV cache
        let match = try Fixtures.greedyMatch(state, ref)
        let required = ref.margins.firstIndex(where: { $0 < 0.1 }) ?? ref.greedy.count
        return Result(maxAbs: maxAbs, argmaxOK: argmaxOK, greedyMatch: match, greedyRequired: required)
    }

    /// qwen3 files run with float activations here (the strict tier); `checkInt8` runs them with
    /// the group-scaled int8 kernels (the flip tier).
    func check(_ i: Int, kernel: String? = nil, allowFlip: Bool = false) throws {
        let qwen3 = Fixtures.cases[i].model.hasPrefix("qwen3")
        let measured = qwen3 ? Self.measuredQwen3 : Self.measured
        let (m, r) = Fixtures.cases[i]
        let res = try run(m, r, kernel: kernel, floatActivations: qwen3)
        print("fixture \(m) [\(kernel ?? "auto")]: max |Δlogit| = \(res.maxAbs), greedy match \(res.greedyMatch)/32 (required \(res.greedyRequired))")
        if allowFlip && res.maxAbs > Self.strict {
            XCTAssertLessThanOrEqual(res.maxAbs, Self.flip, m)
            XCTAssertTrue(res.argmaxOK, "\(m): argmax differs at a position with margin ≥ 0.2")
        } else {
            XCTAssertLessThanOrEqual(res.maxAbs, Self.strict, m)
            XCTAssertLessThanOrEqual(res.maxAbs, measured, "\(m) [\(kernel ?? "auto")]: above the measured bound")
        }
        XCTAssertGreaterThanOrEqual(res.greedyMatch, res.greedyRequired, m)
    }

    func testB158F32GGUF() throws { try check(0) }
    func testB158I2S() throws { try check(1) }
    func testB158TQ2() throws { try check(2) }
    func testB158TQ1() throws { try check(3) }
    func testB158HFBitLinear() throws { try check(4) }
    func testB158HFAutoBitLinear() throws { try check(5) }
    func testB158HFBF16Online() throws { try check(6, allowFlip: true) }
    func testBitnet1bitLLM() throws { try check(7, allowFlip: true) }
    func testLlamaTernary() throws { try check(8) }

    func testQwen3Q2_0() throws { try check(9) }
    func testQwen3HF() throws { try check(10) }
    func testQwen3Q1_0() throws { try check(11) }
    func testQwen3Q1HF() throws { try check(12) }
    func testQwen3G128AsQ2_0() throws { try check(13) }
    func testQwen3PQ2_0() throws { try check(14) }
    func testQwen3PTQ1_0() throws { try check(15) }
    func testQwen3G128HF() throws { try check(16) }

    /// Largest |Δlogit| of the int8-activation path on the qwen3 files, measured in every variant
    /// (0.024-0.041): asserted, so a regression shows; the tier itself is the fixture README's 0.1.
    static let measuredInt8Qwen3: Float = 0.05

    /// The qwen3 GGUF files with int8 activations per token and the group-scaled kernels: within the
    /// flip tier (≤ 0.1, argmax equal where the reference margin ≥ 0.2), greedy equal up to the
    /// first near-tie, in every kernel variant.
    func checkInt8(_ i: Int, kernel: String?) throws {
        let (m, r) = Fixtures.cases[i]
        let res = try run(m, r, kernel: kernel)
        print("fixture \(m) int8 activations [\(kernel ?? "auto")]: max |Δlogit| = \(res.maxAbs), greedy match \(res.greedyMatch)/32 (required \(res.greedyRequired))")
        XCTAssertLessThanOrEqual(res.maxAbs, Self.flip, m)
        XCTAssertLessThanOrEqual(res.maxAbs, Self.measuredInt8Qwen3, "\(m) [\(kernel ?? "auto")]: above the measured bound")
        XCTAssertTrue(res.argmaxOK, "\(m): argmax differs at a position with margin ≥ 0.2")
        XCTAssertGreaterThanOrEqual(res.greedyMatch, res.greedyRequired, m)
    }

    func testQwen3Int8EveryKernelVariant() throws {
        for k in variantsUnderTest() { for i in [9, 11, 13, 14, 15] { try checkInt8(i, kernel: k) } }
    }

    /// Every qwen3 file in every kernel variant (float activations: the dense kernels).
    func testQwen3EveryKernelVariant() throws {
        for k in variantsUnderTest() { for i in 9...16 { try check(i, kernel: k) } }
    }

    /// Every kernel variant this CPU has gives the reference logits (I2_S in place and TQ1_0 repacked).
    func testEveryKernelVariant() throws {
        for k in variantsUnderTest() {
            try check(1, kernel: k)
            try check(3, kernel: k)
            try check(8, kernel: k)
        }
    }
}
