import XCTest
@testable import Trit

/// The qwen35 hybrid's memory (KV cache + Gated DeltaNet recurrent state) through every operation
/// on sequences: batches mixing sequences, copy, reset, the cuts it refuses, saved states,
/// generation's cut after a stop string, and abort.
final class HybridMemoryTests: XCTestCase {
    static let path = Fixtures.root + "/qwen35-ternary-g128-tiny/model.q2_0.gguf"
    let a: [Int32] = (0..<12).map { Int32(($0 * 37 + 11) % 1000) }
    let b: [Int32] = (0..<9).map { Int32(($0 * 53 + 5) % 1000) }

    func model() throws -> Model {
        var o = Model.LoadOptions()
        o.floatActivations = true
        return try Model.load(path: Self.path, options: o)
    }

    func lastLogits(_ m: Model, _ tokens: [Int32]) throws -> [Float] {
        let s = try InferenceState(model: m, nCtx: 64, kvType: .f32)
        try s.evaluate(tokens)
        return Array(s.lastLogits)
    }

    func maxDiff(_ x: [Float], _ y: [Float]) -> Float {
        XCTAssertEqual(x.count, y.count)
        return zip(x, y).map { abs($0 - $1) }.max() ?? 0
    }

    func kind(_ f: () throws -> Void) -> TritError.Kind? {
        do { try f(); return nil } catch let e as TritError { return e.kind } catch { return nil }
    }

    func testTheHybridMemoryIsChosenForDeltaNetLayers() throws {
        let s = try InferenceState(model: try model(), nCtx: 64, nSeq: 2, kvType: .f16)
        XCTAssertEqual(s.memory.kind, .hybrid)
        XCTAssertNotNil(s.recurrent)
        XCTAssertEqual(s.recurrent?.nLayers, 2)
        XCTAssertFalse(s.memory.canShift)
        // KV cells for the 2 attention layers only; the recurrent state does not grow with the positions
        XCTAssertEqual(s.kv.nLayers, 2)
        XCTAssertEqual(s.memory.bytesPerPosition, 2 * 2 * 2 * KVCacheType.f16.headBytes(64))
    }

    /// Rows of two sequences interleaved in one batch give each sequence's logits alone: every
    /// row reads and writes its own sequence's state.
    func testABatchMixingSequencesEqualsEachSequenceAlone() throws {
        let m = try model(), vocab = m.config.vocabSize
        let s = try InferenceState(model: m, nCtx: 64, maxBatch: 8, nSeq: 2, kvType: .f32)
        var toks: [Int32] = [], seqs: [Int32] = []
        for i in 0..<max(a.count, b.count) {
            if i < a.count { toks.append(a[i]); seqs.append(0) }
            if i < b.count { toks.append(b[i]); seqs.append(1) }
        }
        var logits = [Float](repeating: 0, count: toks.count * vocab)
        try toks.withUnsafeBufferPointer { t in
            try seqs.withUnsafeBufferPointer { q in
                try logits.withUnsafeMutableBufferPointer { try s.evaluateBatch(t, sequences: q, logits: $0.baseAddress!) }
            }
        }
        let lastA = toks.indices.last { seqs[$0] == 0 }!, lastB = toks.indices.last { seqs[$0] == 1 }!
        XCTAssertLessThanOrEqual(maxDiff(Array(logits[(lastA * vocab)..<((lastA + 1) * vocab)]), try lastLogits(m, a)), 1e-5)
        XCTAssertLessThanOrEqual(maxDiff(Array(logits[(lastB * vocab)..<((lastB + 1) * vocab)]), try lastLogits(m, b)), 1e-5)
    }

