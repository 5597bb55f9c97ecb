import Foundation
import XCTest
@testable import Trit

/// `trit synth --preset bitnet-embedding-270m*`: llama.cpp's gemma3 layout with `*_norm_in` norms
/// and a Gemma-like SentencePiece vocabulary, read back as the gemma3 embedding variant.
final class SynthGemmaEmbeddingTests: XCTestCase {
    func testTinyPresetLoadsAsTheEmbeddingVariant() throws {
        let shape = try XCTUnwrap(Synth.gemmaEmbeddingPreset("bitnet-embedding-270m-tiny"))
        for type in [TernaryFileType.i2s, .tq2_0, .f16] {
            let path = NSTemporaryDirectory() + "trit-synth-gemma-\(getpid())-\(type.rawValue).gguf"
            try Synth.writeGemmaEmbedding(shape, type: type, to: path)
            defer { unlink(path) }
            let g = try GGUFFile(path: path)
            XCTAssertEqual(g.metadata["general.architecture"]?.string, "gemma3")
            XCTAssertNil(g.tensor("output.weight"), "tied embedding, no head")
            let m = try Model.load(path: path)
            XCTAssertEqual(m.config.architecture, "gemma3-bitnet-embedding", type.rawValue)
            XCTAssertEqual(m.filePooling, .last)
            XCTAssertEqual(m.config.slidingLayers, [true, true, true, true, true, false])
            XCTAssertEqual(m.config.slidingWindow, 4)
            XCTAssertEqual(m.config.vocabSize, shape.vocab)
            let tok = try XCTUnwrap(m.tokenizer)
            // the vocabulary's pieces, its byte fallback, BOS first, decoded back
            let text = "the synthetic vocabulary, ünïcode 🚀"
            let ids = tok.encode(text)
            XCTAssertEqual(ids.first, 2)
            XCTAssertTrue(ids.contains { tok.types[Int($0)] == .byte }, "byte fallback: \(ids)")
            XCTAssertTrue(ids.contains { (tok.piece($0) ?? "").count >= 3 }, "merged pieces: \(ids)")
            XCTAssertEqual(String(decoding: try tok.decode(ids), as: UTF8.self), text)
            // a text longer than the window, embedded: an L2-normalized finite row
            let long = tok.encode(String(repeating: "sliding window text ", count: 4))
            XCTAssertGreaterThan(long.count, 2 * shape.slidingWindow)
            let state = try InferenceState(model: m, nCtx: 128)
            let options = EmbeddingOptions(pooling: m.defaultPooling)
            var out = [Float](repeating: .nan, count: try state.embeddingWidth(options))
            try long.withUnsafeBufferPointer { try state.embed([$0], sequence: 0, options: options, into: &out) }
            let norm = out.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-5, "\(type.rawValue): an L2-normalized row")
            XCTAssertTrue(out.allSatisfy(\.isFinite))
        }
    }

    /// The real shape: BitNet-embedding-270M (Gemma3-270M: head_dim 256 ≠ 640 / 4, 262k vocabulary).
    func testRealShape() throws {
        let s = try XCTUnwrap(Synth.gemmaEmbeddingPreset("bitnet-embedding-270m"))
        XCTAssertEqual([s.dim, s.ffn, s.layers, s.heads, s.kvHeads, s.headDim, s.vocab, s.slidingWindow],
                       [640, 2048, 18, 4, 1, 256, 262_144, 512])
    }
}
