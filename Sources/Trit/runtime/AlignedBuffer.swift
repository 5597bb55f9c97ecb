#if canImport(Glibc)
import Glibc
#endif

/// Owned, 64-byte aligned, zero-initialised memory. Throws instead of trapping when the
/// allocation fails (a hostile n_ctx or a huge tensor must not abort the process).
public final class AlignedBuffer: @unchecked Sendable {
    public let raw: UnsafeMutableRawPointer
    public let byteCount: Int

    public init(byteCount: Int, what: @autoclosure () -> String) throws {
        var p: UnsafeMutableRawPointer? = nil
        let n = max(byteCount, 64)
        if byteCount < 0 || posix_memalign(&p, 64, n) != 0 || p == nil {
            throw TritError(.outOfMemory, "cannot allocate \(byteCount) bytes for \(what())")
        }
        memset(p!, 0, n)
        raw = p!
        self.byteCount = byteCount
    }

    deinit { free(raw) }

    public func floats() -> UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
}

/// A typed view over owned memory of `count` elements.
struct FloatArray {
    let buffer: AlignedBuffer
    let count: Int
    init(count: Int, what: @autoclosure () -> String) throws {
        buffer = try AlignedBuffer(byteCount: try checkedMul(count, 4, what()), what: what())
        self.count = count
    }
    var ptr: UnsafeMutablePointer<Float> { buffer.floats() }
}
