import XCTest
@testable import Trit

/// The file's own chat template is kept as written: GGUF `tokenizer.chat_template`.
final class ChatTemplateSourceTests: XCTestCase {
    func testGGUFChatTemplateIsKeptAsWritten() throws {
        let src = Fixtures.root + "/b158-tiny/model.i2_s.gguf"
        XCTAssertNil(try Model.load(path: src).chatTemplateSource)
        let g = try GGUFFile(path: src)
        let w = GGUFWriter()
        for k in g.metadataOrder { w.set(k, g.metadata[k]!) }
        let template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\u{00e9}\n{% endfor %}"
        w.set("tokenizer.chat_template", template)
        for t in g.tensors {
            let bytes = try g.data(of: t)
            w.addTensor(t.name, shape: t.shape, typeID: t.typeID, byteSize: bytes.count) { $0.copyMemory(from: bytes) }
        }
        let path = NSTemporaryDirectory() + "trit-template-\(getpid()).gguf"
        defer { unlink(path) }
        try w.write(to: path)
        XCTAssertEqual(try Model.load(path: path).chatTemplateSource, template)
    }
}
