import Foundation
import XCTest
@testable import Trit

/// BitNet-embedding-0.6B's architecture (qwen3 with a BitLinear RMSNorm before every projection,
/// last-token pooling, L2 norm) against transformers' embeddings of the tiny fixture
/// (Tests/Fixtures/qwen3-bitnet-embedding-tiny, made by its make_fixture.py), in every file and
/// kernel variant.
final class BitNetEmbeddingFixtureTests: XCTestCase {
    static let folder = "qwen3-bitnet-embedding-tiny"
    static let files = ["model.f32.gguf", "model.i2_s.gguf", "hf"]
    /// The bounds with the F32 cache: per component, and the cosine.
    static let maxAbs: Float = 1e-5
    static let minCosine = 0.999999
    /// The default F16 cache rounds every key and value to 11 bits, which moves more int8 values
    /// across a boundary: measured 5.8e-3 at most, cosine ≥ 0.99986 (every file, AVX2 Zen 3).
    static let maxAbsF16Cache: Float = 1e-2
    static let minCosineF16Cache = 0.9997

    /// An int8 activation transformers computed within reference.json's `boundary` of a .5 rounding
    /// boundary: quantization call layer·7 + projection (q k v o gate up down) of a one-chunk pass.
    struct Boundary { let call: Int; let t: Int; let k: Int; let value: Float; let q: Int8 }
    struct Input { let text: String; let tokens: [Int32]; let last: [Float]; let mean: [Float]; let lastRaw: [Float]
                   let boundary: [Boundary] }

