/// Bidirectional attention (Gemma3's use_bidirectional_attention, GGUF `attention.causal` false):
/// every position of an input sees every other, so an input is read in one forward pass, from an
/// empty sequence, and nothing can be appended to it afterwards (no prompt chunks, no generation).
extension InferenceState {
    /// Refuses a batch that would append `rows` rows to sequence `s` holding `sequencePast`
    /// positions, unless the sequence is empty and the rows fit one pass.
    func checkOnePass(rows: Int, sequencePast: Int, sequence s: Int) throws {
        guard sequencePast == 0 else {
            throw TritError(.state, "this model's attention is bidirectional: an input is read in one pass, and " +
                            "sequence \(s) already holds \(sequencePast) positions (reset it first)")
        }
        guard rows <= maxBatch else {
            throw TritError.argument("this model's attention is bidirectional: an input is read in one pass of " +
                                     "at most the batch size (\(maxBatch) tokens), never in chunks; " +
                                     "got \(rows) tokens in one call")
        }
    }

    /// seqEnd[s] = the positions sequence s has once this batch's rows are in (each bidirectional
    /// sequence starts empty and is whole in the batch: checkOnePass).
    func fillSequenceEnds(_ n: Int) {
        for t in 0..<n { seqEnd[rowSeq[t]] = 0 }
        for t in 0..<n { seqEnd[rowSeq[t]] = max(seqEnd[rowSeq[t]], rowPos[t] + 1) }
    }
}
