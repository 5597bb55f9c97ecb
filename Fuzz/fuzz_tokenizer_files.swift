// libFuzzer target: tokenizer_files reader (built into build/fuzz/fuzz_all by scripts/fuzz.sh).

/// tokenizer.model (protobuf) and tokenizer.json readers, with the config.json and
/// tokenizer_config.json a folder gives them. Input: optionally "CFG", a u16 length and that many
/// bytes of config.json, a u16 length and tokenizer_config.json; then the tokenizer file.
func fuzzTokenizerFiles(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var bytes = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
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
    if let t = try? HFTokenizerLoader.loadSentencePiece(bytes: bytes, origin: "tokenizer.model",
                                                       tokenizerConfig: tokenizerConfig, config: config) {
        _ = t.encode("hello world 123", addSpecial: true)
    }
    if let t = try? HFTokenizerLoader.loadJSON(bytes: bytes, origin: "tokenizer.json", tokenizerConfig: tokenizerConfig,
                                               config: config) {
        _ = t.encode("hello world 123", addSpecial: true)
    }
    return 0
}
