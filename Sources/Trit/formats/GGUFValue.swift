/// A GGUF metadata value (docs/formats.md §5: value types 0-12, arrays possibly nested).
public indirect enum GGUFValue: Sendable {
    case u8(UInt8), i8(Int8), u16(UInt16), i16(Int16), u32(UInt32), i32(Int32)
    case f32(Float), bool(Bool), string(String), u64(UInt64), i64(Int64), f64(Double)
    case array(GGUFArray)

    public var int: Int? {
        switch self {
        case .u8(let v): return Int(v)
        case .i8(let v): return Int(v)
        case .u16(let v): return Int(v)
        case .i16(let v): return Int(v)
        case .u32(let v): return Int(v)
        case .i32(let v): return Int(v)
        case .u64(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .i64(let v): return Int(v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }
    public var double: Double? {
        switch self {
        case .f32(let v): return Double(v)
        case .f64(let v): return v
        default: return int.map(Double.init)
        }
    }
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var bool: Bool? {
        switch self {
        case .bool(let b): return b
        default: return int.map { $0 != 0 }
        }
    }
    public var array: GGUFArray? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// A short human-readable rendering (arrays abbreviated), for `trit info`.
    public var summary: String {
        switch self {
        case .string(let s): return s.count > 60 ? "\"" + String(s.prefix(57)) + "...\"" : "\"\(s)\""
        case .array(let a): return "[\(a.typeName); \(a.count)]"
        case .f32(let v): return "\(v)"
        case .f64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return "\(int ?? 0)"
        }
    }
}

/// A GGUF array, stored by element kind so large vocabularies stay compact.
public enum GGUFArray: Sendable {
    case strings([String])
    case ints([Int64], type: UInt32)
    case floats([Double], type: UInt32)
    case arrays([GGUFArray])

    public var count: Int {
        switch self {
        case .strings(let a): return a.count
        case .ints(let a, _): return a.count
        case .floats(let a, _): return a.count
        case .arrays(let a): return a.count
        }
    }
    var typeName: String {
        switch self {
        case .strings: return "str"
        case .ints(_, let t), .floats(_, let t): return GGUFFile.valueTypeName(t)
        case .arrays: return "arr"
        }
    }
}
