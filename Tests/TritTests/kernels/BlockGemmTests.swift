import XCTest
import TritKernels
@testable import Trit

/// ggml's block types read in place (the output head, the token embedding): the decoders against gguf-py's
/// (Tests/Fixtures/ggml-blocks), the scalar twin against a direct sum, every variant against the twin, and each
/// variant against its own dense kernel on the F32 copy a load made before (exact mode's logits unchanged).
final class BlockGemmTests: XCTestCase {
    static let types: [(tk_dtype, String)] = [(TK_Q4_0, "q4_0"), (TK_Q8_0, "q8_0"), (TK_Q4_K, "q4_k"),
                                              (TK_Q5_K, "q5_k"), (TK_Q6_K, "q6_k")]

    /// Random blocks of type t for rows × cols weights: random code bytes, scales in a moderate range.
    static func randomBlocks(_ t: tk_dtype, rows: Int, cols: Int, rng: inout Xoshiro256) -> [UInt8] {
        let be = Int(tk_dtype_block_elems(t)), bb = Int(tk_dtype_block_bytes(t))
        let n = rows * cols / be
        var b = (0..<(n * bb)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        func f16(_ lo: Double, _ hi: Double, signed: Bool) -> UInt16 {
            let v = Float(lo + rng.nextUnit() * (hi - lo)) * (signed && rng.next() % 2 == 0 ? -1 : 1)
            return tk_f32_to_f16(v)
        }
        func put(_ v: UInt16, _ o: Int) { b[o] = UInt8(v & 0xff); b[o + 1] = UInt8(v >> 8) }
        for i in 0..<n {
            let o = i * bb
            switch t {
            case TK_Q4_0, TK_Q8_0: put(f16(1e-3, 2e-2, signed: true), o)
            case TK_Q4_K, TK_Q5_K: put(f16(1e-4, 1e-3, signed: false), o); put(f16(1e-4, 1e-3, signed: false), o + 2)
            default: put(f16(1e-5, 5e-4, signed: true), o + 208)
            }
        }
        return b
    }

    static func decode(_ b: [UInt8], _ t: tk_dtype, rows: Int, cols: Int) -> [Float] {
        var w = [Float](repeating: 0, count: rows * cols)
        b.withUnsafeBytes { tk_block_rows_to_f32($0.baseAddress, t, Int64(cols), 0, Int64(rows), &w) }
        return w
    }

    static func run(_ k: UnsafePointer<tk_kernels>, dense: Bool, _ w: UnsafeRawPointer, _ t: tk_dtype, rows: Int, cols: Int,
                    r0: Int = 0, r1: Int? = nil, x: UnsafePointer<Float>, n: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: n * rows)
        let fn = dense ? k.pointee.dense_gemm! : k.pointee.block_gemm!
        fn(w, t, Int64(cols), Int64(r0), Int64(r1 ?? rows), x, Int64(cols), Int64(n), &out, Int64(rows))
        return out
    }

