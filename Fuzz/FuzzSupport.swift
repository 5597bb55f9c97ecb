// What the fuzz targets share: the checkout they were built from, and fixtures loaded from it.
// Compiled into build/fuzz/fuzz_all (one module with the engine), never into libtrit.
#if canImport(Glibc)
import Glibc
#endif

/// The checkout's root: two levels above this source file (scripts/fuzz.sh compiles Fuzz/ with
/// absolute paths), so the targets find their fixtures from any working directory.
let fuzzRepositoryRoot: String = {
    var path = #filePath
    for _ in 0..<2 {
        guard let slash = path.lastIndex(of: "/") else { break }
        path = String(path[..<slash])
    }
    return path
}()

/// `load(root + "/" + relative)`, or a message naming the path and the reason and exit status 2
/// before any input runs: a target whose fixture is missing must not fuzz nothing and pass.
func fuzzFixture<T>(_ relative: String, _ load: (String) throws -> T) -> T {
    let path = fuzzRepositoryRoot + "/" + relative
    do {
        return try load(path)
    } catch {
        fputs("fuzz_all: cannot load the fixture \(path): \(error)\n", stderr)
        exit(2)
    }
}
