// libFuzzer target: tokenizer_files reader (built into build/fuzz/fuzz_all by scripts/fuzz.sh).
func fuzzTokenizerFiles(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntryPoints.tokenizerFiles(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
