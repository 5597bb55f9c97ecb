// libFuzzer target: gguf reader (built into build/fuzz/fuzz_all by scripts/fuzz.sh).
func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntryPoints.gguf(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
