/// tokenizer.json holding a SentencePiece vocabulary as a BPE model with byte fallback (Gemma's,
/// Llama 2's): an `spm` Tokenizer that encodes by the file's merges (Tokenizer+SentencePieceBPE).
/// The spaces' handling must be one this algorithm does (spaces to ▁, maybe a leading ▁); any
/// other normalizer or pre-tokenizer is refused by name rather than tokenized differently.
extension HFTokenizerLoader {
    static func loadSentencePieceBPE(_ j: JSON, origin path: String, tokenizerConfig: JSON?,
                                     config: JSON) throws -> Tokenizer {
        let model = j["model"]!
        let spacePrefix = try spaceHandling(j, origin: path)
        var maxID = -1
        let vocab = model["vocab"]?.object ?? []
        for (_, v) in vocab { maxID = max(maxID, v.int ?? -1) }
        let added = j["added_tokens"]?.array ?? []
        for a in added { maxID = max(maxID, a["id"]?.int ?? -1) }
        guard maxID >= 0, maxID < 1 << 24 else { throw TritError.format("\(path): vocabulary ids are out of range") }
        var tokens = [String](repeating: "", count: maxID + 1)
        var types = [Tokenizer.TokenType](repeating: .unused, count: maxID + 1)
        for (k, v) in vocab {
            guard let id = v.int, id >= 0 else { throw TritError.format("\(path): token \(k) has an invalid id") }
            tokens[id] = k
            types[id] = Tokenizer.parseByteToken(k) != nil ? .byte : .normal
        }
        for a in added {
            guard let id = a["id"]?.int, id >= 0, let c = a["content"]?.string else { continue }
            tokens[id] = c
            types[id] = a["special"]?.bool == true ? .control : .userDefined
        }
        var unk: Int32? = nil
        if let u = model["unk_token"]?.string, let id = tokens.firstIndex(of: u) {
            unk = Int32(id)
            types[id] = .unknown
        }
        let merges = try mergeList(model, origin: path)
        // scores for a GGUF export (llama.cpp's SPM merges the best-scored piece first): −rank of
        // the first merge making the piece
        var scores = [Float](repeating: 0, count: tokens.count)
        var index: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where index[t] == nil { index[t] = i }
        var scored = [Bool](repeating: false, count: tokens.count)
        for (r, m) in merges.enumerated() {
            if let sp = m.firstIndex(of: " "), let id = index[String(m[..<sp]) + String(m[m.index(after: sp)...])],
               !scored[id] {
                scores[id] = -Float(r)
                scored[id] = true
            }
        }
        let (bos, eos, extra) = try specialIDs(tokens: tokens, tokenizerConfig: tokenizerConfig, config: config)
        return try Tokenizer(kind: .spm, tokens: tokens, scores: scores, types: types, merges: merges,
                             bos: bos, eos: eos, unk: unk, eot: extra,
                             addBOS: tokenizerConfig?["add_bos_token"]?.bool ?? (bos != nil),
                             addEOS: tokenizerConfig?["add_eos_token"]?.bool ?? false,
                             addSpacePrefix: spacePrefix, preTokenizer: .none,
                             ignoreMerges: model["ignore_merges"]?.bool ?? false,
                             fuseUnknown: model["fuse_unk"]?.bool ?? false, origin: path)
    }

    /// A BPE model's merges as "left right" strings (tokenizer.json writes "a b" or [a, b]).
    static func mergeList(_ model: JSON, origin path: String) throws -> [String] {
        var merges: [String] = []
        for m in model["merges"]?.array ?? [] {
            if let s = m.string {
                merges.append(s)
            } else if let pair = m.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
                merges.append(a + " " + b)
            } else {
                throw TritError.format("\(path): a merge is neither \"a b\" nor [a, b]")
            }
        }
        return merges
    }

    /// Whether a leading ▁ is added, from the normalizer (Replace " " → "▁", Prepend "▁", or a
    /// Sequence of them) and the pre-tokenizer (none, Split on " ", which finds no space left, or
    /// Metaspace without splitting); throws for anything else.
    static func spaceHandling(_ j: JSON, origin path: String) throws -> Bool {
        var replaced = false, prefix = false
        func normalizer(_ n: JSON) throws {
            switch n["type"]?.string {
            case "Sequence"?: for s in n["normalizers"]?.array ?? [] { try normalizer(s) }
            case "Replace"? where n["pattern"]?["String"]?.string == " " && n["content"]?.string == "\u{2581}":
                replaced = true
            case "Prepend"? where n["prepend"]?.string == "\u{2581}": prefix = true
            default:
                let type = n["type"]?.string ?? "?"
                throw TritError.unsupported("\(path): normalizer \(type) of a byte-fallback BPE is not supported")
            }
        }
        if let n = j["normalizer"], !n.isNull { try normalizer(n) }
        if let p = j["pre_tokenizer"], !p.isNull {
            switch p["type"]?.string {
            case "Split"? where p["pattern"]?["String"]?.string == " " && replaced: break
            case "Metaspace"? where p["split"]?.bool != true && p["replacement"]?.string ?? "\u{2581}" == "\u{2581}":
                replaced = true
                switch p["prepend_scheme"]?.string ?? (p["add_prefix_space"]?.bool == false ? "never" : "always") {
                case "always": prefix = true
                case "never": break
                default:
                    let scheme = p["prepend_scheme"]?.string ?? "?"
                    throw TritError.unsupported("\(path): Metaspace prepend_scheme \(scheme) is not supported")
                }
            default:
                let type = p["type"]?.string ?? "?"
                throw TritError.unsupported("\(path): pre-tokenizer \(type) of a byte-fallback BPE is not supported")
            }
        }
        guard replaced else {
            throw TritError.unsupported("\(path): a byte-fallback BPE that keeps spaces (no ▁) is not supported")
        }
        return prefix
    }
}
