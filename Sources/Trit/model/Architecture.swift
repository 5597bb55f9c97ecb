/// What an architecture is, in one place: both loaders look it up by name and fill a ModelConfig
/// from it (the GGUF and Hugging Face loaders no longer infer behaviour from name prefixes).
struct Architecture: Sendable {
    enum Linears: Sendable {
        case ternarized   // BitNet: float linears become ternary (absmean), ternary types used as they are
        case asStored     // float and group-scaled linears run as stored, ternary types as ternary
    }
    let name: String                       // GGUF general.architecture; ModelConfig.architecture
    let activation: ModelConfig.Activation
    let subNorms: Bool                     // RMSNorm before wo and down (BitNet)
    let qkNorm: Bool                       // per-head RMSNorm of q and k before RoPE (Qwen3)
    let ggufRoPE: ModelConfig.RoPEStyle    // GGUF `llama` files permute Q/K: adjacent pairs
    let linears: Linears
    let defaultNormEps: Float

    static let all: [Architecture] = [
        Architecture(name: "bitnet-b1.58", activation: .relu2, subNorms: true, qkNorm: false, ggufRoPE: .neox,
                     linears: .ternarized, defaultNormEps: 1e-5),
        Architecture(name: "bitnet-25", activation: .relu2, subNorms: true, qkNorm: false, ggufRoPE: .neox,
                     linears: .ternarized, defaultNormEps: 1e-5),
        Architecture(name: "bitnet", activation: .silu, subNorms: true, qkNorm: false, ggufRoPE: .neox,
                     linears: .ternarized, defaultNormEps: 1e-5),
        Architecture(name: "llama", activation: .silu, subNorms: false, qkNorm: false, ggufRoPE: .adjacent,
                     linears: .asStored, defaultNormEps: 1e-5),
        Architecture(name: "qwen3", activation: .silu, subNorms: false, qkNorm: true, ggufRoPE: .neox,
                     linears: .asStored, defaultNormEps: 1e-6),
    ]

    static func named(_ name: String) -> Architecture? { all.first { $0.name == name } }
    static var names: String { all.map(\.name).joined(separator: ", ") }

    /// The architecture of a Hugging Face config (`architectures[0]`, and for BitNet the activation).
    static func huggingFace(_ archName: String, activation: String) -> Architecture? {
        switch archName {
        case "BitNetForCausalLM", "BitnetForCausalLM": return named(activation == "relu2" ? "bitnet-b1.58" : "bitnet")
        case "LlamaForCausalLM": return named("llama")
        case "Qwen3ForCausalLM": return named("qwen3")
        default: return nil
        }
    }
    static let huggingFaceNames = ["BitNetForCausalLM", "BitnetForCausalLM", "LlamaForCausalLM", "Qwen3ForCausalLM"]
}
