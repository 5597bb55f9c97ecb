import TritKernels

/// A loaded model: immutable after load and shareable by many threads. Per-sequence state
/// lives in `InferenceState` (one per context).
public final class Model: @unchecked Sendable {
    public enum SourceFormat: String, Sendable { case gguf, huggingface }

    public let config: ModelConfig
    public let layers: [LayerWeights]
    public let tokenEmbedding: DenseMatrix        // [vocab × dim]
    public let outputNorm: [Float]                // [dim]
    public let output: DenseMatrix                // [vocab × dim]; the embedding when tied
    public let ropeFreqFactors: [Float]?          // optional per-pair divisors of θ_i
    public let path: String
    public let source: SourceFormat
    public let fileType: String                   // e.g. "I2_S", "TQ2_0", "F32", "HF packed"
    public let name: String
    public let tokenizer: Tokenizer?
    public let metadata: [(String, String)]       // key → rendered value, for `info`
    let files: [AnyObject]

    init(config: ModelConfig, layers: [LayerWeights], tokenEmbedding: DenseMatrix, outputNorm: [Float],
         output: DenseMatrix, ropeFreqFactors: [Float]?, path: String, source: SourceFormat, fileType: String,
         name: String, tokenizer: Tokenizer?, metadata: [(String, String)], files: [AnyObject]) {
        self.config = config
        self.layers = layers
        self.tokenEmbedding = tokenEmbedding
        self.outputNorm = outputNorm
        self.output = output
        self.ropeFreqFactors = ropeFreqFactors
        self.path = path
        self.source = source
        self.fileType = fileType
        self.name = name
        self.tokenizer = tokenizer
        self.metadata = metadata
        self.files = files
    }

    /// Loads a GGUF file or a Hugging Face model folder (config.json + safetensors).
    public static func load(path: String) throws -> Model {
        if isDirectory(path) { return try HFModelLoader.load(folder: path) }
        return try GGUFModelLoader.load(path: path)
    }

    /// Number of parameters (weights counted once; a tied head is not counted twice).
    public var parameterCount: Int {
        var n = tokenEmbedding.rows * tokenEmbedding.cols + outputNorm.count
        if output !== tokenEmbedding { n += output.rows * output.cols }
        for l in layers {
            for lin in [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down] { n += lin.rows * lin.cols }
            n += l.attnNorm.count + l.ffnNorm.count + (l.attnSubNorm?.count ?? 0) + (l.ffnSubNorm?.count ?? 0)
        }
        return n
    }

    /// Bytes of weights the runtime holds (mapped or converted).
    public var weightBytes: Int {
        var n = tokenEmbedding.byteCount + outputNorm.count * 4
        if output !== tokenEmbedding { n += output.byteCount }
        for l in layers {
            for lin in [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down] { n += lin.byteCount }
            n += 4 * (l.attnNorm.count + l.ffnNorm.count + (l.attnSubNorm?.count ?? 0) + (l.ffnSubNorm?.count ?? 0))
        }
        return n
    }

    /// Bytes a KV cache of `nCtx` positions takes (f32 K and V for every layer).
    public func kvCacheBytes(nCtx: Int) -> Int {
        2 * config.nLayers * nCtx * config.kvDim * 4
    }
}
