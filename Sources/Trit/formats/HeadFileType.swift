import TritKernels

/// The type a written file stores its token embedding / output head in: F16 or F32, or one of ggml's
/// block types the head kernels read in place (docs/formats.md §10). `trit synth --head-type`,
/// `trit convert --head-type`.
public enum HeadFileType: String, CaseIterable, Sendable {
    case f16 = "f16", f32 = "f32", q8_0 = "q8_0", q6_K = "q6_k", q5_K = "q5_k", q4_K = "q4_k", q4_0 = "q4_0"

    /// "f16, f32, q8_0, ..." (help texts, errors).
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The kernels' dtype (nil for F16/F32, which are written element by element).
    var blockType: tk_dtype? {
        switch self {
        case .f16, .f32: return nil
        case .q8_0: return TK_Q8_0
        case .q6_K: return TK_Q6_K
        case .q5_K: return TK_Q5_K
        case .q4_K: return TK_Q4_K
        case .q4_0: return TK_Q4_0
        }
    }

    /// ggml's type id.
    var typeID: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q8_0: return 8
        case .q4_K: return 12
        case .q5_K: return 13
        case .q6_K: return 14
        }
    }

    /// The type of a matrix trit holds (a block head read in place keeps its type; else nil).
    init?(_ dtype: tk_dtype) {
        guard let t = HeadFileType.allCases.first(where: { $0.blockType == dtype }) else { return nil }
        self = t
    }

    /// Whether rows of `cols` weights can be stored (a whole number of blocks a row).
    func accepts(cols: Int) -> Bool {
        guard let bt = blockType else { return true }
        return cols % Int(tk_dtype_block_elems(bt)) == 0
    }

    func rowBytes(cols: Int) -> Int {
        switch self {
        case .f32: return cols * 4
        case .f16: return cols * 2
        default: return Int(tk_dtype_row_bytes(blockType!, Int64(cols)))
        }
    }

    /// One row of `cols` floats in this type at `dst` (rowBytes(cols:) bytes).
    func encodeRow(_ x: UnsafePointer<Float>, cols: Int, into dst: UnsafeMutableRawPointer) {
        switch self {
        case .f32:
            for k in 0..<cols { dst.storeBytes(of: x[k].bitPattern.littleEndian, toByteOffset: 4 * k, as: UInt32.self) }
        case .f16:
            for k in 0..<cols {
                dst.storeBytes(of: tk_f32_to_f16(x[k]).littleEndian, toByteOffset: 2 * k, as: UInt16.self)
            }
        default:
            let bt = blockType!
            let be = Int(tk_dtype_block_elems(bt)), bb = Int(tk_dtype_block_bytes(bt))
            let out = dst.assumingMemoryBound(to: UInt8.self)
            for i in 0..<(cols / be) { BlockQuantizer.quantize(x + i * be, bt, into: out + i * bb) }
        }
    }
}
