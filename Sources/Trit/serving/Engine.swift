#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Continuous batching: one model, one context with `slots` sequences, one scheduler thread.
///
/// Each scheduler step builds one batch: a decode row for every running request, then chunks of
/// waiting prompts (up to `nBatch` tokens when nothing decodes, else as many as there are decode
/// rows, at least 16), so a long prompt never stalls running streams for more than a short step. Requests are admitted in arrival order when a slot is free. A finished request
/// leaves its tokens in its slot; a new request goes to the free slot sharing the longest token
/// prefix with its prompt (least recently used otherwise) and evaluates only the rest. A request
/// whose prompt a running one is reading (the n choices of one OpenAI request) waits until that one
/// has read the shared part, then copies its cells (`runningSource`): the prompt is evaluated once.
///
/// Thread-safe: submit, cancel and stats may be called from any thread. The callbacks run on the
/// scheduler thread, outside the engine's lock (they may call submit, cancel and stats).
public final class Engine: @unchecked Sendable {
    public struct Options: Sendable {
        public var slots = 4          // sequences decoded together
        public var nCtx = 0           // positions per slot; 0: the model's, at most 4096
        public var nBatch = 128       // tokens evaluated per step (decode rows and prompt chunks)
        public var nThreads = 0       // 0: one per online core
        public var queueLimit = 256   // waiting requests beyond which submit fails (busy)
        public var cells = 0          // positions all slots hold together; 0: slots × nCtx
        public var kvType = Defaults.kvType       // keys
        public var valueType: KVCacheType? = nil  // values; nil: as keys
        public var attentionInt8 = false          // int8 K·Q scores (kvType must be q8_0; InferenceState)
        /// Hybrid models (qwen35): copies of its recurrent state each slot keeps at prompt chunk ends, so
        /// a request sharing a prefix resumes from the longest one within it (0 to 64; memory: slots ×
        /// checkpoints × one sequence's state, e.g. 157 MiB at 27B; reserved, committed as written).
        public var checkpoints = 4
        /// Prompt tokens a step takes at least while streams decode (1 to 4096; within n_batch): 16 keeps
        /// the streams' inter-token gaps within about two decode steps while prompts are read; n_batch fills
        /// every step as llama-server does (more tokens/s with many requests, longer gaps while they arrive).
        public var minPromptTokens = 16
        public init() {}
    }

    public enum FinishReason: String, Sendable {
        case length        // max tokens reached
        case stop          // an end-of-generation token or a stop string
        case contextFull = "context"   // the slot has no free position
        case cancelled     // cancel(), a callback that returned false, or the engine freed
        case noAllowedToken = "constraint"          // the request's constraint allowed no token
        case constraintError = "constraint_error"   // the request's constraint threw
    }

    public struct Usage: Sendable {
        public var promptTokens = 0
        public var completionTokens = 0
        public var cachedTokens = 0      // prompt tokens reused from a slot's cache
        /// Of completionTokens, those the constraint forced (jump-forward, evaluated as prompt
        /// chunks); completionTokens - forcedTokens were sampled, one decode row each.
        public var forcedTokens = 0
    }

    public struct Request {
        public var prompt: [Int32]
        public var sampling = SamplingParams()
        public var maxTokens = 128       // ≤ 0: until the slot is full
        public var stop: [String] = []
        public var ignoreEOS = false
        /// Text as it becomes final; return false to stop the request (finish reason cancelled).
        public var onPiece: ((UnsafeBufferPointer<UInt8>) -> Bool)?
        /// Called once, last, with the request's id.
        public var onDone: ((Int64, FinishReason, Usage) -> Void)?
        /// Called with every sampled token, before its text (benchmarks time tokens with it).
        public var onToken: ((Int32) -> Void)?
        /// The `logprobs` most likely tokens to report with every sampled token (0: none, at most 20).
        public var logprobs = 0
        /// With logprobs > 0: the sampled token, its log-probability under the model (log-softmax of
        /// the logits), and the most likely tokens with theirs, before the token's text.
        public var onLogprobs: ((Int32, Float, UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Float>) -> Void)?
        /// Allowed tokens per step, asked on the scheduler thread (see GenerationParams.constraint);
        /// a certified head takes its candidates among the allowed tokens. The tokens it forces after a
        /// sampled token (jump-forward) count as completion tokens and their text as generated
        /// text; they go into the next step as a prompt chunk after the sampled token. onToken sees
        /// them; onLogprobs reports each with log-probability 0 (certain under the constraint) and
        /// no alternatives (the model's row for them is not computed).
        public var constraint: TokenConstraint?
        /// An embedding request (nil: generation; Engine+Embedding.swift): the prompt's pooled final
        /// hidden states, given once to onEmbedding; nothing is generated and nothing stays cached.
        public var embedding: EmbeddingOptions?
        public var onEmbedding: ((UnsafeBufferPointer<Float>) -> Void)?
        public init(prompt: [Int32]) { self.prompt = prompt }
    }