    static func reference() throws -> [Input] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.root + "/\(folder)/reference.json"))
        let j = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        func floats(_ a: Any?) -> [Float] { (a as! [NSNumber]).map { $0.floatValue } }
        return (j["inputs"] as! [[String: Any]]).map {
            let b = ($0["boundary"] as! [[NSNumber]]).map {
                Boundary(call: $0[0].intValue * 7 + $0[1].intValue, t: $0[2].intValue, k: $0[3].intValue,
                         value: $0[4].floatValue, q: $0[5].int8Value)
            }
            return Input(text: $0["text"] as! String, tokens: ($0["tokens"] as! [NSNumber]).map { $0.int32Value },
                         last: floats($0["last"]), mean: floats($0["mean"]), lastRaw: floats($0["last_raw"]),
                         boundary: b)
        }
    }

    func embed(_ state: InferenceState, _ inputs: [[Int32]], _ options: EmbeddingOptions) throws -> [[Float]] {
        let width = try state.embeddingWidth(options)
        var out = [Float](repeating: .nan, count: inputs.count * width)
        let buffers = inputs.map { t -> UnsafeMutableBufferPointer<Int32> in
            let b = UnsafeMutableBufferPointer<Int32>.allocate(capacity: t.count)
            _ = b.initialize(from: t)
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        try state.embed(buffers.map { UnsafeBufferPointer($0) }, sequence: 0, options: options, into: &out)
        return (0..<inputs.count).map { Array(out[($0 * width)..<(($0 + 1) * width)]) }
    }

    /// (max |Δ| per component, min cosine) of rows against reference rows.
    func compare(_ rows: [[Float]], _ refs: [[Float]]) -> (Float, Double) {
        var worst: Float = 0, cosine = 1.0
        for (a, b) in zip(rows, refs) {
            XCTAssertEqual(a.count, b.count)
            var dot = 0.0, na = 0.0, nb = 0.0
            for j in 0..<a.count {
                worst = max(worst, abs(a[j] - b[j]))
                dot += Double(a[j]) * Double(b[j]); na += Double(a[j] * a[j]); nb += Double(b[j] * b[j])
            }
            cosine = min(cosine, dot / (na * nb).squareRoot())
        }
        return (worst, cosine)
    }

    func load(_ file: String) throws -> Model {
        let m = try Model.load(path: Fixtures.root + "/\(Self.folder)/\(file)")
        XCTAssertEqual(m.config.architecture, "qwen3-bitnet-embedding", file)
        XCTAssertEqual(m.config.arch.output, .pooling, file)
        XCTAssertEqual(m.filePooling, .last, "\(file): the pooling the file names")
        XCTAssertTrue(m.config.tiedEmbeddings, file)
        return m
    }

    /// One input on a fresh state, F32 cache, chunks of `maxBatch` rows.
    func embedOne(_ model: Model, _ kernel: String, _ tokens: [Int32], _ options: EmbeddingOptions, maxBatch: Int = 32,
                  hook: InferenceState.QuantizationHook? = nil) throws -> [Float] {
        let state = try InferenceState(model: model, nCtx: 128, nThreads: 2, maxBatch: maxBatch, kernel: kernel)
        state.quantizationHook = hook
        return try embed(state, [tokens], options)[0]
    }

    /// One input in one chunk, every activation transformers saw within `boundary` of a .5 rounding
    /// boundary rounded as transformers rounded it. trit's own x·s must be as near the boundary
    /// (within 1e-4 of transformers' value): only a value either side may round is forced.
    /// Returns the row and how many values rounded the other way (the flips).
    func embedRoundedAsReference(_ model: Model, _ kernel: String, _ r: Input, _ options: EmbeddingOptions)
        throws -> ([Float], Int) {
        var flips = 0, far: [String] = []
        let row = try embedOne(model, kernel, r.tokens, options, maxBatch: 128) { call, x, q, s, qsum, _, cols, kp in
            for b in r.boundary where b.call == call {
                let v = x[b.t * cols + b.k] * s[b.t], i = b.t * kp + b.k
                if abs(v - b.value) > 1e-4 { far.append("call \(call) row \(b.t) index \(b.k): \(v) vs \(b.value)") }
                if q[i] != b.q { flips += 1; qsum[b.t] += Int32(b.q) - Int32(q[i]); q[i] = b.q }
            }
        }
        XCTAssertEqual(far, [], "pre-rounding values far from transformers'")
        return (row, flips)
    }

    /// Every file in every kernel variant, F32 cache: tokens (EOS appended from the file's
    /// add_eos_token), the file's default pooling (last), mean pooling, the raw hidden state.
    /// f32 arithmetic (here and in transformers, other summation orders) moves the pre-rounding
    /// values x·s by up to ~1e-5; over the fixture's ~790k int8 activations a few land on the other
    /// side of a .5 boundary (measured: 7 in the F32 files, 4 in I2_S; the 31- and 92-token inputs
    /// 2.4e-3 off). Rounded as
    /// transformers rounded them (only values within 1e-4 of a boundary on both sides), every row is
    /// within 1e-5; an input where none flips meets the bound as it is.
    func testEveryFileAndKernelVariant() throws {
        let ref = try Self.reference()
        XCTAssertGreaterThanOrEqual(Set(ref.map(\.tokens.count)).count, 6, "texts of different lengths")
        for file in Self.files {
            let model = try load(file)
            let tok = try XCTUnwrap(model.tokenizer)
            for r in ref { XCTAssertEqual(tok.encode(r.text), r.tokens, "\(file): tokens of \(r.text.prefix(20))") }
            for k in variantsUnderTest() {
                // all inputs in one call, chunks of 32 rows: the same rows as one input at a time
                let state = try InferenceState(model: model, nCtx: 128, nThreads: 2, maxBatch: 32, kernel: k)
                let batch = try embed(state, ref.map(\.tokens), EmbeddingOptions(pooling: model.defaultPooling))
                var totalFlips = 0, worst: Float = 0
                for (i, r) in ref.enumerated() {
                    let plain = try embedOne(model, k, r.tokens, EmbeddingOptions(pooling: .last))
                    XCTAssertEqual(plain, batch[i], "\(file) [\(k)]: batched and single rows")
                    let (last, flips) = try embedRoundedAsReference(model, k, r, EmbeddingOptions(pooling: .last))
                    totalFlips += flips
                    let (d, cos) = compare([last], [r.last])
                    worst = max(worst, d)
                    XCTAssertLessThanOrEqual(d, Self.maxAbs, "\(file) [\(k)] input \(i) (\(flips) flips)")
                    XCTAssertGreaterThanOrEqual(cos, Self.minCosine, "\(file) [\(k)] input \(i)")
                    if flips == 0 { XCTAssertEqual(plain, last, "\(file) [\(k)] input \(i): nothing forced, same row") }
                    let (mean, _) = try embedRoundedAsReference(model, k, r, EmbeddingOptions(pooling: .mean))
                    let (dm, cm) = compare([mean], [r.mean])
                    XCTAssertLessThanOrEqual(dm, Self.maxAbs, "\(file) [\(k)] input \(i) mean pooling")
                    XCTAssertGreaterThanOrEqual(cm, Self.minCosine, "\(file) [\(k)] input \(i) mean pooling")
                    // unnormalised: the final norm's output itself (relative to its size)
                    let unnormalized = EmbeddingOptions(pooling: .last, normalize: false)
                    let (raw, _) = try embedRoundedAsReference(model, k, r, unnormalized)
                    let scale = r.lastRaw.map(abs).max()!
                    for j in 0..<raw.count {
                        XCTAssertEqual(raw[j], r.lastRaw[j], accuracy: 1e-5 * scale, "\(file) [\(k)] raw \(j)")
                    }
                    if flips > 0 {
                        let (dp, _) = compare([plain], [r.last])
                        print("\(Self.folder)/\(file) [\(k)]: input \(i) (\(r.tokens.count) tokens): " +
                              "\(flips) int8 values " +
                              "round the other way (max |Δ| \(dp)); rounded as transformers did: \(d)")
                    }
                }
                print("\(Self.folder)/\(file) [\(k)]: \(ref.count) inputs within \(worst), " +
                      "\(totalFlips) rounding flips")
                XCTAssertLessThanOrEqual(totalFlips, 10, "\(file) [\(k)]: far more flips than measured (7)")
            }
        }
    }

    /// The default F16 KV cache: within the stated bound.
    func testF16CacheBound() throws {
        let ref = try Self.reference()
        for file in Self.files {
            let model = try load(file)
            let state = try InferenceState(model: model, nCtx: 128, nThreads: 2, kvType: .f16)
            let (d, cos) = compare(try embed(state, ref.map(\.tokens), EmbeddingOptions(pooling: model.defaultPooling)),
                                   ref.map(\.last))
            print("\(Self.folder)/\(file) [f16 cache]: max |Δ| \(d), min cosine \(cos)")
            XCTAssertLessThanOrEqual(d, Self.maxAbsF16Cache, file)
            XCTAssertGreaterThanOrEqual(cos, Self.minCosineF16Cache, file)
        }
    }

    /// An embedding model has no head: logits are refused with a clear error, embeddings are not.
    func testGenerationIsRefused() throws {
        let model = try load("model.i2_s.gguf")
        XCTAssertFalse(model.canGenerate)
        let state = try InferenceState(model: model, nCtx: 32)
        XCTAssertThrowsError(try state.evaluate([1, 2, 3])) { e in
            XCTAssertEqual((e as? TritError)?.kind, .unsupported)
            XCTAssertTrue("\(e)".contains("embedding model"), "\(e)")
        }
        var logits = [Float](repeating: 0, count: model.config.vocabSize)
        let t: [Int32] = [1], s: [Int32] = [0]
        XCTAssertThrowsError(try t.withUnsafeBufferPointer { tp in
            try s.withUnsafeBufferPointer { sp in
                try state.decode(tp, sequences: sp, wantLogits: nil, logits: &logits)
            }
        })
        XCTAssertEqual(state.seqPast[0], 0)
        _ = try embed(state, [[1, 2, 3]], EmbeddingOptions())
    }

    /// A plain qwen3 file is not taken for the variant, and the variant's name is no GGUF architecture.
    func testVariantNeedsItsNorms() throws {
        let base = try XCTUnwrap(Architecture.named("qwen3"))
        XCTAssertEqual(Architecture.refined(base, \.gguf, has: { _ in false }).name, "qwen3")
        XCTAssertEqual(Architecture.refined(base, \.gguf, has: { $0 == "blk.0.attn_q_norm_in.weight" }).name,
                       "qwen3-bitnet-embedding")
        let hfName = "model.layers.0.self_attn.q_proj.norm.weight"
        XCTAssertEqual(Architecture.refined(base, \.hf, has: { $0 == hfName }).name,
                       "qwen3-bitnet-embedding")
        XCTAssertEqual(Architecture.named("qwen3-bitnet-embedding")?.ggufName, "qwen3")
        XCTAssertFalse(Architecture.names.contains("qwen3-bitnet-embedding"))
    }
}
