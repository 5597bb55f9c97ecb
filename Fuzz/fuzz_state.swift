// libFuzzer target: saved states (prompt cache files) loaded into a context (built into build/fuzz/fuzz_all by scripts/fuzz.sh).

/// The model a saved state is loaded against: the b158 fixture.
nonisolated(unsafe) let fuzzStateModel = fuzzFixture("Tests/Fixtures/b158-tiny/model.i2_s.gguf") { try Model.load(path: $0) }

/// A saved state (without its last 8 bytes: the checksum is appended here, so mutations reach the
/// field checks), loaded into a context of the b158 fixture; one token evaluated after. It must only
/// ever throw.
func fuzzState(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let s = try? InferenceState(model: fuzzStateModel, nCtx: 64, kvType: .f16) else { return 0 }
    var bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
    let h = bytes.withUnsafeBytes { SavedState.fnv1a($0) }
    withUnsafeBytes(of: h.littleEndian) { bytes += $0 }
    if (try? bytes.withUnsafeBytes { try s.loadState($0) }) != nil { try? s.evaluate([1]) }
    return 0
}