    public struct Stats: Sendable {
        public var running = 0, waiting = 0
        public var cellsUsed = 0, cellsTotal = 0, cellsPeak = 0
        public var tokensGenerated = 0, promptTokensEvaluated = 0, requestsFinished = 0
        /// Of tokensGenerated, those forced by constraints (evaluated as prompt chunks, not sampled).
        public var tokensForced = 0
        /// The decode phase: steps whose rows were all decode rows (one a running request), their rows
        /// and their time (evaluation and sampling), for benchmarks of batched decoding.
        public var decodeSteps = 0, decodeRows = 0
        public var decodeSeconds = 0.0
        /// The same by the number of rows (index: rows, 1 to slots): steps and seconds.
        public var decodeByRows: [(steps: Int, seconds: Double)] = []
        /// Seconds in the output head (every step; `InferenceState.headSeconds`).
        public var headSeconds = 0.0
    }

    final class Job {
        let id: Int64
        let request: Request
        let sampler: Sampler
        var stream: TextStream
        var pending: ArraySlice<Int32>   // prompt tokens not evaluated yet (or a forced chunk)
        var pendingIsForced = false      // pending is a sampled token and the tokens forced after it
        var chunk: [Int32] = []          // storage of the forced chunk
        var next: Int32?                 // sampled, delivered, to be evaluated
        var usage = Usage()
        var cancelled = false
        var finish: FinishReason?
        var pooled: [Double] = []        // an embedding request's sum of pooled rows
        init(id: Int64, request: Request, sampler: Sampler, stream: TextStream) {
            self.id = id
            self.request = request
            self.sampler = sampler
            self.stream = stream
            pending = request.prompt[...]
        }
    }

    public let model: Model
    public let options: Options
    let state: InferenceState
    let tokenizer: Tokenizer
    var lock = pthread_mutex_t()
    var wake = pthread_cond_t()
    #if os(Linux)
    var thread = pthread_t()
    #else
    var thread: pthread_t? = nil   // Darwin's pthread_t is a pointer
    #endif
    var waiting: [Job] = []
    var slotJob: [Job?]
    var slotUsed: [UInt64]               // step of a slot's last use (least recently used goes first)
    var nextID: Int64 = 1
    var stopping = false
    var stats = Stats()
    var step: UInt64 = 0
    // per-step buffers
    var rowTokens: [Int32] = [], rowSeqs: [Int32] = [], rowWant: [Bool] = []
    var rowJob: [Job] = []
    var decodeRows = 0                   // of this step's rows, the running requests' decode rows
    var chunkEnds: [Int] = []            // slots whose prompt chunk this step ends at a checkpoint
    let logits: UnsafeMutablePointer<Float>
    let hidden: UnsafeMutablePointer<Float>   // certified head: the normed rows to sample from
    let embedRows: UnsafeMutablePointer<Float>   // a step with embedding rows: every flagged row normed

