import Foundation
import XCTest
@testable import Trit

/// The certified head under a token mask: candidates are taken among the allowed tokens only, and
/// the tokens are exact mode's under the same mask (generator and engine), for greedy, top-k and
/// min-p chains; a mask with fewer allowed tokens than top-k keeps falls back to the whole row.
final class CertifiedMaskTests: XCTestCase {
    /// Allows the tokens t with (t + step) % 3 != 0 (a different two thirds each step), or only
    /// `few` when given.
    func mask(_ vocab: Int, few: [Int32]? = nil) throws -> TokenConstraint {
        var step = 0
        return try TokenConstraint(vocabSize: vocab, fillMask: { words in
            if let few {
                for t in few { words[Int(t) / 32] |= UInt32(1) << UInt32(t % 32) }
                return
            }
            for t in 0..<vocab where (t + step) % 3 != 0 { words[t / 32] |= UInt32(1) << UInt32(t % 32) }
        }, tokenChosen: { _ in step += 1 })
    }

    func load(_ head: Model.HeadMode) throws -> Model {
        var o = Model.LoadOptions()
        o.head = head
        return try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf", options: o)
    }

    func chains() -> [(String, SamplingParams)] {
        var topK = SamplingParams()
        topK.temperature = 0.8; topK.topK = 20; topK.seed = 7
        var minP = SamplingParams()
        minP.temperature = 1; minP.topK = 0; minP.topP = 1; minP.minP = 0.6; minP.seed = 11
        return [("greedy", .greedy), ("top-k", topK), ("min-p", minP)]
    }

    func generate(_ m: Model, _ sampling: SamplingParams,
                  few: [Int32]? = nil) throws -> (GenerationResult, InferenceState) {
        var p = GenerationParams()
        p.maxTokens = 24
        p.ignoreEOS = true
        p.sampling = sampling
        p.constraint = try mask(m.config.vocabSize, few: few)
        let s = try InferenceState(model: m, nCtx: 128)
        return (try s.generate(prompt: m.tokenizer!.encode("Every morning", addSpecial: true), params: p), s)
    }

    func testCertifiedUnderAMaskGivesExactModesTokens() throws {
        for mode in CertifiedHeadTests.modes {
        let exact = try load(.exact), cert = try load(mode)
        for (name, sampling) in chains() {
            let want = try generate(exact, sampling).0
            let (got, s) = try generate(cert, sampling)
            XCTAssertEqual(got.tokens, want.tokens, "\(mode) \(name)")
            let stats = try XCTUnwrap(s.certifiedStats)
            XCTAssertGreaterThan(stats.steps, 0, "\(name): constrained steps used the certified candidates")
        }
        // every chosen token is one the step's mask allowed
        let (got, _) = try generate(cert, .greedy)
        for (i, t) in got.tokens.enumerated() { XCTAssertNotEqual((Int(t) + i) % 3, 0, "token \(i) allowed") }
        }
    }

    func testFewerAllowedTokensThanTopKFallsBackToTheWholeRow() throws {
        for mode in CertifiedHeadTests.modes {
        let exact = try load(.exact), cert = try load(mode)
        let few = exact.tokenizer!.encode(" red green blue", addSpecial: false)
        let sampling = chains()[1].1   // top-k 20, three tokens allowed
        let want = try generate(exact, sampling, few: few).0
        let (got, s) = try generate(cert, sampling, few: few)
        XCTAssertEqual(got.tokens, want.tokens)
        XCTAssertTrue(got.tokens.allSatisfy { few.contains($0) })
        XCTAssertEqual(s.certifiedStats?.fullSteps, 24, "\(mode): every step needed the whole row")
        }
    }

    func testEngineCertifiedUnderAMaskGivesExactModesTokens() throws {
        for mode in CertifiedHeadTests.modes {
        let cert = try load(mode)
        for (name, sampling) in chains() {
            let want = try generate(try load(.exact), sampling).0
            var o = Engine.Options()
            o.kvType = .f32   // as InferenceState's default cache
            o.slots = 2
            o.nThreads = 2
            let engine = try Engine(model: cert, options: o)
            defer { engine.shutdown() }
            let lock = NSLock()
            var tokens: [Int32] = [], finished = false
            var q = Engine.Request(prompt: cert.tokenizer!.encode("Every morning", addSpecial: true))
            q.sampling = sampling
            q.maxTokens = 24
            q.ignoreEOS = true
            q.constraint = try mask(cert.config.vocabSize)
            q.onToken = { t in lock.lock(); tokens.append(t); lock.unlock() }
            q.onDone = { _, _, _ in lock.lock(); finished = true; lock.unlock() }
            _ = try engine.submit(q)
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && { lock.lock(); defer { lock.unlock() }; return !finished }() { usleep(2000) }
            lock.lock(); defer { lock.unlock() }
            XCTAssertEqual(tokens, want.tokens, "\(mode) \(name)")
            // the scheduler has finished the request: its state is read after the done callback
            XCTAssertGreaterThan(engine.state.certifiedStats?.steps ?? 0, 0, "\(mode) \(name): certified candidates used")
        }
        }
    }
}
