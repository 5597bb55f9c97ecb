#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owned, 64-byte aligned, zero-initialised memory. Throws instead of trapping when the
/// allocation fails (a hostile n_ctx or a huge tensor must not abort the process). Large
/// buffers are anonymous mappings: zero pages cost nothing until used (a KV cache is touched
/// only as far as the context fills).
public final class AlignedBuffer: @unchecked Sendable {
    public let raw: UnsafeMutableRawPointer
    public let byteCount: Int
    let mapped: Int   // bytes mapped with mmap, 0 for malloc'd memory
    static let mmapThreshold = 1 << 20

    /// `hugePages`: a buffer of 2 MiB or more is aligned to 2 MiB and asks for transparent huge pages
    /// (weights made at load: one page fault and one TLB entry per 2 MiB instead of per 4 KiB; measured,
    /// tiling the 4.1 GiB Q2_0 8B file: most of the load was the kernel's 4 KiB page faults).
    public init(byteCount: Int, what: @autoclosure () -> String, hugePages: Bool = false) throws {
        let n = max(byteCount, 64)
        guard byteCount >= 0 else { throw TritError(.outOfMemory, "cannot allocate \(byteCount) bytes for \(what())") }
        if n >= Self.mmapThreshold {
            let huge = 1 << 21, wantHuge = hugePages && n >= huge
            let len = wantHuge ? (n + huge - 1) / huge * huge : n
            let p = mmap(nil, wantHuge ? len + huge : len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let p, p != MAP_FAILED else {
                throw TritError(.outOfMemory, "cannot allocate \(byteCount) bytes for \(what())")
            }
            if wantHuge {
                // keep the 2 MiB-aligned len bytes inside the mapping, unmap the slack on both sides
                let start = (Int(bitPattern: p) + huge - 1) / huge * huge, head = start - Int(bitPattern: p)
                if head > 0 { munmap(p, head) }
                if huge - head > 0 { munmap(UnsafeMutableRawPointer(bitPattern: start + len), huge - head) }
                raw = UnsafeMutableRawPointer(bitPattern: start)!
                #if os(Linux)
                _ = madvise(raw, len, MADV_HUGEPAGE)   // Linux's transparent huge pages; elsewhere the alignment only
                #endif
            } else {
                raw = p
            }
            mapped = len
        } else {
            var p: UnsafeMutableRawPointer? = nil
            if posix_memalign(&p, 64, n) != 0 || p == nil {
                throw TritError(.outOfMemory, "cannot allocate \(byteCount) bytes for \(what())")
            }
            memset(p!, 0, n)
            raw = p!
            mapped = 0
        }
        self.byteCount = byteCount
    }

    deinit { if mapped > 0 { munmap(raw, mapped) } else { free(raw) } }

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
