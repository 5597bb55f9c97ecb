import XCTest
import TritKernels
@testable import Trit

/// The f32 multiply-add probe behind `trit bench --concurrency`'s bound with the head.
final class ArithmeticProbeTests: XCTestCase {
    func testProbeCountsEveryThreadsLanes() throws {
        for threads: Int32 in [1, 2] {
            let pool = try XCTUnwrap(tk_pool_create(threads))
            defer { tk_pool_free(pool) }
            var sink: Float = 0
            let n = tk_fma_probe(pool, 1000, &sink)
            // 12 chains of 1, 4 (NEON), 8 (AVX2) or 16 (AVX-512) lanes, 1000 steps, on every thread
            let lanes = n / (Int64(threads) * 1000 * 12)
            XCTAssertEqual(n % (Int64(threads) * 1000 * 12), 0)
            XCTAssertTrue([1, 4, 8, 16].contains(lanes), "lanes \(lanes)")
            XCTAssertTrue(sink.isFinite && sink > 0, "sink \(sink)")
        }
    }

    func testRateIsPlausible() {
        // any CPU this runs on does more than 10^8 f32 multiply-adds a second and fewer than 10^14
        let f = ArithmeticProbe.f32FMAPerSecond(threads: 1, reps: 1)
        XCTAssertGreaterThan(f, 1e8)
        XCTAssertLessThan(f, 1e14)
    }
}
