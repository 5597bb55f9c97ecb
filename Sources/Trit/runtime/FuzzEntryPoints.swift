/// Entry points of the fuzz targets (Fuzz/), one per reader: each parses untrusted bytes the
/// way loading a file would and must only ever throw.
public enum FuzzEntryPoints {
    /// A GGUF file, up to a runnable model (and one evaluated token when it loads).
    public static func gguf(_ data: UnsafeRawBufferPointer) {
        let f = MappedFile(copying: data, path: "fuzz.gguf")
        guard let g = try? GGUFFile(file: f) else { return }
        _ = try? GGUFTokenizerLoader.loadIfPresent(g)
        guard let m = try? GGUFModelLoader.load(g), m.weightBytes < 64 << 20,
              let s = try? InferenceState(model: m, nCtx: 4) else { return }
        try? s.evaluate([0])
    }

    /// A safetensors file; its bytes are also parsed as a config.json.
    public static func safetensors(_ data: UnsafeRawBufferPointer) {
        let f = MappedFile(copying: data, path: "fuzz.safetensors")
        if let st = try? SafetensorsFile(file: f) {
            for (_, t) in st.tensors { _ = try? st.data(of: t) }
        }
        _ = try? JSON.parse(data, origin: "config.json")
    }

    /// tokenizer.model (protobuf) and tokenizer.json readers.
    public static func tokenizerFiles(_ data: UnsafeRawBufferPointer) {
        let bytes = [UInt8](data)
        if let t = try? HFTokenizerLoader.loadSentencePiece(bytes: bytes, origin: "tokenizer.model", tokenizerConfig: nil, config: .object([])) {
            _ = t.encode("hello world 123", addSpecial: true)
        }
        if let t = try? HFTokenizerLoader.loadJSON(bytes: bytes, origin: "tokenizer.json", tokenizerConfig: nil, config: .object([])) {
            _ = t.encode("hello world 123", addSpecial: true)
        }
    }

    /// The tokenizer itself: arbitrary bytes through encode (and decode back when valid).
    public static func tokenize(_ tokenizer: Tokenizer, _ data: UnsafeRawBufferPointer) {
        let b = data.bindMemory(to: UInt8.self)
        let special = b.first.map { $0 & 1 == 1 } ?? false
        guard let ids = try? tokenizer.encode(bytes: b, addSpecial: special, parseSpecial: special) else { return }
        if let back = try? tokenizer.decode(ids, renderSpecial: special, stripLeadingSpace: false), !special, tokenizer.kind == .bpe {
            precondition(back == Array(b), "BPE round trip failed")
        }
    }
}
