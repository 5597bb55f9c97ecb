import Foundation
@testable import Trit

/// Paths and reference data of the fixtures in Tests/Fixtures (copied from the project's shared fixture set;
/// logits computed by Hugging Face transformers, see Tests/Fixtures/README.md).
enum Fixtures {
    static let root: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()

    struct Reference {
        let text: String
        let tokens: [Int32]
        let logits: [[Float]]
        let greedy: [Int32]
        let margins: [Double]
    }

    static func reference(_ relative: String) throws -> Reference {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative))
        let j = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return Reference(
            text: j["text"] as! String,
            tokens: (j["tokens"] as! [NSNumber]).map { $0.int32Value },
            logits: (j["logits"] as! [[NSNumber]]).map { $0.map { $0.floatValue } },
            greedy: (j["greedy"] as! [NSNumber]).map { $0.int32Value },
            margins: (j["greedy_top2_margin"] as! [NSNumber]).map { $0.doubleValue })
    }

    /// Max |Δlogit| of the prompt's rows (`logits`, row-major, `vocab` wide) against the reference, and
    /// whether the argmax equals the reference's wherever its top-2 margin is ≥ 0.2.
    static func compare(_ logits: [Float], _ ref: Reference, vocab: Int) -> (maxAbs: Float, argmaxOK: Bool) {
        var maxAbs: Float = 0
        var argmaxOK = true
        for (i, row) in ref.logits.enumerated() {
            var best = 0, refBest = 0
            for j in 0..<vocab {
                maxAbs = max(maxAbs, abs(logits[i * vocab + j] - row[j]))
                if logits[i * vocab + j] > logits[i * vocab + best] { best = j }
                if row[j] > row[refBest] { refBest = j }
            }
            var sorted = row; sorted.sort(by: >)
            if sorted[0] - sorted[1] >= 0.2 && best != refBest { argmaxOK = false }
        }
        return (maxAbs, argmaxOK)
    }

    /// From a state that has read the prompt: how many of the reference's greedy tokens our argmax
    /// matches before the first difference (the reference's tokens are evaluated throughout).
    static func greedyMatch(_ state: InferenceState, _ ref: Reference) throws -> Int {
        var match = 0
        var diverged = false
        for step in 0..<ref.greedy.count {
            let l = state.lastLogits
            var best = 0
            for j in 1..<l.count where l[j] > l[best] { best = j }
            if !diverged && Int32(best) == ref.greedy[step] { match += 1 } else { diverged = true }
            try state.evaluate([ref.greedy[step]])   // follow the reference path
        }
        return match
    }

    /// Every (model file or folder, reference) pair the fixtures provide.
    static let cases: [(model: String, reference: String)] = [
        ("b158-tiny/model.f32.gguf", "b158-tiny/reference.json"),
        ("b158-tiny/model.i2_s.gguf", "b158-tiny/reference.json"),
        ("b158-tiny/model.tq2_0.gguf", "b158-tiny/reference.json"),
        ("b158-tiny/model.tq1_0.gguf", "b158-tiny/reference.json"),
        ("b158-tiny/hf-bitlinear", "b158-tiny/reference.json"),
        ("b158-tiny/hf-autobitlinear", "b158-tiny/reference.json"),
        ("b158-tiny/hf-bf16-online", "b158-tiny/reference-bf16-online.json"),
        ("bitnet-1bitllm-tiny/hf", "bitnet-1bitllm-tiny/reference.json"),
        ("llama-ternary-tiny/hf", "llama-ternary-tiny/reference.json"),
        // qwen3 with group-scaled linears (docs/formats.md §8), float activations
        ("qwen3-ternary-tiny/model.q2_0.gguf", "qwen3-ternary-tiny/reference.json"),
        ("qwen3-ternary-tiny/hf", "qwen3-ternary-tiny/reference.json"),
        ("qwen3-q1-tiny/model.q1_0.gguf", "qwen3-q1-tiny/reference.json"),
        ("qwen3-q1-tiny/hf", "qwen3-q1-tiny/reference.json"),
        ("qwen3-ternary-g128-tiny/model.q2_0.gguf", "qwen3-ternary-g128-tiny/reference.json"),
        ("qwen3-ternary-g128-tiny/model.pq2_0.gguf", "qwen3-ternary-g128-tiny/reference.json"),
        ("qwen3-ternary-g128-tiny/model.ptq1_0.gguf", "qwen3-ternary-g128-tiny/reference.json"),
        ("qwen3-ternary-g128-tiny/hf", "qwen3-ternary-g128-tiny/reference.json"),
    ]
}

/// The kernel variants a test loops over: every one this CPU runs. The ones it cannot run are
/// printed, so a log shows what was not covered (they are not reported as passes).
func variantsUnderTest(_ test: String = #function) -> [String] {
    let skipped = KernelSelection.unavailable
    if !skipped.isEmpty { print("\(test): kernel variants not run on this CPU: \(skipped.joined(separator: ", "))") }
    return KernelSelection.available
}

/// The largest |a[i] − b[i]| (0 for empty arrays).
func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) } }

extension InferenceState {
    /// Evaluates `tokens` from the state's current position and returns every position's logits
    /// (tokens.count × vocab, row i = the prediction after token i).
    func allLogits(_ tokens: [Int32]) throws -> [Float] {
        var out = [Float](repeating: 0, count: tokens.count * model.config.vocabSize)
        try out.withUnsafeMutableBufferPointer { try evaluate(tokens, allLogits: $0.baseAddress) }
        return out
    }
}
