import Foundation
import XCTest
@testable import Trit

/// `trit synth --preset bitnet-embedding-*`: bitnet.cpp's BitNet-embedding layout (a qwen3 file
/// with `*_norm_in` norms, pooling_type last, EOS appended), read back as the embedding variant.
final class SynthEmbeddingTests: XCTestCase {
    func testTinyPresetLoadsAsTheEmbeddingVariant() throws {
        let shape = try XCTUnwrap(Synth.embeddingPreset("bitnet-embedding-tiny"))
        for type in [TernaryFileType.i2s, .tq2_0, .f16] {
            let path = NSTemporaryDirectory() + "trit-synth-emb-\(getpid())-\(type.rawValue).gguf"
            try Synth.writeEmbedding(shape, type: type, to: path)
            defer { unlink(path) }
            let g = try GGUFFile(path: path)
            XCTAssertEqual(g.metadata["general.architecture"]?.string, "qwen3")
            XCTAssertNotNil(g.tensor("blk.1.ffn_down_norm_in.weight"))
            XCTAssertNil(g.tensor("output.weight"), "tied embedding, no head")
            let m = try Model.load(path: path)
            XCTAssertEqual(m.config.architecture, "qwen3-bitnet-embedding", type.rawValue)
            XCTAssertEqual(m.filePooling, .last)
            XCTAssertEqual(m.config.headDim, 128)
            XCTAssertFalse(m.canGenerate)
            let tok = try XCTUnwrap(m.tokenizer)
            let ids = tok.encode("a text")
            XCTAssertEqual(ids.last, 256, "\(type.rawValue): <|endoftext|> appended: \(ids)")
            let state = try InferenceState(model: m, nCtx: 64)
            let options = EmbeddingOptions(pooling: m.defaultPooling)
            let width = try state.embeddingWidth(options)
            XCTAssertEqual(width, shape.dim)
            var out = [Float](repeating: .nan, count: width)
            try ids.withUnsafeBufferPointer { try state.embed([$0], sequence: 0, options: options, into: &out) }
            let norm = out.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-5, "\(type.rawValue): an L2-normalized row")
            XCTAssertTrue(out.allSatisfy(\.isFinite))
        }
    }

    func testF32IsRefused() throws {
        let shape = try XCTUnwrap(Synth.embeddingPreset("bitnet-embedding-tiny"))
        XCTAssertThrowsError(try Synth.writeEmbedding(shape, type: .f32, to: "/nonexistent/x.gguf"))
    }

    /// The real shape: BitNet-embedding-0.6B's config (Qwen3-0.6B, head_dim 128 ≠ 1024 / 16).
    func testRealShape() throws {
        let s = try XCTUnwrap(Synth.embeddingPreset("bitnet-embedding-0.6b"))
        XCTAssertEqual([s.dim, s.ffn, s.layers, s.heads, s.kvHeads, s.headDim, s.vocab],
                       [1024, 3072, 28, 16, 8, 128, 151669])
    }
}
