// libFuzzer target: saved states (prompt cache files) loaded into a context (built by scripts/fuzz.sh).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntryPoints.state(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
