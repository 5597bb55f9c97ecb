import TritKernels

/// How ternary linears (I2_S, TQ2_0, TQ1_0 and converted ones) are held in memory (`LoadOptions.ternaryLayout`).
/// A TQ1_0 tensor whose blocks share one scale is its own 5-trit form: read in place (tk_tq1_gemm_fn, 1.6875 bits
/// a weight, no converted copy) with `.trit5` (prompts too) and for decoding with `.both` (the packed rows kept
/// for prompts); `.auto` and `.2bit` convert it to packed rows, the faster decode on the x86 CPUs measured.
public enum TernaryLayout: String, CaseIterable, Sendable {
    /// The CPU's faster form for decoding (measured; see README): packed 2-bit rows on the CPUs measured so far.
    case auto
    /// Packed rows, 2 bits a weight (I2_S files in place; TQ1_0 files converted at load).
    case packed2 = "2bit"
    /// 5-trit rows, 1.6 bits a weight (trit_kernels.h): 20% fewer bytes a decoded token, more work to decode.
    /// A TQ1_0 file's blocks in place.
    case trit5 = "5trit"
    /// 5-trit rows (a TQ1_0 file's blocks in place) for decoding and the packed rows for prompts (both held:
    /// 3.6 bits a weight; 3.69 for a TQ1_0 file).
    case both

    /// What `.auto` means on this machine: on x86 (Zen 3 AVX2 and Zen 4 AVX-512 measured) the 5-trit decode costs
    /// more instructions than the bytes it saves, so the packed rows stay the default.
    var resolved: TernaryLayout { self == .auto ? .packed2 : self }
}

enum Trit5 {
    /// A product of at most this many rows (tokens) uses the 5-trit rows when both forms are held.
    static let decodeRows = 4
    /// Whether `.trit5` / `.both` read a TQ1_0 file's blocks in place: where tk_tq1_gemm has a vector form (x86);
    /// elsewhere (ARM: the scalar form only) they are converted to 5-trit rows as before.
    #if arch(x86_64)
    static let tq1InPlace = true
    #else
    static let tq1InPlace = false
    #endif

    /// `m` in the layout `layout` (m itself for the packed layout); the packed form's pages are let go
    /// when it is not kept.
    static func convert(_ m: TernaryMatrix, to layout: TernaryLayout, pool: OpaquePointer?) throws -> TernaryMatrix {
        if m.isTQ1 {
            switch tq1InPlace ? layout.resolved : .packed2 {
            case .trit5: return m
            case .both:
                return TernaryMatrix(rows: m.rows, cols: m.cols, rowBytes: m.rowBytes, scale: m.scale, codes: m.codes,
                                     owner: m.owner, isTQ1: true, prefill: try TQ1InPlace.packed(m))
            case .packed2, .auto:
                let p = try TQ1InPlace.packed(m)
                if let f = m.owner as? MappedFile { f.dontNeed(UnsafeRawPointer(m.codes), m.decodeByteCount) }
                return try convert(p, to: layout, pool: pool)
            }
        }
        let layout = layout.resolved
        guard layout == .trit5 || layout == .both, !m.isTrit5 else { return m }
        let kp = m.paddedCols
        let rb = Int(tk_trit5_row_bytes(Int64(kp)))
        let buf = try AlignedBuffer(byteCount: try checkedMul(m.rows, rb, "5-trit rows"), what: "5-trit rows",
                                    hugePages: true)
        tk_trit5_from_packed(pool, m.codes, Int64(kp), Int64(m.rows), buf.raw.assumingMemoryBound(to: UInt8.self))
        if layout == .trit5, let f = m.owner as? MappedFile { f.dontNeed(UnsafeRawPointer(m.codes), m.decodeByteCount) }
        return TernaryMatrix(rows: m.rows, cols: m.cols, rowBytes: rb, scale: m.scale,
                             codes: UnsafePointer(buf.raw.assumingMemoryBound(to: UInt8.self)), owner: buf,
                             isTrit5: true, prefill: layout == .both ? m : nil)
    }
}

extension Projection {
    mutating func convertTernary(_ layout: TernaryLayout, pool: OpaquePointer?) throws {
        if case .ternary(let m) = linear { linear = .ternary(try Trit5.convert(m, to: layout, pool: pool)) }
    }
}

extension LayerWeights {
    /// Every ternary linear of the layer in `layout`.
    mutating func convertTernary(_ layout: TernaryLayout, pool: OpaquePointer?) throws {
        switch mixer {
        case .attention(var a):
            try a.q.convertTernary(layout, pool: pool); try a.k.convertTernary(layout, pool: pool)
            try a.v.convertTernary(layout, pool: pool); try a.o.convertTernary(layout, pool: pool)
            mixer = .attention(a)
        case .gatedDeltaNet(var d):
            try d.qkv.convertTernary(layout, pool: pool); try d.z.convertTernary(layout, pool: pool)
            try d.out.convertTernary(layout, pool: pool)
            mixer = .gatedDeltaNet(d)
        }
        try feedForward.gate.convertTernary(layout, pool: pool)
        try feedForward.up.convertTernary(layout, pool: pool)
        try feedForward.down.convertTernary(layout, pool: pool)
    }
}

extension TernaryMatrix {
    /// The first `limit` bytes (at most) of this matrix's packed rows, from its values (any layout).
    func packedPrefix(_ limit: Int) -> [UInt8] {
        let prb = TernaryPacking.rowBytes(cols: cols)
        let n = min(rows, (limit + prb - 1) / prb)
        var out = [UInt8](repeating: 0, count: n * prb)
        var v = [Int8](repeating: 0, count: cols)
        out.withUnsafeMutableBufferPointer { o in
            v.withUnsafeMutableBufferPointer { vb in
                for r in 0..<n {
                    for c in 0..<cols { vb[c] = value(row: r, col: c) }
                    TernaryPacking.packRow(vb.baseAddress!, cols: cols, into: o.baseAddress! + r * prb)
                }
            }
        }
        return Array(out.prefix(limit))
    }
}
