import Foundation
import XCTest
@testable import Trit

/// The continuous-batching engine: every request's greedy text under concurrency equals the text
/// it gets alone (BitNet quantizes activations per token, so rows do not interact), with
/// staggered arrivals, prompt chunks and prefix reuse; and the batch's per-row logits equal the
/// same tokens evaluated alone.
final class EngineTests: XCTestCase {
    final class Collected: @unchecked Sendable {
        let lock = NSLock()
        var text: [Int64: [UInt8]] = [:]
        var done: [Int64: (Engine.FinishReason, Engine.Usage)] = [:]
        func add(_ id: Int64, _ b: UnsafeBufferPointer<UInt8>) { lock.lock(); text[id, default: []] += b; lock.unlock() }
        func finish(_ id: Int64, _ r: Engine.FinishReason, _ u: Engine.Usage) { lock.lock(); done[id] = (r, u); lock.unlock() }
        var count: Int { lock.lock(); defer { lock.unlock() }; return done.count }
    }

    /// Prompts of different lengths (some longer than a batch chunk) and output lengths.
    func requests(_ tok: Tokenizer) -> [(prompt: [Int32], maxTokens: Int)] {
        let texts = ["Every morning", "And the LORD said unto Moses,", "The king", "O Romeo, Romeo, wherefore art thou",
                     "In the beginning God created the heaven and the earth. And the earth was without form, and void",
                     "To be", "Of man's first disobedience", "Now is the winter of our discontent",
                     "Let there be light", "Friends, Romans, countrymen", "The sea", "Blessed are the meek",
                     String(repeating: "and the people went up ", count: 12), "Hark", "What light", "Sing, heavenly muse"]
        return texts.enumerated().map { i, t in (tok.encode(t, addSpecial: true), 4 + (i * 7) % 23) }
    }

    /// Greedy text of one request alone, through the plain generation path.
    func alone(_ model: Model, _ prompt: [Int32], _ maxTokens: Int) throws -> [UInt8] {
        var p = GenerationParams()
        p.maxTokens = maxTokens
        p.sampling = .greedy
        p.ignoreEOS = true
        return try InferenceState(model: model, nCtx: 256, maxBatch: 16).generate(prompt: prompt, params: p).text
    }

    func runConcurrently(_ model: Model, slots: Int, nBatch: Int, staggerMicros: UInt32, minPromptTokens: Int = 16,
                         stats: ((Engine) -> Void)? = nil) throws -> (Collected, [Int64]) {
        var o = Engine.Options()
        o.kvType = .f32   // the texts alone are evaluated with the exact cache
        o.slots = slots
        o.nCtx = 256
        o.nBatch = nBatch
        o.minPromptTokens = minPromptTokens
        o.nThreads = 2
        let engine = try Engine(model: model, options: o)
        let got = Collected()
        var ids: [Int64] = []
        for (i, r) in requests(model.tokenizer!).enumerated() {
            var q = Engine.Request(prompt: r.prompt)
            q.sampling = .greedy
            q.maxTokens = r.maxTokens
            q.ignoreEOS = true
            // keyed by the request's index: pieces may come before submit returns the id
            let key = Int64(i)
            q.onPiece = { b in got.add(key, b); return true }
            q.onDone = { _, r, u in got.finish(key, r, u) }
            _ = try engine.submit(q)
            ids.append(key)
            if staggerMicros > 0 { usleep(staggerMicros) }
        }
        let deadline = Date().addingTimeInterval(120)
        while got.count < ids.count && Date() < deadline { usleep(2000) }
        XCTAssertEqual(got.count, ids.count, "requests did not finish")
        engine.shutdown()
        stats?(engine)
        return (got, ids)
    }

