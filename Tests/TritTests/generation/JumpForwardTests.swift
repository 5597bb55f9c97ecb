import Foundation
import XCTest
@testable import Trit

/// Jump-forward: tokens a constraint forces go into the sequence as one prompt chunk after the
/// sampled token. The tokens, text and later choices are those of forcing them one sampling step
/// at a time (the same mask allowing only each of them); only the number of sampling steps drops.
final class JumpForwardTests: XCTestCase {
    /// A constraint that follows `script` (only its next token allowed), then allows every token.
    /// `forcedAt[i]`: after the script's token i - 1 was accepted, its next n tokens are forced
    /// (with `jump`; without, the mask forces them one step at a time).
    final class Script {
        let tokens: [Int32]
        let forcedAt: [Int: Int]
        var pos = 0, masks = 0
        init(_ tokens: [Int32], forcedAt: [Int: Int]) { self.tokens = tokens; self.forcedAt = forcedAt }

        func constraint(_ vocab: Int, jump: Bool) throws -> TokenConstraint {
            try TokenConstraint(vocabSize: vocab, fillMask: { [self] words in
                masks += 1
                if pos < tokens.count {
                    words[Int(tokens[pos]) / 32] |= UInt32(1) << UInt32(tokens[pos] % 32)
                } else {
                    for w in words.indices { words[w] = ~0 }
                }
            }, tokenChosen: { [self] _ in pos += 1 }, forced: jump ? { [self] buf in
                guard let n = forcedAt[pos] else { return 0 }
                for i in 0..<n { buf[i] = tokens[pos + i] }
                pos += n
                return n
            } : nil)
        }
    }

    func load(_ head: Model.HeadMode = .exact) throws -> Model {
        var o = Model.LoadOptions()
        o.head = head
        return try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf", options: o)
    }

    func run(_ m: Model, _ script: Script, jump: Bool, maxTokens: Int = 30, nCtx: Int = 128,
             stop: [String] = [], contextShift: Bool = false) throws -> (GenerationResult, InferenceState) {
        var p = GenerationParams()
        p.maxTokens = maxTokens
        p.contextShift = contextShift
        p.sampling = .greedy
        p.ignoreEOS = true
        p.stop = stop
        p.constraint = try script.constraint(m.config.vocabSize, jump: jump)
        let s = try InferenceState(model: m, nCtx: nCtx)
        let r = try s.generate(prompt: m.tokenizer!.encode("Every morning", addSpecial: true), params: p)
        return (r, s)
    }

    func script(_ m: Model) -> Script {
        let t = m.tokenizer!.encode(" the quick brown fox jumps over the lazy dog and runs", addSpecial: false)
        return Script(t, forcedAt: [1: 4, 6: t.count - 6])
    }

    func testForcedTokensAreThoseOfSteppingThroughThem() throws {
        for head in [Model.HeadMode.exact, .certified] {
            let m = try load(head)
            let stepped = try run(m, script(m), jump: false).0
            let sj = script(m)
            let jumped = try run(m, sj, jump: true).0
            XCTAssertEqual(jumped.tokens, stepped.tokens, "\(head): the same tokens, the free ones after the script too")
            XCTAssertEqual(jumped.text, stepped.text)
            XCTAssertEqual(stepped.forcedTokens, 0)
            XCTAssertEqual(jumped.forcedTokens, sj.tokens.count - 2, "all but the two sampled script tokens are forced")
            XCTAssertEqual(sj.masks, jumped.tokens.count - jumped.forcedTokens, "one mask per sampling step")
            XCTAssertEqual(jumped.tokens.count, 30)
        }
    }

    func testCertifiedHeadUnderJumpForwardGivesExactModesTokens() throws {
        let exact = try run(try load(.exact), script(try load(.exact)), jump: true).0
        let m = try load(.certified)
        let cert = try run(m, script(m), jump: true).0
        XCTAssertEqual(cert.tokens, exact.tokens)
    }

    func testMaxTokensContextAndStopStringsCutAForcedSpan() throws {
        let m = try load()
        let sc = script(m)
        // max_tokens inside the second span
        let (short, s1) = try run(m, sc, jump: true, maxTokens: 9)
        XCTAssertEqual(short.tokens, Array(sc.tokens.prefix(9)))
        XCTAssertEqual(short.stopReason, .maxTokens)
        XCTAssertEqual(s1.nPast, short.promptTokens + 9)
        // a context that ends inside the second span
        let prompt = m.tokenizer!.encode("Every morning", addSpecial: true).count
        let (full, s2) = try run(m, script(m), jump: true, nCtx: prompt + 8)
        XCTAssertEqual(full.stopReason, .contextFull)
        XCTAssertEqual(full.tokens, Array(sc.tokens.prefix(8)))
        XCTAssertEqual(s2.nPast, prompt + 8)
        // a stop string inside a forced span: the text and the context end before it
        let all = String(decoding: try m.tokenizer!.decode(sc.tokens, stripLeadingSpace: false), as: UTF8.self)
        let before = String(all[..<all.range(of: " lazy")!.lowerBound])
        let (cut, s3) = try run(m, script(m), jump: true, stop: [" lazy"])
        XCTAssertEqual(cut.stopReason, .stopString)
        XCTAssertEqual(String(decoding: cut.text, as: UTF8.self), before)
        XCTAssertEqual(String(decoding: try m.tokenizer!.decode(Array(s3.tokens[prompt...]), stripLeadingSpace: false),
                              as: UTF8.self), before)
    }

