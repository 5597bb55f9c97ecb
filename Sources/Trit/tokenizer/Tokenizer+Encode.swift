/// Encoding: special-token partition, then SentencePiece or byte-level BPE per fragment.
extension Tokenizer {
    /// Encodes UTF-8 text. `addSpecial` adds BOS/EOS as the vocabulary asks; `parseSpecial`
    /// turns control-token texts (e.g. `<|eot_id|>`) into their ids instead of plain text.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int32] {
        var s = text
        return s.withUTF8 { encodeValid($0, addSpecial: addSpecial, parseSpecial: parseSpecial) }
    }

    /// Encodes bytes that must be valid UTF-8 (an error names the first bad byte otherwise).
    public func encode(bytes: UnsafeBufferPointer<UInt8>, addSpecial: Bool = true, parseSpecial: Bool = false) throws -> [Int32] {
        if let bad = firstInvalidUTF8(bytes) {
            throw TritError.argument("text is not valid UTF-8 (byte \(bad) = 0x\(String(bytes[bad], radix: 16)))")
        }
        return encodeValid(bytes, addSpecial: addSpecial, parseSpecial: parseSpecial)
    }

    func encodeValid(_ text: UnsafeBufferPointer<UInt8>, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.count / 3 + 2)
        if addSpecial, addBOS, let b = bos { out.append(b) }
        var prevSpecial = true
        forEachFragment(text, parseSpecial: parseSpecial) { range, special in
            if let id = special {
                out.append(id)
                prevSpecial = true
                return
            }
            let frag = UnsafeBufferPointer(rebasing: text[range])
            switch kind {
            case .spm where !merges.isEmpty:
                spmMergeEncode(frag, spacePrefix: addSpacePrefix && prevSpecial, into: &out)
            case .spm:
                spmEncode(frag, spacePrefix: addSpacePrefix && prevSpecial, into: &out)
            case .bpe:
                preTokenizer.split(frag) { r in bpeEncode(UnsafeBufferPointer(rebasing: frag[r]), into: &out) }
            }
            prevSpecial = false
        }
        if addSpecial, addEOS, let e = eos { out.append(e) }
        return out
    }

    /// Splits text at special-token texts (longest match first). User-defined tokens always
    /// split; control tokens only when `parseSpecial`.
    func forEachFragment(_ t: UnsafeBufferPointer<UInt8>, parseSpecial: Bool, _ body: (Range<Int>, Int32?) -> Void) {
        if specials.isEmpty { if !t.isEmpty { body(0..<t.count, nil) }; return }
        var firstBytes = [Bool](repeating: false, count: 256)
        for s in specials where parseSpecial || s.alwaysSplit { firstBytes[Int(s.bytes[0])] = true }
        var start = 0, i = 0
        outer: while i < t.count {
            if firstBytes[Int(t[i])] {
                for s in specials where (parseSpecial || s.alwaysSplit) && i + s.bytes.count <= t.count {
                    var same = true
                    for k in 0..<s.bytes.count where t[i + k] != s.bytes[k] { same = false; break }
                    if same {
                        if start < i { body(start..<i, nil) }
                        body(i..<(i + s.bytes.count), s.id)
                        i += s.bytes.count
                        start = i
                        continue outer
                    }
                }
            }
            i += 1
        }
        if start < t.count { body(start..<t.count, nil) }
    }

    // MARK: SentencePiece BPE (llama.cpp's SPM algorithm, docs/formats.md §4.2)

    func spmEncode(_ frag: UnsafeBufferPointer<UInt8>, spacePrefix: Bool, into out: inout [Int32]) {
        // escape: optional leading space, every space → ▁ (E2 96 81)
        var text: [UInt8] = []
        text.reserveCapacity(frag.count * 2 + 3)
        if spacePrefix { text.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for b in frag { if b == 0x20 { text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { text.append(b) } }
        if text.isEmpty { return }

        // symbols = UTF-8 characters, as a linked list
        var start: [Int] = [], len: [Int] = [], prev: [Int] = [], next: [Int] = []
        var i = 0
        while i < text.count {
            let b = text[i]
            let l = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            let cl = min(l, text.count - i)
            prev.append(start.count - 1); start.append(i); len.append(cl); next.append(start.count)
            i += cl
        }
        next[next.count - 1] = -1

        func lookup(_ s: Int, _ l: Int) -> Int32? {
            index[Array(text[s..<(s + l)])]
        }
        // max-heap of bigrams by (score, then leftmost)
        var heap = BigramHeap()
        func tryAdd(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            if let id = lookup(start[left], len[left] + len[right]) {
                heap.push(.init(score: scores[Int(id)], left: left, right: right, size: len[left] + len[right]))
            }
        }
        for k in 1..<start.count { tryAdd(k - 1, k) }
        while let bg = heap.pop() {
            let l = bg.left, r = bg.right
            // stale if either side changed since the bigram was queued
            if len[l] == 0 || len[r] == 0 || len[l] + len[r] != bg.size || next[l] != r { continue }
            len[l] += len[r]
            len[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[next[r]] = l }
            tryAdd(prev[l], l)
            tryAdd(l, next[l])
        }
        var k = 0
        while k >= 0 {
            if let id = lookup(start[k], len[k]) {
                out.append(id)
            } else {
                // byte fallback <0xXX>, else UNK
                for b in text[start[k]..<(start[k] + len[k])] {
                    let bid = byteTokens[Int(b)]
                    if bid >= 0 { out.append(bid) } else if let u = unk { out.append(u) }
                }
            }
            k = next[k]
        }
    }

    // MARK: Byte-level BPE (docs/formats.md §4.3)

    func bpeEncode(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        if piece.isEmpty { return }
        // ignore_merges (llama-bpe): a whole pre-token that is a vocabulary entry is emitted as is
        if preTokenizer == .llama3, let id = index[ByteLevel.encodeBytes(piece)] {   // llama.cpp: llama-bpe only
            out.append(id)
            return
        }
        var syms: [Int32] = []
        syms.reserveCapacity(piece.count)
        for b in piece {
            guard let id = byteLevelIDs[Int(b)] else { if let u = unk { syms.append(u) }; continue }
            syms.append(id)
        }
        mergeByRank(&syms, into: &out)
    }

    /// Merges the lowest-ranked adjacent pair of `syms` until no merge applies (HF's BPE model),
    /// appending the result to `out`.
    func mergeByRank(_ syms: inout [Int32], into out: inout [Int32]) {
        if syms.isEmpty { return }
        if syms.count < 24 {
            // short pieces (almost all): merge the lowest-ranked adjacent pair until none applies
            while syms.count > 1 {
                var best = Int32.max, at = -1, result: Int32 = 0
                for j in 0..<(syms.count - 1) {
                    if let m = merges[MergeKey(left: syms[j], right: syms[j + 1])], m.rank < best {
                        best = m.rank; at = j; result = m.result
                    }
                }
                if at < 0 { break }
                syms[at] = result
                syms.remove(at: at + 1)
            }
            out.append(contentsOf: syms)
            return
        }
        // long pieces: a linked list and a heap of candidate merges, O(n log n) instead of O(n²)
        let n = syms.count
        var next = Array(1...n), prev = Array(-1..<(n - 1)), alive = [Bool](repeating: true, count: n)
        next[n - 1] = -1
        var heap = BigramHeap()
        func push(_ l: Int) {
            let r = next[l]
            guard l >= 0, r >= 0, let m = merges[MergeKey(left: syms[l], right: syms[r])] else { return }
            // BigramHeap pops the highest score first, leftmost on ties: score = −rank
            heap.push(.init(score: -Float(m.rank), left: l, right: r, size: Int(syms[l]) &* 1_000_003 &+ Int(syms[r])))
        }
        for i in 0..<(n - 1) { push(i) }
        while let c = heap.pop() {
            let l = c.left, r = c.right
            // stale when either side was merged away or changed since the pair was queued
            guard alive[l], alive[r], next[l] == r, c.size == Int(syms[l]) &* 1_000_003 &+ Int(syms[r]),
                  let m = merges[MergeKey(left: syms[l], right: syms[r])] else { continue }
            syms[l] = m.result
            alive[r] = false
            next[l] = next[r]
            if next[r] >= 0 { prev[next[r]] = l }
            if prev[l] >= 0 { push(prev[l]) }
            push(l)
        }
        var i = 0
        while i >= 0 { out.append(syms[i]); i = next[i] }
    }
}

struct BigramHeap {
    struct Item { let score: Float; let left: Int; let right: Int; let size: Int }
    var items: [Item] = []

    static func before(_ a: Item, _ b: Item) -> Bool {
        a.score > b.score || (a.score == b.score && a.left < b.left)
    }
    mutating func push(_ x: Item) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !Self.before(items[i], items[p]) { break }
            items.swapAt(i, p)
            i = p
        }
    }
    mutating func pop() -> Item? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, Self.before(items[l], items[m]) { m = l }
                if r < items.count, Self.before(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
