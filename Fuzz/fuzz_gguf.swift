// libFuzzer target: gguf reader (built into build/fuzz/fuzz_all by scripts/fuzz.sh).

/// A GGUF file, up to a runnable model (and one evaluated token when it loads); it must only ever throw.
func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let f = MappedFile(copying: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz.gguf")
    guard let g = try? GGUFFile(file: f) else { return 0 }
    _ = try? GGUFTokenizerLoader.loadIfPresent(g)
    guard let m = try? GGUFModelLoader.load(g), m.weightBytes < 64 << 20,
          let s = try? InferenceState(model: m, nCtx: 4) else { return 0 }
    try? s.evaluate([0])
    return 0
}