    /// Copy whole, reset, and the cuts a recurrent state cannot make (refused, nothing changed).
    func testCopyResetAndRefusedCuts() throws {
        let m = try model()
        let s = try InferenceState(model: m, nCtx: 64, nSeq: 2, kvType: .f32)
        try s.evaluate(a)
        let before = Array(s.lastLogits)
        XCTAssertFalse(s.canRollBack(sequence: 0, to: 5))
        XCTAssertEqual(kind { try s.truncate(to: 5) }, .state)
        XCTAssertEqual(kind { try s.removeTokens(of: 0, from: 5) }, .state)
        XCTAssertEqual(kind { try s.copyPrefix(from: 0, to: 1, count: 5) }, .state)
        XCTAssertEqual(kind { try s.shift(keep: 2, discard: 4) }, .state)
        XCTAssertEqual(s.tokens, a)
        XCTAssertEqual(Array(s.lastLogits), before)

        // sequence 1 gets sequence 0's whole memory and continues as sequence 0 would
        try s.copyPrefix(from: 0, to: 1, count: a.count)
        let v = m.config.vocabSize
        var out = [Float](repeating: 0, count: v)
        try [Int32(7)].withUnsafeBufferPointer { t in
            try [Int32(1)].withUnsafeBufferPointer { q in
                try out.withUnsafeMutableBufferPointer { try s.evaluateBatch(t, sequences: q, logits: $0.baseAddress!) }
            }
        }
        XCTAssertLessThanOrEqual(maxDiff(out, try lastLogits(m, a + [7])), 1e-5)
        // a reset sequence starts from the empty state
        try s.reset(sequence: 0)
        try s.evaluate(b)
        XCTAssertLessThanOrEqual(maxDiff(Array(s.lastLogits), try lastLogits(m, b)), 1e-5)
        s.reset()
        try s.evaluate(a)
        XCTAssertEqual(Array(s.lastLogits), before)
    }

    /// A checkpoint of sequence 0's recurrent state lets it (and a copy of it) go back to that length.
    func testCheckpointAllowsGoingBackToIt() throws {
        let m = try model()
        let s = try InferenceState(model: m, nCtx: 64, nSeq: 2, kvType: .f32)
        try s.evaluate(a)
        s.checkpointRecurrentState()
        try s.evaluate(b)
        XCTAssertTrue(s.canRollBack(sequence: 0, to: a.count))
        XCTAssertFalse(s.canRollBack(sequence: 0, to: a.count - 1))
        // a copy of the first a.count positions into sequence 1 holds the checkpoint's state
        try s.copyPrefix(from: 0, to: 1, count: a.count)
        let v = m.config.vocabSize
        var out = [Float](repeating: 0, count: v)
        try [Int32(9)].withUnsafeBufferPointer { t in
            try [Int32(1)].withUnsafeBufferPointer { q in
                try out.withUnsafeMutableBufferPointer { try s.evaluateBatch(t, sequences: q, logits: $0.baseAddress!) }
            }
        }
        XCTAssertLessThanOrEqual(maxDiff(out, try lastLogits(m, a + [9])), 1e-5)
        // sequence 0 goes back to the checkpoint and continues as if b had not been read
        try s.truncate(to: a.count)
        try s.evaluate([9])
        XCTAssertLessThanOrEqual(maxDiff(Array(s.lastLogits), try lastLogits(m, a + [9])), 1e-5)
        // a cut below the checkpoint is still refused; a reset drops the checkpoint
        XCTAssertEqual(kind { try s.truncate(to: 3) }, .state)
        s.reset()
        try s.evaluate(a + b)
        XCTAssertFalse(s.canRollBack(sequence: 0, to: a.count))
    }

