import XCTest
@testable import Trit

/// A memory that, like a recurrent state, cannot go back to an earlier position: it forwards to
/// the KV cache but refuses every cut except "keep everything" and "forget everything".
private final class ForwardOnlyMemory: SequenceMemory {
    let inner: KVCache
    init(_ kv: KVCache) { inner = kv }
    var kind: SavedState.MemoryKind { inner.kind }
    var reservedBytes: Int { inner.reservedBytes }
    var bytesPerPosition: Int { inner.bytesPerPosition }
    func canRollBack(sequence s: Int, length: Int, to p: Int) -> Bool { p == length || p == 0 }
    func rollBack(sequence s: Int, length: Int, to p: Int) { inner.rollBack(sequence: s, length: length, to: p) }
    func copyPrefix(from src: Int, to dst: Int, count: Int, dstLength: Int) {
        inner.copyPrefix(from: src, to: dst, count: count, dstLength: dstLength)
    }
    var canShift: Bool { false }
    func shift(sequence s: Int, length: Int, keep: Int, discard: Int, rotate: (UnsafeMutablePointer<Float>, Int, Int) -> Void) {
        XCTFail("shift called on a memory that cannot shift")
    }
    func serialize(sequence s: Int, count: Int, into out: inout [UInt8]) { inner.serialize(sequence: s, count: count, into: &out) }
    func serializedBytes(count: Int) -> Int { inner.serializedBytes(count: count) }
    func deserialize(sequence s: Int, count: Int, length: Int, from bytes: UnsafeRawBufferPointer) {
        inner.deserialize(sequence: s, count: count, length: length, from: bytes)
    }
}

/// Every per-sequence operation goes through SequenceMemory: a memory that cannot roll back
/// makes them fail with TritError .state and leaves the context as it was, never a continuation
/// from the wrong state.
final class SequenceMemoryTests: XCTestCase {
    static let b158 = Fixtures.root + "/b158-tiny/model.i2_s.gguf"
    let tokens: [Int32] = (0..<20).map { Int32(($0 * 37 + 11) % 1000) }

    func stateError(_ f: () throws -> Void) -> TritError.Kind? {
        do { try f(); return nil } catch let e as TritError { return e.kind } catch { return nil }
    }

    func testAMemoryThatCannotRollBackRefusesCutsWithAStateError() throws {
        let m = try Model.load(path: Self.b158)
        let s = try InferenceState(model: m, nCtx: 64, nSeq: 2, kvType: .f32)
        s.memory = ForwardOnlyMemory(s.kv)
        try s.evaluate(tokens)
        let logits = Array(s.lastLogits)
        XCTAssertFalse(s.canRollBack(sequence: 0, to: 5))
        XCTAssertTrue(s.canRollBack(sequence: 0, to: 0))
        XCTAssertEqual(stateError { try s.truncate(to: 5) }, .state)
        XCTAssertEqual(stateError { try s.removeTokens(of: 0, from: 5) }, .state)
        XCTAssertEqual(stateError { try s.copyPrefix(from: 0, to: 1, count: 5) }, .state)
        XCTAssertEqual(stateError { try s.shift(keep: 2, discard: 4) }, .state)
        // nothing changed: the same tokens and logits, and the next token continues exactly
        XCTAssertEqual(s.tokens, tokens)
        XCTAssertEqual(Array(s.lastLogits), logits)
        try s.evaluate([42])
        let fresh = try InferenceState(model: m, nCtx: 64, kvType: .f32)
        try fresh.evaluate(tokens + [42])
        XCTAssertEqual(Array(s.lastLogits), Array(fresh.lastLogits))
        // what it can do still works: keep all, forget all, copy everything
        try s.copyPrefix(from: 0, to: 1, count: s.nPast)
        XCTAssertEqual(s.tokens(of: 1), s.tokens)
        try s.reset(sequence: 1)
        XCTAssertEqual(s.tokens(of: 1), [])
    }

    func testKVCacheRollBackContinuesAsIfNeverEvaluated() throws {
        let m = try Model.load(path: Self.b158)
        let s = try InferenceState(model: m, nCtx: 64, kvType: .f16)
        try s.evaluate(tokens)
        XCTAssertTrue(s.canRollBack(sequence: 0, to: 7))
        try s.truncate(to: 7)
        try s.evaluate([9, 8])
        let fresh = try InferenceState(model: m, nCtx: 64, kvType: .f16)
        try fresh.evaluate(Array(tokens.prefix(7)) + [9, 8])
        XCTAssertEqual(Array(s.lastLogits), Array(fresh.lastLogits))
        XCTAssertEqual(s.memory.kind, .kvCache)
        XCTAssertEqual(s.memory.bytesPerPosition, m.config.nLayers * m.config.nKVHeads * 2 * KVCacheType.f16.headBytes(m.config.headDim))
    }

    /// Version-1 states (before the memory kind was written) still load; other versions are named.
    func testVersionOneStatesLoadAndUnknownVersionsAreNamed() throws {
        let m = try Model.load(path: Self.b158)
        let a = try InferenceState(model: m, nCtx: 64, kvType: .f16)
        try a.evaluate(tokens)
        var v2 = a.saveState()
        // version 1 = version 2 without the memory kind (u32) and size (u64) after the logits
        let logitsEnd = v2.count - 8 - a.memory.serializedBytes(count: a.nPast) - 12
        var v1 = Array(v2[0..<logitsEnd]) + Array(v2[(logitsEnd + 12)..<(v2.count - 8)])
        v1[8] = 1
        let h = v1.withUnsafeBytes { SavedState.fnv1a($0) }
        withUnsafeBytes(of: h.littleEndian) { v1 += $0 }
        let b = try InferenceState(model: m, nCtx: 64, kvType: .f16)
        try v1.withUnsafeBytes { try b.loadState($0) }
        try a.evaluate([3]); try b.evaluate([3])
        XCTAssertEqual(Array(b.lastLogits), Array(a.lastLogits))
        v2[8] = 7
        let body = Array(v2.dropLast(8))
        var resealed = body
        withUnsafeBytes(of: body.withUnsafeBytes { SavedState.fnv1a($0) }.littleEndian) { resealed += $0 }
        do { try resealed.withUnsafeBytes { try b.loadState($0) }; XCTFail("version 7 accepted") } catch let e as TritError {
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertTrue(e.message.contains("version 7"), e.message)
        }
    }
}
