import CTrit
import Trit
#if canImport(Glibc)
import Glibc
#endif

// The @_cdecl skin's shared machinery: the thread-local last error, the registry of live
// handles, and the wrapper every export runs its body in.

/// Thread-local last-error text (a malloc'd C string per thread, freed at thread exit).
final class LastError: @unchecked Sendable {
    var key = pthread_key_t()
    init() { pthread_key_create(&key) { free($0) } }

    func set(_ message: String) {
        if let old = pthread_getspecific(key) { free(old) }
        pthread_setspecific(key, strdup(message))
    }
    func clear() {
        if let old = pthread_getspecific(key) { free(old); pthread_setspecific(key, nil) }
    }
    func get() -> UnsafePointer<CChar> {
        if let p = pthread_getspecific(key) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
        return emptyCString
    }
}
let lastError = LastError()
nonisolated(unsafe) let emptyCString: UnsafePointer<CChar> = UnsafePointer(strdup("")!)

/// Addresses of live handles, so a NULL, freed or foreign pointer is an argument error, not a crash.
final class HandleRegistry: @unchecked Sendable {
    var live = Set<UInt>()
    var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }

    func add(_ p: UnsafeMutableRawPointer) {
        pthread_mutex_lock(&lock); live.insert(UInt(bitPattern: p)); pthread_mutex_unlock(&lock)
    }
    /// Removes p; false if it was not live.
    func remove(_ p: UnsafeRawPointer) -> Bool {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        return live.remove(UInt(bitPattern: p)) != nil
    }
    func contains(_ p: UnsafeRawPointer) -> Bool {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        return live.contains(UInt(bitPattern: p))
    }
}
let handles = HandleRegistry()

final class ModelBox {
    let model: Model
    let tokenizer: TokenizerBox?
    init(_ m: Model) {
        model = m
        tokenizer = m.tokenizer.map { TokenizerBox($0, owned: false) }
    }
}
final class TokenizerBox {
    let tokenizer: Tokenizer
    let owned: Bool
    init(_ t: Tokenizer, owned: Bool) { tokenizer = t; self.owned = owned }
}
final class ContextBox {
    let state: InferenceState
    var lock = pthread_mutex_t()
    init(_ s: InferenceState) { state = s; pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }
}

/// Retains `object` and returns its registered address as an opaque handle.
func makeHandle<T: AnyObject>(_ object: T) -> OpaquePointer {
    let p = Unmanaged.passRetained(object).toOpaque()
    handles.add(p)
    return OpaquePointer(p)
}

/// The object behind a live handle of type T, or a TRIT_ERR_ARG error naming `what`.
func object<T: AnyObject>(_ h: OpaquePointer?, _ type: T.Type, _ what: String) throws -> T {
    guard let h else { throw TritError(.argument, "\(what) is NULL") }
    let raw = UnsafeRawPointer(h)
    guard handles.contains(raw) else { throw TritError(.argument, "\(what) is not a live trit handle (freed, or never created by trit)") }
    let any = Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue()
    guard let t = any as? T else { throw TritError(.argument, "\(what) is a handle of another kind") }
    return t
}

/// Releases a handle made by makeHandle; false if it was not live.
@discardableResult
func releaseHandle(_ h: OpaquePointer?) -> Bool {
    guard let h else { return false }
    let raw = UnsafeRawPointer(h)
    guard handles.remove(raw) else { return false }
    Unmanaged<AnyObject>.fromOpaque(raw).release()
    return true
}

/// Runs an export's body: success clears nothing, a thrown TritError becomes its status and
/// the thread's last-error text.
func guarded(_ body: () throws -> Void) -> trit_status {
    do {
        try body()
        return TRIT_OK
    } catch let e as TritError {
        lastError.set(e.message)
        return trit_status(rawValue: UInt32(e.kind.rawValue))
    } catch {
        lastError.set("internal error: \(error)")
        return TRIT_ERR_INTERNAL
    }
}

/// Runs `body` holding the context's lock; a context in use by another thread is a state error.
func withContext(_ h: OpaquePointer?, _ body: (ContextBox) throws -> Void) throws {
    let box = try object(h, ContextBox.self, "ctx")
    guard pthread_mutex_trylock(&box.lock) == 0 else {
        throw TritError(.state, "the context is in use by another thread (a context serves one thread at a time)")
    }
    defer { pthread_mutex_unlock(&box.lock) }
    try body(box)
}

func string(_ p: UnsafePointer<CChar>?, _ what: String) throws -> String {
    guard let p else { throw TritError(.argument, "\(what) is NULL") }
    let n = strlen(p)
    return try p.withMemoryRebound(to: UInt8.self, capacity: n) { b in
        try validUTF8(UnsafeBufferPointer(start: b, count: n), what)
    }
}

func validUTF8(_ b: UnsafeBufferPointer<UInt8>, _ what: String) throws -> String {
    if let bad = firstInvalidUTF8(b) {
        throw TritError(.argument, "\(what) is not valid UTF-8 (byte \(bad) = 0x\(String(b[bad], radix: 16)))")
    }
    return String(decoding: b, as: UTF8.self)
}

/// Copies bytes + NUL into a caller buffer, or reports the needed length.
func copyOut(_ bytes: [UInt8], _ buf: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ n: UnsafeMutablePointer<Int>?) throws {
    guard let n else { throw TritError(.argument, "n_bytes is NULL") }
    n.pointee = bytes.count
    guard capacity >= bytes.count + 1, let buf else {
        throw TritError(.bufferTooSmall, "the buffer holds \(capacity) bytes; \(bytes.count + 1) are needed (text plus NUL)")
    }
    bytes.withUnsafeBufferPointer { src in
        buf.withMemoryRebound(to: UInt8.self, capacity: bytes.count + 1) { dst in
            if let s = src.baseAddress { dst.update(from: s, count: bytes.count) }
            dst[bytes.count] = 0
        }
    }
}

// MARK: - Structs that cross the ABI (trit.h "Conventions": a leading uint32_t size)

/// The caller's size of a struct whose first field is `uint32_t size`.
func declaredSize(_ p: UnsafeRawPointer, _ what: String) throws -> Int {
    let size = Int(p.load(as: UInt32.self))
    guard size >= 4, size <= 4096 else {
        throw TritError(.argument, "\(what).size is \(size): set it to sizeof the struct (the *_default_params() functions do)")
    }
    return size
}

/// A params struct as the caller sent it: the fields an older (shorter) struct lacks keep
/// their defaults; fields a newer caller has beyond ours are ignored. NULL gives the defaults.
func readParams<T>(_ p: UnsafePointer<T>?, defaults: T, _ what: String) throws -> T {
    guard let p else { return defaults }
    let n = min(try declaredSize(UnsafeRawPointer(p), what), MemoryLayout<T>.size)
    var value = defaults
    withUnsafeMutableBytes(of: &value) { dst in
        dst.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: n))
        dst.storeBytes(of: UInt32(MemoryLayout<T>.size), as: UInt32.self)
    }
    return value
}

/// Writes an output struct up to the caller's declared size (its size field is kept).
func writeOut<T>(_ value: T, to out: UnsafeMutablePointer<T>, _ what: String) throws {
    let raw = UnsafeMutableRawPointer(out)
    let callerSize = try declaredSize(UnsafeRawPointer(raw), what)
    let n = min(callerSize, MemoryLayout<T>.size)
    withUnsafeBytes(of: value) { src in
        // skip the size field itself
        (raw + 4).copyMemory(from: src.baseAddress! + 4, byteCount: n - 4)
    }
}
