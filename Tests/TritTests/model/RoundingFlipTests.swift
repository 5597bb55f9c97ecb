import XCTest
@testable import Trit

/// The online-quantized fixtures are where the fixture README measured int8 rounding flips in any
/// f32 engine; the 1bitLLM one misses the strict tier (1e-4) by one. This test shows the flip: it
/// finds the pre-rounding values x·s closest to a .5 boundary and re-runs with one of them rounded
/// the other way; one such flip brings the logits into the strict tier.
final class RoundingFlipTests: XCTestCase {
    struct Candidate { let call: Int; let t: Int; let k: Int; let value: Float; let q: Int8 }

    func maxError(_ model: Model, _ ref: Fixtures.Reference, hook: InferenceState.QuantizationHook?) throws -> Float {
        let s = try InferenceState(model: model, nCtx: 32)
        s.quantizationHook = hook
        let vocab = model.config.vocabSize
        var logits = [Float](repeating: 0, count: ref.tokens.count * vocab)
        try logits.withUnsafeMutableBufferPointer { try s.evaluate(ref.tokens, allLogits: $0.baseAddress) }
        var worst: Float = 0
        for i in 0..<ref.tokens.count { for j in 0..<vocab { worst = max(worst, abs(logits[i * vocab + j] - ref.logits[i][j])) } }
        return worst
    }

    func explain(_ modelPath: String, _ refPath: String) throws -> (Float, Float, Candidate) {
        let model = try Model.load(path: Fixtures.root + "/" + modelPath)
        let ref = try Fixtures.reference(refPath)
        var cands: [Candidate] = []
        let base = try maxError(model, ref) { call, x, q, s, _, n, cols, kp in
            for t in 0..<n { for k in 0..<cols {
                let v = x[t * cols + k] * s[t]
                let frac = v - v.rounded(.down)
                if abs(frac - 0.5) < 2e-4 { cands.append(Candidate(call: call, t: t, k: k, value: v, q: q[t * kp + k])) }
            } }
        }
        var best: (Float, Candidate)? = nil
        for c in cands.sorted(by: { abs($0.value - $0.value.rounded(.down) - 0.5) < abs($1.value - $1.value.rounded(.down) - 0.5) }).prefix(40) {
            let e = try maxError(model, ref) { call, _, q, _, qsum, _, _, kp in
                guard call == c.call else { return }
                let i = c.t * kp + c.k
                let other: Int8 = Float(q[i]) < c.value ? q[i] + 1 : q[i] - 1   // round the other way
                qsum[c.t] += Int32(other) - Int32(q[i])
                q[i] = other
            }
            if best == nil || e < best!.0 { best = (e, c) }
            if e <= 1e-4 { break }
        }
        let b = try XCTUnwrap(best, "no value near a rounding boundary")
        print("\(modelPath): max |Δlogit| \(base); flipping the int8 value of quantization call \(b.1.call), token \(b.1.t), " +
              "index \(b.1.k) (x·s = \(b.1.value), rounded to \(b.1.q)) gives \(b.0)")
        return (base, b.0, b.1)
    }

    /// With the tiled attention's arithmetic (docs/formats.md §9.2) no activation of this fixture
    /// lands on the other side of a .5 boundary: it meets the measured strict bound (8.3e-7; the
    /// earlier attention missed the tier by one flip, 6.6e-3), and flipping the closest value to a
    /// boundary is what takes it out of the tier (1.4e-3).
    func testBF16OnlineMeetsTheStrictTier() throws {
        let (base, flipped, _) = try explain("b158-tiny/hf-bf16-online", "b158-tiny/reference-bf16-online.json")
        XCTAssertLessThanOrEqual(base, FixtureLogitsTests.measured)
        XCTAssertGreaterThan(flipped, 1e-4)
    }

    func test1bitLLMFlip() throws {
        let (base, fixed, _) = try explain("bitnet-1bitllm-tiny/hf", "bitnet-1bitllm-tiny/reference.json")
        XCTAssertGreaterThan(base, 1e-4)
        XCTAssertLessThanOrEqual(fixed, 1e-4)
    }
}
