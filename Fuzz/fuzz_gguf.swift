// libFuzzer target: gguf reader (built by scripts/fuzz.sh).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntryPoints.gguf(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
