// libFuzzer target: safetensors reader (built into build/fuzz/fuzz_all by scripts/fuzz.sh).
func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntryPoints.safetensors(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
