/// Tokenizers from a Hugging Face folder: `tokenizer.model` (SentencePiece protobuf, parsed by
/// hand) or `tokenizer.json` (byte-level BPE).
enum HFTokenizerLoader {
    static func loadIfPresent(folder: String, config: JSON) throws -> Tokenizer? {
        let cfgPath = folder + "/tokenizer_config.json"
        let tcfg: JSON? = fileExists(cfgPath) ? try JSON.parse(try readWholeFile(cfgPath, limit: 1 << 26), origin: cfgPath) : nil
        if fileExists(folder + "/tokenizer.json") {
            return try loadJSON(folder + "/tokenizer.json", tokenizerConfig: tcfg, config: config)
        }
        if fileExists(folder + "/tokenizer.model") {
            return try loadSentencePiece(folder + "/tokenizer.model", tokenizerConfig: tcfg, config: config)
        }
        return nil
    }

    // MARK: SentencePiece model (protobuf)

    /// ModelProto: 1 = pieces (SentencePiece: 1 piece, 2 score, 3 type), 2 = trainer_spec
    /// (40 unk_id, 41 bos_id, 42 eos_id), 3 = normalizer_spec (3 add_dummy_prefix).
    static func loadSentencePiece(_ path: String, tokenizerConfig: JSON?, config: JSON) throws -> Tokenizer {
        try loadSentencePiece(bytes: try readWholeFile(path, limit: 1 << 28), origin: path, tokenizerConfig: tokenizerConfig, config: config)
    }

    static func loadSentencePiece(bytes: [UInt8], origin path: String, tokenizerConfig: JSON?, config: JSON) throws -> Tokenizer {
        var tokens: [String] = [], scores: [Float] = [], types: [Tokenizer.TokenType] = []
        var unk: Int32? = 0, bos: Int32? = 1, eos: Int32? = 2
        var addDummyPrefix = true
        try bytes.withUnsafeBytes { raw in
            var pb = Protobuf(raw, origin: path)
            while let (field, wire) = try pb.nextField() {
                switch (field, wire) {
                case (1, 2):
                    var sub = try pb.message()
                    var piece = "", score: Float = 0, type = Tokenizer.TokenType.normal
                    while let (f, w) = try sub.nextField() {
                        switch (f, w) {
                        case (1, 2): piece = String(decoding: try sub.lengthDelimited(), as: UTF8.self)
                        case (2, 5): score = Float(bitPattern: try sub.fixed32())
                        case (3, 0): type = Tokenizer.TokenType(rawValue: Int32(truncatingIfNeeded: try sub.varint())) ?? .normal
                        default: try sub.skip(wire: w)
                        }
                    }
                    tokens.append(piece); scores.append(score); types.append(type)
                case (2, 2):
                    var sub = try pb.message()
                    while let (f, w) = try sub.nextField() {
                        switch (f, w) {
                        case (40, 0): unk = Int32(truncatingIfNeeded: Int64(bitPattern: try sub.varint()))
                        case (41, 0): bos = Int32(truncatingIfNeeded: Int64(bitPattern: try sub.varint()))
                        case (42, 0): eos = Int32(truncatingIfNeeded: Int64(bitPattern: try sub.varint()))
                        default: try sub.skip(wire: w)
                        }
                    }
                case (3, 2):
                    var sub = try pb.message()
                    while let (f, w) = try sub.nextField() {
                        if f == 3, w == 0 { addDummyPrefix = try sub.varint() != 0 } else { try sub.skip(wire: w) }
                    }
                default:
                    try pb.skip(wire: wire)
                }
            }
        }
        func valid(_ id: Int32?) -> Int32? { id.flatMap { $0 >= 0 && Int($0) < tokens.count ? $0 : nil } }
        // added tokens beyond the SentencePiece vocabulary (e.g. a pad token at 32000)
        // (vocab_size is untrusted: ids are also capped at 2^24, as for tokenizer.json)
        let vocabSize = min(config["vocab_size"]?.int ?? tokens.count, 1 << 24)
        if let added = tokenizerConfig?["added_tokens_decoder"]?.object {
            for (k, v) in added.sorted(by: { (Int($0.0) ?? -1) < (Int($1.0) ?? -1) }) {
                guard let id = Int(k), id >= tokens.count, id < vocabSize, let content = v["content"]?.string else { continue }
                while tokens.count < id { tokens.append("<unused\(tokens.count)>"); scores.append(0); types.append(.unused) }
                tokens.append(content); scores.append(0); types.append(v["special"]?.bool == true ? .control : .userDefined)
            }
        }
        return try Tokenizer(kind: .spm, tokens: tokens, scores: scores, types: types, merges: [],
                             bos: valid(bos), eos: valid(eos), unk: valid(unk), eot: [],
                             addBOS: tokenizerConfig?["add_bos_token"]?.bool ?? true,
                             addEOS: tokenizerConfig?["add_eos_token"]?.bool ?? false,
                             addSpacePrefix: addDummyPrefix, preTokenizer: .none, origin: path)
    }

    // MARK: tokenizer.json (byte-level BPE)

    static func loadJSON(_ path: String, tokenizerConfig: JSON?, config: JSON) throws -> Tokenizer {
        try loadJSON(bytes: try readWholeFile(path, limit: 1 << 30), origin: path, tokenizerConfig: tokenizerConfig, config: config)
    }

