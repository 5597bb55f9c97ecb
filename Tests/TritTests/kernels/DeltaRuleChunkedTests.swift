import XCTest
import TritKernels
@testable import Trit

/// The chunked form of the gated delta rule (delta_rule_chunked.c) against the recurrent form on
/// random rows shaped like qwen35's (q, k L2-normed, β in (0, 1), log decay in (−3, 0)): runs of one
/// sequence longer than a chunk, a short run left to the recurrent form, several heads sharing a key
/// head; outputs and final states equal up to rounding. And the qwen35 fixture's prompt in the
/// chunked form against transformers' logits.
final class DeltaRuleChunkedTests: XCTestCase {
    struct Rng {
        var s: UInt64
        mutating func next() -> Float {   // uniform in [−1, 1)
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s) >> 40) / Float(1 << 23)
        }
    }

    /// Outputs and final states of `rows` (each row's sequence) in one form or the other.
    func run(chunkMin: Int, seqOf rows: [Int], dk: Int, dv: Int, vHeads: Int, kHeads: Int, threads: Int)
        -> (out: [Float], states: [Float]) {
        var rng = Rng(s: 42)
        let n = rows.count, keyDim = kHeads * dk, stride = 2 * keyDim + vHeads * dv
        var qkv = [Float](repeating: 0, count: n * stride)
        for t in 0..<n {
            for i in 0..<stride { qkv[t * stride + i] = rng.next() }
            for h in 0..<(2 * kHeads) {   // q (also by 1/√dk) and k L2-normed per head
                let b = t * stride + h * dk
                let norm = (0..<dk).reduce(Float(0)) { $0 + qkv[b + $1] * qkv[b + $1] }.squareRoot()
                let f = (h < kHeads ? 1 / Float(dk).squareRoot() : 1) / norm
                for i in 0..<dk { qkv[b + i] *= f }
            }
        }
        let beta = (0..<(n * vHeads)).map { _ in 0.5 + 0.5 * rng.next() }
        let logDecay = (0..<(n * vHeads)).map { _ in -1.5 - 1.5 * rng.next() }
        let decay = logDecay.map { expf($0) }
        let nSeq = (rows.max() ?? 0) + 1, per = vHeads * dk * dv
        var states = (0..<(nSeq * per)).map { _ in 0.1 * rng.next() }
        var out = [Float](repeating: 0, count: n * vHeads * dv)
        let keyHead = (0..<vHeads).map { Int32($0 * kHeads / vHeads) }
        var work = [Float](repeating: 0, count: threads * Int(tk_delta_work_floats(Int64(dk), Int64(dv))))
        let pool = threads > 1 ? tk_pool_create(Int32(threads)) : nil
        defer { if let pool { tk_pool_free(pool) } }
        states.withUnsafeMutableBufferPointer { st in
            let rowState: [UnsafeMutablePointer<Float>?] = rows.map { st.baseAddress! + $0 * per }
            rowState.withUnsafeBufferPointer { rs in
                var job = tk_delta_job(state: rs.baseAddress, qkv: qkv, row_stride: Int64(stride), key_dim: Int64(keyDim),
                                       decay: decay, beta: beta, out: &out, key_head: keyHead, n: Int64(n),
                                       n_heads: Int64(vHeads), dk: Int64(dk), dv: Int64(dv), next_head: 0,
                                       log_decay: logDecay, work: &work, chunk_min: Int64(chunkMin),
                                       step: nil)   // the scalar form
                tk_delta_rule_par(pool, &job)
            }
        }
        return (out, states)
    }

    func maxRel(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(a.map { abs($0) }.max() ?? 1, 1e-6)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    func testChunkedEqualsRecurrent() {
        // sequence 0: 150 rows (chunks of 64, 64, 22), sequence 1: 5 rows (recurrent), sequence 2: 70
        let rows = [Int](repeating: 0, count: 150) + [Int](repeating: 1, count: 5) + [Int](repeating: 2, count: 70)
        for (dk, dv, vh, kh, threads) in [(32, 32, 4, 2, 1), (128, 128, 4, 2, 2), (64, 96, 3, 1, 2)] {
            let r = run(chunkMin: 0, seqOf: rows, dk: dk, dv: dv, vHeads: vh, kHeads: kh, threads: threads)
            let c = run(chunkMin: 8, seqOf: rows, dk: dk, dv: dv, vHeads: vh, kHeads: kh, threads: threads)
            let dOut = maxRel(r.out, c.out), dState = maxRel(r.states, c.states)
            print("delta rule chunked vs recurrent, dk \(dk) dv \(dv): outputs \(dOut), states \(dState) (relative)")
            XCTAssertLessThanOrEqual(dOut, 1e-5)
            XCTAssertLessThanOrEqual(dState, 1e-5)
            XCTAssertGreaterThan(dOut + dState, 0, "the chunked form ran (rounding differs)")
        }
        // dv not a multiple of 8: the recurrent form, bit for bit
        let r20 = run(chunkMin: 0, seqOf: rows, dk: 32, dv: 20, vHeads: 2, kHeads: 1, threads: 2)
        let c20 = run(chunkMin: 8, seqOf: rows, dk: 32, dv: 20, vHeads: 2, kHeads: 1, threads: 2)
        XCTAssertEqual(r20.out, c20.out)
        // rows of two sequences interleaved: no run reaches chunk_min, every row recurrent, bit for bit
        let mixed = (0..<40).map { $0 % 2 }
        let r = run(chunkMin: 0, seqOf: mixed, dk: 32, dv: 32, vHeads: 2, kHeads: 1, threads: 2)
        let c = run(chunkMin: 2, seqOf: mixed, dk: 32, dv: 32, vHeads: 2, kHeads: 1, threads: 2)
        XCTAssertEqual(r.out, c.out)
        XCTAssertEqual(r.states, c.states)
    }

    /// The fixture's 40-token prompt in one batch, chunked: transformers' logits within the measured bound.
    func testFixturePromptChunked() throws {
        var o = Model.LoadOptions()
        o.floatActivations = true
        let dir = Qwen35FixtureTests.dir
        for f in Qwen35FixtureTests.files {
            let model = try Model.load(path: Fixtures.root + "/\(dir)/\(f)", options: o)
            let ref = try Fixtures.reference("\(dir)/reference.json")
            let vocab = model.config.vocabSize
            var gaps: [Float] = []
            var all: [[Float]] = []
            for chunkMin in [0, 1] {
                let s = try InferenceState(model: model, nCtx: 128, nThreads: 2, maxBatch: 64)
                s.deltaChunkMin = chunkMin
                var logits = [Float](repeating: 0, count: ref.tokens.count * vocab)
                try logits.withUnsafeMutableBufferPointer { try s.evaluate(ref.tokens, allLogits: $0.baseAddress) }
                let (maxAbs, argmaxOK) = Fixtures.compare(logits, ref, vocab: vocab)
                XCTAssertLessThanOrEqual(maxAbs, Qwen35FixtureTests.measured, f)
                XCTAssertTrue(argmaxOK, f)
                gaps.append(maxAbs)
                all.append(logits)
            }
            let d = zip(all[0], all[1]).map { abs($0 - $1) }.max()!
            print("fixture \(dir)/\(f): recurrent \(gaps[0]), chunked \(gaps[1]) from transformers; chunked vs recurrent \(d)")
            XCTAssertGreaterThan(d, 0, "the chunked form ran")
            XCTAssertLessThanOrEqual(d, 1e-5)
        }
    }
}
