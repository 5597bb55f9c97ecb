import TritKernels

/// TQ1_0 tensors read in place (tk_tq1_gemm_fn): the file's 54-byte blocks are the decode form, no converted
/// copy. The kernel reads the trits, not the blocks' scales, so a tensor is read in place only when every
/// block has the one positive scale β, or a zero scale with every weight 0 (what ggml's quantizer writes for
/// an all-zero block): exactly the weights `TensorConversion.fromTQ` packs. Other tensors (negative scales,
/// a zero scale over non-zero trits, different scales) keep the converted paths.
enum TQ1InPlace {
    static let blockBytes = Int(TK_TQ1_BLOCK_BYTES)

    /// The tensor in place, or nil when its scales need a converted path (which then names any error).
    static func matrix(_ t: RawTensor, rows: Int, cols: Int) throws -> TernaryMatrix? {
        guard cols % 256 == 0, rows > 0 else { return nil }   // fromTQ refuses other widths, naming the tensor
        let rowBytes = cols / 256 * blockBytes
        let need = try checkedMul(rows, rowBytes, t.name)
        guard t.bytes.count >= need else {
            throw t.fail("holds \(t.bytes.count) bytes, not the \(need) of \(rows) rows of \(cols) TQ1_0 weights; the tensor is truncated")
        }
        let src = t.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var beta: Float = 0
        var v = [Int8](repeating: 0, count: 256)
        for i in 0..<(need / blockBytes) {
            let p = src + i * blockBytes
            let d = tk_f16_to_f32(UnsafeRawPointer(p + blockBytes - 2).loadUnaligned(as: UInt16.self))
            if d > 0, d.isFinite, beta == 0 || d == beta {
                beta = d
            } else if d == 0 {
                let zero = v.withUnsafeMutableBufferPointer { vb in
                    TensorConversion.decodeTQ1Block(p, vb.baseAddress!)
                    return vb.allSatisfy { $0 == 0 }
                }
                if !zero { return nil }
            } else {
                return nil
            }
        }
        return TernaryMatrix(rows: rows, cols: cols, rowBytes: rowBytes, scale: beta, codes: src, owner: t.file,
                             isTQ1: true)
    }

    /// The packed rows of an in-place TQ1_0 matrix (the `.2bit` / `.5trit` layouts and `.both`'s prompt form).
    static func packed(_ m: TernaryMatrix) throws -> TernaryMatrix {
        let blocksPerRow = m.cols / 256
        return try TernaryPacking.build(rows: m.rows, cols: m.cols, scale: m.scale, what: "TQ1_0 rows") { r, v in
            for b in 0..<blocksPerRow {
                TensorConversion.decodeTQ1Block(m.codes + r * m.rowBytes + b * blockBytes, v + b * 256)
            }
        }
    }
}
