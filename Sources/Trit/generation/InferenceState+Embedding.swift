#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the hidden states of an input's positions become one embedding row.
public enum Pooling: Int32, Sendable, CaseIterable {
    /// The last position's (a causal model's default: it has seen the whole input).
    case last = 1
    /// The mean over every position.
    case mean = 2
    /// The first position's (BERT's [CLS]).
    case first = 3
}

/// What an embedding is made of: the pooling, whether the row is L2-normalised, and how many
/// leading components are kept (Matryoshka truncation: truncate, then normalise).
public struct EmbeddingOptions: Sendable {
    public var pooling: Pooling = .last
    public var normalize = true
    /// 0: every component (the model's hidden width).
    public var dimensions = 0
    public init(pooling: Pooling = .last, normalize: Bool = true, dimensions: Int = 0) {
        self.pooling = pooling
        self.normalize = normalize
        self.dimensions = dimensions
    }
}

/// Embeddings of a generative model, as llama.cpp makes them: the final hidden state after the
/// output norm (the head's input), pooled over an input's positions. Each input is evaluated in
/// prompt chunks of at most maxBatch rows on one sequence, which is empty before and after:
/// nothing of an input stays in the cache.
extension InferenceState {
    /// The width of an embedding row with these options; throws for dimensions out of range.
    public func embeddingWidth(_ options: EmbeddingOptions) throws -> Int {
        let dim = model.config.dim
        guard options.dimensions >= 0, options.dimensions <= dim else {
            throw TritError.argument("dimensions must be between 1 and the model's \(dim) (0: all), got \(options.dimensions)")
        }
        return options.dimensions == 0 ? dim : options.dimensions
    }

    /// Embeds each input (token lists) into consecutive rows of `out` (inputs.count × width
    /// floats, width = embeddingWidth(options)) on sequence `s`, which must be empty; it is empty
    /// again afterwards, also when the call fails. Inputs are checked before any is evaluated.
    public func embed(_ inputs: [UnsafeBufferPointer<Int32>], sequence s: Int, options: EmbeddingOptions,
                      into out: UnsafeMutablePointer<Float>) throws {
        let width = try embeddingWidth(options)
        let dim = model.config.dim
        guard s >= 0, s < nSeq else { throw TritError.argument("sequence \(s) is out of range (the context has \(nSeq))") }
        guard seqPast[s] == 0 else {
            throw TritError(.state, "sequence \(s) holds \(seqPast[s]) positions; embedding needs an empty sequence (reset it first)")
        }
        let vocab = model.config.vocabSize
        for (i, input) in inputs.enumerated() {
            guard !input.isEmpty else { throw TritError.argument("input \(i) has no tokens") }
            guard input.count <= nCtx else {
                throw TritError(.contextFull, "input \(i) has \(input.count) tokens; the context holds \(nCtx) positions per sequence")
            }
            if !plan.causal { try checkOnePass(rows: input.count, sequencePast: 0, sequence: s) }
            if let bad = input.firstIndex(where: { $0 < 0 || Int($0) >= vocab }) {
                throw TritError.argument("token \(input[bad]) at index \(bad) of input \(i) is out of range (vocabulary has \(vocab) tokens)")
            }
        }
        // once per call, not per token: the chunk's sequence ids, row flags and hidden rows
        let seqs = [Int32](repeating: Int32(s), count: maxBatch)
        var want = [Bool](repeating: false, count: maxBatch)
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: maxBatch * dim)
        var pooled = [Double](repeating: 0, count: dim)
        defer { hidden.deallocate() }
        defer { try? rollBack(sequence: s, to: 0) }
        for (i, input) in inputs.enumerated() {
            try rollBack(sequence: s, to: 0)
            for j in 0..<dim { pooled[j] = 0 }
            var start = 0
            while start < input.count {
                let n = min(maxBatch, input.count - start)
                for t in 0..<n {
                    switch options.pooling {
                    case .mean: want[t] = true
                    case .last: want[t] = start + t == input.count - 1
                    case .first: want[t] = start + t == 0
                    }
                }
                try seqs.withUnsafeBufferPointer { sb in
                    try want.withUnsafeBufferPointer { wb in
                        try decode(UnsafeBufferPointer(rebasing: input[start..<(start + n)]),
                                   sequences: UnsafeBufferPointer(rebasing: sb[0..<n]),
                                   wantLogits: UnsafeBufferPointer(rebasing: wb[0..<n]), logits: nil, hidden: hidden)
                    }
                }
                // the flagged rows, in position order: the sum is the same however the input is chunked
                let rows = want[0..<n].reduce(0) { $0 + ($1 ? 1 : 0) }
                for r in 0..<rows {
                    for j in 0..<dim { pooled[j] += Double(hidden[r * dim + j]) }
                }
                start += n
            }
            let count = options.pooling == .mean ? Double(input.count) : 1
            let row = out + i * width
            for j in 0..<width { row[j] = Float(pooled[j] / count) }
            if options.normalize { Self.normalizeL2(row, count: width) }
        }
    }

    /// Divides a row by its Euclidean norm (a zero row stays zero).
    public static func normalizeL2(_ row: UnsafeMutablePointer<Float>, count: Int) {
        var sum = 0.0
        for j in 0..<count { sum += Double(row[j]) * Double(row[j]) }
        guard sum > 0 else { return }
        let inv = 1 / sum.squareRoot()
        for j in 0..<count { row[j] = Float(Double(row[j]) * inv) }
    }
}