    /// `head`: the engine's model's head mode (the texts alone are exact mode's).
    func checkInvariance(_ path: String, head: Model.HeadMode = .exact, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try Model.load(path: path)
        var o = Model.LoadOptions()
        o.head = head
        let engineModel = head == .exact ? model : try Model.load(path: path, options: o)
        let reqs = requests(model.tokenizer!)
        let want = try reqs.map { try alone(model, $0.prompt, $0.maxTokens) }
        // the last shape fills every step with prompt tokens (minPromptTokens = n_batch) while rows decode
        for (slots, batch, stagger, minPrompt) in [(16, 64, UInt32(0), 16), (5, 24, UInt32(3000), 16),
                                                   (3, 7, UInt32(500), 16), (8, 48, UInt32(1000), 48)] {
            let (got, ids) = try runConcurrently(engineModel, slots: slots, nBatch: batch, staggerMicros: stagger,
                                                 minPromptTokens: minPrompt) { e in
                // every sampled token passed the head: its clock ran, within the engine's decode time and the
                // state's own count (trit bench --concurrency's bound with the head reads it)
                let st = e.currentStats()
                XCTAssertGreaterThan(st.headSeconds, 0, file: file, line: line)
                XCTAssertEqual(st.headSeconds, e.state.headSeconds, file: file, line: line)
                XCTAssertEqual(e.state.headDepth, 0, file: file, line: line)
                if head == .certified || head == .certified4 {   // every token came from the certified head
                    let s = e.state.certifiedStats!
                    XCTAssertEqual(s.fullSteps, 0, file: file, line: line)
                    XCTAssertEqual(s.steps, reqs.reduce(0) { $0 + $1.maxTokens }, file: file, line: line)
                }
            }
            for (i, id) in ids.enumerated() {
                got.lock.lock()
                let text = got.text[id] ?? [], fin = got.done[id]
                got.lock.unlock()
                XCTAssertEqual(String(decoding: text, as: UTF8.self), String(decoding: want[i], as: UTF8.self),
                               "\(path): request \(i) with \(slots) slots, batch \(batch)", file: file, line: line)
                XCTAssertEqual(fin?.0, .length, file: file, line: line)
                XCTAssertEqual(fin?.1.completionTokens, reqs[i].maxTokens, file: file, line: line)
            }
        }
    }

