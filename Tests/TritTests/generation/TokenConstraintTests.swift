import XCTest
@testable import Trit

/// The token mask (structured output): the sampler chooses among allowed tokens only, bits past the
/// vocabulary are ignored, and generation ends with .noAllowedToken or rethrows a constraint's error.
final class TokenConstraintTests: XCTestCase {
    func constraint(_ vocab: Int, allow: Set<Int>, chosen: ((Int32) throws -> Void)? = nil) throws -> TokenConstraint {
        try TokenConstraint(vocabSize: vocab, fillMask: { words in
            for t in allow { words[t / 32] |= UInt32(1) << UInt32(t % 32) }
        }, tokenChosen: { try chosen?($0) })
    }

    func testSamplerChoosesAmongAllowedTokensOnly() throws {
        let logits: [Float] = [1, 5, 3, 4, 2, .nan]
        var p = SamplingParams()
        p.temperature = 0
        let s = try Sampler(params: p, vocabSize: 6)
        let c = try constraint(6, allow: [0, 2, 4])
        XCTAssertTrue(try c.refresh())
        XCTAssertEqual(logits.withUnsafeBufferPointer { s.sample($0, allowed: c) }, 2, "the best allowed token")
        p.temperature = 1; p.topK = 0; p.topP = 1; p.minP = 0
        let warm = try Sampler(params: p, vocabSize: 6)
        var seen = Set<Int32>()
        for _ in 0..<300 { seen.insert(logits.withUnsafeBufferPointer { warm.sample($0, allowed: c) }!) }
        XCTAssertEqual(seen, [0, 2, 4])
        // only the NaN row allowed: nothing to choose
        let nanOnly = try constraint(6, allow: [5])
        XCTAssertTrue(try nanOnly.refresh())
        XCTAssertNil(logits.withUnsafeBufferPointer { s.sample($0, allowed: nanOnly) })
    }

    func testBitsPastTheVocabularyAreIgnored() throws {
        let c = try TokenConstraint(vocabSize: 33, fillMask: { words in
            XCTAssertEqual(words.count, 2)
            words[1] = 0xFFFF_FFFE   // token 33 and beyond only: not in the vocabulary
        }, tokenChosen: { _ in })
        XCTAssertFalse(try c.refresh(), "no token of the vocabulary is allowed")
    }

    func testGenerationUnderAMask() throws {
        let m = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        let vocab = m.config.vocabSize
        let ids = m.tokenizer!.encode("Every morning")
        var p = GenerationParams()
        p.maxTokens = 6
        p.sampling.seed = 3
        var told: [Int32] = []
        p.constraint = try constraint(vocab, allow: [Int(ids.last!)], chosen: { told.append($0) })
        let r = try InferenceState(model: m, nCtx: 64).generate(prompt: ids, params: p)
        XCTAssertEqual(r.tokens, [Int32](repeating: ids.last!, count: 6))
        XCTAssertEqual(told, r.tokens)
        XCTAssertEqual(r.stopReason, .maxTokens)
        p.constraint = try constraint(vocab, allow: [])
        let none = try InferenceState(model: m, nCtx: 64).generate(prompt: ids, params: p)
        XCTAssertEqual(none.stopReason, .noAllowedToken)
        XCTAssertTrue(none.tokens.isEmpty)
        var n = 0
        p.constraint = try constraint(vocab, allow: [Int(ids.last!)], chosen: { _ in
            n += 1
            if n == 3 { throw TritError(.cancelled, "third token refused") }
        })
        let s = try InferenceState(model: m, nCtx: 64)
        XCTAssertThrowsError(try s.generate(prompt: ids, params: p)) { XCTAssertEqual(($0 as? TritError)?.kind, .cancelled) }
        XCTAssertEqual(s.nPast, ids.count + 2, "the context holds the prompt and the two tokens delivered")
        p.constraint = try constraint(vocab + 1, allow: [1])
        XCTAssertThrowsError(try InferenceState(model: m, nCtx: 64).generate(prompt: ids, params: p))
    }
}
