import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernel table, chosen once by CPU features; `TRIT_KERNEL=scalar|avx2|avx512vnni` on x86-64,
/// `TRIT_KERNEL=scalar|neon|dotprod|i8mm` on ARM64, forces a variant (tests run every variant this CPU
/// has). Internal: the engine's contexts and weights choose through it, and the tests reach it with
/// `@testable import Trit`.
enum KernelSelection {
    static func kernels(named forced: String? = nil) throws -> UnsafePointer<tk_kernels> {
        var name = forced
        if name == nil, let env = getenv("TRIT_KERNEL") { name = String(cString: env) }
        if let n = name, !n.isEmpty, n != "auto" {
            guard let k = tk_kernels_named(n) else {
                let choices = available.joined(separator: ", ")
                throw TritError(.unsupported, "kernel variant \"\(n)\" is not available on this CPU (choose \(choices) or auto)")
            }
            return k
        }
        return tk_kernels_best()
    }

    /// Every variant this build has, in the order of preference from the least to the most capable.
    #if arch(arm64)
    static let all = ["scalar", "neon", "dotprod", "i8mm"]
    #else
    static let all = ["scalar", "avx2", "avx512vnni"]
    #endif

    /// The names of the variants this CPU can run.
    static var available: [String] {
        all.filter { tk_kernels_named($0) != nil }
    }

    /// The variants this CPU cannot run (a test over `available` reports them).
    static var unavailable: [String] {
        all.filter { tk_kernels_named($0) == nil }
    }
}

extension InferenceState {
    /// The name of the kernel variant a new context would use.
    public static func kernelNameForCurrentCPU() throws -> String {
        String(cString: try KernelSelection.kernels().pointee.name)
    }
}
