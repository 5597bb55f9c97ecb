#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Several sequences in one context: batches whose rows belong to different sequences, logits
/// only for the rows that want them, and the per-sequence cache operations a server needs
/// (remove from a position on, copy a prefix), each through the sequences' memory
/// (SequenceMemory), which refuses what it cannot do.
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
        if !plan.causal {
            for s in 0..<nSeq where added[s] > 0 {
                try checkOnePass(rows: tokens.count, sequencePast: seqPast[s], sequence: s)
            }
        }
        if flagged > 0 && logits != nil { try requireHead() }
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
                // a recurrent state changes in place: only the first batch may abort (before its first layer)
                try forward(UnsafeBufferPointer(rebasing: tokens[start..<(start + n)]), logitsOut: nil, wantLast: false,
                            headRows: UnsafeBufferPointer(start: headRowBuffer, count: nHead),
                            headOut: logits.map { $0 + outRow * vocab }, hiddenOut: hidden.map { $0 + outRow * dim },
                            abortable: recurrent == nil || start == 0)
                outRow += nHead
                start += n
            }
        } catch {
            seqPast = past0
            hasLogits = hadLogits
            throw error
        }
    }

    /// Refuses logits of an embedding model (Architecture.Output.pooling): it has no output head.
    func requireHead() throws {
        guard model.canGenerate else {
            throw TritError.unsupported("\(model.path) is an embedding model (\(model.config.architecture)): it has no output head to compute logits or generate with; embed with it (trit_embed, Model.embed, trit embed)")
        }
    }

    /// Forgets every position of one sequence.
    public func reset(sequence s: Int) throws {
        guard s >= 0, s < nSeq else { throw TritError.argument("sequence \(s) is out of range (the context has \(nSeq))") }
        try rollBack(sequence: s, to: 0)
    }

    /// Keeps the first `n` positions of sequence 0. The kept logits belong to the last position:
    /// removing any position invalidates them.
    public func truncate(to n: Int) throws {
        guard n >= 0, n <= nPast else { throw TritError.argument("cannot truncate to \(n) positions: the context holds \(nPast)") }
        try rollBack(sequence: 0, to: n)
    }

    /// Keeps the first `n` positions of sequence 0 whatever the memory: cut back where it can, else
    /// the kept tokens evaluated again from the start (a recurrent state holds no earlier position).
    /// Generation's cut after a stop string or a cancelled piece: the context holds exactly the text.
    func cutBack(to n: Int) throws {
        guard n < nPast else { return }
        if canRollBack(sequence: 0, to: n) { return try truncate(to: n) }
        // back to the recurrent state's longest checkpoint at or before n, else to the start
        let from = recurrent?.longestCheckpoint(sequence: 0, atMost: n) ?? 0
        let kept = Array(tokens[from..<n])
        try truncate(to: from)
        if !kept.isEmpty { try evaluate(kept, abortable: false) }
    }

    /// Keeps a copy of sequence 0's recurrent state at its current length (hybrid models; nothing
    /// otherwise): a later cut back to a position from there on re-evaluates only the tokens after it.
    func checkpointRecurrentState() {
        checkpointRecurrentState(sequence: 0)
    }

    /// Keeps a copy of sequence s's recurrent state at its current length (hybrid models; nothing
    /// otherwise), dropping its shortest checkpoint when it has its allowance (`checkpoints`) already.
    func checkpointRecurrentState(sequence s: Int) {
        recurrent?.checkpoint(sequence: s, length: seqPast[s])
    }

    /// Removes the positions of sequence `s` from `p` on (p ≥ its length: nothing), giving
    /// their memory back.
    public func removeTokens(of s: Int, from p: Int) throws {
        guard s >= 0, s < nSeq else { throw TritError.argument("sequence \(s) is out of range (the context has \(nSeq))") }
        guard p >= 0 else { throw TritError.argument("position \(p) is negative") }
        guard p < seqPast[s] else { return }
        try rollBack(sequence: s, to: p)
    }

    /// True when sequence `s` can be cut back to its first `p` positions (a KV cache can go back
    /// anywhere; a recurrent state cannot).
    public func canRollBack(sequence s: Int, to p: Int) -> Bool {
        s >= 0 && s < nSeq && memory.canRollBack(sequence: s, length: seqPast[s], to: p)
    }

    /// Cuts sequence s back to p ≤ its length through the memory, or refuses (TritError .state)
    /// when the memory cannot go back there: never a continuation from the wrong state.
    func rollBack(sequence s: Int, to p: Int) throws {
        let length = seqPast[s]
        guard p < length else { return }
        guard memory.canRollBack(sequence: s, length: length, to: p) else {
            throw TritError(.state, "this model's memory cannot go back to position \(p) of sequence \(s) (it holds \(length)); reset the sequence and evaluate its tokens again")
        }
        memory.rollBack(sequence: s, length: length, to: p)
        seqPast[s] = p
        if s == 0 { hasLogits = false }
    }

    /// Makes sequence `dst` hold the first `count` positions of sequence `src` (its memory
    /// copied, not recomputed): a shared prefix such as a system prompt is evaluated once.
    public func copyPrefix(from src: Int, to dst: Int, count: Int) throws {
        guard src >= 0, src < nSeq, dst >= 0, dst < nSeq else {
            throw TritError.argument("sequence \(src) or \(dst) is out of range (the context has \(nSeq))")
        }
        guard count >= 0, count <= seqPast[src] else {
            throw TritError.argument("cannot copy \(count) positions: sequence \(src) holds \(seqPast[src])")
        }
        if src == dst { return try removeTokens(of: dst, from: count) }
        guard memory.canRollBack(sequence: src, length: seqPast[src], to: count) else {
            throw TritError(.state, "this model's memory cannot copy the first \(count) of the \(seqPast[src]) positions of sequence \(src)")
        }
        guard cellsUsed - seqPast[dst] + count <= cellCapacity else {
            throw TritError(.contextFull, "the cache holds \(cellsUsed) of \(cellCapacity) positions; copying \(count) does not fit")
        }
        memory.copyPrefix(from: src, to: dst, count: count, dstLength: seqPast[dst])
        (seqTokens + dst * nCtx).update(from: seqTokens + src * nCtx, count: count)
        seqPast[dst] = count
        if dst == 0 { hasLogits = false }
    }
}
