// The one libFuzzer entry point of build/fuzz/fuzz_all: every target is compiled into the same
// binary (one ASan build of the engine instead of one per target) and TRIT_FUZZ_TARGET names the
// one to run (scripts/fuzz.sh sets it). An unknown or missing name, or a target's missing fixture,
// stops the run before any input.
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) let fuzzTarget: (UnsafePointer<UInt8>?, Int) -> Int32 = {
    let name = getenv("TRIT_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    switch name {
    case "capi": return fuzzCAPI
    case "gguf": return fuzzGGUF
    case "safetensors": return fuzzSafetensors
    // the fixtures a target needs load here, before any input: a missing one stops the run with
    // its path (fuzzFixture), and no input is blamed for it
    case "state": _ = fuzzStateModel; return fuzzState
    case "tokenize": _ = fuzzTokenizers; return fuzzTokenize
    case "tokenizer_files": return fuzzTokenizerFiles
    default:
        fputs("fuzz_all: TRIT_FUZZ_TARGET must be one of capi, gguf, safetensors, state, tokenize, tokenizer_files (got \"\(name)\")\n", stderr)
        exit(2)
    }
}()

/// libFuzzer calls this once before the first input: the target is chosen (or the run refused) here.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    _ = fuzzTarget
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzTarget(data, size)
}
