#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every "0 = default" of the C API, Python, the CLI and the server, resolved here and only here;
/// callers read the resolved values back (trit_context_get_params, the engine's stats).
public enum Defaults {
    /// The context when none is asked for: the model's training context, at most this many
    /// positions (a 4096-position F16 cache of 2B4T is 300 MB; llama.cpp's server defaults to 4096
    /// a slot as well). A larger n_ctx is always allowed up to what memory holds.
    public static let maxDefaultContext = 4096

    /// Positions of a context or an engine slot: `requested` when > 0, else the default above.
    public static func contextSize(_ requested: Int, model: Model) -> Int {
        requested > 0 ? requested : min(model.config.contextLength, maxDefaultContext)
    }

    /// Worker threads: `requested` when > 0, else one per online core.
    public static func threads(_ requested: Int) -> Int { requested > 0 ? requested : onlineCores }

    /// The cores the system has online (at least 1).
    public static var onlineCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The KV cache type of the C API, Python, the CLI and the server (F32 is exact, F16 halves
    /// the cache at a logit change the README's accuracy table gives; llama.cpp's default too).
    public static let kvType: KVCacheType = .f16

    /// Tokens a forward pass reads of a prompt.
    public static let batch = 128
}
