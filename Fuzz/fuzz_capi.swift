// libFuzzer target: a GGUF file through the C API (built by scripts/fuzz.sh with the TritC
// sources): trit_model_load on the bytes written to a temporary file, then get_info, a context,
// one eval and a short generation. Every call must return a status, never trap.
// (compiled in one module with Sources/Trit and Sources/TritC, so the exports are plain calls)
import CTrit
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) var fuzzPath: String = {
    var template = Array("/tmp/trit-fuzz-capi-XXXXXX.gguf".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 5) }
    if fd >= 0 { close(fd) }
    return String(cString: template)
}()

func fuzzCAPI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let fd = open(fuzzPath, O_WRONLY | O_TRUNC | O_CREAT, 0o600)
    guard fd >= 0 else { return 0 }
    if let data, size > 0 { _ = write(fd, data, size) }
    close(fd)
    throughCAPI(path: fuzzPath)
    return 0
}

/// Load, info, a context, one eval, a few generated tokens: only statuses may come back.
func throughCAPI(path: String) {
    var model: OpaquePointer?
    guard trit_model_load(path, nil, &model) == TRIT_OK, let model else { return }
    defer { trit_model_free(model) }
    var info = trit_model_info()
    info.size = UInt32(MemoryLayout<trit_model_info>.size)
    guard trit_model_get_info(model, &info) == TRIT_OK, info.weight_bytes < 64 << 20 else { return }
    var cp = trit_context_default_params()
    cp.n_ctx = 8
    cp.n_threads = 1
    var ctx: OpaquePointer?
    guard trit_context_create(model, &cp, &ctx) == TRIT_OK, let ctx else { return }
    defer { trit_context_free(ctx) }
    var tok: Int32 = max(info.bos, 0)
    _ = trit_eval(ctx, &tok, 1, nil)
    var gp = trit_generate_default_params()
    gp.max_tokens = 3
    _ = trit_generate(ctx, "Hi", &gp, nil, nil, nil)
}
