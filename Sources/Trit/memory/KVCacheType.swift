import TritKernels

/// How the KV cache stores keys or values (ggml's type ids, as llama.cpp's `type_k`/`type_v`).
/// F32 is exact (the fixture tests use it); F16 halves the cache and is the default of the
/// C API, Python and the CLI, as in llama.cpp; Q8_0 (32-value blocks with an fp16 scale, along
/// each head vector) takes 34/128 of F32. docs/formats.md §9 gives the layouts and the measured
/// logit change of each.
public enum KVCacheType: Int32, Sendable, CaseIterable {
    case f32 = 0
    case f16 = 1
    case q8_0 = 8

    public var name: String {
        switch self { case .f32: return "f32"; case .f16: return "f16"; case .q8_0: return "q8_0" }
    }

    /// "f32", "f16" or "q8_0" (any case); nil otherwise.
    public init?(name: String) {
        guard let t = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = t
    }

    /// A type from its id, or an argument error naming the id and the accepted values.
    public static func from(id: Int32, what: String) throws -> KVCacheType {
        guard let t = KVCacheType(rawValue: id) else {
            throw TritError.argument("\(what) \(id) is not a KV cache type (0 = f32, 1 = f16, 8 = q8_0)")
        }
        return t
    }

    /// Bytes of one head vector of `headDim` values.
    public func headBytes(_ headDim: Int) -> Int { Int(tk_kv_head_bytes(rawValue, Int64(headDim))) }
}
