import Dispatch
import Foundation
import XCTest

/// Runs `body(i)` for i in 0..<count, each on its own POSIX thread, and joins every thread with a
/// deadline: a thread that throws gives its error back, one that has not finished `timeout`
/// seconds after the start fails the test instead of hanging it (it is detached and left to the
/// process's end: nothing can stop a thread safely). Returns nil when a thread did not finish.
func runOnThreads<T>(_ count: Int, timeout: Double, file: StaticString = #filePath, line: UInt = #line,
                     _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, Error>]? {
    let finished = DispatchSemaphore(value: 0)
    let deadline = DispatchTime.now() + timeout
    var threads: [(pthread_t, ThreadResult<T>)] = []
    for i in 0..<count {
        let result = ThreadResult<T>()
        let entry = ThreadEntry {
            result.value = Result { try body(i) }
            finished.signal()
        }
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            Unmanaged<ThreadEntry>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, Unmanaged.passRetained(entry).toOpaque())
        guard rc == 0 else {
            XCTFail("pthread_create failed (\(rc)) for thread \(i)", file: file, line: line)
            Unmanaged.passUnretained(entry).release()
            continue
        }
        threads.append((tid, result))
    }
    var done = 0
    while done < threads.count, finished.wait(timeout: deadline) == .success { done += 1 }
    guard done == threads.count else {
        XCTFail("\(threads.count - done) of \(count) threads did not finish within \(timeout) s", file: file, line: line)
        for (tid, _) in threads { pthread_detach(tid) }
        return nil
    }
    // every thread has signalled: each join returns at once, and orders its result before the read
    for (tid, _) in threads { pthread_join(tid, nil) }
    guard threads.count == count else { return nil }
    return threads.map { $0.1.value! }
}

/// Where a thread of runOnThreads leaves its result (read after the join).
private final class ThreadResult<T>: @unchecked Sendable {
    var value: Result<T, Error>?
}

/// What a thread of runOnThreads runs (not generic: a C function pointer cannot capture a generic type).
private final class ThreadEntry: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