    public init(model: Model, options: Options = Options()) throws {
        guard let tok = model.tokenizer else { throw TritError(.state, "the model has no tokenizer; the engine needs one") }
        guard options.slots >= 1, options.slots <= 256 else { throw TritError.argument("slots must be 1 to 256, got \(options.slots)") }
        guard options.nBatch >= 1, options.nBatch <= 4096 else { throw TritError.argument("n_batch must be 1 to 4096, got \(options.nBatch)") }
        guard options.queueLimit >= 1 else { throw TritError.argument("queue_limit must be ≥ 1, got \(options.queueLimit)") }
        guard options.nCtx >= 0, options.cells >= 0, options.nThreads >= 0 else {
            throw TritError.argument("n_ctx, cells and n_threads must be ≥ 0")
        }
        guard options.minPromptTokens >= 1, options.minPromptTokens <= 4096 else {
            throw TritError.argument("min_prompt_tokens must be 1 to 4096, got \(options.minPromptTokens)")
        }
        guard options.checkpoints >= 0, options.checkpoints <= 64 else {   // whether or not the model is hybrid
            throw TritError.argument("checkpoints must be 0 to 64 per slot, got \(options.checkpoints)")
        }
        self.model = model
        self.options = options
        tokenizer = tok
        let nCtx = Defaults.contextSize(options.nCtx, model: model)
        let threads = Defaults.threads(options.nThreads)
        state = try InferenceState(model: model, nCtx: nCtx, nThreads: threads, maxBatch: options.nBatch + options.slots,
                                   nSeq: options.slots, cells: options.cells, kvType: options.kvType, valueType: options.valueType,
                                   checkpoints: options.checkpoints, attentionInt8: options.attentionInt8)
        state.deltaChunkMin = 0   // the recurrent form: a request's tokens do not depend on how its prompt is cut
        slotJob = [Job?](repeating: nil, count: options.slots)
        slotUsed = [UInt64](repeating: 0, count: options.slots)
        logits = .allocate(capacity: options.slots * model.config.vocabSize)
        hidden = .allocate(capacity: options.slots * model.config.dim)
        embedRows = .allocate(capacity: (options.nBatch + options.slots) * model.config.dim)
        stats.cellsTotal = state.cellCapacity
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&wake, nil)
        let me = Unmanaged.passUnretained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { p in
            Unmanaged<Engine>.fromOpaque(unwrapped(p)).takeUnretainedValue().run()
            return nil
        }, me)
        guard rc == 0 else {
            logits.deallocate()
            hidden.deallocate()
            embedRows.deallocate()
            throw TritError(.outOfMemory, "cannot start the scheduler thread")
        }
    }

    /// Cancels every request (their done callbacks run, reason cancelled) and joins the thread.
    public func shutdown() {
        pthread_mutex_lock(&lock)
        let already = stopping
        stopping = true
        pthread_cond_signal(&wake)
        pthread_mutex_unlock(&lock)
        #if os(Linux)
        if !already { pthread_join(thread, nil) }
        #else
        if !already, let thread { pthread_join(thread, nil) }
        #endif
    }

    deinit {
        shutdown()
        logits.deallocate()
        hidden.deallocate()
        embedRows.deallocate()
        pthread_mutex_destroy(&lock)
        pthread_cond_destroy(&wake)
    }

    public var nCtx: Int { state.nCtx }

    /// The tokens of a request's prompt: it starts a sequence of its own, so BOS comes first when
    /// `addSpecial` asks for it (the rule of InferenceState.promptTokens).
    public func promptTokens(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int32] {
        try Trit.promptTokens(model, text, addSpecial: addSpecial, parseSpecial: parseSpecial, sequenceIsEmpty: true)
    }

    /// Queues a request; its id. Throws .busy when the waiting queue is full, .argument for a bad
    /// request, .contextFull for a prompt longer than a slot, .state after shutdown, .unsupported
    /// for an embedding model.
    public func submit(_ r: Request) throws -> Int64 {
        if let e = r.embedding {
            try checkEmbedding(e, r)
        } else if !model.canGenerate {   // an embedding model: no head to sample from
            throw TritError.unsupported("\(model.path) is an embedding model: it cannot generate; embed with it")
        } else if !state.plan.causal {   // each input is read in one pass: nothing can be appended to it
            throw TritError.unsupported("\(model.path) attends bidirectionally: it cannot generate; embed with it")
        }
        guard !r.prompt.isEmpty else { throw TritError.argument("the prompt is empty") }
        if r.embedding != nil && !state.plan.causal && r.prompt.count > options.nBatch {
            throw TritError.argument("the input has \(r.prompt.count) tokens; a bidirectional model reads an input "
                                     + "in one step of at most n_batch (\(options.nBatch)) tokens")
        }
        let vocab = model.config.vocabSize
        for (i, t) in r.prompt.enumerated() where t < 0 || Int(t) >= vocab {
            throw TritError.argument("prompt token \(t) at index \(i) is out of range (vocabulary has \(vocab) tokens)")
        }
        if let c = r.constraint, c.vocabSize != vocab {
            throw TritError.argument("the constraint's vocabulary has \(c.vocabSize) tokens; the model's has \(vocab)")
        }
        guard r.logprobs >= 0, r.logprobs <= 20 else { throw TritError.argument("logprobs must be 0 to 20, got \(r.logprobs)") }
        guard r.prompt.count < state.nCtx, r.prompt.count <= state.cellCapacity else {
            throw TritError(.contextFull, "the prompt has \(r.prompt.count) tokens; a slot holds \(state.nCtx) positions")
        }
        let sampler = try Sampler(params: r.sampling, vocabSize: vocab)
        for t in r.prompt { sampler.accept(t) }
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard !stopping else { throw TritError(.state, "the engine is shut down") }
        guard waiting.count < options.queueLimit else {
            throw TritError(.busy, "the queue is full (\(waiting.count) requests waiting); try again later")
        }
        // the text starts with the first generated token only after a prompt of control tokens (BOS)
        let atStart = r.prompt.allSatisfy { tokenizer.types[Int($0)] == .control }
        let job = Job(id: nextID, request: r, sampler: sampler, stream: TextStream(tokenizer: tokenizer, stops: r.stop, atStart: atStart))
        job.usage.promptTokens = r.prompt.count
        nextID += 1
        waiting.append(job)
        stats.waiting = waiting.count
        pthread_cond_signal(&wake)
        return job.id
    }

    /// Stops a request at the next step and frees its slot. False when the id is unknown or
    /// the request has finished.
    @discardableResult
    public func cancel(_ id: Int64) -> Bool {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        for j in waiting where j.id == id && !j.cancelled { j.cancelled = true; pthread_cond_signal(&wake); return true }
        for case let j? in slotJob where j.id == id && !j.cancelled { j.cancelled = true; pthread_cond_signal(&wake); return true }
        return false
    }

    public func currentStats() -> Stats {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return stats
    }

    // MARK: - The scheduler thread

    func run() {
        while true {
            pthread_mutex_lock(&lock)
            while !stopping && waiting.isEmpty && !slotJob.contains(where: { $0 != nil }) {
                pthread_cond_wait(&wake, &lock)
            }
            if stopping {
                let all = waiting + slotJob.compactMap { $0 }
                waiting.removeAll()
                for s in slotJob.indices { slotJob[s] = nil }
                stats.running = 0
                stats.waiting = 0
                pthread_mutex_unlock(&lock)
                for j in all { j.request.onDone?(j.id, .cancelled, j.usage) }
                return
            }
            var done: [Job] = []
            // cancelled requests leave at once
            waiting.removeAll { j in if j.cancelled { j.finish = .cancelled; done.append(j) }; return j.cancelled }
            for s in slotJob.indices { if let j = slotJob[s], j.cancelled { j.finish = .cancelled; done.append(j); free(s) } }
            done += admit()
            stats.waiting = waiting.count
            stats.running = slotJob.filter { $0 != nil }.count
            pthread_mutex_unlock(&lock)
            for j in done { finished(j) }
            done.removeAll()
            var generated = 0, forced = 0, promptRows = 0
            var decodeOnly = 0, t0 = 0.0
            if buildBatch(&promptRows) {
                if decodeRows == rowTokens.count { decodeOnly = decodeRows; t0 = monotonicSeconds() }
                done = evaluateAndSample(&generated, forced: &forced)
            }
            pthread_mutex_lock(&lock)
            if decodeOnly > 0 {
                let dt = monotonicSeconds() - t0
                stats.decodeSteps += 1
                stats.decodeRows += decodeOnly
                stats.decodeSeconds += dt
                if stats.decodeByRows.count <= decodeOnly {
                    stats.decodeByRows += Array(repeating: (0, 0), count: decodeOnly + 1 - stats.decodeByRows.count)
                }
                stats.decodeByRows[decodeOnly].steps += 1
                stats.decodeByRows[decodeOnly].seconds += dt
            }
            stats.tokensGenerated += generated
            stats.headSeconds = state.headSeconds
            stats.tokensForced += forced
            stats.promptTokensEvaluated += promptRows
            for j in done { if let s = slotJob.firstIndex(where: { $0 === j }) { free(s) } }
            stats.running = slotJob.filter { $0 != nil }.count
            stats.cellsUsed = state.cellsUsed
            stats.cellsPeak = max(stats.cellsPeak, stats.cellsUsed)
            pthread_mutex_unlock(&lock)
            for j in done { finished(j) }
        }
    }

    func free(_ s: Int) {
        slotJob[s] = nil
        slotUsed[s] = step
    }

    func finished(_ j: Job) {
        pthread_mutex_lock(&lock)
        stats.requestsFinished += 1
        pthread_mutex_unlock(&lock)
        j.request.onDone?(j.id, j.finish ?? .cancelled, j.usage)
    }

    /// Admits waiting requests in arrival order while a slot is free (called with the lock held).
    /// Returns requests that can never fit.
    func admit() -> [Job] {
        var failed: [Job] = []
        while let job = waiting.first, let (slot, shared) = chooseSlot(for: job.request.prompt) {
            let prompt = job.request.prompt
            // at least one prompt token is evaluated: it gives the logits; a memory that cannot go
            // back to the shared prefix (a recurrent state) goes back to its longest checkpoint within it
            // an embedding pools rows of its whole prompt: nothing of it is taken from the cache
            let embedding = job.request.embedding != nil
            var common = embedding ? 0 : min(shared, prompt.count - 1)
            // a running request reading the same prompt (the n choices of one request, submitted
            // together): wait until it has read the shared part, then copy its cells
            let source = embedding ? nil : runningSource(for: prompt, beyond: common)
            if source?.ready == false { break }
            if !state.canRollBack(sequence: slot, to: common) {
                common = state.recurrent?.longestCheckpoint(sequence: slot, atMost: common) ?? 0
            }
            try? state.removeTokens(of: slot, from: common)   // cannot fail: checked above
            if let src = source, (try? state.copyPrefix(from: src.slot, to: slot, count: src.count)) != nil {
                common = src.count
            }
            // room for the prompt: drop the caches of free slots, least recently used first
            var need = state.cellsUsed + prompt.count - common - state.cellCapacity
            if need > 0 {
                for s in slotJob.indices.filter({ slotJob[$0] == nil && $0 != slot }).sorted(by: { slotUsed[$0] < slotUsed[$1] }) {
                    guard need > 0 else { break }
                    need -= state.seqPast[s]
                    try? state.removeTokens(of: s, from: 0)
                }
            }
            if need > 0 {
                if slotJob.contains(where: { $0 != nil }) { break }   // wait for running requests to free cells
                waiting.removeFirst()
                job.finish = .contextFull
                failed.append(job)
                continue
            }
            waiting.removeFirst()
            job.pending = prompt[common...]
            job.usage.cachedTokens = common
            slotJob[slot] = job
        }
        return failed
    }

    /// A hybrid model's prompt is cut into chunks so that one ends this many tokens before its end,
    /// where the slot keeps a checkpoint: the next turn of a chat shares the prompt up to about the
    /// assistant's header (the template renders the previous answer differently from the generation
    /// prompt's last tokens, e.g. `<think>\n`), so it resumes from there rather than an earlier chunk end.
    static let checkpointTail = 8

    /// Shorter shared prompt prefixes are read again rather than waited for and copied.
    static let minCopiedPrefix = 32

    /// The running slot whose request's prompt shares the longest prefix with `prompt` (at most
    /// prompt.count - 1 tokens, at least minCopiedPrefix, more than `beyond`), that length, and
    /// whether the slot has read it yet; nil when none, or when its memory cannot be cut back (a
    /// recurrent state: its prefix cannot be copied, but at its checkpoints, which are not waited for).
    func runningSource(for prompt: [Int32], beyond: Int) -> (slot: Int, count: Int, ready: Bool)? {
        guard state.recurrent == nil else { return nil }
        var best: (slot: Int, count: Int, ready: Bool)?
        for (s, j) in slotJob.enumerated() {
            guard let j else { continue }
            let other = j.request.prompt
            var c = 0
            while c < other.count, c < prompt.count - 1, other[c] == prompt[c] { c += 1 }
            guard c >= Engine.minCopiedPrefix, c > beyond, c > (best?.count ?? 0) else { continue }
            let held = state.seqPast[s]
            guard held == 0 || state.canRollBack(sequence: s, to: held - 1) else { continue }
            best = (s, c, held >= c)
        }
        return best
    }

    /// The free slot whose held tokens share the longest prefix with `prompt`, and that length;
    /// among equals the least recently used.
    func chooseSlot(for prompt: [Int32]) -> (Int, Int)? {
        var best: (slot: Int, common: Int)?
        for s in slotJob.indices where slotJob[s] == nil {
            let held = state.tokens(of: s)
            var c = 0
            while c < held.count, c < prompt.count, held[c] == prompt[c] { c += 1 }
            if best == nil || c > best!.common || (c == best!.common && slotUsed[s] < slotUsed[best!.slot]) { best = (s, c) }
        }
        return best
    }

    /// One batch: a decode row per running request, then prompt chunks (their rows counted in
    /// promptRows). False when empty.
    func buildBatch(_ promptRows: inout Int) -> Bool {
        rowTokens.removeAll(keepingCapacity: true)
        rowSeqs.removeAll(keepingCapacity: true)
        rowWant.removeAll(keepingCapacity: true)
        rowJob.removeAll(keepingCapacity: true)
        chunkEnds.removeAll(keepingCapacity: true)
        for (s, j) in slotJob.enumerated() {
            guard let j, let t = j.next else { continue }
            rowTokens.append(t); rowSeqs.append(Int32(s)); rowWant.append(true); rowJob.append(j)
        }
        // prompt tokens this step: all of n_batch when nothing is decoding; while streams run, as many
        // as there are decode rows (at least minPromptTokens, 16 by default), so a step with a prompt chunk
        // costs about two decode steps and the streams' inter-token latency stays within a small factor
        let decoding = rowTokens.count
        decodeRows = decoding
        var budget = decoding == 0
            ? options.nBatch : min(max(options.nBatch - decoding, 1), max(options.minPromptTokens, decoding))
        // forced chunks of running requests first, then prompts in arrival order (ids increase with arrival)
        let prefilling = slotJob.enumerated().compactMap { s, j in j.flatMap { $0.pending.isEmpty ? nil : (s, $0) } }
        let order = prefilling.sorted { a, b in
            a.1.pendingIsForced != b.1.pendingIsForced ? a.1.pendingIsForced : a.1.id < b.1.id
        }
        for (s, j) in order where budget > 0 {
            // a bidirectional model reads an input whole (submit keeps it within n_batch): it waits
            // for a step with room for all of it
            if !state.plan.causal && j.pending.count > budget { continue }
            var k = min(budget, j.pending.count)
            let first = j.request.prompt.count - j.pending.count   // the chunk's first position
            // a hybrid model's prompt chunk ends where its recurrent state is kept (checkpointTail)
            let keeps = state.recurrent != nil && !j.pendingIsForced && j.request.embedding == nil
            let mark = j.request.prompt.count - Self.checkpointTail
            if keeps && first < mark && first + k > mark { k = mark - first }
            if keeps { chunkEnds.append(s) }
            for (i, t) in j.pending.prefix(k).enumerated() {
                rowTokens.append(t); rowSeqs.append(Int32(s))
                if let e = j.request.embedding {   // the positions its pooling reads
                    rowWant.append(Self.pools(e.pooling, position: first + i, of: j.request.prompt.count))
                } else {
                    rowWant.append(k == j.pending.count && i == k - 1)   // the prompt's last token gives logits
                }
                rowJob.append(j)
            }
            j.pending = j.pending.dropFirst(k)
            budget -= k
            if !j.pendingIsForced { promptRows += k }
            if j.pending.isEmpty { j.pendingIsForced = false }
        }
        return !rowTokens.isEmpty
    }

    /// Evaluates the batch, samples for every row that wanted logits (counted in `generated`),
    /// delivers text. Returns the requests that finished.
    func evaluateAndSample(_ generated: inout Int, forced: inout Int) -> [Job] {
        if rowJob.contains(where: { $0.request.embedding != nil }) {
            return evaluateWithEmbeddings(&generated, forced: &forced)
        }
        step += 1
        let vocab = model.config.vocabSize
        do {
            try rowTokens.withUnsafeBufferPointer { t in
                try rowSeqs.withUnsafeBufferPointer { s in
                    try rowWant.withUnsafeBufferPointer { w in
                        // certified head: the rows' hidden states; each row's head is computed when sampled
                        try state.decode(t, sequences: s, wantLogits: w, logits: certified ? nil : logits,
                                         hidden: certified ? hidden : nil)
                    }
                }
            }
        } catch {
            // cannot happen for batches built above (sizes are checked at admission); fail them
            var failed: [Job] = []
            for j in rowJob where !failed.contains(where: { $0 === j }) { j.finish = .contextFull; failed.append(j) }
            return failed
        }
        // a hybrid model's slots keep their recurrent state where their prompt chunks end
        for s in chunkEnds { state.checkpointRecurrentState(sequence: s) }
        var done: [Job] = []
        var out = 0
        let dim = model.config.dim
        if let cs = state.certified {
            var n = 0
            for i in rowTokens.indices where rowWant[i] { n += 1 }
            if n > 0 { state.certifiedApprox(hidden, rows: n, cs) }   // one int8 head read for every row
        }
        for i in rowTokens.indices where rowWant[i] {
            let j = rowJob[i], slot = Int(rowSeqs[i])
            let row = UnsafeBufferPointer(start: logits + out * vocab, count: vocab)
            j.next = nil
            var token: Int32? = nil
            var constrainedHidden: UnsafeMutablePointer<Float>? = nil   // sample() asks the mask first
            if let cs = state.certified {
                let h = hidden + out * dim
                if j.request.logprobs == 0 {
                    if j.request.constraint == nil {
                        token = state.sampleCertified(j.sampler, hidden: h, cs, approxRow: out)
                    } else {
                        constrainedHidden = h
                    }
                }
                if token == nil && constrainedHidden == nil {   // logprobs, or a chain that needs the whole row
                    cs.fullSteps += 1
                    state.exactHead(from: h, into: logits + out * vocab)
                }
            }
            if sample(j, row, token: token, slot: slot, generated: &generated, forced: &forced,
                      certifiedHidden: constrainedHidden, approxRow: out) { done.append(j) }
            out += 1
        }
        return done
    }

    var certified: Bool { state.certified != nil }

    /// Samples the next token of j (or takes `token`, chosen from `row` by the certified head) and
    /// delivers its text, and that of the tokens the constraint forces after it (counted in
    /// `forced`); true when the request finished. `certifiedHidden`: a constrained row of a certified
    /// head whose exact row is not computed yet (row `approxRow` of the batch's int8 logits): its
    /// candidates are taken among the allowed tokens, the exact row computed into `row` only when
    /// that fails.
    func sample(_ j: Job, _ row: UnsafeBufferPointer<Float>, token: Int32? = nil, slot: Int, generated: inout Int,
                forced: inout Int, certifiedHidden: UnsafeMutablePointer<Float>? = nil, approxRow: Int = 0) -> Bool {
        let r = j.request
        let t: Int32
        var forcedTokens = UnsafeBufferPointer<Int32>(start: nil, count: 0)
        if let c = r.constraint {
            do {
                guard try c.refresh() else { return end(j, .noAllowedToken, flush: true) }
                var picked: Int32? = nil
                if let h = certifiedHidden, let cs = state.certified {
                    picked = state.sampleCertified(j.sampler, hidden: h, cs, approxRow: approxRow, allowed: c)
                    if picked == nil {
                        cs.fullSteps += 1
                        state.exactHead(from: h, into: UnsafeMutablePointer(mutating: row.baseAddress!))
                    }
                }
                if picked == nil { picked = j.sampler.sample(row, allowed: c) }
                guard let chosen = picked else { return end(j, .noAllowedToken, flush: true) }
                try c.tokenChosen(chosen)
                t = chosen
                if r.ignoreEOS || !tokenizer.isEndOfGeneration(t) {
                    forcedTokens = try c.forcedTokens()
                    try refuseEndOfGeneration(forcedTokens, tokenizer, ignoreEOS: r.ignoreEOS)
                }
            } catch {
                return end(j, .constraintError, flush: true)
            }
        } else {
            t = token ?? j.sampler.sample(row)
        }
        r.onToken?(t)
        if r.logprobs > 0, let cb = r.onLogprobs { reportLogprobs(t, row, top: r.logprobs, cb) }
        if !r.ignoreEOS && tokenizer.isEndOfGeneration(t) { return end(j, .stop, flush: true) }
        j.usage.completionTokens += 1
        generated += 1
        j.sampler.accept(t)
        if j.stream.push(t) { return end(j, .stop, flush: false) }   // the text ends before the stop string
        // the forced tokens, as far as max_tokens and the slot allow (the request ends where they are cut)
        j.pending = []
        j.chunk.removeAll(keepingCapacity: true)
        let room = state.nCtx - state.seqPast[slot] - 1
        var cut = false   // forced tokens past the slot's room: the constraint's state is past them, so the request ends
        for f in forcedTokens {
            if r.maxTokens > 0 && j.usage.completionTokens >= r.maxTokens { break }
            if j.chunk.count >= room { cut = true; break }
            r.onToken?(f)
            if r.logprobs > 0, let cb = r.onLogprobs { reportForced(f, cb) }
            j.usage.completionTokens += 1
            j.usage.forcedTokens += 1
            generated += 1
            forced += 1
            j.sampler.accept(f)
            j.chunk.append(f)
            if j.stream.push(f) { return end(j, .stop, flush: false) }
        }
        if !deliver(j, all: false) { return end(j, .cancelled, flush: false) }
        if r.maxTokens > 0 && j.usage.completionTokens >= r.maxTokens { return end(j, .length, flush: true) }
        if cut || state.seqPast[slot] + j.chunk.count >= state.nCtx { return end(j, .contextFull, flush: true) }
        if j.chunk.isEmpty {
            j.next = t
        } else {   // the next step evaluates t and the forced tokens as one prompt chunk
            j.chunk.insert(t, at: 0)
            j.pending = j.chunk[...]
            j.pendingIsForced = true
        }
        return false
    }

    /// A forced token's logprobs entry: certain under the constraint, no alternatives.
    func reportForced(_ t: Int32, _ cb: (Int32, Float, UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Float>) -> Void) {
        cb(t, 0, UnsafeBufferPointer(start: nil, count: 0), UnsafeBufferPointer(start: nil, count: 0))
    }

    /// Log-softmax of the row at the sampled token and at the `top` most likely tokens.
    func reportLogprobs(_ t: Int32, _ row: UnsafeBufferPointer<Float>, top: Int,
                        _ cb: (Int32, Float, UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Float>) -> Void) {
        var mx = -Float.infinity
        for v in row where v > mx { mx = v }
        var sum: Double = 0
        for v in row { sum += Double(expf(v - mx)) }
        let lse = mx + Float(log(sum))
        // the top tokens by insertion into a short sorted list (top ≤ 20)
        var ids = [Int32](), vals = [Float]()
        ids.reserveCapacity(top + 1); vals.reserveCapacity(top + 1)
        for (i, v) in row.enumerated() where ids.count < top || v > vals[ids.count - 1] {
            var k = ids.count
            while k > 0 && vals[k - 1] < v { k -= 1 }
            ids.insert(Int32(i), at: k); vals.insert(v, at: k)
            if ids.count > top { ids.removeLast(); vals.removeLast() }
        }
        let lps = vals.map { $0 - lse }
        ids.withUnsafeBufferPointer { i in lps.withUnsafeBufferPointer { l in cb(t, row[Int(t)] - lse, i, l) } }
    }

    /// Ends j: delivers the held-back text (and, with `flush`, an unfinished character).
    func end(_ j: Job, _ why: FinishReason, flush: Bool) -> Bool {
        if why != .cancelled {
            if flush { j.stream.finish() }
            _ = deliver(j, all: true)
        }
        j.finish = why
        return true
    }

    /// Passes the ready text to the piece callback; false when it asked to stop.
    func deliver(_ j: Job, all: Bool) -> Bool {
        let piece = j.stream.take(all: all)
        guard !piece.isEmpty, let cb = j.request.onPiece else { return true }
        return piece.withUnsafeBufferPointer { cb($0) }
    }
}

/// The thread argument, optional in Glibc's pthread_create and not in Darwin's: one spelling for both.
private func unwrapped(_ p: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer { p! }
