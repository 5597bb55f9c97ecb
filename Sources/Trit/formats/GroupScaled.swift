import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The group-scaled 2-bit and 1-bit GGUF types of the Bonsai / Ternary-Bonsai models (docs/formats.md
/// §8): one fp16 scale d per group of G consecutive weights of a row.
///   Q1_0   (41, G 128, 18 B): fp16 d, qs[16]; bit j (LSB first) set → +d, clear → −d
///   Q2_0   (42, G 64, 18 B):  fp16 d, qs[16]; code c = 2 bits (lowest first) → (c − 1)·d, so c = 3 is +2d
///   legacy Q2_0 (42, G 128, 34 B) and PQ2_0 (142): the same codec with 128-groups, qs[32]
///   PTQ1_0 (143, G 128, 28 B): qs[24], qh[2], fp16 d (scale last); base-3 trits, t·d
enum GroupScaled {
    /// (group, block bytes) of a group-scaled type, nil for any other.
    static func geometry(_ t: GGMLType) -> (group: Int, bytes: Int)? {
        switch t {
        case .q1_0: return (128, 18)
        case .q2_0: return (64, 18)
        case .q2_0g128, .pq2_0: return (128, 34)
        case .ptq1_0: return (128, 28)
        default: return nil
        }
    }

    /// The fp16 scale of block `blk` (its byte offset in the block differs by type).
    @inline(__always)
    static func scaleBits(_ b: UnsafeRawBufferPointer, _ type: GGMLType, block o: Int) -> UInt16 {
        b.loadUnaligned(fromByteOffset: type == .ptq1_0 ? o + 26 : o, as: UInt16.self)
    }

    /// The G codes of one block as small integers (the weight is code · d): −1/+1 for Q1_0,
    /// −1...+2 for the 2-bit types, −1...+1 for PTQ1_0.
    static func codes(_ b: UnsafeRawBufferPointer, _ type: GGMLType, block o: Int, into c: UnsafeMutablePointer<Int8>) {
        switch type {
        case .q1_0:
            for j in 0..<128 { c[j] = (b[o + 2 + j / 8] >> UInt8(j % 8)) & 1 == 1 ? 1 : -1 }
        case .q2_0:
            for j in 0..<64 { c[j] = Int8((b[o + 2 + j / 4] >> UInt8(2 * (j % 4))) & 3) - 1 }
        case .q2_0g128, .pq2_0:
            for j in 0..<128 { c[j] = Int8((b[o + 2 + j / 4] >> UInt8(2 * (j % 4))) & 3) - 1 }
        case .ptq1_0:
            // trit n of a byte: ((uint8)(byte·3^n)·3) >> 8, minus 1 (TQ1_0's codec); value → (byte, n)
            // mapping of docs/formats.md §8.4: 0..79 in qs[0..16) × 5, 80..119 in qs[16..24) × 5,
            // 120..127 in qh[0..2) × 4
            let pow3: [UInt8] = [1, 3, 9, 27, 81]
            @inline(__always) func trit(_ byte: UInt8, _ n: Int) -> Int8 {
                let q = byte &* pow3[n]
                return Int8((UInt16(q) * 3) >> 8) - 1
            }
            for v in 0..<80 { c[v] = trit(b[o + v % 16], v / 16) }
            for v in 80..<120 { c[v] = trit(b[o + 16 + (v - 80) % 8], (v - 80) / 8) }
            for v in 120..<128 { c[v] = trit(b[o + 24 + (v - 120) % 2], (v - 120) / 2) }
        default:
            break
        }
    }

    /// The tensor for the int8-activation kernels (GroupMatrix): the file's blocks rearranged into the
    /// kernels' 16-row tiles (PTQ1_0's trits become 2-bit codes). The file's pages are let go after, so
    /// the resident set holds the tiles only (about the file's size: 16 fp16 scales per 16 blocks).
    static func grouped(_ t: RawTensor, type: GGMLType, rows: Int, cols: Int) throws -> GroupMatrix {
        guard let (g, bb) = geometry(type) else { throw t.fail("type \(type) is not group-scaled") }
        try t.requireShape([cols, rows])
        guard cols % g == 0 else { throw t.fail("row width \(cols) is not a multiple of the \(type) group size \(g)") }
        let ng = cols / g, nBlocks = try checkedMul(rows, ng, t.name)
        guard t.bytes.count >= (try checkedMul(nBlocks, bb, t.name)) else {
            throw t.fail("\(t.bytes.count) bytes, \(type) needs \(nBlocks * bb)")
        }
        let kind: Int32 = type == .q1_0 ? TK_GROUP_Q1_0 : type == .ptq1_0 ? TK_GROUP_PTQ1_0 : TK_GROUP_2BIT
        let m = try tile(t.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), kind: kind, group: g, rows: rows, cols: cols,
                         type: type, name: t.name) { blk in
            t.fail("block \(blk) (row \(blk / ng), group \(blk % ng)) has scale \(tk_f16_to_f32(scaleBits(t.bytes, type, block: blk * bb))); a scale must be a finite number")
        }
        t.file.dontNeed(t.bytes.baseAddress!, nBlocks * bb)
        return m
    }

    /// Blocks of one kind (tk_group_tile) to a GroupMatrix, on all cores for large tensors.
    static func tile(_ src: UnsafePointer<UInt8>, kind: Int32, group g: Int, rows: Int, cols: Int, type: GGMLType,
                     name: String, badScale: (Int) -> TritError) throws -> GroupMatrix {
        let oneBit = kind == TK_GROUP_Q1_0, ng = cols / g
        let bytes = try checkedMul(try checkedMul((rows + 15) / 16, ng, name), Int(tk_group_tile_bytes(Int64(g), oneBit ? 1 : 0)), name)
        let buf = try AlignedBuffer(byteCount: bytes, what: "tensor \(name)", hugePages: true)
        let threads = Defaults.onlineCores
        let pool = threads > 1 && rows * ng >= 4096 ? tk_pool_shared(Int32(threads)) : nil
        defer { if let pool { tk_pool_free(pool) } }
        let bad = tk_group_tile(pool, src, kind, Int64(g), Int64(rows), Int64(ng), buf.raw.assumingMemoryBound(to: UInt8.self))
        if bad >= 0 { throw badScale(Int(bad)) }
        return GroupMatrix(rows: rows, cols: cols, group: g, type: type, oneBit: oneBit, tiles: buf)
    }

    /// TQ1_0 / TQ2_0 tensors whose 256-weight blocks carry different scales (TriLM-style files; BitNet
    /// files have one scale a tensor and use the ternary kernels): each block becomes two 128-groups of
    /// 2-bit codes t + 1 with the block's scale, for the group kernels. Weight t·d, exactly as stored.
    static func fromTQ(_ t: RawTensor, type: GGMLType, rows: Int, cols: Int) throws -> GroupMatrix {
        guard type == .tq1_0 || type == .tq2_0, let (_, bb) = type.blockGeometry else { throw t.fail("type \(type) is not TQ1_0/TQ2_0") }
        let decode = type == .tq2_0 ? TensorConversion.decodeTQ2Block : TensorConversion.decodeTQ1Block
        try t.requireShape([cols, rows])
        guard cols % 256 == 0 else { throw t.fail("\(t.typeName) rows of \(cols) weights are not whole 256-weight blocks") }
        let nBlocks = try checkedMul(rows, cols / 256, t.name)
        guard t.bytes.count >= (try checkedMul(nBlocks, bb, t.name)) else {
            throw t.fail("\(t.bytes.count) bytes, \(t.typeName) needs \(nBlocks * bb)")
        }
        let src = t.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // first as 34-byte 2-bit blocks of 128 (row-major, as a Q2_0-style file would hold them), then tiled
        let blocks = try AlignedBuffer(byteCount: try checkedMul(nBlocks, 2 * 34, t.name), what: "tensor \(t.name)")
        let dst = blocks.raw.assumingMemoryBound(to: UInt8.self)
        let v = UnsafeMutablePointer<Int8>.allocate(capacity: 256)
        defer { v.deallocate() }
        for blk in 0..<nBlocks {
            let p = src + blk * bb
            let bits = UnsafeRawPointer(p + bb - 2).loadUnaligned(as: UInt16.self)
            guard tk_f16_to_f32(bits).isFinite else {
                throw t.fail("block \(blk) (row \(blk / (cols / 256))) has scale \(tk_f16_to_f32(bits)); a scale must be a finite number")
            }
            decode(p, v)
            for half in 0..<2 {
                let o = dst + (2 * blk + half) * 34
                o[0] = UInt8(bits & 0xFF); o[1] = UInt8(bits >> 8)
                let e = v + 128 * half
                for i in 0..<32 {
                    o[2 + i] = UInt8(e[4 * i] + 1) | UInt8(e[4 * i + 1] + 1) << 2 | UInt8(e[4 * i + 2] + 1) << 4 | UInt8(e[4 * i + 3] + 1) << 6
                }
            }
        }
        let m = try tile(dst, kind: TK_GROUP_2BIT, group: 128, rows: rows, cols: cols, type: type, name: t.name) { blk in
            t.fail("block \(blk / 2) has a scale that is not a finite number")
        }
        t.file.dontNeed(t.bytes.baseAddress!, nBlocks * bb)
        return m
    }

    /// The tensor as a dense F16 matrix (rows × cols), weights code·d. Exact: code·d is a multiple of
    /// an fp16 value by −1, 0, 1 or 2 (F32 is used if a doubled scale would overflow fp16). The
    /// float-activation path: the kernels multiply f32 activations with these weights.
    static func dense(_ t: RawTensor, type: GGMLType, rows: Int, cols: Int) throws -> DenseMatrix {
        guard let (g, bb) = geometry(type) else { throw t.fail("type \(type) is not group-scaled") }
        try t.requireShape([cols, rows])
        guard cols % g == 0 else {
            throw t.fail("row width \(cols) is not a multiple of the \(type) group size \(g)")
        }
        let blocksPerRow = cols / g
        let nBlocks = try checkedMul(rows, blocksPerRow, t.name)
        guard t.bytes.count >= (try checkedMul(nBlocks, bb, t.name)) else {
            throw t.fail("\(t.bytes.count) bytes, \(type) needs \(nBlocks * bb)")
        }
        // every scale must be a finite number; a doubled one must fit fp16 for the F16 form
        var f16 = true
        for blk in 0..<nBlocks {
            let bits = scaleBits(t.bytes, type, block: blk * bb)
            let d = tk_f16_to_f32(bits)
            guard d.isFinite else {
                throw t.fail("block \(blk) (row \(blk / blocksPerRow), group \(blk % blocksPerRow)) has scale \(d); a scale must be a finite number")
            }
            if abs(d) > 32000 { f16 = false }
        }
        let n = try checkedMul(rows, cols, t.name)
        let buf = try AlignedBuffer(byteCount: try checkedMul(n, f16 ? 2 : 4, t.name), what: "tensor \(t.name)")
        var c = [Int8](repeating: 0, count: g)
        c.withUnsafeMutableBufferPointer { cp in
            for blk in 0..<nBlocks {
                let o = blk * bb
                let d = tk_f16_to_f32(scaleBits(t.bytes, type, block: o))
                codes(t.bytes, type, block: o, into: cp.baseAddress!)
                if f16 {
                    let out = buf.raw.assumingMemoryBound(to: UInt16.self) + blk * g
                    for j in 0..<g { out[j] = tk_f32_to_f16(Float(cp[j]) * d) }
                } else {
                    let out = buf.floats() + blk * g
                    for j in 0..<g { out[j] = Float(cp[j]) * d }
                }
            }
        }
        return DenseMatrix(rows: rows, cols: cols, dtype: f16 ? TK_F16 : TK_F32, data: buf.raw, owner: buf)
    }
}

