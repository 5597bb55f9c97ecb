/// A tokenizer: the vocabulary, its special ids and the encoding algorithm (docs/formats.md §4).
/// Immutable after load and shareable by many threads.
public final class Tokenizer: @unchecked Sendable {
    public enum Kind: String, Sendable {
        case spm   // SentencePiece BPE (tokenizer.ggml.model = llama)
        case bpe   // byte-level BPE (tokenizer.ggml.model = gpt2)
    }
    /// Token types as GGUF and SentencePiece number them.
    public enum TokenType: Int32, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public let kind: Kind
    public let tokens: [String]
    public let scores: [Float]
    public let types: [TokenType]
    public let bos: Int32?
    public let eos: Int32?
    public let unk: Int32?
    /// Every token that ends generation (EOS, `<|eot_id|>`, `<|end_of_text|>`, `<|im_end|>`, …).
    public let endOfGeneration: Set<Int32>
    public let addBOS: Bool
    public let addEOS: Bool
    public let addSpacePrefix: Bool
    public let preTokenizer: PreTokenizer
    /// The pre-tokenizer's name as the file gave it (tokenizer.ggml.pre), kept so that a converted
    /// file names it the same way; nil when the file named none.
    public internal(set) var preTokenizerName: String?

    /// Token bytes → id. Keyed by bytes, not String: Swift compares Strings by canonical
    /// equivalence, so "\u{340}" would find the token "\u{300}"; vocabularies are byte-exact.
    let index: [[UInt8]: Int32]

    /// The id of the token whose text is exactly `text`.
    public func id(of text: String) -> Int32? { index[Array(text.utf8)] }
    let pieceBytes: [[UInt8]]             // what each token decodes to
    let byteTokens: [Int32]               // SPM: id of <0xXX> for each byte (-1 if absent)
    let merges: [MergeKey: Merge]         // BPE (and SPM from tokenizer.json): rank and result of each merge
    public let mergeList: [String]        // BPE: the merges in rank order, as "left right"
    let byteLevelIDs: [Int32?]            // BPE: the token of each single byte
    let specials: [(bytes: [UInt8], id: Int32, alwaysSplit: Bool)]   // longest first
    /// tokenizer.json BPE options of an SPM vocabulary: `ignore_merges` (a whole word in the
    /// vocabulary is one token), `fuse_unk` (a run of unknown characters is one UNK).
    let ignoreMergesForWholeWords: Bool
    let fuseUnknown: Bool

    struct MergeKey: Hashable { let left: Int32; let right: Int32 }
    struct Merge { let rank: Int32; let result: Int32 }

