import XCTest
@testable import Trit

/// `trit synth` writes qwen35 hybrids: the tiny preset in every group-scaled type loads with its layer
/// kinds and DeltaNet shape from llama.cpp's keys, runs on both paths, and a prompt in batches equals
/// the same tokens one at a time (the recurrent state per row).
final class Qwen35SynthTests: XCTestCase {
    func testSynthQwen35EveryType() throws {
        let shape = try XCTUnwrap(Synth.qwen35Preset("qwen35-tiny"))
        let tokens: [Int32] = (0..<37).map { Int32(($0 * 41 + 7) % 1000) }
        for (name, type, _) in Synth.groupTypes {
            let path = NSTemporaryDirectory() + "trit-synth-q35-\(getpid())-\(name).gguf"
            try Synth.writeQwen35(shape, type: type, to: path)
            defer { unlink(path) }
            for floatActivations in [true, false] {
                var o = Model.LoadOptions()
                o.floatActivations = floatActivations
                let m = try Model.load(path: path, options: o)
                XCTAssertEqual(m.config.architecture, "qwen35")
                XCTAssertEqual(m.layers.map(\.kind), [.gatedDeltaNet, .attention, .gatedDeltaNet, .attention])
                XCTAssertEqual(m.config.deltaNet, DeltaNetShape(keyHeads: 2, valueHeads: 4, keyHeadDim: 32, valueHeadDim: 32,
                                                                convKernel: 4, tiledValueHeads: true))
                XCTAssertEqual(m.config.ropeDim, 16)
                let batched = try InferenceState(model: m, nCtx: 64, nThreads: 2, maxBatch: 8, kvType: .f32)
                try batched.evaluate(tokens)
                let single = try InferenceState(model: m, nCtx: 64, kvType: .f32)
                for t in tokens { try single.evaluate([t]) }
                let a = Array(batched.lastLogits), b = Array(single.lastLogits)
                XCTAssertTrue(a.allSatisfy(\.isFinite), name)
                XCTAssertGreaterThan(a.map(abs).max() ?? 0, 0, "\(name): all-zero logits")
                for j in 0..<a.count { XCTAssertEqual(a[j], b[j], accuracy: 1e-5, "\(name) float \(floatActivations): \(j)") }
            }
        }
    }

    /// The element-wise work the pool shares (the conv of a 37-row prompt, 256 channels, and the FFN's SiLU
    /// gates: over 4096 elements each, so split between threads) gives the one-thread logits bit for bit.
    func testQwen35PromptOnTwoThreadsEqualsOneThreadBitForBit() throws {
        let shape = try XCTUnwrap(Synth.qwen35Preset("qwen35-tiny"))
        let tokens: [Int32] = (0..<37).map { Int32(($0 * 29 + 3) % 1000) }
        let path = NSTemporaryDirectory() + "trit-synth-q35-threads-\(getpid()).gguf"
        try Synth.writeQwen35(shape, type: Synth.groupTypes[0].1, to: path)
        defer { unlink(path) }
        let m = try Model.load(path: path)
        var logits: [[Float]] = []
        for threads in [1, 2] {
            let st = try InferenceState(model: m, nCtx: 64, nThreads: threads, maxBatch: 64, kvType: .f32)
            try st.evaluate(tokens)
            try st.evaluate([5])   // and one decode row after it
            logits.append(Array(st.lastLogits))
        }
        XCTAssertGreaterThan(logits[0].map(abs).max() ?? 0, 0)
        XCTAssertEqual(logits[0], logits[1])
    }

    /// The Hadamard-keyed synth files load with the folding (identity and explicit signs) and run.
    func testSynthQwen35HadamardKeys() throws {
        let shape = try XCTUnwrap(Synth.qwen35Preset("qwen35-tiny"))
        for mode in [Synth.HadamardKeys.identity, .explicit] {
            let path = NSTemporaryDirectory() + "trit-synth-q35h-\(getpid())-\(mode.rawValue).gguf"
            try Synth.writeQwen35(shape, type: .pq2_0, to: path, hadamard: mode)
            defer { unlink(path) }
            let m = try Model.load(path: path)
            let h = try XCTUnwrap(m.hadamard)
            XCTAssertEqual(h.signs.isEmpty, mode == .identity)
            XCTAssertEqual(h.weightNames.count, 2 * 4 + 2 * 3 + 4 * 3)   // q k v o; qkv z out; gate up down
            let s = try InferenceState(model: m, nCtx: 64)
            try s.evaluate([1, 2, 3])
            XCTAssertTrue(s.lastLogits.allSatisfy(\.isFinite))
        }
    }
}
