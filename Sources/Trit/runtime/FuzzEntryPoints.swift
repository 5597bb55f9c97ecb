/// Entry points of the fuzz targets (Fuzz/), one per reader: each parses untrusted bytes the
/// way loading a file would and must only ever throw.
public enum FuzzEntryPoints {
    /// The model a saved state is loaded against (the b158 fixture, from the repository root).
    nonisolated(unsafe) static var stateModel: Model? = nil

    /// A saved state (without its last 8 bytes: the checksum is appended here, so mutations reach
    /// the field checks), loaded into a context of the b158 fixture; one token evaluated after.
    public static func state(_ data: UnsafeRawBufferPointer) {
        if stateModel == nil { stateModel = try? Model.load(path: "Tests/Fixtures/b158-tiny/model.i2_s.gguf") }
        guard let m = stateModel, let s = try? InferenceState(model: m, nCtx: 64, kvType: .f16) else { return }
        var bytes = [UInt8](data)
        let h = bytes.withUnsafeBytes { SavedState.fnv1a($0) }
        withUnsafeBytes(of: h.littleEndian) { bytes += $0 }
        if (try? bytes.withUnsafeBytes { try s.loadState($0) }) != nil { try? s.evaluate([1]) }
    }

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

    /// tokenizer.model (protobuf) and tokenizer.json readers, with the config.json and
    /// tokenizer_config.json a folder gives them. Input: optionally "CFG", a u16 length and that
    /// many bytes of config.json, a u16 length and tokenizer_config.json; then the tokenizer file.
    public static func tokenizerFiles(_ data: UnsafeRawBufferPointer) {
        var bytes = [UInt8](data)
        var config: JSON = .object([])
        var tokenizerConfig: JSON?
        if bytes.count >= 5, bytes[0] == 0x43, bytes[1] == 0x46, bytes[2] == 0x47 {
            var at = 3
            func section() -> [UInt8]? {
                guard at + 2 <= bytes.count else { return nil }
                let n = Int(bytes[at]) | Int(bytes[at + 1]) << 8
                at += 2
                guard at + n <= bytes.count else { return nil }
                defer { at += n }
                return Array(bytes[at..<(at + n)])
            }
            if let c = section(), let j = try? JSON.parse(c, origin: "config.json") { config = j }
            if let c = section() { tokenizerConfig = try? JSON.parse(c, origin: "tokenizer_config.json") }
            bytes = Array(bytes[min(at, bytes.count)...])
        }
        if let t = try? HFTokenizerLoader.loadSentencePiece(bytes: bytes, origin: "tokenizer.model", tokenizerConfig: tokenizerConfig,
                                                           config: config) {
            _ = t.encode("hello world 123", addSpecial: true)
        }
        if let t = try? HFTokenizerLoader.loadJSON(bytes: bytes, origin: "tokenizer.json", tokenizerConfig: tokenizerConfig, config: config) {
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
