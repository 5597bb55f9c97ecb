#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes GGUF v3 files (docs/formats.md §5): metadata, tensor infos, aligned tensor data. Tensor data
/// is produced on demand by a closure, one tensor at a time, so peak memory stays at the
/// largest tensor.
public final class GGUFWriter {
    struct Tensor {
        let name: String
        let shape: [Int]          // ne0 first
        let typeID: UInt32
        let byteSize: Int
        let fill: (UnsafeMutableRawBufferPointer) throws -> Void
    }
    var kv: [(String, GGUFValue)] = []
    var tensors: [Tensor] = []
    public let alignment = 32

    public init() {}

    public func set(_ key: String, _ value: GGUFValue) { kv.append((key, value)) }
    public func set(_ key: String, _ s: String) { set(key, .string(s)) }
    /// An integer key: u32 when it fits, else u64 (a 64-bit context length stays 64-bit).
    public func set(_ key: String, u32 v: Int) { set(key, v >= 0 && v <= Int(UInt32.max) ? .u32(UInt32(v)) : .u64(UInt64(bitPattern: Int64(v)))) }
    public func set(_ key: String, f32 v: Float) { set(key, .f32(v)) }

    /// The general.* and {arch}.* keys of a model (docs/formats.md §1.6, §5).
    func setHParams(_ c: ModelConfig, arch: String, name: String, fileType: Int) {
        set("general.architecture", arch)
        set("general.name", name)
        set("general.file_type", u32: fileType)
        set("general.quantization_version", u32: 2)
        set("\(arch).vocab_size", u32: c.vocabSize)
        set("\(arch).context_length", u32: c.contextLength)
        set("\(arch).embedding_length", u32: c.dim)
        set("\(arch).block_count", u32: c.nLayers)
        set("\(arch).feed_forward_length", u32: c.ffnDim)
        set("\(arch).rope.dimension_count", u32: c.ropeDim)
        set("\(arch).attention.head_count", u32: c.nHeads)
        set("\(arch).attention.head_count_kv", u32: c.nKVHeads)
        set("\(arch).attention.layer_norm_rms_epsilon", f32: c.normEps)
        set("\(arch).rope.freq_base", f32: c.ropeTheta)
    }

    public func addTensor(_ name: String, shape: [Int], typeID: UInt32, byteSize: Int,
                          fill: @escaping (UnsafeMutableRawBufferPointer) throws -> Void) {
        tensors.append(Tensor(name: name, shape: shape, typeID: typeID, byteSize: byteSize, fill: fill))
    }

    public func write(to path: String, progress: ((Int, Int) -> Void)? = nil) throws {
        var h = ByteSink()
        h.u32(0x4655_4747); h.u32(3)
        h.u64(UInt64(tensors.count)); h.u64(UInt64(kv.count))
        for (k, v) in kv { h.string(k); h.value(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            h.string(t.name)
            h.u32(UInt32(t.shape.count))
            for d in t.shape { h.u64(UInt64(d)) }
            h.u32(t.typeID)
            h.u64(UInt64(offset))
            offsets.append(offset)
            offset += (t.byteSize + alignment - 1) / alignment * alignment
        }
        while h.bytes.count % alignment != 0 { h.bytes.append(0) }

        // write beside the destination (resolved through symlinks) and rename at the end: the
        // input may be the destination, and it is memory-mapped while we read from it
        var target = path
        if let real = realpath(path, nil) { target = String(cString: real); free(real) }
        var template = Array((target + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw TritError(.io, "\(path): cannot create a file in its folder: \(String(cString: strerror(errno)))") }
        let tmp = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        fchmod(fd, 0o644)
        guard let f = fdopen(fd, "wb") else { close(fd); unlink(tmp); throw TritError(.io, "\(tmp): cannot open") }
        var renamed = false
        defer { fclose(f); if !renamed { unlink(tmp) } }
        func put(_ p: UnsafeRawPointer, _ n: Int) throws {
            if n > 0, fwrite(p, 1, n, f) != n { throw TritError(.io, "\(path): write failed: \(String(cString: strerror(errno)))") }
        }
        try h.bytes.withUnsafeBytes { try put($0.baseAddress!, $0.count) }
        for (i, t) in tensors.enumerated() {
            let padded = (t.byteSize + alignment - 1) / alignment * alignment
            let buf = try AlignedBuffer(byteCount: padded, what: "tensor \(t.name)")
            try t.fill(UnsafeMutableRawBufferPointer(start: buf.raw, count: t.byteSize))
            try put(buf.raw, padded)
            progress?(i + 1, tensors.count)
        }
        guard fflush(f) == 0, fsync(fileno(f)) == 0 else { throw TritError(.io, "\(tmp): write failed: \(String(cString: strerror(errno)))") }
        guard rename(tmp, target) == 0 else { throw TritError(.io, "\(path): cannot replace: \(String(cString: strerror(errno)))") }
        renamed = true
    }
}

/// Little-endian serialisation of GGUF header values.
struct ByteSink {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }

    static func typeID(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .u8: return 0
        case .i8: return 1
        case .u16: return 2
        case .i16: return 3
        case .u32: return 4
        case .i32: return 5
        case .f32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .u64: return 10
        case .i64: return 11
        case .f64: return 12
        }
    }

    mutating func value(_ v: GGUFValue) {
        u32(Self.typeID(v))
        payload(v)
    }

    mutating func payload(_ v: GGUFValue) {
        switch v {
        case .u8(let x): u8(x)
        case .i8(let x): u8(UInt8(bitPattern: x))
        case .u16(let x): withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
        case .i16(let x): withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
        case .u32(let x): u32(x)
        case .i32(let x): u32(UInt32(bitPattern: x))
        case .f32(let x): u32(x.bitPattern)
        case .bool(let x): u8(x ? 1 : 0)
        case .string(let s): string(s)
        case .u64(let x): u64(x)
        case .i64(let x): u64(UInt64(bitPattern: x))
        case .f64(let x): u64(x.bitPattern)
        case .array(let a): array(a)
        }
    }

    mutating func array(_ a: GGUFArray) {
        switch a {
        case .strings(let s):
            u32(8); u64(UInt64(s.count)); for x in s { string(x) }
        case .ints(let v, let t):
            u32(t); u64(UInt64(v.count))
            for x in v {
                switch t {
                case 0, 1, 7: u8(UInt8(truncatingIfNeeded: x))
                case 2, 3: withUnsafeBytes(of: UInt16(truncatingIfNeeded: x).littleEndian) { bytes.append(contentsOf: $0) }
                case 4, 5: u32(UInt32(truncatingIfNeeded: x))
                default: u64(UInt64(bitPattern: x))
                }
            }
        case .floats(let v, let t):
            u32(t); u64(UInt64(v.count))
            for x in v { if t == 12 { u64(x.bitPattern) } else { u32(Float(x).bitPattern) } }
        case .arrays(let inner):
            u32(9); u64(UInt64(inner.count)); for x in inner { array(x) }
        }
    }
}
