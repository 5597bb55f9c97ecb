import XCTest
@testable import Trit

/// Saved states: a loaded state continues exactly as the saved context would; another model's,
/// another KV type's, a truncated or an altered state is refused and changes nothing.
final class SavedStateTests: XCTestCase {
    static let b158 = Fixtures.root + "/b158-tiny/model.i2_s.gguf"
    let tokens: [Int32] = (0..<40).map { Int32(($0 * 53 + 7) % 1000) }

    func testRoundTripContinuesBitForBit() throws {
        let m = try Model.load(path: Self.b158)
        for type in KVCacheType.allCases {
            let a = try InferenceState(model: m, nCtx: 64, kvType: type)
            try a.evaluate(tokens)
            let saved = a.saveState()
            let b = try InferenceState(model: m, nCtx: 80, kvType: type)   // another n_ctx is fine
            try b.evaluate([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
                            30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45])   // longer than the state: released
            try saved.withUnsafeBytes { try b.loadState($0) }
            XCTAssertEqual(b.tokens, tokens)
            XCTAssertEqual(Array(b.lastLogits), Array(a.lastLogits), "the saved logits")
            try a.evaluate([77]); try b.evaluate([77])
            XCTAssertEqual(Array(b.lastLogits), Array(a.lastLogits), "\(type.name): the next token's logits, bit for bit")
            // through a file too
            let path = NSTemporaryDirectory() + "trit-state-\(getpid()).bin"
            defer { unlink(path) }
            try a.saveState(path: path)
            let c = try InferenceState(model: m, nCtx: 64, kvType: type)
            try c.loadState(path: path)
            XCTAssertEqual(c.tokens, a.tokens)
        }
    }

    func loadError(_ s: InferenceState, _ bytes: [UInt8]) -> TritError? {
        do { try bytes.withUnsafeBytes { try s.loadState($0) }; return nil } catch { return error as? TritError }
    }

    /// A state with its checksum recomputed, so the field checks are what refuses it.
    func resealed(_ b: [UInt8]) -> [UInt8] {
        var body = Array(b.dropLast(8))
        let h = body.withUnsafeBytes { SavedState.fnv1a($0) }
        withUnsafeBytes(of: h.littleEndian) { body += $0 }
        return body
    }

    func testBadStatesAreRefusedAndChangeNothing() throws {
        let m = try Model.load(path: Self.b158)
        let a = try InferenceState(model: m, nCtx: 64, kvType: .f16)
        try a.evaluate(tokens)
        let saved = a.saveState()
        let target = try InferenceState(model: m, nCtx: 64, kvType: .f16)
        try target.evaluate([5, 6, 7])
        let before = Array(target.lastLogits)
        func unchanged(_ why: String) {
            XCTAssertEqual(target.tokens, [5, 6, 7], why)
            XCTAssertEqual(Array(target.lastLogits), before, why)
        }
        // truncated at every tenth of its length, and one byte short
        for i in 0..<10 {
            let e = loadError(target, Array(saved.prefix(saved.count * i / 10)))
            XCTAssertNotNil(e, "cut at \(i)/10")
            XCTAssertTrue(e?.kind == .format, "\(String(describing: e))")
            unchanged("cut at \(i)/10")
        }
        XCTAssertEqual(loadError(target, Array(saved.dropLast()))?.kind, .format)
        // one altered byte anywhere: the checksum
        var flipped = saved
        flipped[saved.count / 2] ^= 0x40
        XCTAssertTrue(loadError(target, flipped)?.message.contains("checksum") == true)
        unchanged("altered")
        // another KV type
        let q8 = try InferenceState(model: m, nCtx: 64, kvType: .q8_0)
        let e = loadError(q8, saved)
        XCTAssertEqual(e?.kind, .argument)
        XCTAssertTrue(e?.message.contains("f16/f16") == true && e?.message.contains("q8_0/q8_0") == true, "\(String(describing: e))")
        // another model, named
        // (the fixture's TQ2_0 file is the same function in the same runtime layout: it loads fine)
        let same = try InferenceState(model: try Model.load(path: Fixtures.root + "/b158-tiny/model.tq2_0.gguf"), nCtx: 64, kvType: .f16)
        XCTAssertNil(loadError(same, saved))
        let other = try Model.load(path: Fixtures.root + "/llama-ternary-tiny/hf")
        let o = try InferenceState(model: other, nCtx: 64, kvType: .f16)
        let eo = loadError(o, saved)
        XCTAssertEqual(eo?.kind, .argument)
        XCTAssertTrue(eo?.message.contains("another model") == true, "\(String(describing: eo))")
        // more positions than the context
        let small = try InferenceState(model: m, nCtx: 16, kvType: .f16)
        XCTAssertEqual(loadError(small, saved)?.kind, .contextFull)
        // fields that lie, with a valid checksum: n_tokens, a token id, the logits flag, the magic
        let nameLen = Int(saved[20]) | Int(saved[21]) << 8
        let nTokensAt = 8 + 4 + 8 + 4 + nameLen + 8 + 16
        for (at, v) in [(nTokensAt, UInt8(0xff)), (nTokensAt + 4 + 3, 0x7f), (nTokensAt + 4 + 4 * tokens.count, 7), (0, 0x41), (8, 9)] {
            var lie = saved
            lie[at] = v
            XCTAssertNotNil(loadError(target, resealed(lie)), "byte \(at) = \(v)")
            unchanged("byte \(at)")
        }
        XCTAssertNotNil(loadError(target, []))
    }
}
