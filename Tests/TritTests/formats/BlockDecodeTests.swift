import XCTest
import TritKernels
@testable import Trit

/// Each file type decodes hand-built blocks to the right values. The blocks are built here from
/// the byte-level descriptions of docs/formats.md §3 (not with trit's encoders).
final class BlockDecodeTests: XCTestCase {
    /// A deterministic ternary pattern.
    func pattern(_ n: Int, seed: Int = 7) -> [Int8] { (0..<n).map { Int8(((($0 * 37 + seed) * 11) % 3)) - 1 } }

    func raw(_ bytes: [UInt8], shape: [Int], _ enc: RawTensor.Encoding, file: MappedFile) -> (RawTensor, UnsafeMutableRawBufferPointer) {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
        buf.copyBytes(from: bytes)
        return (RawTensor(name: "t", origin: "test", shape: shape, encoding: enc, bytes: UnsafeRawBufferPointer(buf), file: file), buf)
    }

    var dummy: MappedFile!
    override func setUpWithError() throws { dummy = try MappedFile(path: Fixtures.root + "/README.md") }

    func assertMatrix(_ m: TernaryMatrix, _ v: [Int8], rows: Int, cols: Int, file: StaticString = #filePath, line: UInt = #line) {
        for r in 0..<rows { for c in 0..<cols where m.value(row: r, col: c) != v[r * cols + c] {
            XCTFail("(\(r), \(c)): \(m.value(row: r, col: c)) != \(v[r * cols + c])", file: file, line: line); return
        } }
    }

    func testTQ2_0() throws {
        let rows = 2, cols = 256
        let v = pattern(rows * cols)
        var bytes: [UInt8] = []
        for r in 0..<rows {
            var qs = [UInt8](repeating: 0, count: 64)
            // docs/formats.md §3.2: byte qs[j+m] holds elements 4j+m+32n at bits 2n, LSB first; code = w+1
            for j in [0, 32] { for m in 0..<32 { for n in 0..<4 {
                qs[j + m] |= UInt8(v[r * cols + 4 * j + m + 32 * n] + 1) << UInt8(2 * n)
            } } }
            bytes += qs + [0x00, 0x3C]   // d = 1.0 in f16 (0x3C00), little-endian
        }
        let (t, buf) = raw(bytes, shape: [cols, rows], .ggml(.tq2_0), file: dummy)
        defer { buf.deallocate() }
        let m = try TensorConversion.ternary(t, rows: rows, cols: cols, floats: .absmean)
        XCTAssertEqual(m.scale, 1.0)
        assertMatrix(m, v, rows: rows, cols: cols)
    }

    func testTQ1_0() throws {
        let cols = 256
        let v = pattern(cols, seed: 3)
        // docs/formats.md §3.3: 5 trits per byte, v = Σ t_n 3^(4−n), byte = ceil(v·256/243)
        func byte(_ t: [Int]) -> UInt8 {
            var x = 0
            for q in t { x = x * 3 + q }
            return UInt8((x * 256 + 242) / 243)
        }
        func t(_ i: Int) -> Int { Int(v[i]) + 1 }
        var qs = [UInt8](repeating: 0, count: 48), qh = [UInt8](repeating: 0, count: 4)
        for m in 0..<32 { qs[m] = byte((0..<5).map { t(m + 32 * $0) }) }
        for m in 0..<16 { qs[32 + m] = byte((0..<5).map { t(160 + m + 16 * $0) }) }
        for j in 0..<4 { qh[j] = byte((0..<4).map { t(240 + j + 4 * $0) } + [0]) }
        let (r, buf) = raw(qs + qh + [0x00, 0x38], shape: [cols, 1], .ggml(.tq1_0), file: dummy)   // d = 0.5
        defer { buf.deallocate() }
        let m = try TensorConversion.ternary(r, rows: 1, cols: cols, floats: .absmean)
        XCTAssertEqual(m.scale, 0.5)
        assertMatrix(m, v, rows: 1, cols: cols)
    }

    func testI2S() throws {
        // docs/formats.md §3.4: flat 128-blocks, element j in byte j%32 at shift 6−2(j/32), scale f32 at n/4
        for (rows, cols) in [(3, 128), (4, 96), (2, 640)] {
            let n = rows * cols
            let v = pattern(n, seed: cols)
            var bytes = [UInt8](repeating: 0, count: n / 4 + 32)
            for e in 0..<n {
                let j = e % 128
                bytes[(e / 128) * 32 + j % 32] |= UInt8(v[e] + 1) << UInt8(6 - 2 * (j / 32))
            }
            withUnsafeBytes(of: Float(0.25).bitPattern.littleEndian) { for k in 0..<4 { bytes[n / 4 + k] = $0[k] } }
            let (r, buf) = raw(bytes, shape: [cols, rows], .ggml(.i2s), file: dummy)
            defer { buf.deallocate() }
            let m = try TensorConversion.ternary(r, rows: rows, cols: cols, floats: .absmean)
            XCTAssertEqual(m.scale, 0.25)
            XCTAssertEqual(m.isMapped, cols % 128 == 0, "in place exactly when rows are whole blocks")
            assertMatrix(m, v, rows: rows, cols: cols)
        }
    }

