/// SentencePiece vocabularies written as a Hugging Face tokenizer.json BPE model with byte
/// fallback (Gemma's, Llama 2's): the text's spaces become ▁ (after an optional leading ▁), the
/// symbols are its characters, a character outside the vocabulary becomes its <0xXX> byte tokens,
/// then the merges apply by rank, as transformers' `tokenizers` BPE model does.
extension Tokenizer {
    func spmMergeEncode(_ frag: UnsafeBufferPointer<UInt8>, spacePrefix: Bool, into out: inout [Int32]) {
        var text: [UInt8] = []
        text.reserveCapacity(frag.count * 2 + 3)
        if spacePrefix { text.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for b in frag { if b == 0x20 { text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { text.append(b) } }
        if text.isEmpty { return }
        // ignore_merges: a whole word in the vocabulary is that token
        if ignoreMergesForWholeWords, let id = index[text] {
            out.append(id)
            return
        }
        var syms: [Int32] = []
        syms.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            let b = text[i]
            let l = min(b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1, text.count - i)
            if let id = index[Array(text[i..<(i + l)])] {
                syms.append(id)
            } else {
                let bytes = text[i..<(i + l)]
                if bytes.allSatisfy({ byteTokens[Int($0)] >= 0 }) {
                    for b in bytes { syms.append(byteTokens[Int(b)]) }
                } else if let u = unk, syms.last != u || !fuseUnknown {
                    // no byte token for one of its bytes: UNK for the character (fuse_unk: one for a run)
                    syms.append(u)
                }
            }
            i += l
        }
        mergeByRank(&syms, into: &out)
    }
}
