import XCTest
import TritKernels
@testable import Trit

/// The attention kernel over typed caches: every variant equals the scalar twin bit for bit
/// (direct, chunked and merged), the twin equals a softmax in Double over the values the cache
/// holds, and the cache's conversions keep what they promise.
final class AttentionKernelTests: XCTestCase {
    /// A cache of `nKV` positions, each row `nKVHeads` head vectors of random floats, stored as `type`.
    struct Cache {
        let bytes: [UInt8]
        let rowBytes: Int
        let values: [Float]   // what the cache holds, read back exactly: [position][head][hd]
    }

    static func makeCache(_ type: KVCacheType, positions: Int, heads: Int, hd: Int, rng: inout Xoshiro256,
                          magnitude: Float = 1) -> Cache {
        let raw = (0..<(positions * heads * hd)).map { _ in Float(rng.nextUnit() * 2 - 1) * magnitude }
        let rb = heads * type.headBytes(hd)
        var bytes = [UInt8](repeating: 0, count: positions * rb)
        for p in 0..<positions {
            raw.withUnsafeBufferPointer { r in
                bytes.withUnsafeMutableBufferPointer { b in
                    tk_kv_store(type.rawValue, r.baseAddress! + p * heads * hd, Int64(heads), Int64(hd), b.baseAddress! + p * rb)
                }
            }
        }
        var back = [Float](repeating: 0, count: raw.count)
        bytes.withUnsafeBufferPointer { b in
            back.withUnsafeMutableBufferPointer { o in
                for p in 0..<positions {
                    tk_kv_load(type.rawValue, b.baseAddress! + p * rb, Int64(heads), Int64(hd), o.baseAddress! + p * heads * hd)
                }
            }
        }
        return Cache(bytes: bytes, rowBytes: rb, values: back)
    }

    /// Attention of `rows` query rows (row t attends to nKV[t] positions) through tk_attention_par.
    static func run(_ kernels: UnsafePointer<tk_kernels>, q: [Float], nKV: [Int], k: Cache, v: Cache,
                    kType: KVCacheType, vType: KVCacheType, nHeads: Int, nKVHeads: Int, hd: Int, threads: Int = 1) -> [Float] {
        let rows = nKV.count, group = nHeads / nKVHeads
        let stride = Int(tk_att_scratch_floats(Int64(group), Int64(hd)))
        let longest = nKV.max()!
        let chunks = (longest + Int(TK_ATT_CHUNK) - 1) / Int(TK_ATT_CHUNK)
        var scratch = [Float](repeating: .nan, count: threads * stride)
        var partials = [Float](repeating: .nan, count: max(1, chunks * rows * nHeads * Int(tk_att_partial_floats(Int64(hd)))))
        var out = [Float](repeating: .nan, count: rows * nHeads * hd)
        let pool = threads > 1 ? tk_pool_create(Int32(threads)) : nil
        defer { if let pool { tk_pool_free(pool) } }
        let n = nKV.map { Int64($0) }
        // every pointer of the job outlives tk_attention_par: the buffers are pinned around the call
        k.bytes.withUnsafeBufferPointer { kb in
            v.bytes.withUnsafeBufferPointer { vb in
                let kp = [UnsafePointer<UInt8>?](repeating: kb.baseAddress, count: rows)
                let vp = [UnsafePointer<UInt8>?](repeating: vb.baseAddress, count: rows)
                q.withUnsafeBufferPointer { qb in
                kp.withUnsafeBufferPointer { kpb in
                vp.withUnsafeBufferPointer { vpb in
                n.withUnsafeBufferPointer { nb in
                out.withUnsafeMutableBufferPointer { ob in
                scratch.withUnsafeMutableBufferPointer { sb in
                partials.withUnsafeMutableBufferPointer { pb in
                    var job = tk_attention_job(fn: kernels.pointee.attention, q: qb.baseAddress, out: ob.baseAddress,
                                               q_stride: Int64(nHeads * hd), k: kpb.baseAddress, v: vpb.baseAddress,
                                               n_kv: nb.baseAddress, k_row_bytes: Int64(k.rowBytes), v_row_bytes: Int64(v.rowBytes),
                                               k_head_stride: Int64(kType.headBytes(hd)), v_head_stride: Int64(vType.headBytes(hd)),
                                               k_type: kType.rawValue, v_type: vType.rawValue, n_heads: Int64(nHeads),
                                               group: Int64(group), hd: Int64(hd), scale: 1 / Float(hd).squareRoot(),
                                               scratch: sb.baseAddress, scratch_stride: Int64(stride), partials: pb.baseAddress,
                                               max_rows: Int64(rows), n_kv_rows: 0, n_items: 0, max_chunks: 0, next_item: 0)
                    tk_attention_par(pool, &job, Int64(rows))
                } } } } } } }
            }
        }
        return out
    }

