import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One sequence's state: the KV cache, activation buffers and the thread pool. Allocated
/// once; `evaluate` allocates nothing per token. Used by one thread at a time.
public final class InferenceState {
    public let model: Model
    public let nCtx: Int
    public let maxBatch: Int
    /// Positions held by sequence 0 (the single-sequence API).
    public internal(set) var nPast: Int {
        get { seqPast[0] }
        set { seqPast[0] = newValue }
    }
    /// Independent sequences sharing this state's weights pass (multi-sequence batches).
    public let nSeq: Int
    /// Positions held by each sequence.
    public internal(set) var seqPast: [Int]
    let kernels: UnsafePointer<tk_kernels>
    let pool: OpaquePointer?

    // Activations, [maxBatch][width] each.
    let x, xb, xb2, q, k, v, att, hb, hb2: FloatArray
    let xn: FloatArray             // a projection's normed input (Architecture.Norms.beforeProjection)
    /// What the forward pass reads of the architecture and the shape, resolved once (no struct
    /// holding the description's tables is copied per layer or per projection).
    let plan: ForwardPlan
    let xq: AlignedBuffer          // int8 [maxBatch][maxKp]
    let xs: FloatArray             // per-row activation scale s
    let xsum: AlignedBuffer        // int32 per-row sum of q
    let xgsum: AlignedBuffer       // int32 [maxBatch][maxKp/64]: −Σ xq per group (group-scaled linears)
    var summedGroup = 0            // the group size xgsum was made for from the current xq (0: none)
    let attScratch: FloatArray     // [nThreads][attScratchStride]: attention tiles, one per pool thread
    let attScratchStride: Int
    let attPartials: FloatArray    // [chunk][maxBatch][nHeads] partial sums of rows longer than a chunk
    let rowKeys, rowValues: UnsafeMutablePointer<UnsafePointer<UInt8>?>  // [maxBatch]: cache of each row (one layer)
    let rowKV: UnsafeMutablePointer<Int64>                               // [maxBatch]: positions each row attends to
    /// The sequences' memory: keys and values of the attention layers (SequenceMemory.swift).
    let kv: KVCache
    /// The Gated DeltaNet layers' conv and delta-rule states (nil without such layers).
    let recurrent: RecurrentState?
    // Gated DeltaNet activations, [maxBatch][width] each (empty without such layers): the conv's
    // input and output (q, k, v), z, β, g, the delta rule's output, one head's delta
    let dnQKV, dnZ, dnBeta, dnG, dnOut: FloatArray
    let dnRowState: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>  // [maxBatch]: each row's delta-rule state
    let dnRowConv: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>   // [maxBatch]: each row's conv state
    let dnKeyHead: [Int32]         // the key head each value head reads
    /// The chunked delta rule (prompts): g before exponentiation [maxBatch][valueHeads], and each
    /// pool thread's workspace (tk_delta_work_floats).
    let dnLogG, dnWork: FloatArray
    /// Runs of at least this many rows of one sequence take the delta rule's chunked form (0: every row
    /// the recurrent form, which makes a prompt's result independent of how it is split into batches).
    /// Default `defaultDeltaChunkMin`, or the environment's TRIT_DELTA_CHUNK_MIN (for measurements).
    public var deltaChunkMin: Int
    /// Gated attention (qwen35): q_proj's rows [query | gate] per head, and the gates.
    let qGate, gate: FloatArray
    /// A Hadamard-folded projection's input, H·(s ⊙ x) (empty without folding).
    let xh: FloatArray
    /// The sequences' memory behind the interface every per-sequence operation goes through
    /// (the forward pass writes `kv` directly: no dynamic dispatch per token). Tests may wrap it.
    var memory: SequenceMemory
    /// How keys and values are stored.
    public var keyType: KVCacheType { kv.keyType }
    public var valueType: KVCacheType { kv.valueType }
    /// Int8 attention scores over the Q8_0 key cache (the query quantized per 32-value block, integer dots;
    /// TritKernels' attention_q8): opt-in, its logits differ slightly from the float scores' (docs/formats.md §9).
    public let attentionInt8: Bool
    let rowSeq: UnsafeMutablePointer<Int>  // [maxBatch]: sequence of each row of a batch
    let seqTokenBuffer: AlignedBuffer      // int32 [nSeq][nCtx]: the tokens each sequence holds
    var seqTokens: UnsafeMutablePointer<Int32> { seqTokenBuffer.raw.assumingMemoryBound(to: Int32.self) }
    let headRowBuffer: UnsafeMutablePointer<Int>  // [maxBatch]: rows of a batch whose logits are wanted
    /// Positions all sequences may hold together (decode refuses a batch beyond it).
    public let cellCapacity: Int
    let rowPos: UnsafeMutablePointer<Int>  // [maxBatch]: position of each row
    /// [nSeq]: a bidirectional model's positions of each sequence in the batch (every row sees them all)
    let seqEnd: UnsafeMutablePointer<Int>
    var invFreq: [Float]           // [ropeDim/2]
    let ropeAttentionFactor: Float // YaRN's factor on cos and sin (1 otherwise)
    let ropeCos, ropeSin: FloatArray   // [maxBatch][ropeDim/2]: the rotation of each position in a batch
    /// The sliding layers' own RoPE base (Gemma3 rope_local_base_freq): its frequencies and
    /// rotations (empty when the model has one base).
    let invFreqLocal: [Float]
    let ropeCosLocal, ropeSinLocal: FloatArray
    let logitsBuffer: FloatArray   // [vocab], logits of the last evaluated token
    public internal(set) var hasLogits = false
    /// Certified head: generation defers the head (`deferHead`); the last row's normed hidden state
    /// waits in headInput (headPending) until a token is sampled or the full row is asked for.
    var deferHead = false
    var headPending = false
    let headInput: FloatArray      // [dim]
    let certified: CertifiedScratch?
    /// Seconds spent in the output head since the state was made (the product of every row asked for;
    /// with a certified head its compact head, intervals and exact candidate rows): the work a
    /// generated token adds to its pass through the layers, for `trit bench --concurrency`'s bound.
    public internal(set) var headSeconds = 0.0
    /// Seconds spent in the layers' products (`linear`: the quantization of their input and the weights'
    /// stream) since the state was made: with `headSeconds`, the part of a token that reads the weights
    /// (`trit bench --paired-roofline` reports the rest).
    public internal(set) var productSeconds = 0.0
    var headDepth = 0   // nested head calls are timed once, by the outermost

