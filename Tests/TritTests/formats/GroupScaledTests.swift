import Foundation
import TritKernels
import XCTest
@testable import Trit

/// The group-scaled types (docs/formats.md §8): the spec's worked examples decoded value by value
/// (Q2_0's code 3 is +2), the early PrismML type-42 layout told apart by size and loaded as the
/// same function, and every bad input the issue names as a clear error.
final class GroupScaledTests: XCTestCase {
    /// `bytes` as a tensor in a mapped file, as a loader sees it.
    func tensor(_ bytes: [UInt8], _ type: GGMLType, shape: [Int]) throws -> RawTensor {
        let path = NSTemporaryDirectory() + "trit-gs-t-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let f = try MappedFile(path: path)
        return RawTensor(name: "t", origin: "test", shape: shape, encoding: .ggml(type),
                         bytes: try f.bytes(0, bytes.count, what: "t"), file: f)
    }

    func decode(_ bytes: [UInt8], _ type: GGMLType, cols: Int) throws -> [Float] {
        let t = try tensor(bytes, type, shape: [cols, 1])
        let d = try GroupScaled.dense(t, type: type, rows: 1, cols: cols)
        var out = [Float](repeating: 0, count: cols)
        d.row(0, into: &out)
        return out
    }

    func testQ2_0WorkedExampleWithCode3AsPlus2() throws {
        let b: [UInt8] = [0x66, 0x26, 0xE4, 0x85] + [UInt8](repeating: 0x55, count: 14)
        let d: Float = 0.024993896484375
        let w = try decode(b, .q2_0, cols: 64)
        XCTAssertEqual(Array(w[0..<8]), [-d, 0, d, 2 * d, 0, 0, -d, d])
        XCTAssertTrue(w[8...].allSatisfy { $0 == 0 })
        // the same codec with 128-groups (PQ2_0 and the early type-42 layout)
        let b128: [UInt8] = [0x66, 0x26, 0xE4] + [UInt8](repeating: 0x55, count: 30) + [0xFF]
        for t in [GGMLType.pq2_0, .q2_0g128] {
            let v = try decode(b128, t, cols: 128)
            XCTAssertEqual(Array(v[0..<4]), [-d, 0, d, 2 * d], "\(t)")
            XCTAssertEqual(Array(v[124..<128]), [2 * d, 2 * d, 2 * d, 2 * d], "\(t)")
        }
    }

    func testQ1_0WorkedExample() throws {
        var b: [UInt8] = [0x1F, 0x25, 0x0D, 0x02] + [UInt8](repeating: 0, count: 13) + [0x80]
        XCTAssertEqual(b.count, 18)
        let d: Float = 0.0200042724609375
        let w = try decode(b, .q1_0, cols: 128)
        for j in 0..<128 { XCTAssertEqual(w[j], [0, 2, 3, 9, 127].contains(j) ? d : -d, "value \(j)") }
        b[2] = 0xFF
        XCTAssertEqual(Array(try decode(b, .q1_0, cols: 128)[0..<8]), [Float](repeating: d, count: 8))
    }

    func testPTQ1_0WorkedExampleScaleLast() throws {
        let b: [UInt8] = [0xB9, 0x2B] + [UInt8](repeating: 0x80, count: 14) + [0xD5] + [UInt8](repeating: 0x80, count: 7)
            + [0x2A, 0xD7, 0x66, 0x26]
        XCTAssertEqual(b.count, 28)
        let d: Float = 0.024993896484375
        let w = try decode(b, .ptq1_0, cols: 128)
        let want: [Int: Float] = [0: d, 1: -d, 16: -d, 80: d, 120: -d, 121: d, 127: d]
        for j in 0..<128 { XCTAssertEqual(w[j], want[j] ?? 0, "value \(j)") }
    }

    /// Two rows of two groups: each group's scale applies to its own weights only.
    func testGroupsOfARowHaveTheirOwnScales() throws {
        func block(_ scale: Float, _ code: UInt8) -> [UInt8] {
            let h = tk_f32_to_f16(scale)
            return [UInt8(h & 0xFF), UInt8(h >> 8)] + [UInt8](repeating: code, count: 16)
        }
        let bytes = block(0.5, 0xAA) + block(2, 0x00) + block(-1, 0xFF) + block(0.25, 0x55)
        let t = try tensor(bytes, .q2_0, shape: [128, 2])
        let m = try GroupScaled.dense(t, type: .q2_0, rows: 2, cols: 128)
        var r0 = [Float](repeating: 0, count: 128), r1 = r0
        m.row(0, into: &r0); m.row(1, into: &r1)
        XCTAssertTrue(r0[0..<64].allSatisfy { $0 == 0.5 } && r0[64...].allSatisfy { $0 == -2 })
        XCTAssertTrue(r1[0..<64].allSatisfy { $0 == -2 } && r1[64...].allSatisfy { $0 == 0 })
    }