    /// (positions of each row, hd, query heads, KV heads): one position, tile edges (31, 32, 33),
    /// heads not a multiple of 16 or 32, 1-8 query heads per KV head, rows across the chunk edge;
    /// 1, 2, 3 and 4 query heads per KV head over whole blocks of 16 scores (AVX-512's blocks of
    /// 16 / 4, 16 / 2 and 16 positions) and their tails.
    static let shapes: [([Int], Int, Int, Int)] = [
        ([1], 64, 1, 1), ([7, 1, 31], 128, 20, 5), ([33, 32], 100, 3, 1), ([5], 12, 2, 2), ([40, 39, 64], 128, 25, 5),
        ([9], 64, 16, 2), ([70, 3], 48, 6, 3), ([1024, 1025], 128, 8, 2), ([2100, 5, 1500], 16, 4, 1),
        ([50, 17], 64, 3, 3), ([40], 32, 6, 2),
    ]

    func testVariantsEqualTheScalarTwinBitForBit() throws {
        var rng = Xoshiro256(seed: 15)
        let types: [(KVCacheType, KVCacheType)] = [(.f32, .f32), (.f16, .f16), (.q8_0, .q8_0), (.q8_0, .f16), (.f16, .f32)]
        var compared = 0
        for (nKV, hd, nHeads, nKVHeads) in Self.shapes {
            var q = (0..<(nKV.count * nHeads * hd)).map { _ in Float(rng.nextUnit() * 2 - 1) * 3 }
            // with several rows, the first one's queries are zero: every score +0, so every tile's
            // maximum is a zero, the case the variants' vector maximum leaves to the twin's loop
            // (where -0 and +0 tie, the first wins)
            if nKV.count > 1 { for i in 0..<(nHeads * hd) { q[i] = 0 } }
            for (kt, vt) in types {
                let k = Self.makeCache(kt, positions: nKV.max()!, heads: nKVHeads, hd: hd, rng: &rng, magnitude: 2)
                let v = Self.makeCache(vt, positions: nKV.max()!, heads: nKVHeads, hd: hd, rng: &rng)
                let ref = Self.run(tk_kernels_named("scalar")!, q: q, nKV: nKV, k: k, v: v, kType: kt, vType: vt,
                                   nHeads: nHeads, nKVHeads: nKVHeads, hd: hd)
                XCTAssertFalse(ref.contains { $0.isNaN }, "every output written")
                // threads take the items in any order: the same bits
                let threaded = Self.run(tk_kernels_named("scalar")!, q: q, nKV: nKV, k: k, v: v, kType: kt, vType: vt,
                                        nHeads: nHeads, nKVHeads: nKVHeads, hd: hd, threads: 3)
                XCTAssertEqual(threaded, ref, "3 threads, \(nKV) \(hd) \(kt.name)/\(vt.name)")
                for name in variantsUnderTest() {
                    let got = Self.run(tk_kernels_named(name)!, q: q, nKV: nKV, k: k, v: v, kType: kt, vType: vt,
                                       nHeads: nHeads, nKVHeads: nKVHeads, hd: hd)
                    XCTAssertEqual(got.map(\.bitPattern), ref.map(\.bitPattern), "\(name) \(nKV) hd \(hd) \(nHeads)/\(nKVHeads) \(kt.name)/\(vt.name)")
                    compared += 1
                }
            }
        }
        XCTAssertGreaterThan(compared, 0)
    }

