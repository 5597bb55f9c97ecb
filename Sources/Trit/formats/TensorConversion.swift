import TritKernels

/// Conversion of file tensors to the runtime layouts, once, at load (DEVELOPERS.md: one
/// runtime layout per kernel family). Nothing here trusts the file: shapes, sizes, codes
/// and scales are checked, and failures name the tensor.
enum TensorConversion {

    // MARK: Float vectors (norm gains)

    /// All elements as f32 (F32/F16/BF16/F64, Q8_0, Q6_K).
    static func floats(_ t: RawTensor) throws -> [Float] {
        let n = t.elementCount
        var out = [Float](repeating: 0, count: n)
        try out.withUnsafeMutableBufferPointer { o in
            try decodeFloats(t, into: o.baseAddress!, count: n)
        }
        return out
    }

    static func decodeFloats(_ t: RawTensor, into out: UnsafeMutablePointer<Float>, count n: Int) throws {
        let b = t.bytes
        switch t.encoding {
        case .ggml(.f32), .safetensors("F32"):
            for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .ggml(.f16), .safetensors("F16"):
            for i in 0..<n { out[i] = tk_f16_to_f32(b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .ggml(.bf16), .safetensors("BF16"):
            for i in 0..<n { out[i] = Float(bitPattern: UInt32(b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .ggml(.f64), .safetensors("F64"):
            for i in 0..<n { out[i] = Float(Double(bitPattern: b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
        case .ggml(.q8_0):
            // block: f16 d, 32 × int8 (ggml block_q8_0)
            for blk in 0..<(n / 32) {
                let o = blk * 34
                let d = tk_f16_to_f32(b.loadUnaligned(fromByteOffset: o, as: UInt16.self))
                for j in 0..<32 { out[blk * 32 + j] = d * Float(Int8(bitPattern: b[o + 2 + j])) }
            }
        case .ggml(.q6_K):
            for blk in 0..<(n / 256) { decodeQ6K(b, at: blk * 210, into: out + blk * 256) }
        case .ggml(let type) where blockDtype(type) != nil:
            // Q4_0, Q4_K, Q5_K: the block decoder of the in-place head (the same values)
            let dt = blockDtype(type)!, be = tk_dtype_block_elems(dt)
            tk_block_rows_to_f32(b.baseAddress, dt, be, 0, Int64(n) / be, out)   // one block a "row"
        default:
            throw t.fail("type \(t.typeName) cannot be read as floats here")
        }
    }

    /// ggml block_q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8), d (f16).
    static func decodeQ6K(_ b: UnsafeRawBufferPointer, at o: Int, into y: UnsafeMutablePointer<Float>) {
        let d = tk_f16_to_f32(b.loadUnaligned(fromByteOffset: o + 208, as: UInt16.self))
        for half in 0..<2 {
            let ql = o + half * 64, qh = o + 128 + half * 32, sc = o + 192 + half * 8
            let yo = half * 128
            for l in 0..<32 {
                let isc = l / 16
                let h = Int(b[qh + l])
                let q1 = Int(b[ql + l] & 0xF) | ((h >> 0) & 3) << 4
                let q2 = Int(b[ql + l + 32] & 0xF) | ((h >> 2) & 3) << 4
                let q3 = Int(b[ql + l] >> 4) | ((h >> 4) & 3) << 4
                let q4 = Int(b[ql + l + 32] >> 4) | ((h >> 6) & 3) << 4
                func s(_ k: Int) -> Float { Float(Int8(bitPattern: b[sc + k])) }
                y[yo + l] = d * s(isc) * Float(q1 - 32)
                y[yo + l + 32] = d * s(isc + 2) * Float(q2 - 32)
                y[yo + l + 64] = d * s(isc + 4) * Float(q3 - 32)
                y[yo + l + 96] = d * s(isc + 6) * Float(q4 - 32)
            }
        }
    }

    // MARK: Dense matrices (embeddings, output head, FP16-baseline linears)

    /// The kernels' dtype of ggml's block types that the head and embedding are read in (docs/formats.md §10).
    static func blockDtype(_ type: GGMLType) -> tk_dtype? {
        switch type {
        case .q8_0: return TK_Q8_0
        case .q6_K: return TK_Q6_K
        case .other(2): return TK_Q4_0
        case .other(12): return TK_Q4_K
        case .other(13): return TK_Q5_K
        default: return nil
        }
    }

    /// The head or the token embedding: in its blocks, in place, when it is in one of ggml's block types that
    /// the block kernels read (no F32 copy); otherwise as `dense`.
    static func denseOrBlocks(_ t: RawTensor, rows: Int, cols: Int) throws -> DenseMatrix {
        guard case .ggml(let type) = t.encoding, let dt = blockDtype(type) else {
            return try dense(t, rows: rows, cols: cols)
        }
        try t.requireShape([cols, rows])
        guard t.bytes.count == Int(tk_dtype_row_bytes(dt, Int64(cols))) * rows else {
            throw t.fail("holds \(t.bytes.count) bytes, not the \(rows) rows of \(cols) \(type) weights")
        }
        return DenseMatrix(rows: rows, cols: cols, dtype: dt, data: t.bytes.baseAddress!, owner: t.file)
    }

    static func dense(_ t: RawTensor, rows: Int, cols: Int) throws -> DenseMatrix {
        // a group-scaled embedding or head (Bonsai files may quantize them too): decoded exactly to F16
        if case .ggml(let type) = t.encoding, GroupScaled.geometry(type) != nil {
            return try GroupScaled.dense(t, type: type, rows: rows, cols: cols)
        }
        try t.requireShape([cols, rows])
        let alignedTo2 = Int(bitPattern: t.bytes.baseAddress) % 2 == 0
        let alignedTo4 = Int(bitPattern: t.bytes.baseAddress) % 4 == 0
        switch t.floatKind {
        case .f16 where alignedTo2:
            return DenseMatrix(rows: rows, cols: cols, dtype: TK_F16, data: t.bytes.baseAddress!, owner: t.file)
        case .bf16 where alignedTo2:
            return DenseMatrix(rows: rows, cols: cols, dtype: TK_BF16, data: t.bytes.baseAddress!, owner: t.file)
        case .f32 where alignedTo4:
            return DenseMatrix(rows: rows, cols: cols, dtype: TK_F32, data: t.bytes.baseAddress!, owner: t.file)
        default:
            let n = try checkedMul(rows, cols, t.name)
            let buf = try AlignedBuffer(byteCount: try checkedMul(n, 4, t.name), what: "tensor \(t.name)")
            try decodeFloats(t, into: buf.floats(), count: n)
            return DenseMatrix(rows: rows, cols: cols, dtype: TK_F32, data: buf.raw, owner: buf)
        }
    }

    // MARK: Ternary matrices

    enum FloatTernarization {
        case absmean          // β = max(mean|W|, 1e-5), T = clamp(round(W/β)) (docs/formats.md §1.3)
        case exactOrAbsmean   // ternary-valued tensors {−a, 0, a} keep β = a; others absmean
    }

    static func ternary(_ t: RawTensor, rows: Int, cols: Int, floats mode: FloatTernarization) throws -> TernaryMatrix {
        try t.requireShape([cols, rows])
        switch t.encoding {
        case .ggml(.i2s): return try fromI2S(t, rows: rows, cols: cols)
        case .ggml(.tq2_0): return try fromTQ(t, rows: rows, cols: cols, blockBytes: 66, decode: decodeTQ2Block)
        case .ggml(.tq1_0):
            if let m = try TQ1InPlace.matrix(t, rows: rows, cols: cols) { return m }
            return try fromTQ(t, rows: rows, cols: cols, blockBytes: 54, decode: decodeTQ1Block)
        default:
            guard t.floatKind != nil else {
                throw TritError.unsupported("\(t.origin): tensor \(t.name) has type \(t.typeName); a ternary linear must be I2_S, TQ1_0, TQ2_0, F32, F16 or BF16")
            }
            let n = try checkedMul(rows, cols, t.name)
            let buf = try FloatArray(count: n, what: "tensor \(t.name)")
            try decodeFloats(t, into: buf.ptr, count: n)
            return try ternarize(buf.ptr, rows: rows, cols: cols, mode: mode, name: t.name)
        }
    }

    static func ternarize(_ w: UnsafeMutablePointer<Float>, rows: Int, cols: Int, mode: FloatTernarization, name: String) throws -> TernaryMatrix {
        let n = rows * cols
        var absSum = 0.0
        var maxAbs: Float = 0
        var exact = mode == .exactOrAbsmean
        for i in 0..<n {
            let a = abs(w[i])
            guard a.isFinite else { throw TritError.format("tensor \(name): element \(i) is not finite") }
            absSum += Double(a)
            if a > maxAbs {
                if exact && maxAbs != 0 { exact = false }
                maxAbs = a
            } else if exact && a != 0 && a != maxAbs {
                exact = false
            }
        }
        let beta: Float = exact ? maxAbs : max(Float(absSum / Double(max(n, 1))), 1e-5)
        let inv = 1 / beta
        return try TernaryPacking.build(rows: rows, cols: cols, scale: beta, what: "tensor \(name)") { r, v in
            let row = w + r * cols
            for c in 0..<cols {
                let x = (row[c] * inv).rounded(.toNearestOrEven)
                v[c] = x >= 1 ? 1 : (x <= -1 ? -1 : 0)
            }
        }
    }

    /// bitnet.cpp I2_S (docs/formats.md §3.4): used in place when rows are whole 128-blocks.
    static func fromI2S(_ t: RawTensor, rows: Int, cols: Int) throws -> TernaryMatrix {
        let n = rows * cols
        guard n % 128 == 0 else { throw t.fail("I2_S tensor with \(n) elements is not a whole number of 128-weight blocks") }
        let scaleBits = UInt32(littleEndian: t.bytes.loadUnaligned(fromByteOffset: n / 4, as: UInt32.self))
        let beta = Float(bitPattern: scaleBits)
        guard beta.isFinite, beta >= 0 else { throw t.fail("I2_S scale \(beta) is not a finite non-negative number") }
        let src = t.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // I2_S codes are 0, 1, 2. bitnet.cpp also writes type 36 in layouts this check cannot tell
        // apart (ARM 64-weight blocks, x86 4-row interleave: the same codes, other positions);
        // a 3 is in none of them, so the bytes are damaged or not I2_S at all: refuse, never guess.
        let bad = tk_find_code3(src, Int64(n / 4))
        guard bad < 0 else {
            throw t.fail("I2_S data holds the code 3 (byte \(bad)), which no I2_S layout uses: the tensor is damaged or not bitnet.cpp I2_S")
        }
        if cols % 128 == 0 {
            return TernaryMatrix(rows: rows, cols: cols, rowBytes: cols / 4, scale: beta, codes: src, owner: t.file)
        }
        // Rows straddle blocks: repack with each row padded to whole blocks.
        return try TernaryPacking.build(rows: rows, cols: cols, scale: beta, what: "tensor \(t.name)") { r, v in
            for c in 0..<cols {
                let e = r * cols + c
                let j = e & 127
                let code = (src[(e >> 7) * 32 + (j & 31)] >> UInt8(6 - 2 * (j >> 5))) & 3
                guard code != 3 else { throw t.fail("invalid ternary code 3 at element \(e)") }
                v[c] = Int8(code) - 1
            }
        }
    }

    typealias BlockDecoder = @Sendable (_ b: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Int8>) -> Void

    /// TQ2_0 (docs/formats.md §3.2): qs[64] then f16 d; byte qs[j+m] holds elements 4j+m+32n at bits 2n.
    static let decodeTQ2Block: BlockDecoder = { b, out in
        for j in stride(from: 0, to: 64, by: 32) {
            for m in 0..<32 {
                let byte = b[j + m]
                for n in 0..<4 { out[4 * j + m + 32 * n] = Int8((byte >> UInt8(2 * n)) & 3) - 1 }
            }
        }
    }

    /// TQ1_0 (docs/formats.md §3.3): base-3 packed, 5 trits per byte (4 in qh), decoded by multiplication.
    static let decodeTQ1Block: BlockDecoder = { b, out in
        let pow3: [UInt8] = [1, 3, 9, 27, 81]
        @inline(__always) func trit(_ byte: UInt8, _ n: Int) -> Int8 {
            let q = byte &* pow3[n]
            return Int8((UInt16(q) * 3) >> 8) - 1
        }
        for m in 0..<32 { for n in 0..<5 { out[m + 32 * n] = trit(b[m], n) } }
        for m in 0..<16 { for n in 0..<5 { out[160 + m + 16 * n] = trit(b[32 + m], n) } }
        for j in 0..<4 { for n in 0..<4 { out[240 + j + 4 * n] = trit(b[48 + j], n) } }
    }

    /// Whether every non-zero block scale of a TQ1_0/TQ2_0 tensor has the same magnitude (BitNet's one
    /// scale a tensor); false for TriLM-style files, which GroupScaled.fromTQ loads instead.
    static func tqHasOneScale(_ t: RawTensor, type: GGMLType) -> Bool {
        guard let (_, blockBytes) = type.blockGeometry else { return false }
        let n = t.bytes.count / blockBytes
        var beta: Float = 0
        for i in 0..<n {
            let a = abs(tk_f16_to_f32(t.bytes.loadUnaligned(fromByteOffset: i * blockBytes + blockBytes - 2, as: UInt16.self)))
            if a == 0 || !a.isFinite { continue }   // a non-finite scale is refused by either loader
            if beta == 0 { beta = a } else if a != beta { return false }
        }
        return true
    }

    /// TQ1_0/TQ2_0: 256-weight blocks with an f16 scale each; BitNet needs one scale per
    /// tensor, so all non-zero block scales must agree.
    static func fromTQ(_ t: RawTensor, rows: Int, cols: Int, blockBytes: Int, decode: BlockDecoder) throws -> TernaryMatrix {
        guard cols % 256 == 0 else { throw t.fail("\(t.typeName) rows of \(cols) weights are not whole 256-weight blocks") }
        let src = t.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let blocksPerRow = cols / 256
        let nBlocks = try checkedMul(rows, blocksPerRow, t.name)
        guard t.bytes.count >= (try checkedMul(nBlocks, blockBytes, t.name)) else {
            throw t.fail("holds \(t.bytes.count) bytes, not the \(nBlocks * blockBytes) of \(rows) rows of \(cols) \(t.typeName) weights")
        }
        var beta: Float = 0
        for i in 0..<nBlocks {
            let d = tk_f16_to_f32(UnsafeRawPointer(src + i * blockBytes + blockBytes - 2).loadUnaligned(as: UInt16.self))
            guard d.isFinite else { throw t.fail("block \(i) has a non-finite scale") }
            let a = abs(d)
            if a == 0 { continue }
            if beta == 0 { beta = a } else if a != beta {
                throw TritError.unsupported("\(t.origin): tensor \(t.name): \(t.typeName) blocks have different scales (\(beta) and \(a)); a BitNet ternary tensor has one scale per tensor")
            }
        }
        return try TernaryPacking.build(rows: rows, cols: cols, scale: beta, what: "tensor \(t.name)") { r, v in
            for blk in 0..<blocksPerRow {
                let p = src + (r * blocksPerRow + blk) * blockBytes
                decode(p, v + blk * 256)
                let d = tk_f16_to_f32(UnsafeRawPointer(p + blockBytes - 2).loadUnaligned(as: UInt16.self))
                if d < 0 { for i in 0..<256 { v[blk * 256 + i] = -v[blk * 256 + i] } }
                else if d == 0 { for i in 0..<256 { v[blk * 256 + i] = 0 } }
            }
        }
    }

    /// HF packed ternary (docs/formats.md §1.3): uint8 [out/4, in]; T[i·R + p, k] = ((P[p,k] >> 2i) & 3) − 1.
    static func fromHFPacked(_ t: RawTensor, rows: Int, cols: Int, scale: Float) throws -> TernaryMatrix {
        guard rows % 4 == 0 else { throw t.fail("packed ternary tensor needs an output size divisible by 4, got \(rows)") }
        let r4 = rows / 4
        try t.requireShape([cols, r4])
        let src = t.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        return try TernaryPacking.build(rows: rows, cols: cols, scale: scale, what: "tensor \(t.name)") { r, v in
            let i = r / r4, p = r % r4
            let shift = UInt8(2 * i)
            let row = src + p * cols
            for k in 0..<cols {
                let code = (row[k] >> shift) & 3
                guard code != 3 else { throw t.fail("invalid ternary code 3 at row \(r), column \(k)") }
                v[k] = Int8(code) - 1
            }
        }
    }
}