    /// A group-scaled embedding or output head (Bonsai files may quantize those too) is read as the
    /// same F16 matrix the float path decodes.
    func testGroupScaledEmbeddingOrHeadIsDecoded() throws {
        let b: [UInt8] = [0x66, 0x26, 0xE4, 0x85] + [UInt8](repeating: 0x55, count: 14)
        let t = try tensor(b + b, .q2_0, shape: [64, 2])
        let m = try TensorConversion.dense(t, rows: 2, cols: 64)
        var r = [Float](repeating: 0, count: 64)
        m.row(1, into: &r)
        let d: Float = 0.024993896484375
        XCTAssertEqual(Array(r[0..<4]), [-d, 0, d, 2 * d])
    }

    // MARK: the int8-activation kernels

    /// The kernels' tiles hold every weight and scale of the file's blocks, for each source kind
    /// (2-bit in groups of 64 and 128, Q1_0's bits, PTQ1_0's trits), with rows that leave a partial tile.
    func testTilesHoldEveryWeightAndScale() throws {
        var rng = Xoshiro256(seed: 5)
        for (type, rows, cols) in [(GGMLType.q2_0, 19, 128), (.pq2_0, 17, 256), (.q1_0, 33, 256), (.ptq1_0, 18, 128)] {
            let (g, bb) = GroupScaled.geometry(type)!
            var bytes = (0..<(rows * cols / g * bb)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for blk in 0..<(rows * cols / g) {
                let h = tk_f32_to_f16(Float(blk + 1) / 64)
                let o = blk * bb + (type == .ptq1_0 ? 26 : 0)
                bytes[o] = UInt8(h & 0xFF); bytes[o + 1] = UInt8(h >> 8)
            }
            let m = try GroupScaled.grouped(try tensor(bytes, type, shape: [cols, rows]), type: type, rows: rows, cols: cols)
            var c = [Int8](repeating: 0, count: g)
            bytes.withUnsafeBytes { b in
                for r in 0..<rows {
                    for gi in 0..<(cols / g) {
                        let blk = r * (cols / g) + gi
                        XCTAssertEqual(m.scale(row: r, group: gi), Float(blk + 1) / 64, "\(type) row \(r) group \(gi)")
                        c.withUnsafeMutableBufferPointer { GroupScaled.codes(b, type, block: blk * bb, into: $0.baseAddress!) }
                        let got = (0..<g).map { Int8(m.code(row: r, col: gi * g + $0)) }
                        XCTAssertEqual(got, c, "\(type) row \(r) group \(gi)")
                    }
                }
            }
        }
    }

    /// A scale that is inf or NaN is refused by the tiling for every source kind, naming the first bad
    /// block in file order even when a later row of the same tile has a bad block in an earlier group.
    func testTilingRefusesANonFiniteScaleNamingTheFirstBlock() throws {
        for type in [GGMLType.q2_0, .pq2_0, .q1_0, .ptq1_0] {
            let (g, bb) = GroupScaled.geometry(type)!
            let rows = 3, ng = 6, cols = ng * g
            var bytes = [UInt8](repeating: 0x55, count: rows * ng * bb)
            let so = type == .ptq1_0 ? 26 : 0
            for blk in 0..<(rows * ng) { bytes[blk * bb + so] = 0x00; bytes[blk * bb + so + 1] = 0x3C }   // 1.0
            // row 0 group 5 (block 5) is NaN, row 1 group 0 (block 6) is inf: block 5 comes first
            bytes[5 * bb + so] = 0x00; bytes[5 * bb + so + 1] = 0x7E
            bytes[6 * bb + so] = 0x00; bytes[6 * bb + so + 1] = 0x7C
            XCTAssertThrowsError(try GroupScaled.grouped(try tensor(bytes, type, shape: [cols, rows]), type: type, rows: rows, cols: cols)) { e in
                XCTAssertTrue("\(e)".contains("block 5 (row 0, group 5)") && "\(e)".contains("finite"), "\(type): \(e)")
            }
        }
    }

    /// Every variant gives the scalar twin's bits; the scalar twin equals Σ_g d_g·Σ (c − 1)·q / s
    /// computed directly from the dense decoding of the file's blocks (so the tiling is checked too).
    /// Groups of 64 and 128, widths that leave half a 128-block (192, 320), row counts that leave a
    /// partial 16-row tile, code 3 (+2) in the data, 1 to 9 tokens.
    func testGroupGemmVariantsEqualScalar() throws {
        var rng = Xoshiro256(seed: 12)
        for (type, rows, cols) in [(GGMLType.q2_0, 37, 192), (.q2_0, 9, 1024), (.q2_0, 21, 320), (.pq2_0, 6, 640),
                                   (.ptq1_0, 35, 256), (.q1_0, 41, 384), (.q2_0, 3, 2368), (.q2_0g128, 20, 2432)] {
            let (g, bb) = GroupScaled.geometry(type)!
            var bytes = [UInt8](repeating: 0, count: rows * cols / g * bb)
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
            for blk in 0..<(rows * cols / g) {   // finite scales
                let h = tk_f32_to_f16(Float(0.01 + rng.nextUnit() * 0.05) * (rng.nextUnit() < 0.5 ? -1 : 1))
                let o = blk * bb + (type == .ptq1_0 ? 26 : 0)
                bytes[o] = UInt8(h & 0xFF); bytes[o + 1] = UInt8(h >> 8)
            }
            let m = try GroupScaled.grouped(try tensor(bytes, type, shape: [cols, rows]), type: type, rows: rows, cols: cols)
            let dense = try GroupScaled.dense(try tensor(bytes, type, shape: [cols, rows]), type: type, rows: rows, cols: cols)
            for n in [1, 2, 3, 4, 6, 7, 9] {   // token tiles of 4 and their tails of 1-3 (one pass)
                let x = (0..<(n * cols)).map { _ in Float(rng.nextUnit() * 4 - 2) }
                let kp = m.paddedCols
                var q = [Int8](repeating: 0, count: n * kp), sc = [Float](repeating: 0, count: n), qs = [Int32](repeating: 0, count: n)
                tk_quantize_rows(x, Int64(cols), Int64(cols), Int64(n), &q, Int64(kp), &sc, &qs)
                var gs = [Int32](repeating: 0, count: n * m.nGroups)
                tk_group_sums(q, Int64(kp), Int64(n), Int64(m.group), Int64(m.nGroups), &gs)
                func run(_ k: UnsafePointer<tk_kernels>, from r0: Int = 0) -> [Float] {
                    var out = [Float](repeating: -7, count: n * rows)
                    k.pointee.group_gemm(m.tiles.raw.assumingMemoryBound(to: UInt8.self), Int64(m.group), m.oneBit ? 1 : 0,
                                         Int64(m.nGroups), Int64(r0), Int64(rows), q, Int64(kp), gs, sc, Int64(n), &out, Int64(rows))
                    return out
                }
                let ref = run(tk_kernels_named("scalar")!)
                var w = [Float](repeating: 0, count: cols)
                for r in 0..<rows {
                    dense.row(r, into: &w)
                    for t in 0..<n {
                        var e = 0.0
                        for k in 0..<cols { e += Double(w[k]) * Double(q[t * kp + k]) }
                        XCTAssertEqual(Double(ref[t * rows + r]), e / Double(sc[t]), accuracy: 1e-5 + abs(e / Double(sc[t])) * 1e-5,
                                       "\(type) \(rows)x\(cols) n=\(n) row \(r)")
                    }
                }
                for name in variantsUnderTest() {
                    XCTAssertEqual(run(tk_kernels_named(name)!).map(\.bitPattern), ref.map(\.bitPattern), "\(name) \(type) \(rows)x\(cols) n=\(n)")
                    guard rows > 16 else { continue }
                    // rows 16..<rows only (a chunk that starts at the second tile and ends in a partial one)
                    let part = run(tk_kernels_named(name)!, from: 16)
                    for t in 0..<n {
                        XCTAssertTrue(part[(t * rows)..<(t * rows + 16)].allSatisfy { $0 == -7 }, "\(name): rows 0..<16 are outside the range")
                        for r in 16..<rows {
                            XCTAssertEqual(part[t * rows + r].bitPattern, ref[t * rows + r].bitPattern, "\(name) \(type) rows 16..<\(rows) n=\(n)")
                        }
                    }
                }
            }
        }
    }

    // MARK: files

    static let g128 = Fixtures.root + "/qwen3-ternary-g128-tiny/"

    /// Bytes of a fixture with edits applied: (find, replace) pairs, each found exactly where the
    /// header says (the first occurrence at or after `from`).
    func edited(_ path: String, _ edits: [(find: [UInt8], replace: [UInt8])], all: Bool = false) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        for (f, r) in edits {
            precondition(f.count == r.count)
            var i = 0, found = 0
            let header = min(bytes.count, 1 << 20)
            while i + f.count <= header {
                if Array(bytes[i..<(i + f.count)]) == f {
                    bytes.replaceSubrange(i..<(i + f.count), with: r)
                    found += 1
                    if !all { break }
                    i += f.count
                } else { i += 1 }
            }
            XCTAssertGreaterThan(found, 0, "pattern not found in \(path)")
        }
        let out = NSTemporaryDirectory() + "trit-gs-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: out))
        addTeardownBlock { unlink(out) }
        return out
    }

