/// A safetensors file (docs/formats.md §1.3): u64 LE header length, JSON header, raw LE data.
public final class SafetensorsFile: @unchecked Sendable {
    public struct TensorInfo: Sendable {
        public let name: String
        public let dtype: String          // "BF16", "F16", "F32", "U8", ...
        public let shape: [Int]           // PyTorch order: [out, in]
        public let offset: Int            // absolute byte offset
        public let byteSize: Int
    }
    public let file: MappedFile
    public let tensors: [String: TensorInfo]
    public var path: String { file.path }

    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64", "U64": return 8
        case "F32", "I32", "U32": return 4
        case "F16", "BF16", "I16", "U16": return 2
        case "U8", "I8", "BOOL", "F8_E4M3", "F8_E5M2": return 1
        default: return nil
        }
    }

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        let all = try file.bytes(0, file.size, what: "header")
        var r = ByteReader(all, origin: path)
        let n = try r.u64("header length")
        guard n <= UInt64(100 << 20), Int(n) <= r.remaining else {
            throw TritError.format("\(path): safetensors header length \(n) does not fit the file (\(file.size) bytes)")
        }
        let headerBytes = try r.bytes(Int(n), "header")
        let dataStart = 8 + Int(n)
        let json = try JSON.parse(headerBytes, origin: path)
        guard let obj = json.object else { throw TritError.format("\(path): safetensors header is not a JSON object") }
        var out: [String: TensorInfo] = [:]
        for (name, v) in obj where name != "__metadata__" {
            guard let dtype = v["dtype"]?.string else { throw TritError.format("\(path): tensor \(name) has no dtype") }
            guard let shapeJ = v["shape"]?.array else { throw TritError.format("\(path): tensor \(name) has no shape") }
            var shape: [Int] = []
            for d in shapeJ {
                guard let x = d.int, x >= 0, x <= Int(Int32.max) else { throw TritError.format("\(path): tensor \(name) has an invalid shape") }
                shape.append(x)
            }
            guard let offs = v["data_offsets"]?.array, offs.count == 2, let b = offs[0].int, let e = offs[1].int, b >= 0, e >= b else {
                throw TritError.format("\(path): tensor \(name) has invalid data_offsets")
            }
            guard let es = Self.elementSize(dtype) else {
                throw TritError.unsupported("\(path): tensor \(name) has dtype \(dtype), which trit cannot read")
            }
            var count = 1
            for d in shape { count = try checkedMul(count, d, "tensor \(name)") }
            let expect = try checkedMul(count, es, "tensor \(name)")
            guard e - b == expect else {
                throw TritError.format("\(path): tensor \(name) holds \(e - b) bytes but its shape \(shape) and dtype \(dtype) need \(expect)")
            }
            let abs = try checkedAdd(dataStart, b, "tensor \(name)")
            guard try checkedAdd(abs, expect, "tensor \(name)") <= file.size else {
                throw TritError.format("\(path): tensor \(name) extends past the end of the file; the file is truncated")
            }
            out[name] = TensorInfo(name: name, dtype: dtype, shape: shape, offset: abs, byteSize: expect)
        }
        tensors = out
    }

    public func data(of t: TensorInfo) throws -> UnsafeRawBufferPointer {
        try file.bytes(t.offset, t.byteSize, what: "tensor \(t.name)")
    }
}
