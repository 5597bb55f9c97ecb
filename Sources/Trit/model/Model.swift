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
    public private(set) var int8Output: Int8Matrix?  // LoadOptions.int8Head: used instead of `output`
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

    /// Choices made at load time.
    public struct LoadOptions {
        /// Quantize the output head to int8 per row (half the bytes read per generated token;
        /// logits move by about 1e-2: see README "Fewer bytes per token"). Off by default: exact.
        public var int8Head = false
        /// Called with progress in [0, 1]; returning false cancels the load (TritError .cancelled).
        public var progress: ((Float) -> Bool)?
        public init() {}
    }

    /// Loads a GGUF file or a Hugging Face model folder (config.json + safetensors).
    public static func load(path: String, options: LoadOptions = LoadOptions()) throws -> Model {
        let progress = LoadProgress(callback: options.progress)
        try progress.report(0)
        let m = isDirectory(path) ? try HFModelLoader.load(folder: path, progress: progress)
                                  : try GGUFModelLoader.load(path: path, progress: progress)
        if options.int8Head {
            m.int8Output = try Int8Matrix(quantizing: m.output)
            // the F16 head's pages are no longer read for the product: let the kernel drop them
            if let f = m.output.owner as? MappedFile { f.dontNeed(m.output.data, m.output.byteCount) }
        }
        try progress.report(1)
        return m
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
