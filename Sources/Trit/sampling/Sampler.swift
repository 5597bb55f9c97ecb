#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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
    var counts: [Int32]              // per token: occurrences in the window (zero between steps)
    var step: UInt32 = 0
    var recent: [Int32] = []
    let seed: UInt64

    public init(params: SamplingParams, vocabSize: Int) throws {
        try params.validate()
        for b in params.logitBias where b.token < 0 || Int(b.token) >= vocabSize {
            throw TritError.argument("logit bias on token \(b.token), outside the vocabulary (\(vocabSize) tokens)")
        }
        self.params = params
        seed = params.seed == SamplingParams.randomSeed ? Sampler.systemSeed() : params.seed
        rng = Xoshiro256(seed: seed)
        counts = [Int32](repeating: 0, count: vocabSize)
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

    /// 64 random bits from the system (/dev/urandom), for SamplingParams.randomSeed.
    static func systemSeed() -> UInt64 {
        var v: UInt64 = 0
        let fd = open("/dev/urandom", O_RDONLY)
        if fd < 0 || read(fd, &v, 8) != 8 { v = UInt64(bitPattern: Int64(monotonicSeconds() * 1e9)) ^ UInt64(getpid()) }
        if fd >= 0 { close(fd) }
        return v
    }

    public func reset() {
        rng = Xoshiro256(seed: seed)
        recent.removeAll(keepingCapacity: true)
    }

    public func sample(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        // through the buffers: an element write to the arrays, class properties, checks exclusivity and
        // uniqueness each time (4% of a 248k-vocabulary model's decode time on qwen35-2b)
        let count = ids.withUnsafeMutableBufferPointer { ib in
            vals.withUnsafeMutableBufferPointer { vb in
                var count = 0
                for i in 0..<min(logits.count, ib.count, vb.count) where !logits[i].isNaN {
                    ib[count] = Int32(i); vb[count] = logits[i]; count += 1
                }
                return count
            }
        }
        return choose(count)
    }

    /// As `sample`, over the tokens `constraint`'s current mask allows only (the others count as
    /// -inf before the chain); nil when none is allowed (or every allowed logit is NaN).
    func sample(_ logits: UnsafeBufferPointer<Float>, allowed constraint: TokenConstraint) -> Int32? {
        var count = 0
        for i in 0..<min(logits.count, constraint.vocabSize) where constraint.allows(i) && !logits[i].isNaN {
            ids[count] = Int32(i); vals[count] = logits[i]; count += 1
        }
        return count == 0 ? nil : choose(count)
    }

    /// Samples from the logits of some tokens only (ids ascending): the certified head passes every
    /// token that can survive the first truncation (docs/formats.md §7), and gets the token `sample`
    /// would choose from the full row.
    public func sample(ids cand: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Float>) -> Int32 {
        var count = 0
        for i in 0..<cand.count where !values[i].isNaN {
            ids[count] = cand[i]; vals[count] = values[i]; count += 1
        }
        return choose(count)
    }

    /// What the certified head must keep exact: the first step of the chain that drops tokens.
    public enum Truncation: Equatable {
        case topK(Int)          // greedy is top-1
        case minP(Float)        // min-p first (top-k and top-p off): keeps logit ≥ max + ln(p)
        case none               // top-p first or nothing: the whole row is needed
    }

    public var firstTruncation: Truncation {
        if params.temperature <= 0 { return .topK(1) }
        if params.topK > 0 { return .topK(params.topK) }
        if params.topP < 1 { return .none }
        if params.minP > 0 { return .minP(params.minP) }
        return .none
    }

    /// Writes to `ids` (ascending, each once) the tokens whose logits `adjust` changes (logit bias,
    /// penalties) and returns how many.
    func loadAdjustedTokens() -> Int {
        var n = 0
        for b in params.logitBias { ids[n] = b.token; n += 1 }
        if params.repeatPenalty != 1 || params.presencePenalty != 0 || params.frequencyPenalty != 0 {
            for t in recent where t >= 0 && Int(t) < ids.count { ids[n] = t; n += 1 }
        }
        // insertion sort, then drop repeats (n ≤ the window plus the bias list)
        for i in 1..<max(n, 1) {
            let v = ids[i]
            var j = i - 1
            while j >= 0 && ids[j] > v { ids[j + 1] = ids[j]; j -= 1 }
            ids[j + 1] = v
        }
        var m = 0
        for i in 0..<n where m == 0 || ids[i] != ids[m - 1] { ids[m] = ids[i]; m += 1 }
        return m
    }

    /// The logit bias and the penalties applied to `count` candidates (ids ascending in `ids`,
    /// logits in `vals`), in place: llama.cpp's order.
    func adjust(_ count: Int) {
        // candidates are in id order: find one by binary search
        func slot(_ t: Int32) -> Int? {
            var lo = 0, hi = count
            while lo < hi { let m = (lo + hi) / 2; if ids[m] < t { lo = m + 1 } else { hi = m } }
            return lo < count && ids[lo] == t ? lo : nil
        }
        let n = counts.count
        for b in params.logitBias { if let i = slot(b.token) { vals[i] += b.bias } }
        // the repetition penalty (llama.cpp: divide positive logits, multiply negative)
        if params.repeatPenalty != 1 {
            step &+= 1
            for t in recent where Int(t) < n && t >= 0 && penalised[Int(t)] != step {
                penalised[Int(t)] = step   // each token once, however often it repeats
                if let i = slot(t) { vals[i] = vals[i] > 0 ? vals[i] / params.repeatPenalty : vals[i] * params.repeatPenalty }
            }
        }
        // then llama.cpp's presence and frequency penalties (after the repetition penalty)
        if params.presencePenalty != 0 || params.frequencyPenalty != 0 {
            for t in recent where Int(t) < n && t >= 0 { counts[Int(t)] += 1 }
            for t in recent where Int(t) < n && t >= 0 && counts[Int(t)] > 0 {
                if let i = slot(t) { vals[i] -= Float(counts[Int(t)]) * params.frequencyPenalty + params.presencePenalty }
                counts[Int(t)] = 0   // each token once; leaves the counts zero for the next step
            }
        }
    }

    /// The chain over the `count` candidates in ids/vals (ids ascending, no NaN).
    func choose(_ count0: Int) -> Int32 {
        var count = count0
        if count == 0 { return 0 }
        adjust(count)
        if params.temperature <= 0 {
            var best = 0
            vals.withUnsafeBufferPointer { vals in for i in 1..<count where vals[i] > vals[best] { best = i } }
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
        // min-p: drop tokens below minP × the top probability, compared as logits (as llama.cpp
        // does: logit ≥ max + ln(min_p)), so the decision does not depend on the softmax's sum
        if params.minP > 0 {
            let floor = maxv + logf(params.minP)
            var keep = 1
            while keep < count, vals[keep] >= floor { keep += 1 }
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

    /// Moves the k largest to the front (quickselect on (vals, ids)). Order: larger value first,
    /// then lower id, a total order: the kept set does not depend on the candidates' arrangement
    /// (the certified head passes fewer candidates than the full row and must keep the same ones).
    func selectTop(_ k: Int, _ n: Int) {
        if k >= n { return }
        @inline(__always) func before(_ v: Float, _ d: Int32, _ pv: Float, _ pd: Int32) -> Bool { v > pv || (v == pv && d < pd) }
        var lo = 0, hi = n - 1
        while lo < hi {
            let m = (lo + hi) / 2
            let pv = vals[m], pd = ids[m]
            var i = lo, j = hi
            while i <= j {
                while before(vals[i], ids[i], pv, pd) { i += 1 }
                while before(pv, pd, vals[j], ids[j]) { j -= 1 }
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