    init(kind: Kind, tokens: [String], scores: [Float], types: [TokenType], merges: [String],
         bos: Int32?, eos: Int32?, unk: Int32?, eot extraEOG: [Int32], addBOS: Bool, addEOS: Bool,
         addSpacePrefix: Bool, preTokenizer: PreTokenizer, ignoreMerges: Bool = false, fuseUnknown: Bool = false,
         origin: String) throws {
        let n = tokens.count
        guard n > 0 else { throw TritError.format("\(origin): the vocabulary is empty") }
        guard scores.count == n || scores.isEmpty, types.count == n || types.isEmpty else {
            throw TritError.format("\(origin): tokenizer arrays disagree in length (tokens \(n), scores \(scores.count), types \(types.count))")
        }
        for (name, id) in [("BOS", bos), ("EOS", eos), ("UNK", unk)] {
            if let id, id < 0 || Int(id) >= n { throw TritError.format("\(origin): \(name) token id \(id) is outside the vocabulary (\(n) tokens)") }
        }
        self.kind = kind
        self.tokens = tokens
        self.scores = scores.isEmpty ? [Float](repeating: 0, count: n) : scores
        self.types = types.isEmpty ? [TokenType](repeating: .normal, count: n) : types
        self.bos = bos
        self.eos = eos
        self.unk = unk
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.preTokenizer = preTokenizer
        ignoreMergesForWholeWords = ignoreMerges
        self.fuseUnknown = fuseUnknown

        var idx: [[UInt8]: Int32] = [:]
        idx.reserveCapacity(n)
        for (i, t) in tokens.enumerated() { let k = Array(t.utf8); if idx[k] == nil { idx[k] = Int32(i) } }
        index = idx

        var eog = Set<Int32>()
        if let eos { eog.insert(eos) }
        for id in extraEOG where id >= 0 && Int(id) < n { eog.insert(id) }
        for name in ["<|eot_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>", "<end_of_turn>", "<|end|>"] {
            if let id = idx[Array(name.utf8)], self.types[Int(id)] == .control || self.types[Int(id)] == .userDefined { eog.insert(id) }
        }
        endOfGeneration = eog

        var bytesOf: [[UInt8]] = []
        bytesOf.reserveCapacity(n)
        var byteIDs = [Int32](repeating: -1, count: 256)
        let tt = self.types
        switch kind {
        case .spm:
            for (i, t) in tokens.enumerated() {
                if tt[i] == .byte, let b = Self.parseByteToken(t) {
                    bytesOf.append([b])
                    if byteIDs[Int(b)] < 0 { byteIDs[Int(b)] = Int32(i) }
                } else if tt[i] == .control || tt[i] == .unknown || tt[i] == .unused {
                    bytesOf.append([])
                } else {
                    bytesOf.append(Array(t.replacingSpaceMarker().utf8))
                }
            }
        case .bpe:
            for (i, t) in tokens.enumerated() {
                if tt[i] == .control || tt[i] == .unused {
                    bytesOf.append([])
                } else if tt[i] == .userDefined {
                    bytesOf.append(Array(t.utf8))
                } else {
                    bytesOf.append(ByteLevel.decode(t) ?? Array(t.utf8))
                }
            }
        }
        pieceBytes = bytesOf
        byteTokens = byteIDs

        // an SPM vocabulary from tokenizer.json (Gemma's) encodes by its merges, as HF's BPE model
        var ranks: [MergeKey: Merge] = [:]
        if kind == .bpe || !merges.isEmpty {
            ranks.reserveCapacity(merges.count)
            for (r, m) in merges.enumerated() {
                guard let sp = m.firstIndex(of: " ") else {
                    throw TritError.format("\(origin): merge #\(r) \"\(m)\" is not two tokens separated by a space")
                }
                let a = Array(m[..<sp].utf8), b = Array(m[m.index(after: sp)...].utf8)
                guard let ia = idx[a], let ib = idx[b], let ir = idx[a + b] else {
                    throw TritError.format("\(origin): merge #\(r) \"\(m)\" names a token that is not in the vocabulary")
                }
                let key = MergeKey(left: ia, right: ib)
                if ranks[key] == nil { ranks[key] = Merge(rank: Int32(r), result: ir) }
            }
        }
        self.merges = ranks
        mergeList = merges
        byteLevelIDs = (0..<256).map { idx[Array(ByteLevel.encode([UInt8($0)]).utf8)] }

        var sp: [(bytes: [UInt8], id: Int32, alwaysSplit: Bool)] = []
        for (i, t) in tokens.enumerated() where (tt[i] == .control || tt[i] == .userDefined) && !t.isEmpty {
            sp.append((Array(t.utf8), Int32(i), tt[i] == .userDefined))
        }
        sp.sort { $0.bytes.count > $1.bytes.count }
        specials = sp
    }

    public var vocabSize: Int { tokens.count }

    static func parseByteToken(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }  // <0xXX>
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    /// The bytes token `id` stands for (empty for control tokens); nil if out of range.
    public func bytes(of id: Int32) -> [UInt8]? {
        guard id >= 0, Int(id) < pieceBytes.count else { return nil }
        return pieceBytes[Int(id)]
    }

    /// The raw text of a token as the vocabulary stores it (control tokens included).
    public func piece(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count else { return nil }
        return tokens[Int(id)]
    }

    public func isEndOfGeneration(_ id: Int32) -> Bool { endOfGeneration.contains(id) }
}

extension String {
    /// SentencePiece's ▁ (U+2581) back to a space.
    func replacingSpaceMarker() -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for ch in unicodeScalars { out.unicodeScalars.append(ch == "\u{2581}" ? " " : ch) }
        return out
    }
}

extension Tokenizer {
    /// The end-of-turn token of chat formats (`<|eot_id|>`, `<|im_end|>`, `<end_of_turn>`), if any.
    public var endOfTurn: Int32? {
        for name in ["<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>"] { if let id = id(of: name) { return id } }
        return nil
    }
}
