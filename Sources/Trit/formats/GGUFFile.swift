/// A GGUF v2/v3 file (docs/formats.md §5), memory-mapped and validated: every length, count, shape and
/// offset is checked against the file before it is used.
public final class GGUFFile: @unchecked Sendable {
    public struct TensorInfo: Sendable {
        public let name: String
        public let shape: [Int]          // ne0 first (innermost)
        public let typeID: UInt32
        public let type: GGMLType
        public let offset: Int           // absolute byte offset in the file
        public let byteSize: Int?        // nil when the type's geometry is unknown
    }

    public let file: MappedFile
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    public let metadataOrder: [String]
    public let tensors: [TensorInfo]
    public let tensorIndex: [String: Int]
    public let alignment: Int
    public let dataOffset: Int
    /// Type-42 tensors read as the early PrismML layout (128-groups), from their data size.
    public let legacyQ2Tensors: [String]

    public var path: String { file.path }

    // Limits that keep hostile headers from asking for absurd allocations.
    static let maxStringBytes = 1 << 24
    static let maxArrayCount = 1 << 26
    static let maxTensors = 1 << 20
    static let maxKV = 1 << 20
    static let maxNesting = 8

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        let all = try file.bytes(0, file.size, what: "header")
        var r = ByteReader(all, origin: path)
        let magic = try r.u32("magic")
        guard magic == 0x4655_4747 else {
            throw TritError.format("\(path): not a GGUF file (magic bytes \(Self.hex(all.prefix(4))), expected 47 47 55 46 \"GGUF\")")
        }
        let rawVersion = try r.u32("version")
        if rawVersion == 0x0200_0000 || rawVersion == 0x0300_0000 {
            throw TritError.unsupported("\(path): big-endian GGUF files are not supported (version field \(rawVersion.byteSwapped) is byte-swapped); convert the file on a little-endian machine")
        }
        guard rawVersion == 2 || rawVersion == 3 else {
            throw TritError.unsupported("\(path): GGUF version \(rawVersion) is not supported (expected 2 or 3)")
        }
        version = rawVersion
        let nTensors = try r.u64("tensor count")
        let nKV = try r.u64("metadata count")
        guard nTensors <= UInt64(Self.maxTensors) else { throw TritError.format("\(path): tensor count \(nTensors) is implausible") }
        guard nKV <= UInt64(Self.maxKV) else { throw TritError.format("\(path): metadata count \(nKV) is implausible") }

        var meta: [String: GGUFValue] = [:]
        var order: [String] = []
        for i in 0..<Int(nKV) {
            let key = try Self.readString(&r, "metadata key #\(i)")
            let vt = try r.u32("type of \(key)")
            let value = try Self.readValue(&r, type: vt, key: key, depth: 0)
            if meta[key] != nil { throw TritError.format("\(path): metadata key \(key) appears twice") }
            meta[key] = value
            order.append(key)
        }
        metadata = meta
        metadataOrder = order

        var align = 32
        if let a = meta["general.alignment"] {
            guard let v = a.int, v > 0, v & (v - 1) == 0, v <= 1 << 20 else {
                throw TritError.format("\(path): general.alignment \(a.summary) is not a power of two")
            }
            align = v
        }
        alignment = align

        let arch = meta["general.architecture"]?.string ?? ""
        let fileType = meta["general.file_type"]?.int ?? -1
        let bitnetFork = ["bitnet-b1.58", "bitnet-25", "bitnet"].contains(arch) || [38, 39, 40].contains(fileType)

