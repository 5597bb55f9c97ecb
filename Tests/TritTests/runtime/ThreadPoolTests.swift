import Foundation
import Synchronization
import XCTest
import TritKernels
@testable import Trit

/// The thread pool and the row scheduler: any number of threads (more than the cores), pools
/// shared by contexts on several threads, and a fork child, give the scalar single-thread
/// logits bit for bit and never hang.
final class ThreadPoolTests: XCTestCase {
    let path = Fixtures.root + "/b158-tiny/model.i2_s.gguf"


    static func logits(_ model: Model, threads: Int, kernel: String = "scalar") throws -> [Float] {
        let s = try InferenceState(model: model, nCtx: 64, nThreads: threads, maxBatch: 16, kernel: kernel)
        let tokens: [Int32] = (0..<37).map { Int32(($0 * 7 + 3) % model.config.vocabSize) }
        var out = [Float](repeating: .nan, count: tokens.count * model.config.vocabSize)
        try out.withUnsafeMutableBufferPointer { try s.evaluate(tokens, allLogits: $0.baseAddress) }
        // and a few single tokens (the decode path)
        for t in [Int32(5), 9, 11] { try s.evaluate([t]) }
        return out + Array(s.lastLogits)
    }

    func testAnyThreadCountGivesTheSingleThreadLogits() throws {
        let model = try Model.load(path: path)
        let one = try Self.logits(model, threads: 1)
        for n in [2, 3, 4, 7, 64] {
            let got = try Self.logits(model, threads: n)
            XCTAssertEqual(got.count, one.count)
            XCTAssertTrue(got.elementsEqual(one, by: { $0.bitPattern == $1.bitPattern }), "\(n) threads differ from 1 thread")
        }
    }

    func testEveryItemRunsExactlyOnceWithManyThreads() {
        // a job of 1000 items taken from a shared counter, 2000 times, on pools of 3 and 64 threads
        final class Job {
            let next = Atomic<Int>(0)
            let hits = UnsafeMutablePointer<Int32>.allocate(capacity: 1000)
            init() { hits.initialize(repeating: 0, count: 1000) }
            deinit { hits.deallocate() }
        }
        for n in [3, 64] {
            guard let pool = tk_pool_create(Int32(n)) else { return XCTFail("pool of \(n)") }
            defer { tk_pool_free(pool) }
            for round in 0..<2000 {
                let job = Job()
                tk_pool_run(pool, { p, _, _ in
                    let j = Unmanaged<Job>.fromOpaque(p!).takeUnretainedValue()
                    while true {
                        let i = j.next.wrappingAdd(1, ordering: .relaxed).oldValue
                        if i >= 1000 { break }
                        j.hits[i] += 1
                    }
                }, Unmanaged.passUnretained(job).toOpaque())
                if let bad = (0..<1000).first(where: { job.hits[$0] != 1 }) {
                    return XCTFail("round \(round), \(n) threads: item \(bad) ran \(job.hits[bad]) times")
                }
            }
        }
    }

    func testContextsOnSeveralThreadsShareAPool() throws {
        let model = try Model.load(path: path)
        let one = try Self.logits(model, threads: 1)
        guard let results = runOnThreads(4, timeout: 120, { _ in try ThreadPoolTests.logits(model, threads: 2) }) else { return }
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let got):
                XCTAssertTrue(got.elementsEqual(one, by: { $0.bitPattern == $1.bitPattern }), "thread \(i): logits differ from 1 thread")
            case .failure(let e): XCTFail("thread \(i): \(e)")
            }
        }
    }

    func testForkChildComputesWithThePool() throws {
        try forkChildComputes(afterWorkersSleep: false)
    }

    /// An engine alive in the parent (its scheduler and its state's pool idle, workers asleep on the
    /// pool's condition variable): the child computes. Hung (the child's copies of the condition
    /// variables still counted the parent's sleepers) before atfork_child made them afresh.
    func testForkChildComputesNextToAnIdleEngine() throws {
        let model = try Model.load(path: path)
        var o = Engine.Options()
        o.slots = 2
        o.nCtx = 64
        o.nThreads = 2
        let engine = try Engine(model: model, options: o)
        defer { engine.shutdown() }
        let finished = DispatchSemaphore(value: 0)
        var r = Engine.Request(prompt: [1, 2, 3, 4, 5, 6, 7, 8])
        r.maxTokens = 4
        r.onDone = { _, _, _ in finished.signal() }
        _ = try engine.submit(r)
        XCTAssertEqual(finished.wait(timeout: .now() + 60), .success)
        try forkChildComputes(afterWorkersSleep: true)
    }

    func forkChildComputes(afterWorkersSleep: Bool) throws {
        let model = try Model.load(path: path)
        let parent = try Self.logits(model, threads: 2)   // the pool's workers exist before the fork
        if afterWorkersSleep { usleep(200_000) }          // workers spin ~100 us, then sleep
        let expected = parent.reduce(0) { $0 &+ Int($1.bitPattern) }
        let pid = fork()
        if pid == 0 {
            let sum = (try? ThreadPoolTests.logits(model, threads: 2))?.reduce(0) { $0 &+ Int($1.bitPattern) }
            _exit(sum == expected ? 0 : 3)
        }
        XCTAssertGreaterThan(pid, 0)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(60)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL); waitpid(pid, &status, 0); return XCTFail("the fork child hung") }
            usleep(10000)
        }
        XCTAssertEqual(status, 0, "fork child exit status \(status)")
    }
}