    /// Test hook, called after every activation quantization with (call number, input rows,
    /// int8 rows, scales, sums, rows, width, padded width); it may change the int8 values (and
    /// must then fix the sums). Used to show which int8 rounding flip explains a logit difference.
    typealias QuantizationHook = (_ call: Int, _ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>,
                                         _ s: UnsafePointer<Float>, _ qsum: UnsafeMutablePointer<Int32>,
                                         _ n: Int, _ cols: Int, _ kp: Int) -> Void
    var quantizationHook: QuantizationHook?
    /// Asked between layers of every forward pass; true aborts the evaluation (TritError
    /// .cancelled) and leaves the state as it was before the call.
    public var shouldAbort: (() -> Bool)?
    var quantizationCalls = 0

    /// `cells` caps the positions all sequences hold together (0: nSeq × nCtx). The cache is
    /// reserved for nSeq × nCtx positions but committed only as positions are used. Keys and
    /// values are stored as `kvType` unless `valueType` differs (F32 here: exact; the C API, Python
    /// and the CLI default to F16). `checkpoints`: how many copies of its recurrent state each sequence
    /// of a hybrid model may keep (RecurrentState; ignored by other models).
    /// deltaChunkMin's default: 0, the recurrent form for every row. Measured on the qwen35-2b preset
    /// (2-core Zen 3, pp512, 2 threads) the chunked form (TRIT_DELTA_CHUNK_MIN=64) was not faster: 30.2 vs
    /// 36.8 and 26.8 vs 28.2 t/s in two interleaved rounds (the delta rule is ~8% of a prompt's time; its
    /// chunked kernel, SSE2, 26 ms vs 22 ms per 128 rows × 16 heads of 128); and with 0 a prompt's result
    /// does not depend on how it is split into batches (the engine's batch invariance).
    public static let defaultDeltaChunkMin = 0