    /// The type field of every tensor info of `from` rewritten to `to` (name, dims, type, offset).
    func retyped(_ path: String, from: UInt32, to: UInt32) throws -> String {
        let g = try GGUFFile(path: path)
        var edits: [(find: [UInt8], replace: [UInt8])] = []
        for t in g.tensors where t.typeID == from {
            var head: [UInt8] = withUnsafeBytes(of: UInt64(t.name.utf8.count).littleEndian, Array.init) + Array(t.name.utf8)
            head += withUnsafeBytes(of: UInt32(t.shape.count).littleEndian, Array.init)
            for d in t.shape { head += withUnsafeBytes(of: UInt64(d).littleEndian, Array.init) }
            edits.append((head + withUnsafeBytes(of: from.littleEndian, Array.init), head + withUnsafeBytes(of: to.littleEndian, Array.init)))
        }
        XCTAssertFalse(edits.isEmpty)
        return try edited(path, edits)
    }

    /// The early PrismML layout: PQ2_0's bytes under type id 42. Told apart by size, read as 128-groups,
    /// named by `trit info`, and the same function as the PQ2_0 file (the same logits, bit for bit).
    func testLegacyType42TwinLoadsAsTheSameFunction() throws {
        let twin = try retyped(Self.g128 + "model.pq2_0.gguf", from: 142, to: 42)
        let g = try GGUFFile(path: twin)
        XCTAssertEqual(g.legacyQ2Tensors.count, 28)
        XCTAssertTrue(g.tensors.filter { $0.typeID == 42 }.allSatisfy { $0.type == .q2_0g128 })
        let a = try Model.load(path: Self.g128 + "model.pq2_0.gguf"), b = try Model.load(path: twin)
        XCTAssertTrue(b.metadata.contains { $0.0 == "warning" && $0.1.contains("early PrismML") }, "\(b.metadata)")
        let ids: [Int32] = [1, 5, 9, 200, 31]
        let sa = try InferenceState(model: a, nCtx: 16), sb = try InferenceState(model: b, nCtx: 16)
        try sa.evaluate(ids); try sb.evaluate(ids)
        XCTAssertEqual(Array(sa.lastLogits), Array(sb.lastLogits))
        // the upstream g64 file of the same function is not mistaken for the legacy layout
        XCTAssertTrue(try GGUFFile(path: Self.g128 + "model.q2_0.gguf").legacyQ2Tensors.isEmpty)
    }

