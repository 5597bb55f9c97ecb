/// ggml tensor type ids that can appear in GGUF files, with their block geometry.
/// Ids 36-39 are ambiguous between upstream ggml and bitnet.cpp's fork (docs/formats.md §3.1);
/// `GGUFFile` resolves 36 to `.i2s` only for files the fork produced.
public enum GGMLType: Equatable, Sendable, CustomStringConvertible {
    case f32, f16, bf16, f64, q8_0, q6_K, tq1_0, tq2_0, i2s
    case q1_0, q2_0, pq2_0, ptq1_0   // group-scaled (docs/formats.md §8)
    case q2_0g128                      // id 42 in the early PrismML files: 128-groups (told by size)
    case i8, i16, i32, i64
    case other(UInt32)   // a valid id this engine does not decode (Q4_K, IQ*, ...)

    public static func from(id: UInt32, bitnetFork: Bool) -> GGMLType {
        switch id {
        case 0: return .f32
        case 1: return .f16
        case 8: return .q8_0
        case 14: return .q6_K
        case 24: return .i8
        case 25: return .i16
        case 26: return .i32
        case 27: return .i64
        case 28: return .f64
        case 30: return .bf16
        case 34: return .tq1_0
        case 35: return .tq2_0
        case 36 where bitnetFork: return .i2s
        case 41: return .q1_0
        case 42: return .q2_0
        case 142: return .pq2_0
        case 143: return .ptq1_0
        default: return .other(id)
        }
    }

    /// (elements per block, bytes per block); nil where the geometry is unknown to trit.
    /// I2_S is special-cased by `byteSize`.
    var blockGeometry: (Int, Int)? {
        switch self {
        case .f32, .i32: return (1, 4)
        case .f16, .bf16, .i16: return (1, 2)
        case .f64, .i64: return (1, 8)
        case .i8: return (1, 1)
        case .q8_0: return (32, 34)
        case .q6_K: return (256, 210)
        case .tq1_0: return (256, 54)
        case .tq2_0: return (256, 66)
        case .i2s: return nil
        case .q1_0: return (128, 18)
        case .q2_0: return (64, 18)
        case .q2_0g128, .pq2_0: return (128, 34)
        case .ptq1_0: return (128, 28)
        case .other(let id):
            // Sizes of the other common ggml types, so a file holding them can still be listed.
            switch id {
            case 2: return (32, 18)    // Q4_0
            case 3: return (32, 20)    // Q4_1
            case 6: return (32, 22)    // Q5_0
            case 7: return (32, 24)    // Q5_1
            case 9: return (32, 36)    // Q8_1
            case 10: return (256, 84)  // Q2_K
            case 11: return (256, 110) // Q3_K
            case 12: return (256, 144) // Q4_K
            case 13: return (256, 176) // Q5_K
            case 15: return (256, 292) // Q8_K
            default: return nil
            }
        }
    }

    /// Bytes a tensor of this type and shape occupies, overflow-checked; nil if unknown.
    func byteSize(_ ne: [Int], name: String) throws -> Int? {
        var count = 1
        for d in ne { count = try checkedMul(count, d, "tensor \(name) shape \(ne)") }
        if self == .i2s {
            return try checkedAdd(count / 4, 32, "tensor \(name)")
        }
        guard let (blk, bytes) = blockGeometry else { return nil }
        guard let ne0 = ne.first, ne0 % blk == 0 else {
            throw TritError.format("tensor \(name): first dimension \(ne.first ?? 0) is not a multiple of the \(self) block size \(blk)")
        }
        return try checkedMul(count / blk, bytes, "tensor \(name)")
    }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f64: return "F64"
        case .q8_0: return "Q8_0"
        case .q6_K: return "Q6_K"
        case .q1_0: return "Q1_0"
        case .q2_0: return "Q2_0"
        case .q2_0g128: return "Q2_0 (early PrismML layout)"
        case .pq2_0: return "PQ2_0"
        case .ptq1_0: return "PTQ1_0"
        case .tq1_0: return "TQ1_0"
        case .tq2_0: return "TQ2_0"
        case .i2s: return "I2_S"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .other(2): return "Q4_0"
        case .other(12): return "Q4_K"
        case .other(13): return "Q5_K"
        case .other(let id): return "type\(id)"
        }
    }
}