    public init(model: Model, nCtx: Int, nThreads: Int = 1, maxBatch: Int = 128, kernel: String? = nil, nSeq: Int = 1,
                cells: Int = 0, kvType: KVCacheType = .f32, valueType vType: KVCacheType? = nil,
                checkpoints: Int = 1, attentionInt8: Bool = false) throws {
        let c = model.config
        guard !attentionInt8 || kvType == .q8_0 else {
            throw TritError.argument("int8 attention needs a q8_0 key cache (type_k q8_0); the keys are \(kvType.name)")
        }
        self.attentionInt8 = attentionInt8
        guard nCtx > 0 else { throw TritError.argument("n_ctx must be positive, got \(nCtx)") }
        guard nSeq >= 1, nSeq <= 4096 else { throw TritError.argument("n_seq must be between 1 and 4096, got \(nSeq)") }
        self.nSeq = nSeq
        seqPast = [Int](repeating: 0, count: nSeq)
        guard nThreads >= 1, nThreads <= 512 else { throw TritError.argument("n_threads must be between 1 and 512, got \(nThreads)") }
        guard maxBatch >= 1, maxBatch <= 4096 else { throw TritError.argument("batch size must be between 1 and 4096, got \(maxBatch)") }
        self.model = model
        self.nCtx = nCtx
        self.maxBatch = maxBatch
        kernels = try KernelSelection.kernels(named: kernel)
        // the attention layers only (a hybrid's DeltaNet layers keep a recurrent state instead)
        let attentionLayers = (0..<c.nLayers).filter { c.kind(ofLayer: $0) == .attention }.count
        kv = try KVCache(nSeq: nSeq, nCtx: nCtx, layers: attentionLayers, kvHeads: c.nKVHeads, headDim: c.headDim,
                         keyType: kvType, valueType: vType ?? kvType)
        let B = maxBatch
        let dn = c.deltaNet, nDeltaNet = (0..<c.nLayers).filter { c.kind(ofLayer: $0) == .gatedDeltaNet }.count
        if let dn, nDeltaNet > 0 {
            let r = try RecurrentState(nSeq: nSeq, layers: nDeltaNet, shape: dn, checkpoints: checkpoints)
            recurrent = r
            memory = HybridMemory(kv: kv, recurrent: r)
        } else {
            recurrent = nil
            memory = kv
        }
        let dnRows = recurrent == nil ? 0 : B
        dnQKV = try FloatArray(count: dnRows * (dn?.convDim ?? 0), what: "activations")
        dnZ = try FloatArray(count: dnRows * (dn?.valueDim ?? 0), what: "activations")
        dnOut = try FloatArray(count: dnRows * (dn?.valueDim ?? 0), what: "activations")
        dnBeta = try FloatArray(count: dnRows * (dn?.valueHeads ?? 0), what: "activations")
        dnG = try FloatArray(count: dnRows * (dn?.valueHeads ?? 0), what: "activations")
        dnRowState = .allocate(capacity: B)
        dnRowConv = .allocate(capacity: B)
        dnLogG = try FloatArray(count: dnRows * (dn?.valueHeads ?? 0), what: "activations")
        dnWork = try FloatArray(count: dn.map { d in dnRows == 0 ? 0 : max(nThreads, 1)
                                    * Int(tk_delta_work_floats(Int64(d.keyHeadDim), Int64(d.valueHeadDim))) } ?? 0,
                                what: "delta rule workspace")
        deltaChunkMin = getenv("TRIT_DELTA_CHUNK_MIN").flatMap { Int(String(cString: $0)) } ?? Self.defaultDeltaChunkMin
        dnKeyHead = dn.map { s in (0..<s.valueHeads).map { Int32(s.keyHead(ofValueHead: $0)) } } ?? []
        let gated = c.arch.attention.gatedOutput
        qGate = try FloatArray(count: gated ? B * 2 * c.qDim : 0, what: "activations")
        xh = try FloatArray(count: model.hadamard == nil ? 0 : B * max(c.dim, c.qDim, c.ffnDim, dn?.valueDim ?? 0),
                            what: "activations")
        gate = try FloatArray(count: gated ? B * c.qDim : 0, what: "activations")
        x = try FloatArray(count: B * c.dim, what: "activations")
        xb = try FloatArray(count: B * max(c.dim, c.qDim), what: "activations")
        xb2 = try FloatArray(count: B * c.dim, what: "activations")
        q = try FloatArray(count: B * c.qDim, what: "activations")
        k = try FloatArray(count: B * c.kvDim, what: "activations")
        v = try FloatArray(count: B * c.kvDim, what: "activations")
        att = try FloatArray(count: B * c.qDim, what: "activations")
        hb = try FloatArray(count: B * c.ffnDim, what: "activations")
        hb2 = try FloatArray(count: B * c.ffnDim, what: "activations")
        plan = ForwardPlan(c)
        xn = try FloatArray(count: c.arch.norms.beforeProjection.isEmpty ? 0 : B * max(c.dim, c.qDim, c.ffnDim),
                            what: "activations")
        let maxKp = TernaryPacking.rowBytes(cols: max(c.dim, c.qDim, c.ffnDim, dn?.valueDim ?? 0)) * 4
        xq = try AlignedBuffer(byteCount: B * maxKp, what: "quantized activations")
        xs = try FloatArray(count: B, what: "activation scales")
        xsum = try AlignedBuffer(byteCount: B * 4, what: "activation sums")
        xgsum = try AlignedBuffer(byteCount: B * (maxKp / 64) * 4, what: "activation sums")
        let group = c.nHeads / max(c.nKVHeads, 1)
        attScratchStride = (Int(tk_att_scratch_floats(Int64(group), Int64(c.headDim))) + 15) / 16 * 16
        attScratch = try FloatArray(count: nThreads * attScratchStride, what: "attention scratch")
        // rows longer than one chunk of positions are split; their partial sums wait here
        let chunks = (nCtx + Int(TK_ATT_CHUNK) - 1) / Int(TK_ATT_CHUNK)
        attPartials = try FloatArray(count: chunks > 1 ? try checkedMul(chunks * B * c.nHeads, Int(tk_att_partial_floats(Int64(c.headDim))),
                                                                       "attention partials") : 0,
                                     what: "attention partials")
        rowSeq = .allocate(capacity: B)
        seqTokenBuffer = try AlignedBuffer(byteCount: try checkedMul(nSeq * nCtx, 4, "token lists"), what: "token lists")
        headRowBuffer = .allocate(capacity: B)
        cellCapacity = cells > 0 ? min(cells, nSeq * nCtx) : nSeq * nCtx
        rowPos = .allocate(capacity: B)
        seqEnd = .allocate(capacity: nSeq)
        rowKeys = .allocate(capacity: B)
        rowValues = .allocate(capacity: B)
        rowKV = .allocate(capacity: B)
        logitsBuffer = try FloatArray(count: c.vocabSize, what: "logits")
        headInput = try FloatArray(count: c.dim, what: "activations")
        certified = model.headMode == .certified || model.headMode == .certified4
            ? try CertifiedScratch(vocab: c.vocabSize, rows: min(nSeq, maxBatch), q4: model.q4Output) : nil
        ropeCos = try FloatArray(count: B * (c.ropeDim / 2), what: "RoPE table")
        ropeSin = try FloatArray(count: B * (c.ropeDim / 2), what: "RoPE table")
        // inv_freq_i = θ^(−2i/hd) in f32, as HF computes it, changed by the file's linear or YaRN
        // scaling (RoPEScaling); optional per-pair divisors (rope_freqs)
        // (partial rotary: over the rotated dimensions, as transformers' `dim`)
        let (scaled, attFactor) = c.ropeScaling.frequencies(headDim: c.ropeDim, theta: c.ropeTheta,
                                                            contextLength: c.contextLength)
        ropeAttentionFactor = attFactor
        var f: [Float] = []
        for i in 0..<(c.ropeDim / 2) {
            var v = scaled[i]
            if let ff = model.ropeFreqFactors, i < ff.count, ff[i] != 0 { v /= ff[i] }
            f.append(v)
        }
        invFreq = f
        // the local base's inv_freq as for the global one, without the file's scaling (transformers
        // applies rope_scaling to the global layers only)
        invFreqLocal = plan.localRope
            ? RoPEScaling().frequencies(headDim: c.ropeDim, theta: c.localRopeTheta, contextLength: c.contextLength).0
            : []
        ropeCosLocal = try FloatArray(count: plan.localRope ? B * (c.ropeDim / 2) : 0, what: "RoPE table")
        ropeSinLocal = try FloatArray(count: plan.localRope ? B * (c.ropeDim / 2) : 0, what: "RoPE table")
        if nThreads > 1 {
            guard let p = tk_pool_shared(Int32(nThreads)) else {
                throw TritError(.outOfMemory, "cannot start \(nThreads) threads")
            }
            pool = p
        } else {
            pool = nil
        }
    }

