import Foundation
import XCTest
@testable import Trit

/// One model shared by several contexts generating on several threads at once, plus load/free
/// cycles (the ThreadSanitizer run of scripts/sanitize.sh thread covers this file).
final class ConcurrencyTests: XCTestCase {
    func testContextsOnThreadsShareOneModel() throws {
        let model = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        var params = GenerationParams()
        params.maxTokens = 16
        params.ignoreEOS = true
        params.sampling.seed = 3
        let p = params
        let prompt = model.tokenizer!.encode("Every morning")
        let expected = try InferenceState(model: model, nCtx: 64).generate(prompt: prompt, params: p).tokens
        // a thread that throws reports its error; one that hangs fails the test after 120 s
        guard let results = runOnThreads(4, timeout: 120, { i in
            try InferenceState(model: model, nCtx: 64, nThreads: 1 + i % 2).generate(prompt: prompt, params: p).tokens
        }) else { return }
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let tokens): XCTAssertEqual(tokens, expected, "thread \(i)")
            case .failure(let e): XCTFail("thread \(i): \(e)")
            }
        }
    }

    /// Ten load / evaluate / free cycles give the same logits each time (leaks and use-after-free
    /// are what the sanitizer runs of this file look for).
    func testLoadFreeCycles() throws {
        var first: [Float]?
        for i in 0..<10 {
            let m = try Model.load(path: Fixtures.root + "/b158-tiny/model.tq2_0.gguf")
            let s = try InferenceState(model: m, nCtx: 16, nThreads: 2)
            try s.evaluate([1, 2, 3])
            let l = Array(s.lastLogits)
            XCTAssertEqual(l.count, m.config.vocabSize)
            if let f = first { XCTAssertEqual(l, f, "cycle \(i)") } else { first = l }
        }
    }
}