        struct Raw { let name: String; let shape: [Int]; let typeID: UInt32; let rel: UInt64 }
        var raws: [Raw] = []
        raws.reserveCapacity(Int(nTensors))
        for i in 0..<Int(nTensors) {
            let name = try Self.readString(&r, "name of tensor #\(i)")
            let nd = try r.u32("dimension count of \(name)")
            guard (1...4).contains(nd) else { throw TritError.format("\(path): tensor \(name) has \(nd) dimensions, expected 1 to 4") }
            var shape: [Int] = []
            for d in 0..<Int(nd) {
                let v = try r.u64("dimension \(d) of \(name)")
                guard v <= UInt64(Int32.max) else { throw TritError.format("\(path): tensor \(name) dimension \(d) = \(v) is implausible") }
                shape.append(Int(v))
            }
            let t = try r.u32("type of \(name)")
            let off = try r.u64("offset of \(name)")
            raws.append(Raw(name: name, shape: shape, typeID: t, rel: off))
        }
        let headerEnd = r.offset
        let dataStart = (headerEnd + align - 1) / align * align
        dataOffset = dataStart

        // Type 42 has two layouts (docs/formats.md §8.5): told apart by the bytes up to the next tensor
        let sortedRel = raws.map { $0.rel }.sorted()
        func room(after rel: UInt64) -> Int {
            var lo = 0, hi = sortedRel.count
            while lo < hi { let m = (lo + hi) / 2; if sortedRel[m] <= rel { lo = m + 1 } else { hi = m } }
            return lo < sortedRel.count ? Int(sortedRel[lo] - rel) : file.size - dataStart - Int(rel)
        }
        var legacy: [String] = []

