/// A bounds-checked little-endian cursor over untrusted bytes. Every read throws a format
/// error instead of trapping when the data runs out.
struct ByteReader {
    let data: UnsafeRawBufferPointer
    var offset: Int = 0
    let origin: String

    init(_ data: UnsafeRawBufferPointer, origin: String) {
        self.data = data
        self.origin = origin
    }

    var remaining: Int { data.count - offset }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > remaining {
            throw TritError.format("\(origin): truncated while reading \(what()) at byte \(offset) (need \(n), have \(remaining))")
        }
    }

    mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 {
        try need(1, what())
        defer { offset += 1 }
        return data[offset]
    }
    mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 {
        try need(2, what())
        defer { offset += 2 }
        return UInt16(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 {
        try need(4, what())
        defer { offset += 4 }
        return UInt32(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 {
        try need(8, what())
        defer { offset += 8 }
        return UInt64(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    mutating func bytes(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        try need(n, what())
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: data[offset..<(offset + n)])
    }
    mutating func skip(_ n: Int, _ what: @autoclosure () -> String) throws {
        try need(n, what())
        offset += n
    }
}