    /// `trit synth` writes every group-scaled type in the qwen3 shapes: the tiny preset in each loads,
    /// names its type and group, and its weights decode to code · d with the codes the type allows.
    func testSynthQwen3EveryType() throws {
        let shape = try XCTUnwrap(Synth.qwen3Preset("bonsai-tiny"))
        for (name, type, _) in Synth.groupTypes {
            let path = NSTemporaryDirectory() + "trit-synth-\(getpid())-\(name).gguf"
            try Synth.writeQwen3(shape, type: type, to: path)
            defer { unlink(path) }
            let g = try GGUFFile(path: path)
            XCTAssertTrue(g.legacyQ2Tensors.isEmpty)
            var o = Model.LoadOptions()
            o.floatActivations = true   // the decoded weights, to read them back
            let m = try Model.load(path: path, options: o)
            XCTAssertEqual(m.config.architecture, "qwen3")
            let fast = try Model.load(path: path)
            guard case .grouped? = fast.layers[0].linear(.q) else { return XCTFail("\(name): int8 path expected") }
            XCTAssertTrue(m.fileType.hasPrefix(type.description + ", groups of"), m.fileType)
            guard case .dense(let wq)? = m.layers[0].linear(.q) else { return XCTFail("\(name): wq") }
            var row = [Float](repeating: 0, count: wq.cols)
            wq.row(0, into: &row)
            // group 0 of row 0: its scale from the file's bytes; Q1_0 weights ±d, the 2-bit types
            // {−1, 0, 1, 2}·d, PTQ1_0 {−1, 0, 1}·d
            let t = try XCTUnwrap(g.tensor("blk.0.attn_q.weight"))
            let d = tk_f16_to_f32(try g.data(of: t).loadUnaligned(fromByteOffset: type == .ptq1_0 ? 26 : 0, as: UInt16.self))
            let allowed: [Float] = type == .q1_0 ? [-1, 1] : type == .ptq1_0 ? [-1, 0, 1] : [-1, 0, 1, 2]
            for v in row[0..<GroupScaled.geometry(type)!.group] {
                XCTAssertTrue(allowed.contains(v / d), "\(name): \(v) is not a code times \(d)")
            }
            // both paths run; their logits agree as the int8 tier allows
            let st = try InferenceState(model: m, nCtx: 16), sf = try InferenceState(model: fast, nCtx: 16)
            try st.evaluate([1, 2, 3]); try sf.evaluate([1, 2, 3])
            XCTAssertTrue(st.lastLogits.allSatisfy(\.isFinite))
            let d8 = zip(st.lastLogits, sf.lastLogits).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(d8, 0.1, "\(name): int8 vs float activations")
        }
    }

