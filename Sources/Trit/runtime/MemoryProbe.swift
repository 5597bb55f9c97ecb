import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Measurements `trit bench` reports next to the speeds.
public enum MemoryProbe {
    /// Peak resident set size of this process, in bytes.
    public static func peakRSS() -> Int {
        var u = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Int(u.ru_maxrss) * 1024   // KiB on Linux
        #else
        getrusage(RUSAGE_SELF, &u)
        return Int(u.ru_maxrss)          // bytes on Darwin
        #endif
    }

    /// Current resident set size, in bytes (from /proc/self/statm; 0 where there is no /proc, as on macOS).
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

extension Linear {
    /// Where this projection's bytes are (as the kernels read them).
    var span: (UnsafeRawPointer, Int) {
        switch self {
        case .ternary(let t): return (UnsafeRawPointer(t.codes), t.decodeByteCount)
        case .dense(let d): return (d.data, d.byteCount)
        case .grouped(let g): return (g.data, g.byteCount)
        }
    }
}

/// The read-bandwidth probe over a model's decode spans (`Model.decodeSpans`): the bytes a token
/// reads, streamed as fast as the machine can, already resident (no memory is added, so peak RSS is
/// unchanged). `trit bench` runs it after every generation run, so each speed has a roofline
/// measured within a second of it (a VM's bandwidth moves between runs).
public final class SpanProbe {
    let pool: OpaquePointer?
    let spans: [(UnsafeRawPointer, Int)]
    public let bytes: Int

    public init(model: Model, threads: Int) {
        spans = model.decodeSpans
        bytes = spans.reduce(0) { $0 + $1.1 }
        pool = tk_pool_create(Int32(threads))
    }
    deinit { if let pool { tk_pool_free(pool) } }

    /// Bytes/s, best of `reps` passes.
    public func measure(reps: Int = 2) -> Double {
        var best = 0.0
        var sink: UInt64 = 0
        for _ in 0..<reps {
            let t0 = monotonicSeconds()
            for (p, n) in spans { sink ^= tk_read_memory(pool, p, n) }
            best = max(best, Double(bytes) / (monotonicSeconds() - t0))
        }
        if sink == 0x5EED { print("") }  // keep the reads
        return best
    }
}

extension Model {
    /// The byte ranges a decoded token reads (every linear, the head), in address order, merged
    /// where they touch or overlap. Not across gaps: a gap between two allocations may be unmapped
    /// (merging spans less than 64 KiB apart made the probe read one and crash on the 27B PQ2_0 file).
    public var decodeSpans: [(UnsafeRawPointer, Int)] {
        var spans: [(UnsafeRawPointer, Int)] = []
        if let h4 = q4Output {
            spans.append((UnsafeRawPointer(h4.nibbles.raw), h4.nibbles.byteCount))
            spans.append((UnsafeRawPointer(h4.scales.raw), h4.scales.byteCount))
        } else if let h8 = int8Output { spans.append((UnsafeRawPointer(h8.weights.raw), h8.rows * h8.paddedCols)) }
        else { spans.append((output.data, output.byteCount)) }
        for l in layers { for (_, lin) in l.linears { spans.append(lin.span) } }
        spans.sort { $0.0 < $1.0 }
        var merged: [(UnsafeRawPointer, Int)] = []
        for (p, n) in spans where n > 0 {
            if let last = merged.last, p >= last.0, p <= last.0 + last.1 {
                merged[merged.count - 1].1 = max(last.1, p + n - last.0)
            } else {
                merged.append((p, n))
            }
        }
        return merged
    }

    /// Bytes of weights one decoded token reads: every linear once, the output head once.
    public var bytesPerDecodedToken: Int {
        var n = q4Output?.byteCount ?? int8Output?.byteCount ?? output.byteCount
        for l in layers {
            for (_, lin) in l.linears {
                if case .ternary(let t) = lin { n += t.decodeByteCount } else { n += lin.byteCount }
            }
        }
        return n
    }
}

/// The cores' f32 multiply-add rate (`tk_fma_probe`): the floor of the f32 output head's time, for
/// `trit bench --concurrency`'s bound.
public enum ArithmeticProbe {
    /// f32 multiply-adds per second on `threads` threads at once, best of `reps` runs of ~0.1 s each.
    public static func f32FMAPerSecond(threads: Int, reps: Int = 3) -> Double {
        guard let pool = tk_pool_create(Int32(threads)) else { return 0 }
        defer { tk_pool_free(pool) }
        var best = 0.0
        var sink: Float = 0
        var iters: Int64 = 1 << 16
        func run() -> Double {
            let t0 = monotonicSeconds()
            let lanes = tk_fma_probe(pool, iters, &sink)
            let dt = monotonicSeconds() - t0
            best = max(best, Double(lanes) / dt)
            return dt
        }
        while run() < 0.05 && iters < 1 << 40 { iters *= 4 }   // sized to ~0.1 s a run
        for _ in 0..<reps { _ = run() }
        if sink == 0x5EED { print("") }
        return best
    }
}