    /// The qwen35 hybrid's memory cannot shift: with a context shift asked for, a forced span the
    /// context cannot hold still ends generation with .contextFull (never a failed shift), and a
    /// stop string inside a forced span cuts the context back to the delivered text (through the
    /// recurrent state's checkpoint).
    func testHybridModelCutsAForcedSpanAtAFullContextAndAtAStopString() throws {
        let m = try Model.load(path: Fixtures.root + "/qwen35-ternary-g128-tiny/model.q2_0.gguf")
        let sc = script(m)
        XCTAssertGreaterThan(sc.tokens.count, 10)
        let prompt = m.tokenizer!.encode("Every morning", addSpecial: true).count
        let (full, s2) = try run(m, script(m), jump: true, nCtx: prompt + 8, contextShift: true)
        XCTAssertEqual(full.stopReason, .contextFull)
        XCTAssertEqual(full.tokens, Array(sc.tokens.prefix(8)))
        XCTAssertEqual(s2.nPast, prompt + 8)
        let all = String(decoding: try m.tokenizer!.decode(sc.tokens, stripLeadingSpace: false), as: UTF8.self)
        let before = String(all[..<all.range(of: " lazy")!.lowerBound])
        let (cut, s3) = try run(m, script(m), jump: true, stop: [" lazy"])
        XCTAssertEqual(cut.stopReason, .stopString)
        XCTAssertEqual(String(decoding: cut.text, as: UTF8.self), before)
        XCTAssertEqual(String(decoding: try m.tokenizer!.decode(Array(s3.tokens[prompt...]), stripLeadingSpace: false),
                              as: UTF8.self), before)
    }

    /// One engine request's tokens, text, usage and finish reason.
    func engineRun(_ m: Model, _ sc: Script, nCtx: Int = 0) throws
        -> (tokens: [Int32], text: [UInt8], usage: Engine.Usage?, why: Engine.FinishReason?, tokensForced: Int) {
        var o = Engine.Options()
        o.kvType = .f32   // as InferenceState's default cache
        o.slots = 2
        o.nThreads = 2
        o.nCtx = nCtx
        let engine = try Engine(model: m, options: o)
        defer { engine.shutdown() }
        let lock = NSLock()
        var text: [UInt8] = [], tokens: [Int32] = [], usage: Engine.Usage?, why: Engine.FinishReason?
        var q = Engine.Request(prompt: m.tokenizer!.encode("Every morning", addSpecial: true))
        q.sampling = .greedy
        q.maxTokens = 30
        q.ignoreEOS = true
        q.constraint = try sc.constraint(m.config.vocabSize, jump: true)
        q.onPiece = { b in lock.lock(); text += b; lock.unlock(); return true }
        q.onToken = { t in lock.lock(); tokens.append(t); lock.unlock() }
        q.onDone = { _, w, u in lock.lock(); usage = u; why = w; lock.unlock() }
        _ = try engine.submit(q)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && { lock.lock(); defer { lock.unlock() }; return usage == nil }() { usleep(2000) }
        lock.lock(); defer { lock.unlock() }
        return (tokens, text, usage, why, engine.currentStats().tokensForced)
    }

    func testEngineEndsWhereAFullSlotCutsAForcedSpan() throws {
        let m = try load()
        let sc = script(m)
        let prompt = m.tokenizer!.encode("Every morning", addSpecial: true).count
        let r = try engineRun(m, sc, nCtx: prompt + 8)
        XCTAssertEqual(r.why, .contextFull)
        // nothing sampled after the cut (the constraint's state is past the forced tokens left out)
        XCTAssertEqual(r.tokens, Array(sc.tokens.prefix(r.tokens.count)))
        XCTAssertLessThanOrEqual(r.tokens.count, 8)
        XCTAssertEqual(sc.masks, 2, "the two script tokens before the forced spans were sampled")
    }

    func testEngineRequestGetsTheGeneratorsTokens() throws {
        let m = try load()
        let want = try run(m, script(m), jump: false).0
        let sc = script(m)
        let (tokens, text, usage, _, tokensForced) = try engineRun(m, sc)
        XCTAssertEqual(tokens, want.tokens)
        XCTAssertEqual(text, want.text)
        XCTAssertEqual(usage?.completionTokens, 30)
        XCTAssertEqual(usage?.forcedTokens, sc.tokens.count - 2)
        XCTAssertEqual(tokensForced, sc.tokens.count - 2)
    }
}
