import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Context shift (llama.cpp's --context-shift): drop a run of positions and slide the later ones
/// down. A cached key holds RoPE(k, a_p), a_p = p·θ_i as the forward pass rounds it in f32; moving it
/// to position p − d rotates it by a_{p−d} − a_p (the difference taken in double), so it equals the
/// key the forward pass would store at its new position up to the rotation's rounding. Keys in F16 or
/// Q8_0 are read, rotated and stored again (one more rounding of the cache type). Values move as they
/// are. What a moved position's keys and values were computed from still includes the dropped
/// positions in layers past the first, as in llama.cpp: the shift is an approximation there, exact
/// in the first layer.
extension InferenceState {
    /// Removes positions [nKeep, nKeep + nDiscard) of sequence `s` and moves the later ones down by
    /// nDiscard. The kept logits (if any) stay: they are the prediction after the last token.
    public func shift(sequence s: Int = 0, keep nKeep: Int, discard nDiscard: Int) throws {
        guard s >= 0, s < nSeq else { throw TritError.argument("sequence \(s) is out of range (the context has \(nSeq))") }
        guard nKeep >= 0 else { throw TritError.argument("n_keep must be ≥ 0, got \(nKeep)") }
        guard nDiscard >= 0 else { throw TritError.argument("n_discard must be ≥ 0, got \(nDiscard)") }
        let past = seqPast[s]
        guard nKeep + nDiscard <= past else {
            throw TritError.argument("cannot drop positions \(nKeep)..<\(nKeep + nDiscard): sequence \(s) holds \(past)")
        }
        guard nDiscard > 0 else { return }
        guard memory.canShift else {
            throw TritError(.state, "this model's memory cannot drop positions from the middle of a sequence (no context shift)")
        }
        guard !plan.localRope else {
            throw TritError(.state,
                            "context shift is not implemented with two RoPE bases (Gemma3's sliding layers)")
        }
        let half = model.config.ropeDim / 2
        let neox = model.config.rope == .neox
        var cs = [Float](repeating: 0, count: half), sn = [Float](repeating: 0, count: half)
        var rotationFrom = -1
        memory.shift(sequence: s, length: past, keep: nKeep, discard: nDiscard) { vec, p, q in
            // the rotation from position p to position q, the same for every layer and head
            if rotationFrom != p {
                for i in 0..<half {
                    let delta = Double(Float(q) * invFreq[i]) - Double(Float(p) * invFreq[i])
                    cs[i] = Float(cos(delta)); sn[i] = Float(sin(delta))
                }
                rotationFrom = p
            }
            for i in 0..<half {
                let (a, b) = neox ? (i, i + half) : (2 * i, 2 * i + 1)
                let x0 = vec[a], x1 = vec[b]
                vec[a] = x0 * cs[i] - x1 * sn[i]
                vec[b] = x0 * sn[i] + x1 * cs[i]
            }
        }
        let toks = seqTokens + s * nCtx
        (toks + nKeep).update(from: toks + nKeep + nDiscard, count: past - nKeep - nDiscard)
        seqPast[s] = past - nDiscard
    }
}
