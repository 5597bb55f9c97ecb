import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Encoders of ternary tensors into the GGUF block formats (the inverses of the decoders in
/// TensorConversion), used by `trit convert` and `trit synth`.
public enum TernaryFileType: String, CaseIterable, Sendable {
    case i2s = "i2_s", tq2_0 = "tq2_0", tq1_0 = "tq1_0", f16 = "f16", f32 = "f32"

    var typeID: UInt32 {
        switch self { case .i2s: return 36; case .tq2_0: return 35; case .tq1_0: return 34; case .f16: return 1; case .f32: return 0 }
    }
    /// llama.cpp / bitnet.cpp general.file_type values.
    var fileType: Int {
        switch self { case .i2s: return 40; case .tq2_0: return 37; case .tq1_0: return 36; case .f16: return 1; case .f32: return 0 }
    }

    func byteSize(rows: Int, cols: Int) throws -> Int {
        let n = try checkedMul(rows, cols, "tensor")
        switch self {
        case .i2s: return n / 4 + 32
        case .tq2_0: return n / 256 * 66
        case .tq1_0: return n / 256 * 54
        case .f16: return n * 2
        case .f32: return n * 4
        }
    }

    /// Whether a tensor of `cols` inputs can be stored in this type.
    func accepts(rows: Int, cols: Int) -> Bool {
        switch self {
        case .i2s: return (rows * cols) % 128 == 0
        case .tq2_0, .tq1_0: return cols % 256 == 0
        case .f16, .f32: return true
        }
    }
}

/// Fills `rowValues` with the values in {−1, 0, 1} of one row.
public typealias TernaryRows = (_ row: Int, _ values: UnsafeMutablePointer<Int8>) -> Void

enum TernaryEncoding {
    static func encode(_ type: TernaryFileType, rows: Int, cols: Int, scale: Float, source: TernaryRows,
                       into out: UnsafeMutableRawBufferPointer) {
        let dst = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let v = UnsafeMutablePointer<Int8>.allocate(capacity: max(cols, 256))
        defer { v.deallocate() }
        switch type {
        case .i2s:
            // bitnet.cpp x86 layout (docs/formats.md §3.4): flat 128-element blocks, element j of a block in
            // byte j mod 32 at shift 6 − 2·(j div 32); the f32 scale at byte n/4, then zeros.
            let n = rows * cols
            memset(dst, 0, out.count)
            if cols % 128 == 0 {
                for r in 0..<rows {
                    source(r, v)
                    TernaryPacking.packRow(v, cols: cols, into: dst + r * cols / 4)
                }
            } else {
                for r in 0..<rows {
                    source(r, v)
                    for c in 0..<cols {
                        let e = r * cols + c, j = e & 127
                        let idx = (e >> 7) * 32 + (j & 31)
                        dst[idx] |= UInt8(truncatingIfNeeded: v[c] + 1) << UInt8(6 - 2 * (j >> 5))
                    }
                }
            }
            UnsafeMutableRawPointer(dst + n / 4).storeBytes(of: scale.bitPattern.littleEndian, as: UInt32.self)
        case .tq2_0:
            let d = tk_f32_to_f16(scale)
            for r in 0..<rows {
                source(r, v)
                for b in 0..<(cols / 256) {
                    let p = dst + (r * (cols / 256) + b) * 66
                    let e = v + b * 256
                    for j in stride(from: 0, to: 64, by: 32) {
                        for m in 0..<32 {
                            var byte: UInt8 = 0
                            for k in 0..<4 { byte |= UInt8(truncatingIfNeeded: e[4 * j + m + 32 * k] + 1) << UInt8(2 * k) }
                            p[j + m] = byte
                        }
                    }
                    UnsafeMutableRawPointer(p + 64).storeBytes(of: d.littleEndian, as: UInt16.self)
                }
            }
        case .tq1_0:
            let d = tk_f32_to_f16(scale)
            // 5 trits per byte: v = Σ t_n·3^(4−n), stored as ceil(v·256/243) (docs/formats.md §3.3)
            func pack(_ t: [Int]) -> UInt8 {
                var x = 0
                for q in t { x = x * 3 + q }
                return UInt8((x * 256 + 242) / 243)
            }
            for r in 0..<rows {
                source(r, v)
                for b in 0..<(cols / 256) {
                    let p = dst + (r * (cols / 256) + b) * 54
                    let e = v + b * 256
                    func t(_ i: Int) -> Int { Int(e[i]) + 1 }
                    for m in 0..<32 { p[m] = pack((0..<5).map { t(m + 32 * $0) }) }
                    for m in 0..<16 { p[32 + m] = pack((0..<5).map { t(160 + m + 16 * $0) }) }
                    for j in 0..<4 { p[48 + j] = pack((0..<4).map { t(240 + j + 4 * $0) } + [0]) }
                    UnsafeMutableRawPointer(p + 52).storeBytes(of: d.littleEndian, as: UInt16.self)
                }
            }
        case .f16, .f32:
            for r in 0..<rows {
                source(r, v)
                for c in 0..<cols {
                    let x = Float(v[c]) * scale
                    if type == .f16 {
                        UnsafeMutableRawPointer(dst + 2 * (r * cols + c)).storeBytes(of: tk_f32_to_f16(x).littleEndian, as: UInt16.self)
                    } else {
                        UnsafeMutableRawPointer(dst + 4 * (r * cols + c)).storeBytes(of: x.bitPattern.littleEndian, as: UInt32.self)
                    }
                }
            }
        }
    }
}
