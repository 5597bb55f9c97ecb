import Foundation
import XCTest
@testable import Trit

/// The gemma3 backbone against transformers' Gemma3TextModel (Tests/Fixtures/gemma3-tiny, made by
/// scripts/make_gemma3_fixture.py): the last position's final hidden state (after the output norm)
/// and its L2-normalised form for texts shorter and longer than the sliding window, with the
/// fixture's tokenizer, in every file form and kernel variant, however the prompt is chunked.
final class Gemma3FixtureTests: XCTestCase {
    static let tolerance: Float = 1e-5

    struct Case { let text: String; let tokens: [Int32]; let pooled: [Float]; let normalized: [Float] }

    func cases(_ form: String) throws -> [Case] {
        let url = URL(fileURLWithPath: Fixtures.root + "/gemma3-tiny/reference.json")
        let j = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let texts = j["texts"] as! [[String: Any]], rows = j[form] as! [[String: Any]]
        XCTAssertEqual(texts.count, rows.count)
        return zip(texts, rows).map { t, r in
            Case(text: t["text"] as! String, tokens: (t["tokens"] as! [NSNumber]).map { $0.int32Value },
                 pooled: (r["pooled"] as! [NSNumber]).map { $0.floatValue },
                 normalized: (r["normalized"] as! [NSNumber]).map { $0.floatValue })
        }
    }

    func embed(_ state: InferenceState, _ tokens: [Int32], normalize: Bool) throws -> [Float] {
        let options = EmbeddingOptions(pooling: .last, normalize: normalize)
        var out = [Float](repeating: .nan, count: try state.embeddingWidth(options))
        try tokens.withUnsafeBufferPointer { try state.embed([$0], sequence: 0, options: options, into: &out) }
        return out
    }

    /// Max |Δ| of the pooled and normalised rows of every text, for one file, kernel and batch size.
    func maxError(_ model: Model, _ cases: [Case], kernel: String?, maxBatch: Int) throws -> Float {
        let state = try InferenceState(model: model, nCtx: 128, nThreads: 2, maxBatch: maxBatch, kernel: kernel)
        var worst: Float = 0
        for c in cases {
            let pooled = try embed(state, c.tokens, normalize: false)
            let normed = try embed(state, c.tokens, normalize: true)
            XCTAssertEqual(pooled.count, c.pooled.count)
            for j in 0..<pooled.count {
                worst = max(worst, abs(pooled[j] - c.pooled[j]), abs(normed[j] - c.normalized[j]))
            }
        }
        return worst
    }

    func check(_ file: String, form: String = "plain") throws {
        let model = try Model.load(path: Fixtures.root + "/gemma3-tiny/" + file)
        XCTAssertEqual(model.config.architecture, "gemma3")
        XCTAssertEqual(model.config.slidingLayers, [true, false, true, false], file)
        // the files say 8; a bidirectional model sees |q − kv| < 8 / 2 + 1 (transformers)
        XCTAssertEqual(model.config.slidingWindow, form == "bidir" ? 5 : 8, file)
        let cases = try cases(form)
        let causal = form != "bidir"
        XCTAssertEqual(model.config.causal, causal, file)
        XCTAssertTrue(cases.contains { $0.tokens.count > 2 * model.config.slidingWindow }, "a text past the window")
        let tok = try XCTUnwrap(model.tokenizer)
        for c in cases { XCTAssertEqual(tok.encode(c.text), c.tokens, "\(file): tokens of \(c.text.debugDescription)") }
        for k in variantsUnderTest() {
            // one pass, and (causal) chunks of 3 rows: a window spanning chunks, read back from the cache
            for batch in causal ? [128, 3] : [128] {
                let e = try maxError(model, cases, kernel: k, maxBatch: batch)
                print("gemma3-tiny \(file) [\(k)] batch \(batch): max |Δ| = \(e)")
                XCTAssertLessThanOrEqual(e, Self.tolerance, "\(file) [\(k)] batch \(batch)")
            }
        }
    }

    func testPlainF32GGUF() throws { try check("plain/model.f32.gguf") }
    func testPlainHF() throws { try check("plain/hf") }
    func testBidirectionalHF() throws { try check("bidir/hf", form: "bidir") }
    func testBidirectionalF32GGUF() throws { try check("bidir/model.f32.gguf", form: "bidir") }

    /// A bidirectional model reads an input in one pass: chunks, appending to a sequence that
    /// holds positions and generation's next token are refused, naming the reason.
    func testBidirectionalRefusesChunks() throws {
        let model = try Model.load(path: Fixtures.root + "/gemma3-tiny/bidir/model.f32.gguf")
        let tokens = try cases("bidir").last!.tokens
        let state = try InferenceState(model: model, nCtx: 128, maxBatch: 16)
        for attempt in [{ try state.evaluate(tokens) }, { _ = try self.embed(state, tokens, normalize: true) }] {
            XCTAssertThrowsError(try attempt()) { e in
                XCTAssertEqual((e as? TritError)?.kind, .argument)
                XCTAssertTrue("\(e)".contains("bidirectional"), "\(e)")
            }
        }
        XCTAssertEqual(state.nPast, 0)
        try state.evaluate(Array(tokens.prefix(5)))
        XCTAssertThrowsError(try state.evaluate([tokens[5]])) { e in
            XCTAssertEqual((e as? TritError)?.kind, .state)
            XCTAssertTrue("\(e)".contains("already holds 5 positions"), "\(e)")
        }
        XCTAssertEqual(state.nPast, 5)
    }
}
