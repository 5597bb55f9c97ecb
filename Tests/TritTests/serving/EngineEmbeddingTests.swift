import Foundation
import XCTest
@testable import Trit

/// Embedding requests in the engine's steps: every row equals InferenceState.embed's row of the
/// same tokens (bit for bit) whatever shares the step, the generation requests next to them give
/// the text they give without them, and nothing of an embedding stays in the cache.
final class EngineEmbeddingTests: XCTestCase {
    final class Got: @unchecked Sendable {
        let lock = NSLock()
        var rows: [Int: [Float]] = [:], text: [Int: [UInt8]] = [:], done: [Int: Engine.FinishReason] = [:]
        func row(_ k: Int, _ r: UnsafeBufferPointer<Float>) { lock.lock(); rows[k] = Array(r); lock.unlock() }
        func piece(_ k: Int, _ b: UnsafeBufferPointer<UInt8>) { lock.lock(); text[k, default: []] += b; lock.unlock() }
        func finish(_ k: Int, _ r: Engine.FinishReason) { lock.lock(); done[k] = r; lock.unlock() }
        var count: Int { lock.lock(); defer { lock.unlock() }; return done.count }
    }

    func engine(_ model: Model, slots: Int = 3, nBatch: Int = 16) throws -> Engine {
        var o = Engine.Options()
        o.kvType = .f32
        o.slots = slots
        o.nCtx = 128
        o.nBatch = nBatch
        o.nThreads = 2
        return try Engine(model: model, options: o)
    }

    func alone(_ model: Model, _ tokens: [Int32], _ options: EmbeddingOptions) throws -> [Float] {
        let s = try InferenceState(model: model, nCtx: 128, nThreads: 2, kvType: .f32)
        var out = [Float](repeating: .nan, count: try s.embeddingWidth(options))
        try tokens.withUnsafeBufferPointer { try s.embed([$0], sequence: 0, options: options, into: &out) }
        return out
    }

    func wait(_ got: Got, _ n: Int) {
        let deadline = Date().addingTimeInterval(120)
        while got.count < n && Date() < deadline { usleep(2000) }
        XCTAssertEqual(got.count, n, "every request finished")
    }

    /// The BitNet-embedding fixture: its texts (3 to 92 tokens, chunks of 16) in every pooling,
    /// with truncation, through three slots at once; generation is refused.
    func testEmbeddingModelRowsEqualEmbedAlone() throws {
        let model = try Model.load(path: Fixtures.root + "/qwen3-bitnet-embedding-tiny/model.i2_s.gguf")
        let tok = try XCTUnwrap(model.tokenizer)
        let texts = ["Hi", "query: What is BitNet?", "The harbor was quiet before dawn.",
                     String(repeating: "Every morning the old fisherman walked down to the harbor. ", count: 4)]
        let options = [EmbeddingOptions(pooling: .last), EmbeddingOptions(pooling: .mean),
                       EmbeddingOptions(pooling: .first), EmbeddingOptions(pooling: .mean, dimensions: 32)]
        let e = try engine(model)
        defer { e.shutdown() }   // a live scheduler thread outlives the test (and hangs a later fork child)
        let got = Got()
        var want: [Int: [Float]] = [:]
        var k = 0
        for t in texts {
            for o in options {
                let ids = tok.encode(t)
                want[k] = try alone(model, ids, o)
                var r = Engine.Request(prompt: ids)
                r.embedding = o
                let key = k
                r.onEmbedding = { got.row(key, $0) }
                r.onDone = { _, why, _ in got.finish(key, why) }
                _ = try e.submit(r)
                k += 1
            }
        }
        wait(got, k)
        for i in 0..<k {
            XCTAssertEqual(got.done[i], .stop, "request \(i)")
            XCTAssertEqual(got.rows[i], want[i], "request \(i): the row embed gives alone")
        }
        XCTAssertEqual(e.state.cellsUsed, 0, "nothing of an embedding stays cached")
        XCTAssertThrowsError(try e.submit(Engine.Request(prompt: [1, 2]))) { err in
            XCTAssertEqual((err as? TritError)?.kind, .unsupported)
        }
        var bad = Engine.Request(prompt: [1, 2])
        bad.embedding = EmbeddingOptions(dimensions: 4096)
        XCTAssertThrowsError(try e.submit(bad)) { XCTAssertEqual(($0 as? TritError)?.kind, .argument) }
    }

    /// A generative model: embeddings submitted between generation requests share their steps; the
    /// greedy texts equal the texts without embeddings, the rows equal embed's.
    func testNextToGeneration() throws {
        let model = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        let tok = try XCTUnwrap(model.tokenizer)
        let prompts = ["Every morning the old fisherman", "The king", "And the sea was calm and the sky was clear"]
        func run(withEmbeddings: Bool) throws -> Got {
            let e = try engine(model, slots: 4, nBatch: 16)
            defer { e.shutdown() }
            let got = Got()
            var n = 0
            for (i, p) in prompts.enumerated() {
                var r = Engine.Request(prompt: tok.encode(p))
                r.sampling = .greedy
                r.maxTokens = 12
                r.ignoreEOS = true
                r.onPiece = { got.piece(i, $0); return true }
                r.onDone = { _, why, _ in got.finish(i, why) }
                _ = try e.submit(r)
                n += 1
                if withEmbeddings {
                    var q = Engine.Request(prompt: tok.encode(String(repeating: p + " ", count: 3)))
                    q.embedding = EmbeddingOptions(pooling: i == 1 ? .mean : .last)
                    let key = 100 + i
                    q.onEmbedding = { got.row(key, $0) }
                    q.onDone = { _, why, _ in got.finish(key, why) }
                    _ = try e.submit(q)
                    n += 1
                }
            }
            wait(got, n)
            return got
        }
        let plain = try run(withEmbeddings: false), mixed = try run(withEmbeddings: true)
        for i in prompts.indices {
            XCTAssertEqual(mixed.text[i], plain.text[i], "prompt \(i): the same text next to embeddings")
            XCTAssertFalse((plain.text[i] ?? []).isEmpty)
            let ids = tok.encode(String(repeating: prompts[i] + " ", count: 3))
            let want = try alone(model, ids, EmbeddingOptions(pooling: i == 1 ? .mean : .last))
            XCTAssertEqual(mixed.rows[100 + i], want, "embedding \(i)")
        }
    }
}