    func loadError(_ path: String) -> String {
        do { _ = try Model.load(path: path); return "" } catch { return "\(error)" }
    }

    func testBadInputsAreClearErrors() throws {
        let q1 = Fixtures.root + "/qwen3-q1-tiny/model.q1_0.gguf"
        let q2 = Fixtures.root + "/qwen3-ternary-tiny/model.q2_0.gguf"
        // type 42 whose data size is neither layout's (Q1_0's 18-byte 128-blocks relabelled)
        var e = loadError(try retyped(q1, from: 41, to: 42))
        XCTAssertTrue(e.contains("matches neither Q2_0 layout") && e.contains("blk."), e)
        // a width that is not a multiple of the group: PQ2_0 (128-groups) relabelled Q2_0 fits g64 sizes
        // only where the widths allow; a Q1_0 tensor claims width 64 instead of 256 (4 rows more)
        // is caught by the block-size check of the type
        XCTAssertThrowsError(try GGMLType.q1_0.byteSize([96, 4], name: "blk.0.attn_q.weight")) { err in
            XCTAssertTrue("\(err)".contains("blk.0.attn_q.weight") && "\(err)".contains("128"), "\(err)")
        }
        // a NaN scale: the first block of the first Q2_0 tensor
        let g = try GGUFFile(path: q2)
        let first = try XCTUnwrap(g.tensors.filter { $0.typeID == 42 }.min { $0.offset < $1.offset })
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: q2)))
        bytes[first.offset] = 0x00; bytes[first.offset + 1] = 0x7E   // fp16 NaN
        let nanPath = NSTemporaryDirectory() + "trit-gs-nan-\(getpid()).gguf"
        try Data(bytes).write(to: URL(fileURLWithPath: nanPath))
        defer { unlink(nanPath) }
        e = loadError(nanPath)
        XCTAssertTrue(e.contains(first.name) && e.contains("scale nan") && e.contains("block 0"), e)
        // a qwen3 file without attn_q_norm (the tensor renamed)
        e = loadError(try edited(q2, [(Array("blk.0.attn_q_norm.weight".utf8), Array("blk.0.attn_q_nor_.weight".utf8))]))
        XCTAssertTrue(e.contains("blk.0.attn_q_norm.weight") && e.contains("missing"), e)
        // key_length that does not match the projections (64 → 48; value_length too, or that is named first)
        let key = Array("qwen3.attention.key_length".utf8), val = Array("qwen3.attention.value_length".utf8)
        let le = { (v: UInt32) in withUnsafeBytes(of: v.littleEndian, Array.init) }
        e = loadError(try edited(q2, [(key + le(4) + le(64), key + le(4) + le(48)), (val + le(4) + le(64), val + le(4) + le(48))]))
        XCTAssertTrue(e.contains("blk.0.attn_q.weight") && e.contains("shape"), e)
        e = loadError(try edited(q2, [(key + le(4) + le(64), key + le(4) + le(48))]))
        XCTAssertTrue(e.contains("value_length 64 differs from attention.key_length 48"), e)
        // a Hadamard-folded file (Ternary-Bonsai-2): refused by name
        e = loadError(try edited(q2, [(Array("qwen3.attention.value_length".utf8), Array("prism.hadamard.version______".utf8))]))
        XCTAssertTrue(e.contains("prism.hadamard.version") && e.contains("not supported"), e)
    }
}
