import Foundation
import XCTest
@testable import Trit

/// Gemma's tokenizer (a SentencePiece vocabulary with byte fallback: tokenizer.json's BPE model in
/// an HF folder, the `llama` model in GGUF) against HF `tokenizers` on 100 texts in many scripts,
/// with whitespace runs, byte-fallback characters and special-token texts
/// (Tests/Fixtures/gemma3-tiny/tokenizer-cases.json, made by scripts/make_gemma3_fixture.py).
final class Gemma3TokenizerTests: XCTestCase {
    struct Case { let text: String; let tokens: [Int32]; let decoded: String }

    func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: Fixtures.root + "/gemma3-tiny/tokenizer-cases.json")
        let j = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: Any]]
        return j.map {
            Case(text: $0["text"] as! String, tokens: ($0["tokens"] as! [NSNumber]).map { $0.int32Value },
                 decoded: $0["decoded"] as! String)
        }
    }

    /// `tokenizers` parses special-token texts in the input (as trit's parseSpecial) and skips
    /// them when decoding.
    func check(_ file: String) throws {
        let tok = try XCTUnwrap(try Model.load(path: Fixtures.root + "/gemma3-tiny/" + file).tokenizer)
        let cases = try cases()
        XCTAssertEqual(cases.count, 100)
        XCTAssertTrue(cases.contains { $0.tokens.contains { tok.types[Int($0)] == .byte } }, "byte fallback is used")
        var mismatches = 0
        for c in cases {
            let ids = tok.encode(c.text, addSpecial: true, parseSpecial: true)
            if ids != c.tokens { mismatches += 1 }
            XCTAssertEqual(ids, c.tokens, "\(file): \(c.text.debugDescription)")
            let text = String(decoding: try tok.decode(Array(c.tokens.dropFirst())), as: UTF8.self)
            XCTAssertEqual(text, c.decoded, "\(file): decoding \(c.text.debugDescription)")
        }
        print("gemma3 tokenizer \(file): \(cases.count - mismatches)/\(cases.count) texts as HF tokenizers")
    }

    func testHFTokenizerJSON() throws { try check("plain/hf") }
    func testGGUF() throws { try check("plain/model.f32.gguf") }

    /// A byte-fallback tokenizer.json whose spaces this algorithm does not handle is refused by name.
    func testUnsupportedNormalizerIsRefused() throws {
        let src = Fixtures.root + "/gemma3-tiny/plain/hf/tokenizer.json"
        var j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: src))) as! [String: Any]
        j["normalizer"] = ["type": "NFKC"]
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: j))
        XCTAssertThrowsError(try HFTokenizerLoader.loadJSON(bytes: bytes, origin: "t.json", tokenizerConfig: nil,
                                                            config: JSON.object([]))) { e in
            XCTAssertEqual((e as? TritError)?.kind, .unsupported)
            XCTAssertTrue("\(e)".contains("normalizer NFKC"), "\(e)")
        }
    }
}
