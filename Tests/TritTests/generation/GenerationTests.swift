import Foundation
import CTrit
import XCTest
@testable import Trit

final class GenerationTests: XCTestCase {
    func model() throws -> Model { try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf") }

    func testSameSeedSameTextAndStopStrings() throws {
        let m = try model()
        var p = GenerationParams()
        p.maxTokens = 30
        p.ignoreEOS = true
        p.sampling.seed = 77
        let ids = m.tokenizer!.encode("Every morning")
        let a = try InferenceState(model: m, nCtx: 64).generate(prompt: ids, params: p)
        let b = try InferenceState(model: m, nCtx: 64).generate(prompt: ids, params: p)
        XCTAssertEqual(a.text, b.text)
        XCTAssertEqual(a.tokens.count, 30)
        p.sampling.seed = 78
        let c = try InferenceState(model: m, nCtx: 64).generate(prompt: ids, params: p)
        XCTAssertNotEqual(a.tokens, c.tokens)
        // a stop string from the middle of the text cuts it there
        let text = a.text
        // three bytes from the middle that are whole characters (a stop string is text)
        let at = try XCTUnwrap((10..<(text.count - 3)).first { String(validating: text[$0..<($0 + 3)], as: UTF8.self) != nil },
                               "no 3-byte run of whole characters in \(text)")
        let stop = Array(text[at..<(at + 3)])
        let s = try XCTUnwrap(String(validating: stop, as: UTF8.self))
        p.sampling.seed = 77
        p.stop = [s]
        var streamed: [UInt8] = []
        let d = try InferenceState(model: m, nCtx: 64).generate(prompt: ids, params: p) { streamed += $0; return true }
        XCTAssertEqual(d.stopReason, .stopString)
        XCTAssertEqual(d.text, streamed, "streamed pieces add up to the text")
        XCTAssertTrue(text.starts(with: d.text))
        XCTAssertNil(find(stop, in: d.text, from: 0))
    }

    func testStreamingDecoderNeverSplitsACharacter() throws {
        // a byte-level vocabulary: "é" (C3 A9) arrives in two tokens
        let t = try Tokenizer(kind: .bpe, tokens: (0..<256).map { ByteLevel.encode([UInt8($0)]) }, scores: [], types: [], merges: [],
                              bos: nil, eos: nil, unk: nil, eot: [], addBOS: false, addEOS: false, addSpacePrefix: false,
                              preTokenizer: .gpt2, origin: "test")
        var d = StreamingDecoder(tokenizer: t)
        XCTAssertEqual(d.push(0x61), [0x61])
        XCTAssertEqual(d.push(0xC3), [])
        XCTAssertEqual(d.push(0xA9), [0xC3, 0xA9])
        XCTAssertEqual(d.push(0xA9), Array("\u{FFFD}".utf8), "a stray continuation byte becomes U+FFFD")
        XCTAssertEqual(d.push(0xF0), [])
        XCTAssertEqual(d.finish(), Array("\u{FFFD}".utf8))
    }

    func testSamplerOptions() throws {
        var logits: [Float] = [1, 5, 3, 4, 2]
        var p = SamplingParams()
        p.temperature = 0
        XCTAssertEqual(try Sampler(params: p, vocabSize: 5).sample(logits.withUnsafeBufferPointer { $0 }), 1)
        p.temperature = 1; p.topK = 1
        XCTAssertEqual(try Sampler(params: p, vocabSize: 5).sample(logits.withUnsafeBufferPointer { $0 }), 1)
        p.topK = 0; p.topP = 1; p.minP = 0.3   // keeps tokens with p ≥ 0.3·p(top): ids 1 (5) and 3 (4: e^-1 ≈ 0.37)
        var seen = Set<Int32>()
        let s = try Sampler(params: p, vocabSize: 5)
        for _ in 0..<200 { seen.insert(logits.withUnsafeBufferPointer { s.sample($0) }) }
        XCTAssertEqual(seen, [1, 3])
        p.minP = 0; p.temperature = 0; p.repeatPenalty = 100
        let r = try Sampler(params: p, vocabSize: 5)
        r.accept(1)
        XCTAssertEqual(logits.withUnsafeBufferPointer { r.sample($0) }, 3, "the penalised token loses")
        logits[0] = .nan
        XCTAssertEqual(logits.withUnsafeBufferPointer { r.sample($0) }, 3)
        p.topP = 0
        XCTAssertThrowsError(try Sampler(params: p, vocabSize: 5))
    }

    func testChatTemplates() throws {
        let msgs = [ChatTemplate.Message(role: "system", content: "Be brief."), .init(role: "user", content: "Hey, are you conscious?")]
        XCTAssertEqual(ChatTemplate.bitnet.format(msgs), "System: Be brief.<|eot_id|>User: Hey, are you conscious?<|eot_id|>Assistant: ")
        XCTAssertEqual(ChatTemplate.llama3.format([msgs[1]]),
                       "<|start_header_id|>user<|end_header_id|>\n\nHey, are you conscious?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(ChatTemplate.detect(for: try model()), .plain)
        // ChatML (Qwen3 / Bonsai): detected from the vocabulary; <think> blocks pass through as text
        XCTAssertEqual(ChatTemplate.chatml.format([msgs[1], .init(role: "assistant", content: "<think>\nhm\n</think>\n\nNo.")],
                                                  addGenerationPrompt: false),
                       "<|im_start|>user\nHey, are you conscious?<|im_end|>\n<|im_start|>assistant\n<think>\nhm\n</think>\n\nNo.<|im_end|>\n")
        XCTAssertEqual(ChatTemplate.chatml.format([msgs[1]]), "<|im_start|>user\nHey, are you conscious?<|im_end|>\n<|im_start|>assistant\n")
        let path = NSTemporaryDirectory() + "trit-chatml-\(getpid()).gguf"
        try Synth.writeQwen3(Synth.qwen3Preset("bonsai-tiny")!, type: .q2_0, to: path)
        defer { unlink(path) }
        let q = try Model.load(path: path)
        XCTAssertEqual(ChatTemplate.detect(for: q), .chatml)
        let imEnd = try XCTUnwrap(q.tokenizer!.id(of: "<|im_end|>"))
        XCTAssertTrue(q.tokenizer!.isEndOfGeneration(imEnd))
    }

    func testContextFullAndTruncate() throws {
        let m = try model()
        let s = try InferenceState(model: m, nCtx: 8)
        try s.evaluate([1, 2, 3, 4, 5])
        XCTAssertThrowsError(try s.evaluate([1, 2, 3, 4])) { XCTAssertEqual(($0 as? TritError)?.kind, .contextFull) }
        XCTAssertEqual(s.nPast, 5)
        try s.truncate(to: 2)
        try s.evaluate([3, 4, 5])
        let a = Array(s.lastLogits)
        let fresh = try InferenceState(model: m, nCtx: 8)
        try fresh.evaluate([1, 2, 3, 4, 5])
        XCTAssertEqual(a, Array(fresh.lastLogits), "truncate then re-evaluate = evaluate from scratch")
    }
}

final class BatchTests: XCTestCase {
    /// Several sequences decoded together give each sequence's own logits.
    func testInterleavedSequencesMatchSeparateRuns() throws {
        let m = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        let vocab = m.config.vocabSize
        let prompts: [[Int32]] = [[1, 426, 372, 955], [1, 50, 60], [1, 7, 8, 9, 10, 11]]
        var expected: [[Float]] = []
        for p in prompts {
            let s = try InferenceState(model: m, nCtx: 32)
            try s.evaluate(p)
            expected.append(Array(s.lastLogits))
        }
        let b = try InferenceState(model: m, nCtx: 32, maxBatch: 4, nSeq: 3)
        // rows in a mixed order across sequences, more rows than one batch holds
        var toks: [Int32] = [], seqs: [Int32] = []
        var next = [0, 0, 0]
        while next != prompts.map(\.count) {
            for s in 0..<3 where next[s] < prompts[s].count { toks.append(prompts[s][next[s]]); seqs.append(Int32(s)); next[s] += 1 }
        }
        var logits = [Float](repeating: 0, count: toks.count * vocab)
        try toks.withUnsafeBufferPointer { t in try seqs.withUnsafeBufferPointer { q in
            try logits.withUnsafeMutableBufferPointer { try b.evaluateBatch(t, sequences: q, logits: $0.baseAddress!) } } }
        for s in 0..<3 {
            let lastRow = seqs.lastIndex(of: Int32(s))!
            let got = Array(logits[(lastRow * vocab)..<((lastRow + 1) * vocab)])
            for j in 0..<vocab { XCTAssertEqual(got[j], expected[s][j], accuracy: 1e-5) }
        }
        XCTAssertEqual(b.seqPast, prompts.map(\.count))
        XCTAssertThrowsError(try [Int32(1)].withUnsafeBufferPointer { t in try [Int32(3)].withUnsafeBufferPointer { q in
            try logits.withUnsafeMutableBufferPointer { try b.evaluateBatch(t, sequences: q, logits: $0.baseAddress!) } } })
    }
}

/// The header's inline defaults are the engine's defaults.
final class HeaderDefaultsTests: XCTestCase {
    func testGenerateDefaultsMatchTheSampler() {
        let c = trit_generate_default_params()
        let s = SamplingParams()
        XCTAssertEqual(Int(c.size), MemoryLayout<trit_generate_params>.size)
        XCTAssertEqual(c.temperature, s.temperature)
        XCTAssertEqual(Int(c.top_k), s.topK)
        XCTAssertEqual(c.top_p, s.topP)
        XCTAssertEqual(c.min_p, s.minP)
        XCTAssertEqual(c.repeat_penalty, s.repeatPenalty)
        XCTAssertEqual(Int(c.repeat_last_n), s.repeatLastN)
        XCTAssertEqual(c.seed, s.seed)
        XCTAssertEqual(Int(c.max_tokens), GenerationParams().maxTokens)
    }
}
