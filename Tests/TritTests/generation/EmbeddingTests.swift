import Foundation
import XCTest
@testable import Trit

/// Embeddings of a generative model (InferenceState+Embedding.swift): the pooled rows are the
/// output-normed hidden states the logits are computed from, independent of the prompt chunking.
final class EmbeddingTests: XCTestCase {
    static let fixture = "b158-tiny/model.f32.gguf"   // tied head: the output matrix is the embedding

    func loadFixture() throws -> (Model, [Int32]) {
        let model = try Model.load(path: Fixtures.root + "/" + Self.fixture)
        let ref = try Fixtures.reference("b158-tiny/reference.json")
        XCTAssertGreaterThan(ref.tokens.count, 4)
        return (model, ref.tokens)
    }

    func embed(_ state: InferenceState, _ inputs: [[Int32]], _ options: EmbeddingOptions, sequence: Int = 0) throws -> [Float] {
        let width = try state.embeddingWidth(options)
        var out = [Float](repeating: .nan, count: inputs.count * width)
        let buffers = inputs.map { t -> UnsafeMutableBufferPointer<Int32> in
            let b = UnsafeMutableBufferPointer<Int32>.allocate(capacity: t.count)
            _ = b.initialize(from: t)
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        try state.embed(buffers.map { UnsafeBufferPointer($0) }, sequence: sequence, options: options, into: &out)
        return out
    }

    /// The normed hidden state of every position (decode's head input), one fresh state.
    func hiddenRows(_ model: Model, _ tokens: [Int32]) throws -> [Float] {
        let dim = model.config.dim
        let state = try InferenceState(model: model, nCtx: 64)
        var rows = [Float](repeating: .nan, count: tokens.count * dim)
        let seqs = [Int32](repeating: 0, count: tokens.count), want = [Bool](repeating: true, count: tokens.count)
        try tokens.withUnsafeBufferPointer { t in
            try seqs.withUnsafeBufferPointer { s in
                try want.withUnsafeBufferPointer { w in try state.decode(t, sequences: s, wantLogits: w, logits: nil, hidden: &rows) }
            }
        }
        return rows
    }

    /// Last-token pooling gives the head's input: hidden · head row j is logit j of `evaluate`
    /// (F32 cache), and it equals decode's normed hidden row; mean and first pool those rows.
    func testPooledRowsAreTheHeadInput() throws {
        let (model, tokens) = try loadFixture()
        let dim = model.config.dim, vocab = model.config.vocabSize, n = tokens.count
        XCTAssertTrue(model.config.tiedEmbeddings, "the fixture's head is its embedding")
        let state = try InferenceState(model: model, nCtx: 64)
        let last = try embed(state, [tokens], EmbeddingOptions(pooling: .last, normalize: false))
        XCTAssertEqual(state.seqPast[0], 0, "nothing stays in the cache")

        // hidden · head row j = logit j of the F32-cache evaluate
        let ref = try InferenceState(model: model, nCtx: 64)
        var logits = [Float](repeating: 0, count: n * vocab)
        try ref.evaluate(tokens, allLogits: &logits)
        var head = [Float](repeating: 0, count: dim), worst = 0.0
        for j in 0..<vocab {
            model.output.row(j, into: &head)
            var dot = 0.0
            for i in 0..<dim { dot += Double(last[i]) * Double(head[i]) }
            worst = max(worst, abs(dot - Double(logits[(n - 1) * vocab + j])))
        }
        XCTAssertLessThanOrEqual(worst, 1e-4, "hidden · head against the logits")

        let rows = try hiddenRows(model, tokens)
        func maxDiff(_ a: ArraySlice<Float>, _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max()! }
        XCTAssertLessThanOrEqual(maxDiff(rows[((n - 1) * dim)..<(n * dim)], last), 1e-6)
        let first = try embed(state, [tokens], EmbeddingOptions(pooling: .first, normalize: false))
        XCTAssertLessThanOrEqual(maxDiff(rows[0..<dim], first), 1e-6)
        let mean = try embed(state, [tokens], EmbeddingOptions(pooling: .mean, normalize: false))
        var expected = [Float](repeating: 0, count: dim)
        for i in 0..<dim { expected[i] = Float((0..<n).reduce(0.0) { $0 + Double(rows[$1 * dim + i]) } / Double(n)) }
        XCTAssertLessThanOrEqual(maxDiff(expected[...], mean), 1e-6)
        XCTAssertGreaterThan(maxDiff(mean[...], last), 1e-3, "mean and last pooling differ on this input")

        // every position's row (what mean pooling averages) against transformers: row · head row j is
        // the reference's logit j within the fixtures' strict tier (FixtureLogitsTests.strict)
        let reference = try Fixtures.reference("b158-tiny/reference.json")
        XCTAssertEqual(reference.tokens, tokens)
        var worstRef = 0.0
        for j in 0..<vocab {
            model.output.row(j, into: &head)
            for t in 0..<n {
                var dot = 0.0
                for i in 0..<dim { dot += Double(rows[t * dim + i]) * Double(head[i]) }
                worstRef = max(worstRef, abs(dot - Double(reference.logits[t][j])))
            }
        }
        print("embedding rows · head: max |Δ| \(worst) against evaluate, \(worstRef) against transformers")
        XCTAssertLessThanOrEqual(worstRef, 1e-4, "hidden rows · head against transformers' logits")
    }

    /// Pooled rows are bit for bit the same whatever the prompt chunk (maxBatch), for each pooling,
    /// and a batch of inputs gives each input's row as embedded alone.
    func testChunkingAndBatchingDoNotChangeRows() throws {
        let (model, tokens) = try loadFixture()
        let inputs = [tokens, Array(tokens.prefix(3)), Array(tokens.reversed())]
        for pooling in Pooling.allCases {
            let options = EmbeddingOptions(pooling: pooling, normalize: true)
            let reference = try embed(try InferenceState(model: model, nCtx: 64, maxBatch: 128), inputs, options)
            for batch in [1, 2, 5] {
                let got = try embed(try InferenceState(model: model, nCtx: 64, maxBatch: batch), inputs, options)
                XCTAssertEqual(got.map(\.bitPattern), reference.map(\.bitPattern), "\(pooling) with n_batch \(batch)")
            }
            let state = try InferenceState(model: model, nCtx: 64, nSeq: 2)
            let dim = model.config.dim
            for (i, input) in inputs.enumerated() {
                let alone = try embed(state, [input], options, sequence: 1)
                XCTAssertEqual(alone.map(\.bitPattern), reference[(i * dim)..<((i + 1) * dim)].map(\.bitPattern))
            }
        }
    }

    /// L2 normalization and Matryoshka truncation: the first d components, renormalized.
    func testNormalizationAndDimensions() throws {
        let (model, tokens) = try loadFixture()
        let state = try InferenceState(model: model, nCtx: 64)
        let raw = try embed(state, [tokens], EmbeddingOptions(pooling: .mean, normalize: false))
        let unit = try embed(state, [tokens], EmbeddingOptions(pooling: .mean))
        let norm = raw.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertGreaterThan(abs(norm - 1), 1e-3, "the raw row is not already a unit vector")
        for i in 0..<raw.count { XCTAssertEqual(Double(unit[i]), Double(raw[i]) / norm, accuracy: 1e-6) }
        let d = 5
        let cut = try embed(state, [tokens], EmbeddingOptions(pooling: .mean, dimensions: d))
        XCTAssertEqual(cut.count, d)
        let cutNorm = raw.prefix(d).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        for i in 0..<d { XCTAssertEqual(Double(cut[i]), Double(raw[i]) / cutNorm, accuracy: 1e-6) }
        let cutRaw = try embed(state, [tokens], EmbeddingOptions(pooling: .mean, normalize: false, dimensions: d))
        XCTAssertEqual(cutRaw, Array(raw.prefix(d)))
    }

    /// Bad input is refused before anything is evaluated; the sequence is empty after a failure.
    func testRefusals() throws {
        let (model, tokens) = try loadFixture()
        let state = try InferenceState(model: model, nCtx: tokens.count)
        func kind(_ body: () throws -> Void) -> TritError.Kind? {
            do { try body(); return nil } catch let e as TritError { return e.kind } catch { return .internal }
        }
        XCTAssertEqual(kind { _ = try embed(state, [tokens, []], EmbeddingOptions()) }, .argument)
        XCTAssertEqual(kind { _ = try embed(state, [tokens, [Int32(model.config.vocabSize)]], EmbeddingOptions()) }, .argument)
        XCTAssertEqual(kind { _ = try embed(state, [tokens], EmbeddingOptions(dimensions: model.config.dim + 1)) }, .argument)
        XCTAssertEqual(kind { _ = try embed(state, [[Int32](repeating: 1, count: tokens.count + 1)], EmbeddingOptions()) }, .contextFull)
        XCTAssertEqual(kind { _ = try embed(state, [tokens], EmbeddingOptions(), sequence: 1) }, .argument)
        XCTAssertEqual(state.seqPast[0], 0)
        try state.evaluate([1, 2])
        XCTAssertEqual(kind { _ = try embed(state, [tokens], EmbeddingOptions()) }, .state, "a sequence in use is refused")
        XCTAssertEqual(state.seqPast[0], 2, "and left as it was")
        try state.reset(sequence: 0)
        state.shouldAbort = { true }
        XCTAssertEqual(kind { _ = try embed(state, [tokens], EmbeddingOptions()) }, .cancelled)
        XCTAssertEqual(state.seqPast[0], 0, "an aborted call leaves the sequence empty")
    }
}