    deinit {
        if let p = pool { tk_pool_free(p) }
        rowSeq.deallocate()
        headRowBuffer.deallocate()
        rowPos.deallocate()
        seqEnd.deallocate()
        rowKeys.deallocate()
        rowValues.deallocate()
        rowKV.deallocate()
        dnRowState.deallocate()
        dnRowConv.deallocate()
    }

    public var kernelName: String { String(cString: kernels.pointee.name) }

    /// The logits after the last evaluated token ([vocab]); valid until the next evaluate/reset.
    public var lastLogits: UnsafeBufferPointer<Float> {
        if headPending && hasLogits { exactHead(from: headInput.ptr, into: logitsBuffer.ptr); headPending = false }
        return UnsafeBufferPointer(start: logitsBuffer.ptr, count: hasLogits ? model.config.vocabSize : 0)
    }

    /// The tokens sequence 0 holds (the single-sequence API's context), in order.
    public var tokens: [Int32] { tokens(of: 0) }

    /// Forgets every position of every sequence, giving their memory back (the next evaluate
    /// starts at position 0).
    public func reset() {
        for s in 0..<nSeq { memory.rollBack(sequence: s, length: seqPast[s], to: 0); seqPast[s] = 0 }
        hasLogits = false
    }

    /// Appends `tokens` at positions nPast..., updating the cache. When `allLogits` is given it
    /// receives tokens.count × vocab floats (row i = prediction after token i); the logits of
    /// the last token are always kept in `lastLogits`. `abortable`: `shouldAbort` is asked between
    /// layers (generation turns it off for the tokens it has delivered, and asks between tokens).
    public func evaluate(_ tokens: UnsafeBufferPointer<Int32>, allLogits: UnsafeMutablePointer<Float>? = nil,
                         abortable: Bool = true) throws {
        let vocab = model.config.vocabSize
        try requireHead()
        for (i, t) in tokens.enumerated() where t < 0 || Int(t) >= vocab {
            throw TritError.argument("token \(t) at index \(i) is out of range (vocabulary has \(vocab) tokens)")
        }
        guard tokens.count <= nCtx - nPast else {
            throw TritError(.contextFull, "\(tokens.count) tokens do not fit: the context holds \(nPast) of \(nCtx) positions")
        }
        if !plan.causal { try checkOnePass(rows: tokens.count, sequencePast: nPast, sequence: 0) }
        // a cancelled or aborted call leaves the context as it was
        let past0 = nPast, hadLogits = hasLogits
        var start = 0
        do {
            while start < tokens.count {
                let n = min(maxBatch, tokens.count - start)
                let isLast = start + n == tokens.count
                let chunk = UnsafeBufferPointer(rebasing: tokens[start..<(start + n)])
                for t in 0..<n { rowSeq[t] = 0; rowPos[t] = nPast + t; seqTokens[nPast + t] = chunk[t] }
                if start == 0 { hasLogits = false }  // the old logits no longer describe the last position
                // a recurrent state changes in place: only the first chunk may abort (before its first layer)
                try forward(chunk, logitsOut: allLogits.map { $0 + start * vocab }, wantLast: isLast,
                            abortable: abortable && (recurrent == nil || start == 0))
                nPast += n
                start += n
            }
        } catch {
            nPast = past0
            hasLogits = hadLogits
            throw error
        }
    }

