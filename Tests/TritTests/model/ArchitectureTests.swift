import XCTest
@testable import Trit

/// The architecture table: the descriptions the loaders and the forward pass read, files holding
/// tensors an architecture does not use, and fields the forward pass does not implement yet.
final class ArchitectureTests: XCTestCase {
    func testEveryDescriptionNamesEveryTensorItsLayersUse() throws {
        for a in Architecture.all {
            for role in a.layerRoles(.attention) {
                XCTAssertFalse(a.gguf.candidates(role, layer: 3).isEmpty, "\(a.name): no GGUF name for \(role)")
                XCTAssertTrue(a.gguf.candidates(role, layer: 3).allSatisfy { $0.hasPrefix("blk.3.") }, "\(a.name) \(role)")
                if !a.huggingFace.isEmpty {
                    XCTAssertTrue(a.hf.candidates(role, layer: 3).allSatisfy { $0.hasPrefix("model.layers.3.") }, "\(a.name) \(role)")
                    XCTAssertFalse(a.hf.candidates(role, layer: 3).isEmpty, "\(a.name): no HF name for \(role)")
                }
            }
            for role in a.layerRoles(.gatedDeltaNet) where a.layers != .all(.attention) {
                XCTAssertFalse(a.gguf.candidates(role, layer: 3).isEmpty, "\(a.name): no GGUF name for \(role)")
                XCTAssertFalse(a.hf.candidates(role, layer: 3).isEmpty, "\(a.name): no HF name for \(role)")
            }
            XCTAssertNoThrow(try a.checkImplemented(origin: "table"), a.name)
        }
        // qwen35 runs its layer kinds, (1 + w) norms, partial rotary and gated attention
        let q35 = try XCTUnwrap(Architecture.named("qwen35"))
        XCTAssertEqual(q35.norms.gain, .onePlusWeight)
        XCTAssertEqual(q35.rope.partialFactor, 0.25)
        XCTAssertTrue(q35.attention.gatedOutput)
        XCTAssertEqual(Architecture.named("bitnet-b1.58")?.norms.beforeProjection, [.o, .down])
        XCTAssertEqual(Architecture.named("qwen3")?.norms.qk, true)
        XCTAssertEqual(Architecture.huggingFace("BitNetForCausalLM", activation: "relu2")?.name, "bitnet-b1.58")
        XCTAssertEqual(Architecture.huggingFace("BitnetForCausalLM", activation: "silu")?.name, "bitnet")
        XCTAssertNil(Architecture.huggingFace("Qwen3ForCausalLM", activation: "relu2"))
    }

    func testFieldsTheForwardPassDoesNotRunAreRefusedByName() {
        var checks: [(String, (inout Architecture) -> Void)] = []
        checks.append(("bidirectional", { $0.attention.mask = .bidirectional }))
        for (needle, change) in checks {
            var a = Architecture.named("qwen3")!
            change(&a)
            do { try a.checkImplemented(origin: "x"); XCTFail("\(needle) accepted") } catch let e as TritError {
                XCTAssertEqual(e.kind, .unsupported)
                XCTAssertTrue(e.message.contains(needle), "\(needle): \(e.message)")
            } catch { XCTFail("\(error)") }
        }
    }

    /// bitnet.cpp's BitNet-embedding GGUF is a `qwen3` file with a norm before each projection
    /// (`blk.N.attn_q_norm_in.weight`, ...): a qwen3 file with only some of them is taken for that
    /// variant and refused naming the first one missing, never loaded as a plain qwen3.
    func testFilesWithTensorsTheArchitectureDoesNotUseAreRefused() throws {
        let src = Fixtures.root + "/qwen3-ternary-tiny/model.q2_0.gguf"
        let g = try GGUFFile(path: src)
        let w = GGUFWriter()
        for k in g.metadataOrder { w.set(k, g.metadata[k]!) }
        for t in g.tensors {
            let bytes = try g.data(of: t)
            w.addTensor(t.name, shape: t.shape, typeID: t.typeID, byteSize: bytes.count) { $0.copyMemory(from: bytes) }
        }
        let dim = g.metadata["qwen3.embedding_length"]!.int!
        for l in 0..<2 {
            w.addTensor("blk.\(l).attn_q_norm_in.weight", shape: [dim], typeID: 0, byteSize: dim * 4) { out in
                for i in 0..<dim { out.storeBytes(of: Float(1).bitPattern, toByteOffset: 4 * i, as: UInt32.self) }
            }
        }
        let path = NSTemporaryDirectory() + "trit-embedding-like-\(getpid()).gguf"
        defer { unlink(path) }
        try w.write(to: path)
        do { _ = try Model.load(path: path); XCTFail("a qwen3 file with norm_in tensors loaded") } catch let e as TritError {
            XCTAssertEqual(e.kind, .format)
            XCTAssertTrue(e.message.contains("blk.0.attn_k_norm_in.weight"), e.message)
        }
        // the same file without them still loads
        XCTAssertNoThrow(try Model.load(path: src))
    }
}

extension ArchitectureTests {
    /// A HF folder whose safetensors hold a weight the architecture does not use is refused with its
    /// name (rotary buffers are not weights); one BitNet-embedding projection norm in a Qwen3 folder
    /// makes it that variant, refused naming a norm.
    func testHFFolderWithUnknownWeightIsRefused() throws {
        let src = Fixtures.root + "/qwen3-ternary-tiny/hf"
        let dir = NSTemporaryDirectory() + "trit-hf-extra-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: src, toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func addTensor(_ name: String) throws {
            let path = dir + "/model.safetensors"
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let n = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
            var header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
            let dataLen = bytes.count - 8 - n
            header[name] = ["dtype": "F32", "shape": [4], "data_offsets": [dataLen, dataLen + 16]]
            var h = [UInt8](try JSONSerialization.data(withJSONObject: header))
            while h.count % 8 != 0 { h.append(0x20) }
            var out: [UInt8] = []
            withUnsafeBytes(of: UInt64(h.count).littleEndian) { out += $0 }
            out += h + bytes[(8 + n)...] + [UInt8](repeating: 0, count: 16)
            try Data(out).write(to: URL(fileURLWithPath: path))
        }
        try addTensor("model.layers.0.rotary_emb.inv_freq")
        XCTAssertNoThrow(try Model.load(path: dir), "a rotary buffer is not a weight")
        try addTensor("model.layers.0.self_attn.unknown.weight")
        do { _ = try Model.load(path: dir); XCTFail("a Qwen3 folder with an unknown weight loaded") } catch let e as TritError {
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertTrue(e.message.contains("model.layers.0.self_attn.unknown.weight"), e.message)
        }
        try addTensor("model.layers.0.self_attn.q_proj.norm.weight")
        do { _ = try Model.load(path: dir); XCTFail("a Qwen3 folder with a projection norm loaded") } catch let e as TritError {
            XCTAssertEqual(e.kind, .format)   // the (wrong-shaped) q norm or the missing k norm, named
            XCTAssertTrue(e.message.contains("model.layers.0.self_attn.q_proj.norm.weight")
                          || e.message.contains("model.layers.0.self_attn.k_proj.norm.weight"), e.message)
        }
    }
}
