import XCTest
@testable import Trit

/// The engine on the qwen35 hybrid: with the recurrent state per slot, every request's greedy text
/// under concurrency (staggered arrivals, prompt chunks, slots reused) equals its text alone, with the
/// exact head and with the certified head (untied).
extension EngineTests {
    func testBatchInvarianceQwen35Hybrid() throws {
        try checkInvariance(Fixtures.root + "/qwen35-ternary-g128-tiny/model.q2_0.gguf")
    }

    func testCertifiedEngineQwen35Hybrid() throws {
        try checkInvariance(Fixtures.root + "/qwen35-ternary-g128-tiny/model.q2_0.gguf", head: .certified)
    }
}
