import TritKernels

/// A loaded model: immutable after load and shareable by many threads. Per-sequence state
/// lives in `InferenceState` (one per context).
public final class Model: @unchecked Sendable {
    public enum SourceFormat: String, Sendable { case gguf, huggingface }

    public let config: ModelConfig
    public internal(set) var layers: [LayerWeights]   // set at load only (Model.load's ternary layout)
    public let tokenEmbedding: DenseMatrix        // [vocab × dim]
    public let outputNorm: [Float]                // [dim]
    public let output: DenseMatrix                // [vocab × dim]; the embedding when tied
    public private(set) var int8Output: Int8Matrix?  // .int8: used instead of `output`; .certified: as well
    public private(set) var headMode: HeadMode = .exact
    public private(set) var headBounds: HeadBounds?  // .certified: the per-row constants of the bound
    public private(set) var q4Output: Q4Head?        // .certified4: the 4-bit head that finds the candidates
                                                     // (int8Output, headBounds: for the steps it cannot decide)
    public let ropeFreqFactors: [Float]?          // optional per-pair divisors of θ_i
    public let path: String
    public let source: SourceFormat
    public let fileType: String                   // e.g. "I2_S", "TQ2_0", "F32", "HF packed"
    public let name: String
    public let tokenizer: Tokenizer?
    public let metadata: [(String, String)]       // key → rendered value, for `info`
    /// The file's Jinja chat template (GGUF `tokenizer.chat_template`; HF tokenizer_config.json's
    /// `chat_template`, or its entry named "default"), as written; nil when the file has none.
    public internal(set) var chatTemplateSource: String?
    /// Hadamard folding (`prism.hadamard.*`): the transform of the listed weights' inputs (their
    /// Projection.hadamard) and, when `foldedEmbedding`, of each embedding row.
    public internal(set) var hadamard: HadamardFolding?
    public internal(set) var foldedEmbedding = false
    /// The pooling the file asks for (GGUF `<arch>.pooling_type`, sentence-transformers'
    /// Pooling module); nil when it says nothing.
    public internal(set) var filePooling: Pooling?
    /// What embeddings use unless told otherwise: the file's pooling, else the last position's.
    public var defaultPooling: Pooling { filePooling ?? .last }
    /// An embedding model (output: pooling) has no head to generate with.
    public var canGenerate: Bool { config.arch.output != .pooling }
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

    /// How the output head computes the logits of generated tokens.
    public enum HeadMode: String, Sendable, CaseIterable {
        /// The head as stored (F16 for 2B4T): the reference.
        case exact
        /// int8 per row: half the head's bytes per generated token; logits move by about 1e-2, so
        /// the argmax can differ at near-ties (README "Fewer bytes per token").
        case int8
        /// int8 to find the rows that can still be chosen (a rigorous bound on each logit's error),
        /// then those rows exactly: the tokens of `.exact` at nearly the bytes of `.int8`
        /// (docs/formats.md §7). Full logit rows (`trit_eval`) stay exact.
        case certified
        /// `.certified` with a 4-bit head (an f16 scale per 32 columns) finding the candidates: fewer
        /// bytes a token, more candidates; a step it cannot decide (more than vocab/8 candidates) is
        /// decided by the int8 head, which then serves the next 32 steps (docs/formats.md §7.1). Holds
        /// both compact heads.
        case certified4
    }

    /// Choices made at load time.
    public struct LoadOptions {
        public var head: HeadMode = .exact
        /// Group-scaled linears (Q1_0, Q2_0, PQ2_0, PTQ1_0) with float activations: the weights
        /// decoded to F16, the reference's arithmetic (≤ 1e-4 from transformers; 2 bytes a weight).
        /// Off: int8 activations per token with the group-scaled kernels (fast; logits within ~0.04).
        public var floatActivations = false
        /// The same as `head = .int8` (the older spelling).
        public var int8Head: Bool {
            get { head == .int8 }
            set { head = newValue ? .int8 : (head == .int8 ? .exact : head) }
        }
        /// A GGUF head or embedding in ggml's block types read in its blocks (docs/formats.md §10); false
        /// decodes it to an F32 copy at load, the former path (the tests' reference).
        var headBlocksInPlace = true
        /// How ternary linears are held: packed 2-bit rows, 5-trit rows (1.6 bits a weight) or both (TernaryLayout).
        public var ternaryLayout: TernaryLayout = .auto
        /// Called with progress in [0, 1]; returning false cancels the load (TritError .cancelled).
        public var progress: ((Float) -> Bool)?
        public init() {}
    }

    /// Loads a GGUF file or a Hugging Face model folder (config.json + safetensors).
    public static func load(path: String, options: LoadOptions = LoadOptions()) throws -> Model {
        let progress = LoadProgress(callback: options.progress)
        try progress.report(0)
        let m = isDirectory(path)
            ? try HFModelLoader.load(folder: path, progress: progress)
            : try GGUFModelLoader.load(path: path, floatActivations: options.floatActivations,
                                       headBlocksInPlace: options.headBlocksInPlace, progress: progress)
        // (TQ1_0 tensors are loaded in place; .auto and .2bit convert them, so those pass too)
        let layout = options.ternaryLayout
        if layout.resolved != .packed2 || m.layers.contains(where: { $0.linears.contains { $0.linear.isTQ1 } }) {
            let threads = Defaults.onlineCores
            let pool = threads > 1 ? tk_pool_shared(Int32(threads)) : nil
            defer { if let pool { tk_pool_free(pool) } }
            for i in m.layers.indices { try m.layers[i].convertTernary(layout, pool: pool) }
        }
        if options.head != .exact {
            let h8 = try Int8Matrix(quantizing: m.output)
            m.int8Output = h8
            m.headMode = options.head
            // certified4: the 4-bit head finds the candidates; the int8 head decides the steps it cannot
            if options.head == .certified4 { m.q4Output = try Q4Head(head: m.output) }
            if options.head == .certified || options.head == .certified4 {
                m.headBounds = try HeadBounds(head: m.output, int8: h8)
            } else if let f = m.output.owner as? MappedFile {
                // the F16 head's pages are no longer read for the product: let the kernel drop them
                f.dontNeed(m.output.data, m.output.byteCount)
            }
        }
        try progress.report(1)
        return m
    }

    /// Number of parameters (weights counted once; a tied head is not counted twice).
    public var parameterCount: Int {
        var n = tokenEmbedding.rows * tokenEmbedding.cols + outputNorm.count
        if output !== tokenEmbedding { n += output.rows * output.cols }
        for l in layers {
            for (_, lin) in l.linears { n += lin.rows * lin.cols }
            for g in l.norms { n += g.count }
        }
        return n
    }

    /// Bytes of weights the runtime holds (mapped or converted).
    public var weightBytes: Int {
        var n = tokenEmbedding.byteCount + outputNorm.count * 4
        if output !== tokenEmbedding { n += output.byteCount }
        for l in layers {
            for (_, lin) in l.linears { n += lin.byteCount }
            for g in l.norms { n += 4 * g.count }
        }
        return n
    }

    /// Bytes a KV cache of `nCtx` positions takes (K and V of `type` for every layer).
    public func kvCacheBytes(nCtx: Int, type: KVCacheType = .f32) -> Int {
        2 * config.nLayers * nCtx * config.nKVHeads * type.headBytes(config.headDim)
    }
}
