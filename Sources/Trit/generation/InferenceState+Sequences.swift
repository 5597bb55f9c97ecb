#if canImport(Glibc)
import Glibc
#endif

/// Several sequences in one context: batches whose rows belong to different sequences, logits
/// only for the rows that want them, and the per-sequence cache operations a server needs
/// (remove from a position on, copy a prefix). The cache of sequence s and layer l is
/// one block per KV head of `nCtx` head vectors in the KV type; memory is committed as rows are written and given back when
/// a sequence is cut.
extension InferenceState {
    /// Positions every sequence holds together.
    public var cellsUsed: Int { seqPast.reduce(0, +) }

    /// The tokens sequence `s` holds, in order.
    public func tokens(of s: Int) -> [Int32] {
        guard s >= 0, s < nSeq else { return [] }
        return Array(UnsafeBufferPointer(start: seqTokens + s * nCtx, count: seqPast[s]))
    }

    /// Evaluates one batch: row i appends tokens[i] to sequence seqs[i] (rows of one sequence
    /// in order). `logits` receives one row of vocab floats for each row whose `wantLogits` flag
    /// is set (every row when the flags are nil), in row order. Validated before anything
    /// changes; an abort leaves every sequence as it was.
    /// `hidden` (instead of `logits`): the normed last hidden state (dim floats) of each such row,
    /// for the certified head (`sampleCertified`).
    public func decode(_ tokens: UnsafeBufferPointer<Int32>, sequences seqs: UnsafeBufferPointer<Int32>,
                       wantLogits: UnsafeBufferPointer<Bool>?, logits: UnsafeMutablePointer<Float>?,
                       hidden: UnsafeMutablePointer<Float>? = nil) throws {
        let dim = model.config.dim
        let vocab = model.config.vocabSize
        guard tokens.count == seqs.count, !tokens.isEmpty else {
            throw TritError.argument("tokens and sequence ids must be non-empty and of equal length")
        }
        guard wantLogits == nil || wantLogits!.count == tokens.count else {
            throw TritError.argument("the logits flags must have one entry per row")
        }
        var added = [Int](repeating: 0, count: nSeq)
        var flagged = 0
        for i in 0..<tokens.count {
            guard tokens[i] >= 0, Int(tokens[i]) < vocab else {
                throw TritError.argument("token \(tokens[i]) at index \(i) is out of range (vocabulary has \(vocab) tokens)")
            }
            let s = Int(seqs[i])
            guard s >= 0, s < nSeq else {
                throw TritError.argument("sequence id \(s) at index \(i) is out of range (the context has \(nSeq) sequences)")
            }
            added[s] += 1
            guard seqPast[s] + added[s] <= nCtx else {
                throw TritError(.contextFull, "sequence \(s) is full: it holds \(seqPast[s]) of \(nCtx) positions")
            }
            if wantLogits?[i] ?? true { flagged += 1 }
        }
        guard cellsUsed + tokens.count <= cellCapacity else {
            throw TritError(.contextFull, "the cache holds \(cellsUsed) of \(cellCapacity) positions; \(tokens.count) more do not fit")
        }
        guard flagged == 0 || logits != nil || hidden != nil else { throw TritError.argument("logits is NULL but rows want logits") }
        let past0 = seqPast, hadLogits = hasLogits
        // sequence 0's kept logits describe its last position: appending to it invalidates them
        if added[0] > 0 { hasLogits = false }
        var start = 0, outRow = 0
        do {
            while start < tokens.count {
                let n = min(maxBatch, tokens.count - start)
                var nHead = 0
                for t in 0..<n {
                    let s = Int(seqs[start + t])
                    rowSeq[t] = s
                    rowPos[t] = seqPast[s]
                    seqTokens[s * nCtx + seqPast[s]] = tokens[start + t]
                    seqPast[s] += 1
                    if wantLogits?[start + t] ?? true { headRowBuffer[nHead] = t; nHead += 1 }
                }
                try forward(UnsafeBufferPointer(rebasing: tokens[start..<(start + n)]), logitsOut: nil, wantLast: false,
                            headRows: UnsafeBufferPointer(start: headRowBuffer, count: nHead),
                            headOut: logits.map { $0 + outRow * vocab }, hiddenOut: hidden.map { $0 + outRow * dim })
                outRow += nHead
                start += n
            }
        } catch {
            seqPast = past0
            hasLogits = hadLogits
            throw error
        }
    }

    /// Removes the positions of sequence `s` from `p` on (p ≥ its length: nothing), giving
    /// their memory back.
    public func removeTokens(of s: Int, from p: Int) throws {
        guard s >= 0, s < nSeq else { throw TritError.argument("sequence \(s) is out of range (the context has \(nSeq))") }
        guard p >= 0 else { throw TritError.argument("position \(p) is negative") }
        guard p < seqPast[s] else { return }
        seqPast[s] = p
        if s == 0 { hasLogits = false }
        release(s, from: p)
    }

    /// Makes sequence `dst` hold the first `count` positions of sequence `src` (its cache rows
    /// copied, not recomputed): a shared prefix such as a system prompt is evaluated once.
    public func copyPrefix(from src: Int, to dst: Int, count: Int) throws {
        guard src >= 0, src < nSeq, dst >= 0, dst < nSeq else {
            throw TritError.argument("sequence \(src) or \(dst) is out of range (the context has \(nSeq))")
        }
        guard count >= 0, count <= seqPast[src] else {
            throw TritError.argument("cannot copy \(count) positions: sequence \(src) holds \(seqPast[src])")
        }
        if src == dst { return try removeTokens(of: dst, from: count) }
        guard cellsUsed - seqPast[dst] + count <= cellCapacity else {
            throw TritError(.contextFull, "the cache holds \(cellsUsed) of \(cellCapacity) positions; copying \(count) does not fit")
        }
        // each (layer, KV head) holds its positions contiguously
        let blocks = model.config.nLayers * model.config.nKVHeads
        for (cache, hb) in [(keyCache, keyHeadBytes), (valueCache, valueHeadBytes)] {
            for b in 0..<blocks {
                let from = (src * blocks + b) * nCtx * hb, to = (dst * blocks + b) * nCtx * hb
                (cache.raw + to).copyMemory(from: cache.raw + from, byteCount: count * hb)
            }
        }
        (seqTokens + dst * nCtx).update(from: seqTokens + src * nCtx, count: count)
        let old = seqPast[dst]
        seqPast[dst] = count
        if dst == 0 { hasLogits = false }
        if count < old { release(dst, from: count) }
    }

    /// Gives the pages of sequence s's rows from position p on back to the system.
    func release(_ s: Int, from p: Int) {
        let blocks = model.config.nLayers * model.config.nKVHeads
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for (cache, hb) in [(keyCache, keyHeadBytes), (valueCache, valueHeadBytes)] where cache.mapped > 0 {
            for b in 0..<blocks {
                let base = UInt(bitPattern: cache.raw + ((s * blocks + b) * nCtx + p) * hb)
                let end = UInt(bitPattern: cache.raw + (s * blocks + b + 1) * nCtx * hb)
                let first = (base + UInt(page) - 1) / UInt(page) * UInt(page)
                let last = end / UInt(page) * UInt(page)
                if last > first { madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED) }
            }
        }
    }
}