        var infos: [TensorInfo] = []
        var index: [String: Int] = [:]
        for raw in raws {
            var type = GGMLType.from(id: raw.typeID, bitnetFork: bitnetFork)
            if type == .q2_0 && raw.rel <= UInt64(Int.max / 2) {
                let g64 = try GGMLType.q2_0.byteSize(raw.shape, name: raw.name) ?? 0
                let g128 = raw.shape[0] % 128 == 0 ? try GGMLType.q2_0g128.byteSize(raw.shape, name: raw.name) : nil
                let have = room(after: raw.rel)
                func fits(_ n: Int) -> Bool { have == n || have == (n + align - 1) / align * align }
                switch (fits(g64), g128.map(fits) ?? false) {
                case (true, _): break   // upstream's 64-groups (also when too small to tell)
                case (false, true):
                    type = .q2_0g128
                    legacy.append(raw.name)
                case (false, false):
                    throw TritError.format("\(path): tensor \(raw.name) (type 42, shape \(raw.shape)) has \(have) bytes of data, which matches neither Q2_0 layout (64-groups: \(g64) bytes; 128-groups: \(g128.map(String.init) ?? "impossible, the width is not a multiple of 128"))")
                }
            }
            guard raw.rel % UInt64(align) == 0 else {
                throw TritError.format("\(path): tensor \(raw.name) offset \(raw.rel) is not a multiple of the alignment \(align)")
            }
            guard raw.rel <= UInt64(Int.max / 2) else { throw TritError.format("\(path): tensor \(raw.name) offset \(raw.rel) is implausible") }
            let abs = try checkedAdd(dataStart, Int(raw.rel), "tensor \(raw.name) offset")
            let size = try type.byteSize(raw.shape, name: raw.name)
            if let size {
                let end = try checkedAdd(abs, size, "tensor \(raw.name)")
                guard end <= file.size else {
                    throw TritError.format("\(path): tensor \(raw.name) (\(type), shape \(raw.shape), \(size) bytes at offset \(abs)) extends past the end of the file (\(file.size) bytes); the file is truncated or corrupt")
                }
            }
            if index[raw.name] != nil { throw TritError.format("\(path): tensor \(raw.name) appears twice") }
            index[raw.name] = infos.count
            infos.append(TensorInfo(name: raw.name, shape: raw.shape, typeID: raw.typeID, type: type, offset: abs, byteSize: size))
        }
        tensors = infos
        tensorIndex = index
        legacyQ2Tensors = legacy
    }

    public func tensor(_ name: String) -> TensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The bytes of a tensor whose size is known.
    public func data(of t: TensorInfo) throws -> UnsafeRawBufferPointer {
        guard let n = t.byteSize else {
            throw TritError.unsupported("\(path): tensor \(t.name) has ggml type \(t.typeID), which trit cannot decode")
        }
        return try file.bytes(t.offset, n, what: "tensor \(t.name)")
    }

    // MARK: - Value parsing

    static func readString(_ r: inout ByteReader, _ what: @autoclosure () -> String) throws -> String {
        let n = try r.u64("length of \(what())")
        guard n <= UInt64(maxStringBytes) else { throw TritError.format("\(r.origin): \(what()) has implausible length \(n)") }
        let b = try r.bytes(Int(n), what())
        return String(decoding: b, as: UTF8.self)
    }

    static func readValue(_ r: inout ByteReader, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .u8(try r.u8(key))
        case 1: return .i8(Int8(bitPattern: try r.u8(key)))
        case 2: return .u16(try r.u16(key))
        case 3: return .i16(Int16(bitPattern: try r.u16(key)))
        case 4: return .u32(try r.u32(key))
        case 5: return .i32(Int32(bitPattern: try r.u32(key)))
        case 6: return .f32(Float(bitPattern: try r.u32(key)))
        case 7:
            let b = try r.u8(key)
            guard b <= 1 else { throw TritError.format("\(r.origin): metadata \(key): bool value \(b) is not 0 or 1") }
            return .bool(b == 1)
        case 8: return .string(try readString(&r, key))
        case 9: return .array(try readArray(&r, key: key, depth: depth + 1))
        case 10: return .u64(try r.u64(key))
        case 11: return .i64(Int64(bitPattern: try r.u64(key)))
        case 12: return .f64(Double(bitPattern: try r.u64(key)))
        default:
            throw TritError.format("\(r.origin): metadata \(key) has unknown value type \(type) (expected 0-12)")
        }
    }

    static func readArray(_ r: inout ByteReader, key: String, depth: Int) throws -> GGUFArray {
        guard depth <= maxNesting else { throw TritError.format("\(r.origin): metadata \(key): arrays nested deeper than \(maxNesting)") }
        let et = try r.u32("array type of \(key)")
        let n64 = try r.u64("array length of \(key)")
        guard n64 <= UInt64(maxArrayCount) else { throw TritError.format("\(r.origin): metadata \(key): array length \(n64) is implausible") }
        let n = Int(n64)
        // Every element takes at least one byte: reject counts the file cannot hold before allocating.
        let minSize: Int
        switch et {
        case 0, 1, 7: minSize = 1
        case 2, 3: minSize = 2
        case 4, 5, 6: minSize = 4
        case 8, 10, 11, 12: minSize = 8
        case 9: minSize = 12
        default: throw TritError.format("\(r.origin): metadata \(key) has unknown array element type \(et)")
        }
        try r.need(try checkedMul(n, minSize, key), "array \(key)")
        switch et {
        case 8:
            var out: [String] = []
            out.reserveCapacity(n)
            for i in 0..<n { out.append(try readString(&r, "\(key)[\(i)]")) }
            return .strings(out)
        case 6, 12:
            var out: [Double] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try readValue(&r, type: et, key: key, depth: depth).double ?? 0) }
            return .floats(out, type: et)
        case 9:
            var out: [GGUFArray] = []
            for _ in 0..<n { out.append(try readArray(&r, key: key, depth: depth + 1)) }
            return .arrays(out)
        default:
            var out: [Int64] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                switch try readValue(&r, type: et, key: key, depth: depth) {
                case .u64(let v): out.append(Int64(bitPattern: v))
                case let v: out.append(Int64(v.int ?? 0))
                }
            }
            return .ints(out, type: et)
        }
    }

    static func valueTypeName(_ t: UInt32) -> String {
        ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"][Int(min(t, 12))]
    }

    static func hex(_ b: UnsafeRawBufferPointer.SubSequence) -> String {
        b.map { let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s }.joined(separator: " ")
    }
}
