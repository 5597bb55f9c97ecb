import Foundation
import XCTest
@testable import Trit

/// A bidirectional model (gemma3-tiny/bidir) in the engine: each input is read whole in one step,
/// several inputs longer together than n_batch wait for a step with room (not fail), an input
/// longer than n_batch and generation are refused; embedding requests refuse generation's fields.
final class EngineBidirectionalTests: XCTestCase {
    final class Got: @unchecked Sendable {
        let lock = NSLock()
        var rows: [Int: [Float]] = [:], done: [Int: Engine.FinishReason] = [:]
        func row(_ k: Int, _ r: UnsafeBufferPointer<Float>) { lock.lock(); rows[k] = Array(r); lock.unlock() }
        func finish(_ k: Int, _ r: Engine.FinishReason) { lock.lock(); done[k] = r; lock.unlock() }
        var count: Int { lock.lock(); defer { lock.unlock() }; return done.count }
    }

    func testInputsReadWholeAndRefusals() throws {
        let model = try Model.load(path: Fixtures.root + "/gemma3-tiny/bidir/model.f32.gguf")
        var o = Engine.Options()
        o.kvType = .f32
        o.slots = 3
        o.nCtx = 128
        o.nBatch = 16
        o.nThreads = 2
        let e = try Engine(model: model, options: o)
        defer { e.shutdown() }   // a live scheduler thread outlives the test (and hangs a later fork child)
        let options = EmbeddingOptions(pooling: .last)
        // three inputs of 12 tokens: 36 > n_batch, so two of them wait a step
        let inputs: [[Int32]] = (0..<3).map { i in (0..<12).map { Int32(5 + i * 12 + $0) } }
        let got = Got()
        for (k, ids) in inputs.enumerated() {
            var r = Engine.Request(prompt: ids)
            r.embedding = options
            r.onEmbedding = { got.row(k, $0) }
            r.onDone = { _, why, _ in got.finish(k, why) }
            _ = try e.submit(r)
        }
        let deadline = Date().addingTimeInterval(120)
        while got.count < inputs.count && Date() < deadline { usleep(2000) }
        XCTAssertEqual(got.count, inputs.count, "every request finished")
        for (k, ids) in inputs.enumerated() {
            XCTAssertEqual(got.done[k], .stop, "input \(k)")
            let s = try InferenceState(model: model, nCtx: 128, nThreads: 2, kvType: .f32)
            var want = [Float](repeating: .nan, count: try s.embeddingWidth(options))
            try ids.withUnsafeBufferPointer { try s.embed([$0], sequence: 0, options: options, into: &want) }
            XCTAssertEqual(got.rows[k], want, "input \(k): the row embed gives alone")
        }
        var long = Engine.Request(prompt: (0..<17).map { Int32(5 + $0) })
        long.embedding = options
        XCTAssertThrowsError(try e.submit(long)) { XCTAssertEqual(($0 as? TritError)?.kind, .argument) }
        XCTAssertThrowsError(try e.submit(Engine.Request(prompt: [5, 6]))) {
            XCTAssertEqual(($0 as? TritError)?.kind, .unsupported)
        }
        var withStop = Engine.Request(prompt: [5, 6])
        withStop.embedding = options
        withStop.stop = ["x"]
        XCTAssertThrowsError(try e.submit(withStop)) { XCTAssertEqual(($0 as? TritError)?.kind, .argument) }
        var withLogprobs = Engine.Request(prompt: [5, 6])
        withLogprobs.embedding = options
        withLogprobs.logprobs = 2
        XCTAssertThrowsError(try e.submit(withLogprobs)) { XCTAssertEqual(($0 as? TritError)?.kind, .argument) }
    }

    /// A config whose sliding_window is Int.max (p + w would overflow in the attention span) loads
    /// and reads as a window wider than any context: the plain model's rows, unchanged.
    func testHugeSlidingWindowIsClamped() throws {
        let src = Fixtures.root + "/gemma3-tiny/plain/hf"
        let dir = NSTemporaryDirectory() + "trit-gemma3-window-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: src, toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let configPath = dir + "/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath)))
            as! [String: Any]
        config["sliding_window"] = Int.max
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let model = try Model.load(path: dir)
        XCTAssertEqual(model.config.slidingWindow, Int(Int32.max))
        let s = try InferenceState(model: model, nCtx: 64, nThreads: 2, kvType: .f32)
        let options = EmbeddingOptions(pooling: .last)
        var row = [Float](repeating: .nan, count: try s.embeddingWidth(options))
        let ids: [Int32] = (0..<20).map { Int32(5 + $0) }
        try ids.withUnsafeBufferPointer { try s.embed([$0], sequence: 0, options: options, into: &row) }
        XCTAssertTrue(row.allSatisfy { $0.isFinite })
        var rope = config["rope_parameters"] as! [String: Any]
        var local = rope["sliding_attention"] as! [String: Any]
        local["rope_theta"] = -1
        rope["sliding_attention"] = local
        config["rope_parameters"] = rope
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        XCTAssertThrowsError(try Model.load(path: dir)) { XCTAssertEqual(($0 as? TritError)?.kind, .format) }
    }
}