    static func loadJSON(bytes: [UInt8], origin path: String, tokenizerConfig: JSON?, config: JSON) throws -> Tokenizer {
        let j = try JSON.parse(bytes, origin: path)
        guard let model = j["model"], model["type"]?.string == "BPE", let vocab = model["vocab"]?.object else {
            throw TritError.unsupported("\(path): only BPE models are supported in tokenizer.json")
        }
        if model["byte_fallback"]?.bool == true {
            return try loadSentencePieceBPE(j, origin: path, tokenizerConfig: tokenizerConfig, config: config)
        }
        var maxID = -1
        for (_, v) in vocab { maxID = max(maxID, v.int ?? -1) }
        let added = j["added_tokens"]?.array ?? []
        for a in added { maxID = max(maxID, a["id"]?.int ?? -1) }
        guard maxID >= 0, maxID < 1 << 24 else { throw TritError.format("\(path): vocabulary ids are out of range") }
        var tokens = [String](repeating: "", count: maxID + 1)
        var types = [Tokenizer.TokenType](repeating: .unused, count: maxID + 1)
        for (k, v) in vocab {
            guard let id = v.int, id >= 0 else { throw TritError.format("\(path): token \(k) has an invalid id") }
            tokens[id] = k; types[id] = .normal
        }
        for a in added {
            guard let id = a["id"]?.int, id >= 0, let c = a["content"]?.string else { continue }
            tokens[id] = c
            types[id] = a["special"]?.bool == true ? .control : .userDefined
        }
        let merges = try mergeList(model, origin: path)
        // pre-tokenizer: a Split with LLaMA 3's pattern → llama3; ByteLevel alone → gpt2
        var pre = PreTokenizer.gpt2
        func scan(_ p: JSON?) {
            guard let p else { return }
            if p["type"]?.string == "Split", let re = p["pattern"]?["Regex"]?.string, re.contains("\\p{N}{1,3}") { pre = .llama3 }
            for s in p["pretokenizers"]?.array ?? [] { scan(s) }
        }
        scan(j["pre_tokenizer"])
        let (bos, eos, extra) = try specialIDs(tokens: tokens, tokenizerConfig: tokenizerConfig, config: config)
        return try Tokenizer(kind: .bpe, tokens: tokens, scores: [], types: types, merges: merges,
                             bos: bos, eos: eos, unk: nil, eot: extra,
                             addBOS: tokenizerConfig?["add_bos_token"]?.bool ?? (bos != nil),
                             addEOS: tokenizerConfig?["add_eos_token"]?.bool ?? false,
                             addSpacePrefix: false, preTokenizer: pre, origin: path)
    }

    /// BOS, EOS and further end-of-generation ids: tokenizer_config.json's token texts, else
    /// config.json's ids (eos_token_id may be a list).
    static func specialIDs(tokens: [String], tokenizerConfig: JSON?, config: JSON) throws
        -> (bos: Int32?, eos: Int32?, extra: [Int32]) {
        func idOf(_ key: String) -> Int32? {
            guard let v = tokenizerConfig?[key] else { return nil }
            let text = v.string ?? v["content"]?.string
            return text.flatMap { t in tokens.firstIndex(where: { $0.utf8.elementsEqual(t.utf8) }).map { Int32($0) } }
        }
        func configID(_ key: String, _ v: JSON?) throws -> Int32? {
            guard let v, !v.isNull else { return nil }
            guard let i = v.int, let id = Int32(exactly: i), id >= 0, Int(id) < tokens.count else {
                throw TritError.format("config.json: \(key) \(v.int.map(String.init) ?? "(not an integer)") is outside the vocabulary (\(tokens.count) tokens)")
            }
            return id
        }
        let bos = try idOf("bos_token") ?? configID("bos_token_id", config["bos_token_id"]?.array == nil ? config["bos_token_id"] : nil)
        var eos = try idOf("eos_token") ?? configID("eos_token_id", config["eos_token_id"]?.array == nil ? config["eos_token_id"] : nil)
        var extra: [Int32] = []
        if let arr = config["eos_token_id"]?.array {
            for e in arr { if let i = try configID("eos_token_id", e) { extra.append(i) } }
            eos = eos ?? extra.first
        }
        return (bos, eos, extra)
    }
}

/// A minimal protobuf wire-format reader (varint, fixed32/64, length-delimited), bounds-checked.
struct Protobuf {
    var r: ByteReader
    init(_ data: UnsafeRawBufferPointer, origin: String) { r = ByteReader(data, origin: origin) }

    mutating func varint() throws -> UInt64 {
        var v: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            let b = try r.u8("varint")
            v |= UInt64(b & 0x7F) << UInt64(shift)
            if b & 0x80 == 0 { return v }
        }
        throw TritError.format("\(r.origin): malformed protobuf varint at byte \(r.offset)")
    }
    mutating func nextField() throws -> (Int, Int)? {
        if r.remaining == 0 { return nil }
        let key = try varint()
        return (Int(key >> 3), Int(key & 7))
    }
    mutating func fixed32() throws -> UInt32 { try r.u32("fixed32") }
    mutating func lengthDelimited() throws -> UnsafeRawBufferPointer {
        let n = try varint()
        guard n <= UInt64(r.remaining) else { throw TritError.format("\(r.origin): protobuf field longer than the file") }
        return try r.bytes(Int(n), "protobuf field")
    }
    mutating func message() throws -> Protobuf {
        Protobuf(try lengthDelimited(), origin: r.origin)
    }
    mutating func skip(wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1: try r.skip(8, "fixed64")
        case 2: _ = try lengthDelimited()
        case 5: try r.skip(4, "fixed32")
        default: throw TritError.format("\(r.origin): unsupported protobuf wire type \(wire)")
        }
    }
}
