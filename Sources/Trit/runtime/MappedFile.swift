#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only, memory-mapped file. The mapping lives as long as this object; tensors
/// that point into it keep it alive.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let base: UnsafeRawPointer?
    public let size: Int

    public init(path: String) throws {
        self.path = path
        ownsCopy = false
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw TritError(.io, "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 {
            throw TritError(.io, "\(path): cannot stat: \(String(cString: strerror(errno)))")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw TritError(.io, "\(path): is a directory, expected a file")
        }
        size = Int(st.st_size)
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        if p == MAP_FAILED || p == nil {
            throw TritError(.io, "\(path): cannot map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p!)
    }

    let ownsCopy: Bool

    /// An in-memory "file" holding a copy of `bytes` (the fuzz targets and the tests, which reach
    /// it with `@testable import Trit`); `path` names it in messages.
    init(copying bytes: UnsafeRawBufferPointer, path: String) {
        self.path = path
        size = bytes.count
        ownsCopy = true
        if bytes.isEmpty { base = nil; return }
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        p.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        base = UnsafeRawPointer(p)
    }

    deinit {
        guard let b = base else { return }
        if ownsCopy { UnsafeMutableRawPointer(mutating: b).deallocate() } else { munmap(UnsafeMutableRawPointer(mutating: b), size) }
    }

    /// Tells the kernel the pages of [p, p+count) are not needed now (they are re-read from the
    /// file if touched again); lowers the resident set after a conversion.
    func dontNeed(_ p: UnsafeRawPointer, _ count: Int) {
        guard !ownsCopy, let b = base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: p) + page - 1) / page * page
        let end = (Int(bitPattern: p) + count) / page * page
        guard end > start, start >= Int(bitPattern: b), end <= Int(bitPattern: b) + size else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
    }

    /// The bytes [offset, offset+count), checked against the file size.
    public func bytes(_ offset: Int, _ count: Int, what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard offset >= 0, count >= 0, let end = Optional(offset &+ count), end >= offset, end <= size else {
            throw TritError.format("\(path): \(what()) lies past the end of the file (bytes \(offset)..<\(offset &+ count), file has \(size))")
        }
        guard let b = base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: b + offset, count: count)
    }
}

/// Whether a path is a directory.
func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// The whole file as bytes (small files: config.json, tokenizer files).
func readWholeFile(_ path: String, limit: Int = 1 << 30) throws -> [UInt8] {
    let f = try MappedFile(path: path)
    if f.size > limit { throw TritError(.io, "\(path): file too large (\(f.size) bytes)") }
    let b = try f.bytes(0, f.size, what: "content")
    return [UInt8](b)
}
