// libFuzzer target: the tokenizer itself, on a SentencePiece and a byte-level BPE vocabulary.

nonisolated(unsafe) let fuzzTokenizers: [Tokenizer] = [
    fuzzFixture("Tests/Fixtures/b158-tiny/model.i2_s.gguf") { try Tokenizer.load(path: $0) },
    fuzzFixture("Examples/train/data") { try Tokenizer.load(path: $0) },
]

/// Arbitrary bytes through encode (and decode back when valid): encoding must only ever throw,
/// and a byte-level BPE vocabulary must give the bytes back (a failed round trip is a finding:
/// the target stops the run, and libFuzzer keeps the input).
func fuzzTokenize(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let b = UnsafeRawBufferPointer(start: data, count: size).bindMemory(to: UInt8.self)
    let special = b.first.map { $0 & 1 == 1 } ?? false
    for tokenizer in fuzzTokenizers {
        guard let ids = try? tokenizer.encode(bytes: b, addSpecial: special, parseSpecial: special) else { continue }
        if let back = try? tokenizer.decode(ids, renderSpecial: special, stripLeadingSpace: false), !special,
           tokenizer.kind == .bpe {
            precondition(back == Array(b), "BPE round trip failed")
        }
    }
    return 0
}
