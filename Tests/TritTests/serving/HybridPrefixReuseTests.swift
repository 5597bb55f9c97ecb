import Foundation
import XCTest
@testable import Trit

/// Prefix reuse on the qwen35 hybrid: a slot keeps checkpoints of its recurrent state at prompt chunk
/// ends (one `Engine.checkpointTail` tokens before the prompt's end), and a request sharing a prefix
/// resumes from the longest one within it (its KV cells cut back there). Every request's greedy tokens
/// equal those of a fresh engine; the cached counts say where it resumed; the checkpoints stay within
/// their allowance.
final class HybridPrefixReuseTests: XCTestCase {
    static let path = Fixtures.root + "/qwen35-ternary-g128-tiny/model.q2_0.gguf"

    func engine(_ m: Model, checkpoints: Int = 4, slots: Int = 2) throws -> Engine {
        var o = Engine.Options()
        o.slots = slots
        o.nCtx = 256
        o.nBatch = 16
        o.nThreads = 2
        o.checkpoints = checkpoints
        return try Engine(model: m, options: o)
    }

    /// One request to completion: its sampled tokens and usage.
    func run(_ e: Engine, _ prompt: [Int32], _ maxTokens: Int = 10) throws -> ([Int32], Engine.Usage) {
        final class Box: @unchecked Sendable {
            let lock = NSLock(); var tokens: [Int32] = []; var usage: Engine.Usage?
        }
        let b = Box()
        var q = Engine.Request(prompt: prompt)
        q.sampling = .greedy
        q.maxTokens = maxTokens
        q.ignoreEOS = true
        q.onToken = { t in b.lock.lock(); b.tokens.append(t); b.lock.unlock() }
        q.onDone = { _, _, u in b.lock.lock(); b.usage = u; b.lock.unlock() }
        _ = try e.submit(q)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            b.lock.lock(); let u = b.usage, t = b.tokens; b.lock.unlock()
            if let u { return (t, u) }
            usleep(1000)
        }
        throw TritError(.state, "the request did not finish within 60 s")
    }

    /// The tokens a fresh engine gives (nothing cached).
    func fresh(_ m: Model, _ prompt: [Int32]) throws -> [Int32] {
        let e = try engine(m)
        defer { e.shutdown() }
        let (t, u) = try run(e, prompt)
        XCTAssertEqual(u.cachedTokens, 0)
        return t
    }

    func prompt(_ m: Model, _ text: String, special: Bool = false) -> [Int32] {
        m.tokenizer!.encode(text, addSpecial: special)
    }

    /// A chat: turn 2 renders turn 1's prompt but for its last tokens (the template's generation
    /// prompt vs the answer's header), then the answer and new text; turn 3 = turn 2 + its answer +
    /// new text; then turn 1 again (regenerated).
    func testMultiTurnChatResumesFromCheckpoints() throws {
        let m = try Model.load(path: Self.path)
        let p1 = prompt(m, "In the beginning God created the heaven and the earth. And the earth was without form,"
                           + " and void; and darkness was upon the face of the deep.", special: true)
        XCTAssertGreaterThan(p1.count, 3 * 16)   // several chunks of n_batch 16
        let e = try engine(m)
        defer { e.shutdown() }
        let (a1, u1) = try run(e, p1)
        XCTAssertEqual(u1.cachedTokens, 0)
        XCTAssertEqual(a1, try fresh(m, p1))
        // chunk ends 16, 32, …, the tail mark and the prompt's end; the 4 longest kept
        let lengths = e.state.recurrent!.checkpointLengths(sequence: 0)
        XCTAssertEqual(lengths.count, 4, "\(lengths)")
        XCTAssertEqual(lengths.suffix(2), [p1.count - Engine.checkpointTail, p1.count], "\(lengths)")

        // turn 2: the shared prefix ends 3 tokens before p1's end: resumed from the tail checkpoint
        let p2 = Array(p1.dropLast(3)) + a1 + prompt(m, " And God said, Let there be light")
        let (a2, u2) = try run(e, p2)
        XCTAssertEqual(u2.cachedTokens, p1.count - Engine.checkpointTail)
        XCTAssertEqual(a2, try fresh(m, p2))

        // turn 3 = turn 2 + its answer + new text: the slot's own state (all but the last sampled token)
        let p3 = p2 + a2 + prompt(m, " and there was light.")
        let (a3, u3) = try run(e, p3)
        XCTAssertEqual(u3.cachedTokens, p2.count + a2.count - 1)
        XCTAssertEqual(a3, try fresh(m, p3))

        // turn 1 again (regenerated): from the longest checkpoint left within its first N − 1 tokens
        // (turns 2 and 3 added 4 and pushed turn 1's out: the oldest go first, so this one starts again)
        let left = e.state.recurrent!.checkpointLengths(sequence: 0)
        XCTAssertEqual(left, [p2.count - Engine.checkpointTail, p2.count, p3.count - Engine.checkpointTail, p3.count])
        let (again, u4) = try run(e, p1)
        XCTAssertEqual(again, a1)
        XCTAssertEqual(u4.cachedTokens, left.last { $0 <= p1.count - 3 } ?? 0)
    }

    /// With 2 checkpoints a slot keeps only its 2 longest; the same prompt again resumes at the tail
    /// mark; a request sharing less than them starts
    /// again (cached 0), with the tokens of a fresh engine; the memory is 3 states per slot.
    func testCheckpointsStayWithinTheirAllowance() throws {
        let m = try Model.load(path: Self.path)
        let p1 = prompt(m, String(repeating: "and the people went up ", count: 12), special: true)
        XCTAssertGreaterThan(p1.count, 4 * 16)
        let e = try engine(m, checkpoints: 2, slots: 1)
        defer { e.shutdown() }
        let (a1, _) = try run(e, p1)
        let r = e.state.recurrent!
        XCTAssertEqual(r.checkpointLengths(sequence: 0), [p1.count - Engine.checkpointTail, p1.count])
        // the same prompt again (regenerated): all but its last token are shared, resumed at the tail mark
        let (again, u1) = try run(e, p1)
        XCTAssertEqual(u1.cachedTokens, p1.count - Engine.checkpointTail)
        XCTAssertEqual(again, a1)
        XCTAssertEqual(r.reservedBytes, 1 * (1 + 2) * r.sequenceBytes)
        let p2 = Array(p1.prefix(40)) + prompt(m, " to the mountain")
        let (a2, u2) = try run(e, p2)
        XCTAssertEqual(u2.cachedTokens, 0)
        XCTAssertEqual(a2, try fresh(m, p2))
        XCTAssertLessThanOrEqual(r.checkpointLengths(sequence: 0).count, 2)

        // no checkpoints: a cut prefix is never reused
        let z = try engine(m, checkpoints: 0, slots: 1)
        defer { z.shutdown() }
        _ = try run(z, p1)
        XCTAssertEqual(z.state.recurrent!.checkpointLengths(sequence: 0), [])
        XCTAssertEqual(z.state.recurrent!.reservedBytes, r.sequenceBytes)
        let (a3, u3) = try run(z, Array(p1.dropLast(2)) + [p1[0]])
        XCTAssertEqual(u3.cachedTokens, 0)
        XCTAssertEqual(a3, try fresh(m, Array(p1.dropLast(2)) + [p1[0]]))
    }
}
