/// Embedding requests in the engine's steps: an embedding's prompt chunks share a step's forward
/// pass with the decode rows and prompt chunks of generation requests. Its rows that its pooling
/// reads come back as normed final hidden states (the head's input), summed in position order and
/// finished as InferenceState.embed finishes them (the same rows, bit for bit); the generation
/// rows of that step get their logits from the head over their own rows. When the prompt's last
/// chunk is in, the row goes to onEmbedding, the request ends (finish reason stop) and its slot
/// is emptied: nothing of an embedding stays in the cache.
extension Engine {
    /// Refuses what the engine cannot embed (called by submit, any thread).
    func checkEmbedding(_ e: EmbeddingOptions, _ r: Request) throws {
        // generation's fields mean nothing here: refused, not ignored
        if r.constraint != nil { throw TritError.argument("an embedding request takes no constraint") }
        if r.logprobs != 0 { throw TritError.argument("an embedding request takes no logprobs") }
        if !r.stop.isEmpty { throw TritError.argument("an embedding request takes no stop strings") }
        guard !certified else {
            throw TritError.unsupported("the engine's certified head does not batch embeddings; "
                                        + "embed on a context (trit_embed)")
        }
        _ = try state.embeddingWidth(e)   // dimensions within the model's width
    }

    /// Whether the row at `position` of a `count`-token prompt is one the pooling reads.
    static func pools(_ p: Pooling, position: Int, of count: Int) -> Bool {
        switch p {
        case .mean: return true
        case .last: return position == count - 1
        case .first: return position == 0
        }
    }

    /// evaluateAndSample for a step holding embedding rows (one chunk: the batch is at most
    /// n_batch + slots rows, the state's maxBatch).
    func evaluateWithEmbeddings(_ generated: inout Int, forced: inout Int) -> [Job] {
        step += 1
        let vocab = model.config.vocabSize, dim = model.config.dim
        do {
            try rowTokens.withUnsafeBufferPointer { t in
                try rowSeqs.withUnsafeBufferPointer { s in
                    try rowWant.withUnsafeBufferPointer { w in
                        try state.decode(t, sequences: s, wantLogits: w, logits: nil, hidden: embedRows)
                    }
                }
            }
        } catch {
            var failed: [Job] = []
            for j in rowJob where !failed.contains(where: { $0 === j }) { j.finish = .contextFull; failed.append(j) }
            return failed
        }
        for s in chunkEnds { state.checkpointRecurrentState(sequence: s) }
        // the generation rows' logits: the head over their final residual rows, still in the state
        var heads: [Int] = []
        for i in rowTokens.indices where rowWant[i] && rowJob[i].request.embedding == nil { heads.append(i) }
        if !heads.isEmpty { state.head(rows: heads.count, row: { heads[$0] }, into: logits) }
        var done: [Job] = []
        var out = 0, g = 0
        for i in rowTokens.indices {
            let j = rowJob[i]
            if let e = j.request.embedding {
                if rowWant[i] {
                    if j.pooled.isEmpty { j.pooled = [Double](repeating: 0, count: dim) }
                    let h = embedRows + out * dim
                    for k in 0..<dim { j.pooled[k] += Double(h[k]) }
                    out += 1
                }
                // a request's rows are consecutive: its last row of the step, and nothing pending
                if j.pending.isEmpty && (i + 1 == rowTokens.count || rowJob[i + 1] !== j) {
                    finishEmbedding(j, e, slot: Int(rowSeqs[i]))
                    done.append(j)
                }
            } else if rowWant[i] {
                out += 1
                j.next = nil
                let row = UnsafeBufferPointer(start: logits + g * vocab, count: vocab)
                g += 1
                if sample(j, row, slot: Int(rowSeqs[i]), generated: &generated, forced: &forced) { done.append(j) }
            }
        }
        return done
    }

    /// The pooled row (InferenceState.embed's arithmetic) to onEmbedding; the slot emptied.
    func finishEmbedding(_ j: Job, _ e: EmbeddingOptions, slot: Int) {
        let dim = model.config.dim
        let width = e.dimensions == 0 ? dim : e.dimensions
        if j.pooled.isEmpty { j.pooled = [Double](repeating: 0, count: dim) }
        let count = e.pooling == .mean ? Double(j.request.prompt.count) : 1
        var row = [Float](repeating: 0, count: width)
        for k in 0..<width { row[k] = Float(j.pooled[k] / count) }
        row.withUnsafeMutableBufferPointer { r in
            if e.normalize { InferenceState.normalizeL2(r.baseAddress!, count: width) }
            if let cb = j.request.onEmbedding { cb(UnsafeBufferPointer(r)) }
        }
        try? state.removeTokens(of: slot, from: 0)   // cannot fail: a whole sequence goes
        j.finish = .stop
    }
}