    /// Evaluates one batch of rows from several sequences at once: row i appends tokens[i] to
    /// sequence seqs[i] (rows of one sequence in order). One pass over the weights serves every
    /// row. `logits` receives one row of vocab floats per token.
    public func evaluateBatch(_ tokens: UnsafeBufferPointer<Int32>, sequences seqs: UnsafeBufferPointer<Int32>,
                              logits: UnsafeMutablePointer<Float>) throws {
        try decode(tokens, sequences: seqs, wantLogits: nil, logits: logits)
    }

    public func evaluate(_ tokens: [Int32], allLogits: UnsafeMutablePointer<Float>? = nil, abortable: Bool = true) throws {
        try tokens.withUnsafeBufferPointer { try evaluate($0, allLogits: allLogits, abortable: abortable) }
    }
}

/// The few values of a model's description and shape the per-token path reads (plain values).
struct ForwardPlan {
    let dim, qDim, kvDim, ffnDim, headDim, nHeads, nKVHeads: Int
    /// Half the rotated dimensions of a head (partial rotary rotates the first ropeDim).
    let ropeHalf: Int
    let gatedOutput: Bool
    let deltaNet: DeltaNetShape?
    /// Each layer's index among the Gated DeltaNet layers (its recurrent state), −1 for others.
    let deltaNetOrdinal: [Int]
    /// Each layer's index among the attention layers (its KV cache layer), −1 for others.
    let attentionOrdinal: [Int]
    let normsBefore: Architecture.Projections
    let qkNorm: Bool
    let activation: Architecture.Activation
    /// Gemma3: the token embedding times √hidden (f32), the attention output and the feed-forward
    /// output normed before the residual, the score scale.
    let embeddingScale: Float
    let postAttentionNorm, postFeedForwardNorm: Bool
    let attentionScale: Float
    /// Sliding-window layers (one flag per layer; empty: none) and their window; a second RoPE base.
    let slidingLayers: [Bool]
    let slidingWindow: Int
    let localRope: Bool
    /// Causal, or every position of an input seeing every other (one pass per input).
    let causal: Bool