    func testHFPackedBothScaleMeanings() throws {
        let rows = 8, cols = 5
        let v = pattern(rows * cols, seed: 1)
        let r4 = rows / 4
        var p = [UInt8](repeating: 0, count: r4 * cols)
        // docs/formats.md §1.3: T[i·R + p, k] = ((P[p,k] >> 2i) & 3) − 1
        for i in 0..<4 { for pp in 0..<r4 { for k in 0..<cols { p[pp * cols + k] |= UInt8(v[(i * r4 + pp) * cols + k] + 1) << UInt8(2 * i) } } }
        let (t, buf) = raw(p, shape: [cols, r4], .safetensors("U8"), file: dummy)
        defer { buf.deallocate() }
        let m = try TensorConversion.fromHFPacked(t, rows: rows, cols: cols, scale: 0.5)
        assertMatrix(m, v, rows: rows, cols: cols)
        var bad = p
        bad[0] = 0xFF   // code 3 is never used
        let (t2, buf2) = raw(bad, shape: [cols, r4], .safetensors("U8"), file: dummy)
        defer { buf2.deallocate() }
        XCTAssertThrowsError(try TensorConversion.fromHFPacked(t2, rows: rows, cols: cols, scale: 0.5))
    }

    func testTernarizeOnLoad() throws {
        // ternary-valued floats keep β = a exactly; master weights use β = mean|W| (docs/formats.md §1.3)
        var w: [Float] = [0.3, -0.3, 0, 0.3, 0, -0.3, 0.3, 0.3]
        let exact = try w.withUnsafeMutableBufferPointer { try TensorConversion.ternarize($0.baseAddress!, rows: 2, cols: 4, mode: .exactOrAbsmean, name: "w") }
        XCTAssertEqual(exact.scale, 0.3)
        XCTAssertEqual((0..<4).map { exact.value(row: 0, col: $0) }, [1, -1, 0, 1])
        var m: [Float] = [0.9, -0.2, 0.05, 1.1, -0.7, 0.0, 0.3, -1.3]
        let mean = m.map { abs($0) }.reduce(0, +) / 8
        let t = try m.withUnsafeMutableBufferPointer { try TensorConversion.ternarize($0.baseAddress!, rows: 2, cols: 4, mode: .absmean, name: "m") }
        XCTAssertEqual(t.scale, mean, accuracy: 1e-7)
        let expect: [Int8] = m.map { x in let q = (x / mean).rounded(.toNearestOrEven); return q >= 1 ? 1 : q <= -1 ? -1 : 0 }
        XCTAssertEqual((0..<8).map { t.value(row: $0 / 4, col: $0 % 4) }, expect)
    }

    func testQ8_0AndHalfFloats() throws {
        // Q8_0: f16 d then 32 int8; value = d·q
        var block: [UInt8] = [0x00, 0x3C]   // d = 1
        block += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        let (t, buf) = raw(block, shape: [32], .ggml(.q8_0), file: dummy)
        defer { buf.deallocate() }
        XCTAssertEqual(try TensorConversion.floats(t), (0..<32).map { Float($0 - 16) })
        XCTAssertEqual(tk_f16_to_f32(0x3C00), 1)
        XCTAssertEqual(tk_f16_to_f32(0xC000), -2)
        XCTAssertEqual(tk_f16_to_f32(0x0001), 5.9604645e-08)
        XCTAssertEqual(tk_f32_to_f16(65504), 0x7BFF)
        XCTAssertEqual(tk_f32_to_f16(1e6), 0x7C00)
        XCTAssertEqual(tk_f32_to_f16(1.0009766), 0x3C01)
        XCTAssertEqual(tk_bf16_to_f32(0x3F80), 1)
        for h in stride(from: 0, to: 0x7C00, by: 7) { XCTAssertEqual(tk_f32_to_f16(tk_f16_to_f32(UInt16(h))), UInt16(h)) }
    }

    func testRoPENeoXVersusAdjacentPairs() throws {
        // a unit vector on the first axis of a 4-dim head, at position 1, θ = 10000:
        // NeoX rotates (x0, x2), adjacent-pair rotates (x0, x1)
        let m = try Model.load(path: Fixtures.root + "/bitnet-1bitllm-tiny/hf")
        let s = try InferenceState(model: m, nCtx: 4)
        var v = [Float](repeating: 0, count: m.config.headDim)
        v[0] = 1
        v.withUnsafeMutableBufferPointer { s.rope($0.baseAddress!, pos: 1) }
        XCTAssertEqual(v[0], cos(1), accuracy: 1e-6)
        XCTAssertEqual(v[m.config.headDim / 2], sin(1), accuracy: 1e-6)   // the NeoX partner
        XCTAssertEqual(v[1], 0)
        XCTAssertEqual(m.config.rope, .neox)
        let g = try Model.load(path: Fixtures.root + "/b158-tiny/model.f32.gguf")
        XCTAssertEqual(g.config.rope, .neox, "bitnet-b1.58 GGUFs are NeoX (docs/formats.md §0)")
    }
}