    /// Each type's weights as gguf-py's dequantize gives them (an outside implementation of ggml's
    /// dequantize_row_*), bit for bit; for Q8_0 and Q6_K also as the loader's F32 copy (TensorConversion).
    func testDecodersMatchGGUFPy() throws {
        for (t, name) in Self.types {
            let dir = Fixtures.root + "/ggml-blocks/"
            let blocks = try MappedFile(path: dir + name + ".bin"), ref = try MappedFile(path: dir + name + ".f32")
            let bytes = UnsafeRawBufferPointer(start: blocks.base, count: blocks.size)
            let n = ref.size / 4
            XCTAssertEqual(blocks.size / Int(tk_dtype_block_bytes(t)) * Int(tk_dtype_block_elems(t)), n, name)
            var w = [Float](repeating: .nan, count: n)
            tk_block_rows_to_f32(blocks.base, t, Int64(n), 0, 1, &w)
            var bad = 0
            for i in 0..<n where w[i].bitPattern != ref.base!.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) { bad += 1 }
            XCTAssertEqual(bad, 0, "\(name): \(bad) of \(n) weights differ from gguf-py's")
            if t == TK_Q6_K || t == TK_Q8_0 {
                let raw = RawTensor(name: name, origin: "test", shape: [n], encoding: .ggml(t == TK_Q6_K ? .q6_K : .q8_0),
                                    bytes: bytes, file: blocks)
                XCTAssertEqual(try TensorConversion.floats(raw).map { $0.bitPattern }, w.map { $0.bitPattern }, name)
            }
        }
    }

    /// The twin against a double-precision sum of the decoded weights, every variant against the twin (AVX2: bit
    /// for bit; AVX-512 orders its sum in 16 lanes: within the dense kernels' tolerance), and each vector variant
    /// against its own dense kernel on the decoded F32 rows, bit for bit.
    func testVariantsEqualTheTwinAndTheDenseKernelOnTheF32Copy() throws {
        var rng = Xoshiro256(seed: 31)
        let scalar = tk_kernels_named("scalar")!
        let variants = variantsUnderTest().filter { $0 != "scalar" }
        for (t, name) in Self.types {
            let be = Int(tk_dtype_block_elems(t))
            for (rows, blocksPerRow, n) in [(1, 1, 1), (9, 1, 1), (13, 3, 1), (4, 2, 2), (7, 10, 3), (23, 2, 5), (6, 1, 9),
                                            (5, 40 / (be / 32), 1)] {
                let cols = blocksPerRow * be
                let b = Self.randomBlocks(t, rows: rows, cols: cols, rng: &rng)
                let w = Self.decode(b, t, rows: rows, cols: cols)
                XCTAssertTrue(w.allSatisfy { $0.isFinite }, name)
                let x = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
                let what = "\(name) \(rows)x\(cols) n=\(n)"
                let twin = b.withUnsafeBytes { Self.run(scalar, dense: false, $0.baseAddress!, t, rows: rows, cols: cols, x: x, n: n) }
                for tok in 0..<n { for r in 0..<rows {
                    var e = 0.0, mag = 0.0
                    for c in 0..<cols {
                        e += Double(w[r * cols + c]) * Double(x[tok * cols + c])
                        mag += abs(Double(w[r * cols + c]) * Double(x[tok * cols + c]))
                    }
                    XCTAssertEqual(Double(twin[tok * rows + r]), e, accuracy: mag * 1e-6 + 1e-30, what)
                } }
                for v in variants {
                    let k = tk_kernels_named(v)!
                    let got = b.withUnsafeBytes { Self.run(k, dense: false, $0.baseAddress!, t, rows: rows, cols: cols, x: x, n: n) }
                    let copy = w.withUnsafeBytes { Self.run(k, dense: true, $0.baseAddress!, TK_F32, rows: rows, cols: cols, x: x, n: n) }
                    XCTAssertEqual(got.map(\.bitPattern), copy.map(\.bitPattern), "\(v) \(what): block vs dense on the F32 copy")
                    if v == "avx2" {
                        XCTAssertEqual(got.map(\.bitPattern), twin.map(\.bitPattern), "\(v) \(what)")
                    } else {
                        for i in 0..<got.count { XCTAssertEqual(got[i], twin[i], accuracy: 1e-4, "\(v) \(what)") }
                    }
                }
            }
        }
    }

    /// Batch invariance and the certified head's single rows: each token of a batch gets what it gets alone, and a
    /// row alone what it gets in a tile, bit for bit, in every variant.
    func testTokensAndRowsDoNotInteract() throws {
        var rng = Xoshiro256(seed: 77)
        let variants = variantsUnderTest()
        for (t, name) in Self.types {
            let rows = 11, cols = 2 * 256
            let b = Self.randomBlocks(t, rows: rows, cols: cols, rng: &rng)
            for v in variants {
                let k = tk_kernels_named(v)!
                for n in [1, 2, 5, 8] {
                    let x = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }
                    let batch = b.withUnsafeBytes { Self.run(k, dense: false, $0.baseAddress!, t, rows: rows, cols: cols, x: x, n: n) }
                    for tok in 0..<n {
                        let one = x.withUnsafeBufferPointer { xp in
                            b.withUnsafeBytes { Self.run(k, dense: false, $0.baseAddress!, t, rows: rows, cols: cols,
                                                         x: xp.baseAddress! + tok * cols, n: 1) }
                        }
                        XCTAssertEqual(Array(batch[(tok * rows)..<((tok + 1) * rows)]).map(\.bitPattern), one.map(\.bitPattern),
                                       "\(v) \(name) n=\(n) token \(tok)")
                        if n == 1 {
                            for r in 0..<rows {
                                let alone = b.withUnsafeBytes { Self.run(k, dense: false, $0.baseAddress!, t, rows: rows, cols: cols,
                                                                         r0: r, r1: r + 1, x: x, n: 1) }
                                XCTAssertEqual(alone[r].bitPattern, one[r].bitPattern, "\(v) \(name) row \(r) alone")
                            }
                        }
                    }
                }
            }
        }
    }
}