    /// The twin is attention: a softmax in Double over exactly the values the cache holds.
    func testScalarTwinIsSoftmaxAttention() throws {
        var rng = Xoshiro256(seed: 16)
        for (nKV, hd, nHeads, nKVHeads) in Self.shapes {
            for type in KVCacheType.allCases {
                let q = (0..<(nKV.count * nHeads * hd)).map { _ in Float(rng.nextUnit() * 2 - 1) * 3 }
                let k = Self.makeCache(type, positions: nKV.max()!, heads: nKVHeads, hd: hd, rng: &rng, magnitude: 2)
                let v = Self.makeCache(type, positions: nKV.max()!, heads: nKVHeads, hd: hd, rng: &rng)
                let got = Self.run(tk_kernels_named("scalar")!, q: q, nKV: nKV, k: k, v: v, kType: type, vType: type,
                                   nHeads: nHeads, nKVHeads: nKVHeads, hd: hd)
                let group = nHeads / nKVHeads, scale = 1 / Double(hd).squareRoot()
                var worst = 0.0
                for (t, n) in nKV.enumerated() {
                    for h in 0..<nHeads {
                        let g = h / group
                        let qh = Array(q[((t * nHeads + h) * hd)..<((t * nHeads + h + 1) * hd)])
                        let s = (0..<n).map { j in
                            (0..<hd).reduce(0.0) { $0 + Double(qh[$1]) * Double(k.values[(j * nKVHeads + g) * hd + $1]) } * scale
                        }
                        let mx = s.max()!, e = s.map { Foundation.exp($0 - mx) }, z = e.reduce(0, +)
                        for d in 0..<hd {
                            let want = (0..<n).reduce(0.0) { $0 + e[$1] / z * Double(v.values[($1 * nKVHeads + g) * hd + d]) }
                            worst = max(worst, abs(Double(got[(t * nHeads + h) * hd + d]) - want))
                        }
                    }
                }
                XCTAssertLessThan(worst, 2e-6, "\(nKV) hd \(hd) \(type.name)")
            }
        }
    }

    func testExpPolynomial() {
        XCTAssertEqual(tk_att_exp(0), 1)
        XCTAssertEqual(tk_att_exp(-0.0), 1)
        XCTAssertEqual(tk_att_exp(5), 1, "clamped to 0 from above")
        XCTAssertLessThan(tk_att_exp(-.infinity), 1.2e-38)
        var worst = 0.0
        var x: Float = -87
        while x < 0 {
            let want = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(tk_att_exp(x)) - want) / want)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 3e-7, "relative error of the exp polynomial")
    }

    /// The layouts: F16 rounds to nearest even; Q8_0 is d = max|x|/127 in fp16 and q = round(x/d)
    /// in blocks of 32 along each head, a short last block zero padded.
    func testCacheLayouts() {
        XCTAssertEqual(KVCacheType.f32.headBytes(128), 512)
        XCTAssertEqual(KVCacheType.f16.headBytes(128), 256)
        XCTAssertEqual(KVCacheType.q8_0.headBytes(128), 136)
        XCTAssertEqual(KVCacheType.q8_0.headBytes(48), 68)
        XCTAssertEqual(tk_kv_head_bytes(3, 128), 0, "unknown type")
        // Q8_0 worked example: 48 values = a full block of 32 and a short one of 16
        var x = (0..<48).map { Float($0) - 20 }   // block 0: -20..11 (max 20), block 1: 12..27 (max 27)
        var b = [UInt8](repeating: 0xee, count: 68)
        tk_kv_store(KVCacheType.q8_0.rawValue, &x, 1, 48, &b)
        let d0 = tk_f16_to_f32(UInt16(b[0]) | UInt16(b[1]) << 8), d1 = tk_f16_to_f32(UInt16(b[34]) | UInt16(b[35]) << 8)
        XCTAssertEqual(d0, tk_f16_to_f32(tk_f32_to_f16(20 / 127)))
        XCTAssertEqual(d1, tk_f16_to_f32(tk_f32_to_f16(27 / 127)))
        XCTAssertEqual(Int8(bitPattern: b[2]), -127, "the block's largest magnitude is ±127")
        XCTAssertEqual(Int8(bitPattern: b[2 + 31]), Int8((11 * 127.0 / 20).rounded()))
        XCTAssertEqual(Int8(bitPattern: b[34 + 2 + 15]), 127)
        XCTAssertEqual(Array(b[(34 + 2 + 16)..<68]), [UInt8](repeating: 0, count: 16), "short block padded with zeros")
        var back = [Float](repeating: 0, count: 48)
        tk_kv_load(KVCacheType.q8_0.rawValue, b, 1, 48, &back)
        for i in 0..<48 { XCTAssertLessThanOrEqual(abs(back[i] - x[i]), (i < 32 ? d0 : d1) / 2 * 1.01, "value \(i)") }
        // F16: 1 + 2^-11 is a tie and rounds to even (1); 1 + 3·2^-11 rounds up to 1 + 2^-9
        var h: [Float] = [1 + 0x1p-11, 1 + 3 * 0x1p-11, 65504, -0.0]
        var hb = [UInt8](repeating: 0, count: 8)
        tk_kv_store(KVCacheType.f16.rawValue, &h, 1, 4, &hb)
        tk_kv_load(KVCacheType.f16.rawValue, hb, 1, 4, &h)
        XCTAssertEqual(h[0], 1)
        XCTAssertEqual(h[1], 1 + 0x1p-9)
        XCTAssertEqual(h[2], 65504)
        XCTAssertEqual(h[3].sign, .minus)
    }
}
