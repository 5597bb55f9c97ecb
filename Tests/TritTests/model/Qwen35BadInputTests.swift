import XCTest
@testable import Trit

/// A qwen35 file that lacks a layer kind's tensors or has a wrong Gated DeltaNet shape is refused
/// with the tensor or key named, never loaded wrongly.
final class Qwen35BadInputTests: XCTestCase {
    static let src = Fixtures.root + "/qwen35-ternary-g128-tiny/model.q2_0.gguf"

    /// The fixture's GGUF rewritten without `drop` tensors and with `keys` changed (nil: removed).
    func rewritten(drop: Set<String> = [], keys: [String: GGUFValue?] = [:]) throws -> String {
        let g = try GGUFFile(path: Self.src)
        let w = GGUFWriter()
        for k in g.metadataOrder where keys[k] == nil { w.set(k, g.metadata[k]!) }
        for (k, v) in keys { if let v { w.set(k, v) } }
        for t in g.tensors where !drop.contains(t.name) {
            let bytes = try g.data(of: t)
            w.addTensor(t.name, shape: t.shape, typeID: t.typeID, byteSize: bytes.count) { $0.copyMemory(from: bytes) }
        }
        let path = NSTemporaryDirectory() + "trit-qwen35-bad-\(getpid())-\(UUID().uuidString).gguf"
        try w.write(to: path)
        return path
    }

    func refusal(_ path: String) -> String {
        defer { unlink(path) }
        do { _ = try Model.load(path: path); return "loaded" } catch let e as TritError { return e.message } catch {
            return "\(error)"
        }
    }

    func testMissingTensorsOfEitherLayerKindAreNamed() throws {
        for name in ["blk.0.ssm_a", "blk.2.ssm_conv1d.weight", "blk.0.attn_qkv.weight", "blk.2.ssm_norm.weight",
                     "blk.1.attn_q.weight", "blk.3.attn_k_norm.weight"] {
            let msg = refusal(try rewritten(drop: [name]))
            XCTAssertTrue(msg.contains(name) && msg.contains("missing"), "\(name): \(msg)")
        }
    }

    func testGatedDeltaNetShapeKeysAreChecked() throws {
        let missing = refusal(try rewritten(keys: ["qwen35.ssm.state_size": nil]))
        XCTAssertTrue(missing.contains("qwen35.ssm.state_size"), missing)
        let odd = refusal(try rewritten(keys: ["qwen35.ssm.inner_size": .u32(101)]))
        XCTAssertTrue(odd.contains("ssm.inner_size"), odd)
        // a conv tensor of the wrong width (the key heads say 3, the tensors hold 2)
        let heads = refusal(try rewritten(keys: ["qwen35.ssm.group_count": .u32(3)]))
        XCTAssertTrue(heads.contains("value heads") || heads.contains("shape"), heads)
        let rot = refusal(try rewritten(keys: ["qwen35.rope.dimension_count": .u32(15)]))
        XCTAssertTrue(rot.contains("rope.dimension_count"), rot)
    }
}
