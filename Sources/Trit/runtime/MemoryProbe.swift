import TritKernels
#if canImport(Glibc)
import Glibc
#endif

/// Measurements `trit bench` reports next to the speeds.
public enum MemoryProbe {
    /// Read bandwidth in bytes/s: `threads` threads stream a 1 GiB buffer, best of `reps` (the roofline is the best the machine did).
    public static func readBandwidth(threads: Int, bytes: Int = 1 << 30, reps: Int = 5) throws -> Double {
        let buf = try AlignedBuffer(byteCount: bytes, what: "bandwidth probe")
        // fault the pages in with data unique to each page: pages of one repeated byte can be merged
        // by the host (KSM) into one physical page that then reads from cache (seen on a VM: the
        // probe jumped between 48 and 75 GB/s while the kernels streamed 46-53)
        let words = buf.raw.assumingMemoryBound(to: UInt64.self)
        for i in 0..<(bytes / 8) { words[i] = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 }
        let pool = tk_pool_create(Int32(threads))
        defer { tk_pool_free(pool) }
        var best = 0.0
        var sink: UInt64 = 0
        for _ in 0..<reps {
            let t0 = monotonicSeconds()
            sink ^= tk_read_memory(pool, buf.raw, bytes)
            best = max(best, Double(bytes) / (monotonicSeconds() - t0))
        }
        if sink == 0x5EED { print("") }  // keep the reads
        return best
    }

    /// Peak resident set size of this process, in bytes.
    public static func peakRSS() -> Int {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Int(u.ru_maxrss) * 1024
    }

    /// Current resident set size, in bytes (from /proc/self/statm).
    public static func currentRSS() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var size = 0, resident = 0
        withUnsafeMutablePointer(to: &size) { s in
            withUnsafeMutablePointer(to: &resident) { r in
                _ = withVaList([s, r]) { vfscanf(f, "%ld %ld", $0) }
            }
        }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

extension Model {
    /// Bytes of weights one decoded token reads: every linear once, the output head once.
    public var bytesPerDecodedToken: Int {
        var n = int8Output?.byteCount ?? output.byteCount
        for l in layers { for lin in [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down] { n += lin.byteCount } }
        return n
    }
}