    /// With 3 checkpoints per sequence, sequence 0 can go back to each of them (the cut drops the
    /// longer ones), and a fourth drops the shortest.
    func testSeveralCheckpointsPerSequence() throws {
        let m = try model()
        let s = try InferenceState(model: m, nCtx: 64, nSeq: 2, kvType: .f32, checkpoints: 3)
        let c: [Int32] = [7, 8, 9, 10]
        try s.evaluate(a); s.checkpointRecurrentState()
        try s.evaluate(b); s.checkpointRecurrentState()
        try s.evaluate(c)
        XCTAssertEqual(s.recurrent!.checkpointLengths(sequence: 0), [a.count, a.count + b.count])
        XCTAssertEqual(kind { try s.truncate(to: a.count + 1) }, .state)
        try s.truncate(to: a.count + b.count)
        try s.evaluate([9])
        XCTAssertLessThanOrEqual(maxDiff(Array(s.lastLogits), try lastLogits(m, a + b + [9])), 1e-5)
        try s.truncate(to: a.count)
        XCTAssertEqual(s.recurrent!.checkpointLengths(sequence: 0), [a.count])
        try s.evaluate([9])
        XCTAssertLessThanOrEqual(maxDiff(Array(s.lastLogits), try lastLogits(m, a + [9])), 1e-5)
        for n in 1...4 { s.checkpointRecurrentState(); try s.evaluate([Int32(n)]) }
        XCTAssertEqual(s.recurrent!.checkpointLengths(sequence: 0), [a.count + 2, a.count + 3, a.count + 4])
        XCTAssertEqual(s.recurrent!.checkpointLengths(sequence: 1), [])
    }

    func testSavedStateHoldsTheRecurrentState() throws {
        let m = try model()
        let s = try InferenceState(model: m, nCtx: 64, kvType: .f32)
        try s.evaluate(a)
        let saved = s.saveState()
        let t = try InferenceState(model: m, nCtx: 64, kvType: .f32)
        try t.evaluate(b)   // a different state, replaced by the saved one
        try saved.withUnsafeBytes { try t.loadState($0) }
        try s.evaluate([3]); try t.evaluate([3])
        XCTAssertEqual(Array(t.lastLogits), Array(s.lastLogits))
        XCTAssertEqual(t.tokens, a + [3])
    }

    /// A stop string cuts the context back to the delivered text: the recurrent state is rebuilt
    /// from the kept tokens, so the next turn continues from exactly that text.
    func testGenerationCutBackKeepsExactlyTheDeliveredText() throws {
        let m = try model()
        let s = try InferenceState(model: m, nCtx: 128, kvType: .f32)
        var p = GenerationParams()
        p.maxTokens = 12
        p.sampling.temperature = 0
        let free = try s.generate(prompt: a, params: p)
        let text = String(decoding: free.text, as: UTF8.self)
        guard text.count >= 6 else { return XCTFail("the fixture generated too little text to cut: \(text)") }
        let stop = String(text.dropFirst(3).prefix(2))
        s.reset()
        p.stop = [stop]
        let r = try s.generate(prompt: a, params: p)
        XCTAssertEqual(r.stopReason, .stopString)
        // the context equals the prompt plus the kept text's tokens, evaluated afresh
        let fresh = try InferenceState(model: m, nCtx: 128, kvType: .f32)
        try fresh.evaluate(s.tokens)
        XCTAssertEqual(Array(s.lastLogits), Array(fresh.lastLogits))
    }

    /// An abort is honoured before the first layer only (a recurrent state changes in place): the
    /// context is then as it was; asked later it is not consulted.
    func testAbortLeavesTheStateAsItWas() throws {
        let m = try model()
        let s = try InferenceState(model: m, nCtx: 64, maxBatch: 4, kvType: .f32)
        try s.evaluate(a)
        let before = Array(s.lastLogits)
        var asks = 0
        s.shouldAbort = { asks += 1; return true }
        XCTAssertEqual(kind { try s.evaluate(b) }, .cancelled)
        XCTAssertEqual(asks, 1)
        XCTAssertEqual(s.tokens, a)
        XCTAssertEqual(Array(s.lastLogits), before)
        s.shouldAbort = nil
        try s.evaluate(b)
        XCTAssertLessThanOrEqual(maxDiff(Array(s.lastLogits), try lastLogits(m, a + b)), 1e-5)
    }
}
