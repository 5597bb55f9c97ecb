#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Log-likelihood of a continuation given a context (lm-eval's loglikelihood request).
public struct ContinuationScore: Sendable {
    public var logProbability: Double   // Σ log p(continuation_i | context, continuation_<i)
    public var isGreedy: Bool           // every continuation token is the argmax at its step
    public var tokens: Int
}

extension InferenceState {
    /// Scores `continuation` after `context` from an empty context (the state is reset first and
    /// holds context + continuation afterwards). The context must not be empty (start it with BOS).
    public func score(context: [Int32], continuation: [Int32]) throws -> ContinuationScore {
        guard !context.isEmpty else { throw TritError.argument("the context is empty: start it with BOS") }
        guard !continuation.isEmpty else { throw TritError.argument("the continuation is empty") }
        guard context.count + continuation.count <= nCtx else {
            throw TritError(.contextFull, "\(context.count + continuation.count) tokens do not fit in n_ctx \(nCtx)")
        }
        reset()
        let vocab = model.config.vocabSize
        try evaluate(context)
        var rows = [Float](repeating: 0, count: continuation.count * vocab)
        rows.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: logitsBuffer.ptr, count: vocab) }
        if continuation.count > 1 {
            try rows.withUnsafeMutableBufferPointer { r in
                try continuation.withUnsafeBufferPointer { c in
                    try evaluate(UnsafeBufferPointer(rebasing: c[0..<(c.count - 1)]), allLogits: r.baseAddress! + vocab)
                }
            }
        }
        try evaluate([continuation[continuation.count - 1]])
        var total = 0.0
        var greedy = true
        for (i, tok) in continuation.enumerated() {
            let row = rows[(i * vocab)..<((i + 1) * vocab)]
            let mx = row.max()!
            var sum = 0.0
            for v in row { sum += exp(Double(v - mx)) }
            total += Double(row[row.startIndex + Int(tok)] - mx) - log(sum)
            if row[row.startIndex + Int(tok)] < mx { greedy = false }
        }
        return ContinuationScore(logProbability: total, isGreedy: greedy, tokens: continuation.count)
    }
}
