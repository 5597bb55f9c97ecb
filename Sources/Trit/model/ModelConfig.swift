/// Hyperparameters and the architecture choices the forward pass branches on.
public struct ModelConfig: Sendable {
    public enum Activation: String, Sendable { case relu2, silu }
    public enum RoPEStyle: String, Sendable {
        case neox      // pairs (i, i + d/2): HF rotate_half, every native BitNet checkpoint
        case adjacent  // pairs (2i, 2i+1): GGUF `llama` files with permuted Q/K
    }

    public var architecture: String      // as named in the file: bitnet-b1.58, bitnet-25, bitnet, llama
    public var activation: Activation
    public var subNorms: Bool
    public var rope: RoPEStyle
    public var dim: Int
    public var ffnDim: Int
    public var nLayers: Int
    public var nHeads: Int
    public var nKVHeads: Int
    public var headDim: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var ropeTheta: Float
    public var normEps: Float
    public var tiedEmbeddings: Bool

    public var qDim: Int { nHeads * headDim }
    public var kvDim: Int { nKVHeads * headDim }

    /// Consistency checks on values read from a file.
    func validate(origin: String) throws {
        func bad(_ m: String) -> TritError { TritError.format("\(origin): \(m)") }
        let limit = 1 << 20
        for (name, v) in [("embedding length", dim), ("feed-forward length", ffnDim), ("block count", nLayers),
                          ("head count", nHeads), ("KV head count", nKVHeads), ("vocabulary size", vocabSize)] {
            guard v > 0, v <= limit else { throw bad("\(name) \(v) is out of range") }
        }
        guard nHeads % nKVHeads == 0 else { throw bad("head count \(nHeads) is not a multiple of the KV head count \(nKVHeads)") }
        guard headDim > 0, headDim % 2 == 0, headDim <= 1024 else { throw bad("head dimension \(headDim) must be even and at most 1024") }
        guard contextLength > 0 else { throw bad("context length \(contextLength) is out of range") }
        guard ropeTheta > 0, ropeTheta.isFinite else { throw bad("rope theta \(ropeTheta) is invalid") }
        guard normEps > 0, normEps.isFinite, normEps < 1 else { throw bad("RMS norm epsilon \(normEps) is invalid") }
    }
}