    init(_ c: ModelConfig) {
        dim = c.dim; qDim = c.qDim; kvDim = c.kvDim; ffnDim = c.ffnDim; headDim = c.headDim
        nHeads = c.nHeads; nKVHeads = c.nKVHeads
        ropeHalf = c.ropeDim / 2
        gatedOutput = c.arch.attention.gatedOutput
        deltaNet = c.deltaNet
        func ordinals(_ kind: Architecture.LayerKind) -> [Int] {
            var i = 0
            return (0..<c.nLayers).map { l in
                guard c.kind(ofLayer: l) == kind else { return -1 }
                i += 1
                return i - 1
            }
        }
        deltaNetOrdinal = ordinals(.gatedDeltaNet)
        attentionOrdinal = ordinals(.attention)
        normsBefore = c.arch.norms.beforeProjection
        qkNorm = c.arch.norms.qk
        activation = c.arch.activation
        // transformers: embed · tensor(hidden ** 0.5) in the weight's dtype (f32 here)
        embeddingScale = c.arch.embeddingScale == .sqrtDim ? Float(Double(c.dim).squareRoot()) : 1
        postAttentionNorm = c.arch.norms.postAttention
        postFeedForwardNorm = c.arch.norms.postFeedForward
        attentionScale = c.attentionScale ?? 1 / Float(c.headDim).squareRoot()
        slidingLayers = c.slidingWindow > 0 ? c.slidingLayers : []
        slidingWindow = c.slidingWindow
        localRope = !slidingLayers.isEmpty && c.localRopeTheta > 0
        causal = c.causal
    }
}
