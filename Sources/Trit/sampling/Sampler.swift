#if canImport(Glibc)
import Glibc
#endif

/// Chooses the next token from logits: repetition penalty → top-k → top-p → min-p →
/// temperature → draw (llama.cpp's order), or argmax when greedy. Buffers are allocated once.
public final class Sampler {
    public let params: SamplingParams
    var rng: Xoshiro256
    var ids: [Int32]
    var vals: [Float]
    var probs: [Float]
    var weights: [Float]
    var penalised: [UInt32]          // per token: the sampling step that last penalised it
    var step: UInt32 = 0
    var recent: [Int32] = []

    public init(params: SamplingParams, vocabSize: Int) throws {
        try params.validate()
        self.params = params
        rng = Xoshiro256(seed: params.seed)
        ids = [Int32](repeating: 0, count: vocabSize)
        vals = [Float](repeating: 0, count: vocabSize)
        probs = [Float](repeating: 0, count: vocabSize)
        weights = [Float](repeating: 0, count: vocabSize)
        penalised = [UInt32](repeating: 0, count: vocabSize)
        recent.reserveCapacity(params.repeatLastN + 1)
    }

    /// Records a token in the repetition window (prompt tokens and sampled ones).
    public func accept(_ id: Int32) {
        guard params.repeatLastN > 0 else { return }
        if recent.count == params.repeatLastN { recent.removeFirst() }
        recent.append(id)
    }

    public func reset() {
        rng = Xoshiro256(seed: params.seed)
        recent.removeAll(keepingCapacity: true)
    }

    public func sample(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        let n = logits.count
        // candidates with the repetition penalty applied (llama.cpp: divide positive logits, multiply negative)
        var count = 0
        for i in 0..<n where !logits[i].isNaN {
            ids[count] = Int32(i); vals[count] = logits[i]; count += 1
        }
        if count == 0 { return 0 }
        if params.repeatPenalty != 1 {
            step &+= 1
            for t in recent where Int(t) < n && t >= 0 && penalised[Int(t)] != step {
                penalised[Int(t)] = step   // each token once, however often it repeats
                // candidates are in id order, NaNs removed: find by binary search
                var lo = 0, hi = count
                while lo < hi { let m = (lo + hi) / 2; if ids[m] < t { lo = m + 1 } else { hi = m } }
                if lo < count, ids[lo] == t { vals[lo] = vals[lo] > 0 ? vals[lo] / params.repeatPenalty : vals[lo] * params.repeatPenalty }
            }
        }
        if params.temperature <= 0 {
            var best = 0
            for i in 1..<count where vals[i] > vals[best] { best = i }
            return ids[best]
        }
        // top-k (k = 0 keeps all): partial selection, then sort the kept ones by logit
        let k = params.topK > 0 ? min(params.topK, count) : count
        selectTop(k, count)
        count = k
        sortTopDescending(count)
        // softmax (with temperature applied last in llama.cpp; min-p/top-p use the untempered probs)
        let maxv = vals[0]
        var sum: Float = 0
        for i in 0..<count { probs[i] = expf(vals[i] - maxv); sum += probs[i] }
        for i in 0..<count { probs[i] /= sum }
        // top-p: smallest prefix with cumulative probability ≥ p
        if params.topP < 1 {
            var cum: Float = 0
            var keep = count
            for i in 0..<count { cum += probs[i]; if cum >= params.topP { keep = i + 1; break } }
            count = max(keep, 1)
        }
        // min-p: drop tokens below minP × the top probability
        if params.minP > 0 {
            let floor = probs[0] * params.minP
            var keep = 1
            while keep < count, probs[keep] >= floor { keep += 1 }
            count = keep
        }
        // temperature, then draw
        var total: Double = 0
        for i in 0..<count { weights[i] = expf((vals[i] - maxv) / params.temperature); total += Double(weights[i]) }
        var r = rng.nextUnit() * total
        for i in 0..<count {
            r -= Double(weights[i])
            if r < 0 { return ids[i] }
        }
        return ids[count - 1]
    }

    /// Moves the k largest values to the front (quickselect on (vals, ids)).
    func selectTop(_ k: Int, _ n: Int) {
        if k >= n { return }
        var lo = 0, hi = n - 1
        while lo < hi {
            let pivot = vals[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while vals[i] > pivot { i += 1 }
                while vals[j] < pivot { j -= 1 }
                if i <= j { vals.swapAt(i, j); ids.swapAt(i, j); i += 1; j -= 1 }
            }
            if k - 1 <= j { hi = j } else if k - 1 >= i { lo = i } else { break }
        }
    }

    /// Sorts the first n candidates by value, descending (ties: lower id first, for determinism).
    /// Insertion sort in place: n is top_k (40 by default), and nothing is allocated per token.
    func sortTopDescending(_ n: Int) {
        if n > 256 {   // top-k off: a full sort (allocates; only when the caller disables top-k)
            var pairs = (0..<n).map { (vals[$0], ids[$0]) }
            pairs.sort { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            for i in 0..<n { vals[i] = pairs[i].0; ids[i] = pairs[i].1 }
            return
        }
        for i in 1..<max(n, 1) {
            let v = vals[i], d = ids[i]
            var j = i - 1
            while j >= 0 && (vals[j] < v || (vals[j] == v && ids[j] > d)) {
                vals[j + 1] = vals[j]; ids[j + 1] = ids[j]; j -= 1
            }
            vals[j + 1] = v; ids[j + 1] = d
        }
    }
}
