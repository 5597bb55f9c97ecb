import XCTest
@testable import Trit

/// RoPE scaling against transformers: the qwen3-ternary-tiny model with YaRN (factor 4 over an
/// original context of 32) and linear (factor 2) scaling added to its config, 64 positions, the
/// reference made by scripts/make_rope_scaling_reference.py (Tests/Fixtures/rope-scaling). The
/// same scaling from GGUF keys; bad values are errors that name the key.
final class RoPEScalingTests: XCTestCase {
    static let src = Fixtures.root + "/qwen3-ternary-tiny/hf"

    struct Reference { let tokens: [Int32]; let logits: [[Float]]; let patch: [String: Any] }

    func reference(_ name: String) throws -> Reference {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.root + "/rope-scaling/\(name).json"))
        let j = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return Reference(tokens: (j["tokens"] as! [NSNumber]).map { $0.int32Value },
                         logits: (j["logits"] as! [[NSNumber]]).map { $0.map { $0.floatValue } },
                         patch: j["config_patch"] as! [String: Any])
    }

    /// The fixture's HF folder with `patch` merged into config.json, in a temporary folder.
    func folder(_ patch: [String: Any]) throws -> String {
        let fm = FileManager.default
        let dir = NSTemporaryDirectory() + "trit-rope-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in try fm.contentsOfDirectory(atPath: Self.src) where f != "config.json" {
            try fm.copyItem(atPath: Self.src + "/" + f, toPath: dir + "/" + f)
        }
        var cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.src + "/config.json"))) as! [String: Any]
        for (k, v) in patch { cfg[k] = v }
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: dir + "/config.json"))
        addTeardownBlock { try? fm.removeItem(atPath: dir) }
        return dir
    }

    func maxDiff(_ m: Model, _ ref: Reference) throws -> Float {
        let s = try InferenceState(model: m, nCtx: ref.tokens.count, nThreads: 2, kvType: .f32)
        let vocab = m.config.vocabSize
        var out = [Float](repeating: 0, count: ref.tokens.count * vocab)
        try out.withUnsafeMutableBufferPointer { try s.evaluate(ref.tokens, allLogits: $0.baseAddress) }
        var worst: Float = 0
        for (i, row) in ref.logits.enumerated() { for j in 0..<vocab { worst = max(worst, abs(out[i * vocab + j] - row[j])) } }
        return worst
    }

    func load(_ path: String) throws -> Model {
        var o = Model.LoadOptions()
        o.floatActivations = true
        return try Model.load(path: path, options: o)
    }

    func testHFYaRNAndLinearMatchTransformers() throws {
        for name in ["yarn", "linear"] {
            let ref = try reference(name)
            let m = try load(try folder(ref.patch))
            XCTAssertNotEqual(m.config.ropeScaling.kind, .none)
            let d = try maxDiff(m, ref)
            print("rope scaling \(name) (HF): max |Δlogit| vs transformers = \(d)")
            XCTAssertLessThanOrEqual(d, 1e-4, name)
            // the scaling is what makes them agree: the unscaled model is far off
            let plain = try maxDiff(try load(Self.src), ref)
            XCTAssertGreaterThan(plain, 100 * max(d, 1e-5), "\(name): unscaled \(plain)")
        }
    }

    /// The same file as GGUF with llama.cpp's keys.
    func gguf(_ extra: [(String, GGUFValue)]) throws -> String {
        let g = try GGUFFile(file: try MappedFile(path: Fixtures.root + "/qwen3-ternary-tiny/model.q2_0.gguf"))
        let w = GGUFWriter()
        let names = Set(extra.map { $0.0 })
        for k in g.metadataOrder where !names.contains(k) && k != "general.alignment" { w.set(k, g.metadata[k]!) }
        for (k, v) in extra { w.set(k, v) }
        for t in g.tensors {
            let d = try g.data(of: t)
            w.addTensor(t.name, shape: t.shape, typeID: t.typeID, byteSize: d.count) { $0.copyMemory(from: d) }
        }
        let path = NSTemporaryDirectory() + "trit-rope-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).gguf"
        try w.write(to: path)
        addTeardownBlock { unlink(path) }
        return path
    }

    func testGGUFYaRNMatchesTransformers() throws {
        let ref = try reference("yarn")
        let m = try load(try gguf([("qwen3.rope.scaling.type", .string("yarn")), ("qwen3.rope.scaling.factor", .f32(4)),
                                   ("qwen3.rope.scaling.original_context_length", .u32(32)), ("qwen3.context_length", .u32(128))]))
        let d = try maxDiff(m, ref)
        print("rope scaling yarn (GGUF): max |Δlogit| vs transformers = \(d)")
        XCTAssertLessThanOrEqual(d, 1e-4)
    }

    func testBadScalingIsAnErrorNamingTheKey() throws {
        func error(_ extra: [(String, GGUFValue)]) throws -> String {
            do { _ = try load(try gguf(extra)); return "" } catch { return "\(error)" }
        }
        let t = ("qwen3.rope.scaling.type", GGUFValue.string("yarn"))
        for f: Float in [0, -2, .nan, .infinity, 0.5] {
            let e = try error([t, ("qwen3.rope.scaling.factor", .f32(f))])
            XCTAssertTrue(e.contains("qwen3.rope.scaling.factor"), "factor \(f): \(e)")
        }
        XCTAssertTrue(try error([t]).contains("rope.scaling.factor is missing"))
        XCTAssertTrue(try error([("qwen3.rope.scaling.type", .string("longrope"))]).contains("\"longrope\" is not supported"))
        XCTAssertTrue(try error([("qwen3.rope.scaling.type", .u32(2))]).contains("rope.scaling.type is not a string"))
        XCTAssertEqual(try error([("qwen3.rope.scaling.type", .string("none")), ("qwen3.rope.scaling.factor", .f32(0))]), "")
        // HF
        for patch: [String: Any] in [["rope_scaling": ["rope_type": "yarn", "factor": 0]],
                                     ["rope_scaling": ["rope_type": "yarn"]],
                                     ["rope_scaling": ["rope_type": "dynamic", "factor": 2]],
                                     ["rope_scaling": ["type": "linear", "factor": -1]],
                                     ["rope_scaling": ["rope_type": "yarn", "factor": 4, "beta_fast": -1]],
                                     ["rope_scaling": ["rope_type": "yarn", "factor": 4, "original_max_position_embeddings": -5]]] {
            XCTAssertThrowsError(try load(try folder(patch)), "\(patch)") { e in
                XCTAssertTrue("\(e)".contains("rope_scaling"), "\(e)")
            }
        }
    }
}
