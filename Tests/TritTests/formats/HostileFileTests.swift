import Foundation
import XCTest
@testable import Trit

/// Truncated, corrupt and hostile model files: each gives an error that names the file and the
/// tensor or key, never a crash or a Swift trap.
final class HostileFileTests: XCTestCase {
    var dir: String!
    var tiny: [UInt8] = []

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "trit-hostile-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        tiny = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.root + "/b158-tiny/model.i2_s.gguf")))
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ bytes: [UInt8], _ name: String = "m.gguf") -> String {
        let p = dir + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(bytes)), "cannot write \(p)")
        return p
    }

    func expectError(_ bytes: [UInt8], _ kind: TritError.Kind? = nil, contains: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        let p = write(bytes)
        do {
            _ = try Model.load(path: p)
            XCTFail("loaded a bad file", file: file, line: line)
        } catch let e as TritError {
            if let kind { XCTAssertEqual(e.kind, kind, e.message, file: file, line: line) }
            XCTAssertTrue(e.message.contains(p), "message names the file: \(e.message)", file: file, line: line)
            for c in contains { XCTAssertTrue(e.message.contains(c), "\(e.message) should contain \(c)", file: file, line: line) }
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    /// Byte offset of the tensor-info entry of `name` (just after its name string).
    func tensorInfoOffset(_ name: String) -> Int {
        let n = Array(name.utf8)
        for i in 0..<(tiny.count - n.count) where tiny[i] == n[0] && Array(tiny[i..<(i + n.count)]) == n {
            // preceded by its u64 length
            let len = tiny[(i - 8)..<i].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            if len == n.count { return i + n.count }
        }
        return -1
    }

    func testTruncatedAnywhere() {
        // every cut inside the header and a sample of cuts through the data
        var cuts = Array(stride(from: 0, to: 4096, by: 61))
        cuts += stride(from: 4096, to: tiny.count, by: 40_009)
        for c in cuts where c < tiny.count {
            let p = write(Array(tiny[0..<c]))
            XCTAssertThrowsError(try Model.load(path: p), "cut at \(c)") { e in
                XCTAssertTrue((e as? TritError)?.message.contains(p) == true, "\(e)")
            }
        }
    }

    func testWrongMagicAndBigEndian() {
        var b = tiny
        b[0] = 0x47; b[1] = 0x47; b[2] = 0x4D; b[3] = 0x4C
        expectError(b, .format, contains: ["not a GGUF file"])
        b = tiny
        b[4] = 0; b[7] = 3   // version 3 stored big-endian
        expectError(b, .unsupported, contains: ["big-endian"])
        b = tiny
        b[4] = 1
        expectError(b, .unsupported, contains: ["version 1"])
    }

    func testUnknownTensorType() {
        var b = tiny
        let o = tensorInfoOffset("blk.0.attn_q.weight")
        XCTAssertGreaterThan(o, 0)
        let nd = Int(b[o])
        b[o + 4 + 8 * nd] = 99   // ggml type 99
        expectError(b, contains: ["blk.0.attn_q.weight"])
    }

    func testShapeContradictsMetadata() {
        var b = tiny
        let o = tensorInfoOffset("blk.1.ffn_up.weight")
        b[o + 4] = 0; b[o + 5] = 2   // ne0 = 512 instead of 256: past the end or contradicting
        expectError(b, contains: ["blk.1.ffn_up.weight"])
    }

    func testSizesThatOverflow() {
        var b = tiny
        let o = tensorInfoOffset("token_embd.weight")
        for k in 0..<2 { for j in 0..<8 { b[o + 4 + 8 * k + j] = j < 4 ? 0xFF : (j == 4 ? 0x7F : 0) } }
        expectError(b, .format, contains: ["token_embd.weight"])
    }

    func testHugeStringAndArrayLengths() {
        var b = tiny
        // the first key's length (right after the 24-byte header) set to 2^60
        b[24 + 7] = 0x10
        expectError(b, .format, contains: ["implausible"])
    }

    func testMissingTensorAndUnsupportedArchitecture() throws {
        var b = tiny
        let o = tensorInfoOffset("output_norm.weight")
        b[o - 3] = UInt8(ascii: "X")   // rename to "output_nXrm.weight"
        expectError(b, .format, contains: ["output_norm.weight", "missing"])
        b = tiny
        let i = try XCTUnwrap((0..<2000).first(where: { Array(b[$0..<($0 + 12)]) == Array("bitnet-b1.58".utf8) }))
        b[i] = UInt8(ascii: "q")   // "qitnet-b1.58"
        expectError(b, .unsupported, contains: ["qitnet-b1.58", "not supported"])
    }

    /// A trap would end the test process; what is asserted: every failure is a TritError that
    /// names the file, every file that loads evaluates, and the corruption reached both outcomes.
    func testRandomHeaderCorruptionNeverCrashes() {
        var rng = Xoshiro256(seed: 2024)
        var loaded = 0, refused = 0
        for i in 0..<300 {
            var b = tiny
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % 3000)
                b[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            let p = write(b)
            do {
                let m = try Model.load(path: p)
                loaded += 1
                // a surviving file must still evaluate (or refuse the tokens) without trapping
                let s = try InferenceState(model: m, nCtx: 8)
                do { try s.evaluate([1, 2]) } catch let e as TritError { XCTAssertEqual(e.kind, .argument, "case \(i): \(e)") }
            } catch let e as TritError {
                refused += 1
                XCTAssertTrue(e.message.contains(p) || e.kind == .outOfMemory, "case \(i): the error does not name the file: \(e)")
            } catch {
                XCTFail("case \(i): not a TritError: \(error)")
            }
        }
        XCTAssertGreaterThan(loaded, 0)
        XCTAssertGreaterThan(refused, 0)
    }

    func testHostileSafetensorsAndConfig() throws {
        let src = Fixtures.root + "/b158-tiny/hf-autobitlinear"
        let hf = dir + "/hf"
        try FileManager.default.createDirectory(atPath: hf, withIntermediateDirectories: true)
        let st = Array(try Data(contentsOf: URL(fileURLWithPath: src + "/model.safetensors")))
        let cfg = try String(contentsOfFile: src + "/config.json", encoding: .utf8)
        func load(_ stBytes: [UInt8], _ config: String) -> TritError? {
            XCTAssertTrue(FileManager.default.createFile(atPath: hf + "/model.safetensors", contents: Data(stBytes)))
            XCTAssertTrue(FileManager.default.createFile(atPath: hf + "/config.json", contents: Data(config.utf8)))
            do { _ = try Model.load(path: hf); return nil } catch { return error as? TritError }
        }
        XCTAssertNil(load(st, cfg))
        XCTAssertEqual(load(Array(st[0..<(st.count / 2)]), cfg)?.kind, .format)
        var huge = st
        huge[7] = 0x7F
        XCTAssertTrue(load(huge, cfg)?.message.contains("header length") == true)
        XCTAssertTrue(load(st, cfg.replacingOccurrences(of: "BitNetForCausalLM", with: "GPT2LMHeadModel"))?.message.contains("not supported") == true)
        XCTAssertTrue(load(st, cfg.replacingOccurrences(of: "\"hidden_size\": 256", with: "\"hidden_size\": 512"))?.message.contains("shape") == true)
        XCTAssertTrue(load(st, "{\"architectures\": [")?.message.contains("invalid JSON") == true)
        XCTAssertTrue(load(st, cfg.replacingOccurrences(of: "\"num_hidden_layers\": 4", with: "\"num_hidden_layers\": 5"))?.message.contains("model.layers.4") == true)
    }

    func testTokenizerBadInput() throws {
        let m = try Model.load(path: Fixtures.root + "/b158-tiny/model.i2_s.gguf")
        let t = try XCTUnwrap(m.tokenizer)
        let bad: [UInt8] = [0x61, 0xFF, 0x62]
        XCTAssertThrowsError(try bad.withUnsafeBufferPointer { try t.encode(bytes: $0) })
        XCTAssertThrowsError(try t.decode([5000]))
        XCTAssertEqual(t.encode("", addSpecial: false), [])
        let big = String(repeating: "the quick brown fox ", count: 500_000)   // 10 MB
        let ids = t.encode(big, addSpecial: false)
        XCTAssertEqual(String(decoding: try t.decode(ids), as: UTF8.self), big)
    }
}
