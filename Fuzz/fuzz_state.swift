// libFuzzer target: saved states (prompt cache files) loaded into a context (built into build/fuzz/fuzz_all by scripts/fuzz.sh).
func fuzzState(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntryPoints.state(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
