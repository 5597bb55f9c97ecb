// libFuzzer target: the tokenizer itself, on a SentencePiece and a byte-level BPE vocabulary.
nonisolated(unsafe) let fuzzTokenizers: [Tokenizer] = [
    try! Tokenizer.load(path: "Tests/Fixtures/b158-tiny/model.i2_s.gguf"),
    try! Tokenizer.load(path: "Examples/train/data"),
]

func fuzzTokenize(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let b = UnsafeRawBufferPointer(start: data, count: size)
    for t in fuzzTokenizers { FuzzEntryPoints.tokenize(t, b) }
    return 0
}
