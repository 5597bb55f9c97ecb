import CTrit
import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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

/// The table of live handles. A handle is not an address: it is (generation << 24) | (slot + 1),
/// so a NULL, freed, foreign or reused handle is an argument error, never a crash or another
/// object. A lookup returns a strong reference: an object freed by one thread while another
/// thread's call uses it lives until that call returns.
final class HandleTable: @unchecked Sendable {
    private struct Slot { var object: AnyObject?; var generation: UInt64 }
    private var slots: [Slot] = []
    private var free: [Int] = []
    private var lock = pthread_mutex_t()
    static let slotBits = 24
    init() { pthread_mutex_init(&lock, nil) }

    func add(_ object: AnyObject) throws -> OpaquePointer {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        let i: Int
        if let f = free.popLast() {
            i = f
        } else {
            guard slots.count < (1 << Self.slotBits) - 1 else { throw TritError(.outOfMemory, "too many live trit handles") }
            slots.append(Slot(object: nil, generation: 1))
            i = slots.count - 1
        }
        slots[i].object = object
        return OpaquePointer(bitPattern: UInt(slots[i].generation << UInt64(Self.slotBits)) | UInt(i + 1))!
    }

    private func slot(_ h: OpaquePointer) -> Int? {
        let v = UInt64(UInt(bitPattern: h))
        let i = Int(v & ((1 << UInt64(Self.slotBits)) - 1)) - 1
        guard i >= 0, i < slots.count, slots[i].object != nil, slots[i].generation == v >> UInt64(Self.slotBits) else { return nil }
        return i
    }

    func get(_ h: OpaquePointer) -> AnyObject? {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        return slot(h).flatMap { slots[$0].object }
    }

    /// Removes h; the removed object, or nil if h was not live. The slot's generation moves on,
    /// so h never names anything again.
    @discardableResult
    func remove(_ h: OpaquePointer) -> AnyObject? {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        guard let i = slot(h) else { return nil }
        let o = slots[i].object
        slots[i].object = nil
        slots[i].generation = (slots[i].generation + 1) & ((1 << 40) - 1)
        if slots[i].generation == 0 { slots[i].generation = 1 }
        free.append(i)
        return o
    }
}
let handles = HandleTable()

final class ModelBox {
    let model: Model
    let tokenizer: TokenizerBox?
    /// The handle of the borrowed tokenizer, made with the model's handle and removed with it.
    var tokenizerHandle: OpaquePointer?
    /// The chat template as a C string, owned by the box (trit_model_get_chat_template).
    let chatTemplate: UnsafeMutablePointer<CChar>?
    init(_ m: Model) {
        model = m
        tokenizer = m.tokenizer.map { TokenizerBox($0, owned: false) }
        chatTemplate = m.chatTemplateSource.flatMap { strdup($0) }
    }
    deinit { free(chatTemplate) }
}
final class TokenizerBox {
    let tokenizer: Tokenizer
    let owned: Bool
    init(_ t: Tokenizer, owned: Bool) { tokenizer = t; self.owned = owned }
}
final class ContextBox {
    let state: InferenceState
    /// The parameters as resolved at creation (trit_context_get_params).
    let params: trit_context_params
    var lock = pthread_mutex_t()
    init(_ s: InferenceState, params: trit_context_params) { state = s; self.params = params; pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }
}

/// A new handle for `object`.
func makeHandle(_ object: AnyObject) throws -> OpaquePointer {
    try handles.add(object)
}

/// The object behind a live handle of type T, or a TRIT_ERR_ARG error naming `what`.
func object<T: AnyObject>(_ h: OpaquePointer?, _ type: T.Type, _ what: String) throws -> T {
    guard let h else { throw TritError(.argument, "\(what) is NULL") }
    guard let any = handles.get(h) else {
        throw TritError(.argument, "\(what) is not a live trit handle (freed, or never created by trit)")
    }
    guard let t = any as? T else { throw TritError(.argument, "\(what) is a handle of another kind") }
    return t
}

/// Releases a handle of type T; false if it was not a live handle of that type.
@discardableResult
func releaseHandle<T: AnyObject>(_ h: OpaquePointer?, _ type: T.Type) -> Bool {
    guard let h, let o = handles.get(h), o is T else { return false }
    return handles.remove(h) != nil
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
