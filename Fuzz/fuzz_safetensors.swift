// libFuzzer target: safetensors reader (built into build/fuzz/fuzz_all by scripts/fuzz.sh).

/// A safetensors file, every tensor's data looked up; its bytes are also parsed as a config.json.
func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let f = MappedFile(copying: bytes, path: "fuzz.safetensors")
    if let st = try? SafetensorsFile(file: f) {
        for (_, t) in st.tensors { _ = try? st.data(of: t) }
    }
    _ = try? JSON.parse(bytes, origin: "config.json")
    return 0
}
