import Foundation
import XCTest
@testable import Trit

/// `trit synth --text-vocab`: the tokens after the bytes and specials are normal text tokens " w<id>",
/// so what a random model generates detokenizes to text (the default keeps reserved control tokens).
final class SynthTextVocabTests: XCTestCase {
    func testTextVocabTokensDetokenizeToTheirText() throws {
        let shape = try XCTUnwrap(Synth.preset("tiny"))
        let path = NSTemporaryDirectory() + "trit-synth-textvocab-\(getpid()).gguf"
        try Synth.write(shape, type: .tq2_0, to: path, textVocab: true)
        defer { unlink(path) }
        let m = try Model.load(path: path)
        let tok = try XCTUnwrap(m.tokenizer)
        XCTAssertEqual(tok.vocabSize, shape.vocab)
        XCTAssertEqual(tok.types[259], .normal)
        XCTAssertEqual(tok.types[shape.vocab - 1], .normal)
        XCTAssertEqual(tok.types[256], .control, "<|begin_of_text|> stays a control token")
        XCTAssertEqual(try tok.decodeText([259, 1000, 65]), " w259 w1000A")
        XCTAssertEqual(try tok.decodeText([Int32(shape.vocab - 1)]), " w\(shape.vocab - 1)")
        XCTAssertTrue(tok.isEndOfGeneration(257))
        XCTAssertFalse(tok.isEndOfGeneration(300))
        // the stream of greedy tokens on random weights carries text
        let s = try InferenceState(model: m, nCtx: 64)
        try s.evaluate(tok.encode("hello"))
        var dec = StreamingDecoder(tokenizer: tok)
        var text: [UInt8] = []
        for _ in 0..<8 {
            let logits = Array(s.lastLogits)
            let id = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            text += dec.push(id)
            try s.evaluate([id])
        }
        XCTAssertFalse(text.isEmpty, "eight greedy tokens sent no text")
    }

    func testDefaultVocabKeepsReservedControlTokens() throws {
        let shape = try XCTUnwrap(Synth.preset("tiny"))
        let path = NSTemporaryDirectory() + "trit-synth-ctrlvocab-\(getpid()).gguf"
        try Synth.write(shape, type: .tq2_0, to: path)
        defer { unlink(path) }
        let tok = try XCTUnwrap(try Model.load(path: path).tokenizer)
        XCTAssertEqual(tok.piece(300), "<|reserved_300|>")
        XCTAssertEqual(tok.types[300], .control)
        XCTAssertEqual(try tok.decode([300]), [])
    }
}
