/// Packing ternary rows into the runtime layout (see trit_kernels.h): 128-weight blocks of
/// 32 bytes; block element j in byte j mod 32 at shift 6 − 2·(j div 32); code = w + 1.
enum TernaryPacking {
    static let block = 128

    static func rowBytes(cols: Int) -> Int { (cols + block - 1) / block * 32 }

    /// Packs `cols` values in {−1, 0, 1} into `dst` (rowBytes(cols) bytes); padding is 0.
    static func packRow(_ v: UnsafePointer<Int8>, cols: Int, into dst: UnsafeMutablePointer<UInt8>) {
        let nb = (cols + block - 1) / block
        for b in 0..<nb {
            let base = b * block
            if base + block <= cols {
                for k in 0..<32 {
                    let c0 = UInt8(truncatingIfNeeded: v[base + k] + 1)
                    let c1 = UInt8(truncatingIfNeeded: v[base + k + 32] + 1)
                    let c2 = UInt8(truncatingIfNeeded: v[base + k + 64] + 1)
                    let c3 = UInt8(truncatingIfNeeded: v[base + k + 96] + 1)
                    dst[b * 32 + k] = c0 << 6 | c1 << 4 | c2 << 2 | c3
                }
            } else {
                for k in 0..<32 {
                    var byte: UInt8 = 0
                    for g in 0..<4 {
                        let e = base + k + 32 * g
                        let c: UInt8 = e < cols ? UInt8(truncatingIfNeeded: v[e] + 1) : 1
                        byte |= c << UInt8(6 - 2 * g)
                    }
                    dst[b * 32 + k] = byte
                }
            }
        }
    }

    /// Builds a TernaryMatrix by asking `fill` for each row's values (written into a scratch row).
    static func build(rows: Int, cols: Int, scale: Float, what: String,
                      fill: (_ row: Int, _ values: UnsafeMutablePointer<Int8>) throws -> Void) throws -> TernaryMatrix {
        let rb = rowBytes(cols: cols)
        let buf = try AlignedBuffer(byteCount: try checkedMul(rows, rb, what), what: what)
        let dst = buf.raw.assumingMemoryBound(to: UInt8.self)
        let scratch = UnsafeMutablePointer<Int8>.allocate(capacity: max(cols, 1))
        defer { scratch.deallocate() }
        for r in 0..<rows {
            try fill(r, scratch)
            packRow(scratch, cols: cols, into: dst + r * rb)
        }
        return TernaryMatrix(rows: rows, cols: cols, rowBytes: rb, scale: scale, codes: UnsafePointer(dst), owner: buf)
    }
}