    func testBatchInvarianceBundledModel() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        try checkInvariance(here.appendingPathComponent("Models/trit-bundled-i2_s.gguf").path)
    }

    /// The engine with a certified head (int8 or 4-bit: on the bundled model some 4-bit rows of a
    /// batch fall back to the int8 head while the others keep their 4-bit logits): every request's
    /// text is exact mode's, alone.
    func testCertifiedEngineGivesExactModesText() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        for head in [Model.HeadMode.certified, .certified4] {
            try checkInvariance(here.appendingPathComponent("Models/trit-bundled-i2_s.gguf").path, head: head)
            try checkInvariance(Fixtures.root + "/llama-ternary-tiny/hf", head: head)
        }
    }

    /// minPromptTokens = n_batch reads the waiting prompts in fewer, fuller steps while rows decode
    /// (the texts are checked by checkInvariance's last shape); out of range it is refused.
    func testMinPromptTokensFillsSteps() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let model = try Model.load(path: here.appendingPathComponent("Models/trit-bundled-i2_s.gguf").path)
        var steps: [Int: Int] = [:]
        for minPrompt in [16, 64] {
            _ = try runConcurrently(model, slots: 16, nBatch: 64, staggerMicros: 0, minPromptTokens: minPrompt) { e in
                steps[minPrompt] = Int(e.step)
            }
        }
        XCTAssertLessThan(steps[64]!, steps[16]!, "steps: \(steps)")
        for bad in [0, 4097] {
            var o = Engine.Options()
            o.minPromptTokens = bad
            XCTAssertThrowsError(try Engine(model: model, options: o)) { e in
                XCTAssertTrue("\(e)".contains("min_prompt_tokens"), "\(e)")
            }
        }
    }

    func testBatchInvarianceFixtures() throws {
        for p in ["b158-tiny/model.i2_s.gguf", "llama-ternary-tiny/hf", "bitnet-1bitllm-tiny/hf"] {
            try checkInvariance(Fixtures.root + "/" + p)
        }
    }

    /// A second request sharing a prefix with a finished one evaluates only the rest, and gives
    /// the same text as alone.
    func testPrefixReuse() throws {
        let model = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        let tok = model.tokenizer!
        var o = Engine.Options()
        o.kvType = .f32   // the texts alone are evaluated with the exact cache
        o.slots = 2
        o.nCtx = 128
        let engine = try Engine(model: model, options: o)
        let got = Collected()
        func run(_ prompt: [Int32]) throws -> (String, Engine.Usage) {
            var q = Engine.Request(prompt: prompt)
            q.sampling = .greedy
            q.maxTokens = 8
            q.ignoreEOS = true
            let idh = Int64(got.count + 1000)
            q.onPiece = { b in got.add(idh, b); return true }
            q.onDone = { _, r, u in got.finish(idh, r, u) }
            _ = try engine.submit(q)
            let deadline = Date().addingTimeInterval(60)
            while true {
                got.lock.lock(); let d = got.done[idh]; got.lock.unlock()
                if let d { got.lock.lock(); defer { got.lock.unlock() }; return (String(decoding: got.text[idh] ?? [], as: UTF8.self), d.1) }
                guard Date() < deadline else { throw TritError(.state, "request \(idh) did not finish within 60 s") }
                usleep(1000)
            }
        }
        let system = tok.encode("Every morning the old fisherman walked down to the harbor and", addSpecial: true)
        let (_, u1) = try run(system)
        XCTAssertEqual(u1.cachedTokens, 0)
        let second = system + tok.encode(" looked at the sea", addSpecial: false)
        let (t2, u2) = try run(second)
        XCTAssertEqual(u2.cachedTokens, system.count, "the shared prefix is reused")
        XCTAssertEqual(t2, String(decoding: try alone(model, second, 8), as: UTF8.self))
        let s = engine.currentStats()
        XCTAssertEqual(s.requestsFinished, 2)
        XCTAssertGreaterThan(s.cellsUsed, 0)
        engine.shutdown()
    }

    /// Requests submitted together with one prompt (an OpenAI request's n choices): the first reads
    /// it, the others wait and copy its cells (all but the last prompt token), and every text is the
    /// text alone.
    func testRequestsWithOnePromptReadItOnce() throws {
        let model = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        let text = String(repeating: "the old fisherman walked down to the harbor ", count: 4)
        let prompt = model.tokenizer!.encode(text, addSpecial: true)
        XCTAssertGreaterThan(prompt.count, Engine.minCopiedPrefix)
        var o = Engine.Options()
        o.kvType = .f32   // the text alone is evaluated with the exact cache
        o.slots = 4
        o.nCtx = 256
        o.nBatch = 16     // the prompt takes several steps: the copies wait for it
        let engine = try Engine(model: model, options: o)
        let got = Collected()
        for i in 0..<3 {
            var q = Engine.Request(prompt: prompt)
            q.sampling = .greedy
            q.maxTokens = 6
            q.ignoreEOS = true
            let tag = Int64(i)
            q.onPiece = { b in got.add(tag, b); return true }
            q.onDone = { _, r, u in got.finish(tag, r, u) }
            _ = try engine.submit(q)
        }
        let deadline = Date().addingTimeInterval(60)
        while got.count < 3 && Date() < deadline { usleep(1000) }
        XCTAssertEqual(got.count, 3)
        let want = String(decoding: try alone(model, prompt, 6), as: UTF8.self)
        got.lock.lock()
        let texts = (0..<3).map { String(decoding: got.text[Int64($0)] ?? [], as: UTF8.self) }
        let cached = (0..<3).compactMap { got.done[Int64($0)]?.1.cachedTokens }.sorted()
        got.lock.unlock()
        XCTAssertEqual(texts, [want, want, want])
        XCTAssertEqual(cached, [0, prompt.count - 1, prompt.count - 1])
        XCTAssertEqual(engine.currentStats().promptTokensEvaluated, prompt.count + 2)
        engine.shutdown()
    }

    /// Logits of every flagged row of a mixed batch equal the same tokens evaluated alone.
    func testMixedBatchLogitsEqualAlone() throws {
        let model = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        let v = model.config.vocabSize
        let a: [Int32] = [1, 426, 372, 955, 293], b: [Int32] = [1, 50, 60], c: [Int32] = [1, 7]
        func alone(_ t: [Int32]) throws -> [Float] {
            let s = try InferenceState(model: model, nCtx: 32)
            var out = [Float](repeating: 0, count: t.count * v)
            try out.withUnsafeMutableBufferPointer { try s.evaluate(t, allLogits: $0.baseAddress) }
            return out
        }
        let s = try InferenceState(model: model, nCtx: 32, nThreads: 2, nSeq: 3)
        // rows interleaved, logits wanted for some rows only
        let rows: [(Int32, Int32, Int, Bool)] = [(a[0], 0, 0, false), (b[0], 1, 0, true), (a[1], 0, 1, true), (c[0], 2, 0, false),
                                                 (b[1], 1, 1, false), (a[2], 0, 2, false), (c[1], 2, 1, true), (b[2], 1, 2, true),
                                                 (a[3], 0, 3, true), (a[4], 0, 4, true)]
        var out = [Float](repeating: .nan, count: rows.filter { $0.3 }.count * v)
        let toks = rows.map { $0.0 }, seqs = rows.map { $0.1 }, want = rows.map { $0.3 }
        try toks.withUnsafeBufferPointer { t in try seqs.withUnsafeBufferPointer { q in try want.withUnsafeBufferPointer { w in
            try out.withUnsafeMutableBufferPointer { try s.decode(t, sequences: q, wantLogits: w, logits: $0.baseAddress) }
        } } }
        let ref = [try alone(a), try alone(b), try alone(c)]
        var k = 0, worst: Float = 0
        for r in rows where r.3 {
            for j in 0..<v { worst = max(worst, abs(out[k * v + j] - ref[Int(r.1)][r.2 * v + j])) }
            k += 1
        }
        XCTAssertLessThanOrEqual(worst, 1e-6)
        XCTAssertEqual(s.cellsUsed, 10)
        // sequence operations: copy a prefix, remove a tail
        try s.copyPrefix(from: 0, to: 2, count: 3)
        XCTAssertEqual(s.tokens(of: 2), Array(a.prefix(3)))
        try s.removeTokens(of: 0, from: 1)
        XCTAssertEqual(s.tokens(of: 0), [a[0]])
        XCTAssertEqual(s.cellsUsed, 1 + 3 + 3)
    }

    func testBadRequestsAndQueueLimit() throws {
        let model = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        var o = Engine.Options()
        o.kvType = .f32   // the texts alone are evaluated with the exact cache
        o.slots = 1
        o.nCtx = 32
        o.queueLimit = 3
        let engine = try Engine(model: model, options: o)
        XCTAssertThrowsError(try engine.submit(Engine.Request(prompt: []))) { XCTAssertEqual(($0 as? TritError)?.kind, .argument) }
        XCTAssertThrowsError(try engine.submit(Engine.Request(prompt: [5000]))) { XCTAssertEqual(($0 as? TritError)?.kind, .argument) }
        XCTAssertThrowsError(try engine.submit(Engine.Request(prompt: [Int32](repeating: 5, count: 40)))) {
            XCTAssertEqual(($0 as? TritError)?.kind, .contextFull)
        }
        var bad = Engine.Request(prompt: [1, 2])
        bad.sampling.topP = 2
        XCTAssertThrowsError(try engine.submit(bad)) { XCTAssertEqual(($0 as? TritError)?.kind, .argument) }
        bad = Engine.Request(prompt: [1, 2])
        bad.sampling.logitBias = [(token: 99999, bias: 1)]
        XCTAssertThrowsError(try engine.submit(bad)) { XCTAssertEqual(($0 as? TritError)?.kind, .argument) }
        // 10 000 submits in a tight loop: the queue limit answers busy, nothing is lost
        let got = Collected()
        var accepted: [Int64] = [], busy = 0
        for _ in 0..<10_000 {
            var q = Engine.Request(prompt: [1, 2, 3])
            q.maxTokens = 2
            q.onDone = { id, r, u in got.finish(id, r, u) }
            do { accepted.append(try engine.submit(q)) } catch let e as TritError {
                XCTAssertEqual(e.kind, .busy); busy += 1
            }
        }
        XCTAssertGreaterThan(busy, 0)
        let deadline = Date().addingTimeInterval(60)
        while got.count < accepted.count && Date() < deadline { usleep(1000) }
        XCTAssertEqual(got.count, accepted.count)
        XCTAssertFalse(engine.cancel(accepted[0]), "a finished request cannot be cancelled")
        XCTAssertFalse(engine.cancel(987_654), "an unknown id")
        // a callback that returns false stops its request
        var q = Engine.Request(prompt: [1, 2, 3])
        q.maxTokens = 20
        q.ignoreEOS = true
        q.onPiece = { _ in false }
        q.onDone = { id, r, u in got.finish(id, r, u) }
        let id = try engine.submit(q)
        while true {
            got.lock.lock(); let seen = got.done[id] != nil; got.lock.unlock()
            if seen || Date() > deadline { break }
            usleep(1000)
        }
        got.lock.lock(); let fin = got.done[id]; got.lock.unlock()
        XCTAssertEqual(fin?.0, .cancelled)
        XCTAssertLessThan(fin?.1.completionTokens ?? 99, 20)
        // freeing while requests run: each is cancelled, the thread joins
        for _ in 0..<3 {
            var r = Engine.Request(prompt: [1, 2, 3])
            r.maxTokens = 0
            r.ignoreEOS = true
            r.onDone = { id, r, u in got.finish(id, r, u) }
            _ = try engine.submit(r)
        }
        let before = got.count
        engine.shutdown()
        XCTAssertEqual(got.count, before + 3)
        XCTAssertThrowsError(try engine.submit(Engine.Request(prompt: [1]))) { XCTAssertEqual(($0 as? TritError)?.kind, .state) }
    }
}
