#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the small model shipped with trit is found: beside the binary that looks for it. `make install`
/// puts the library in PREFIX/lib/, the command in PREFIX/bin/ and the model in PREFIX/share/trit/; the
/// Python wheel has the same layout inside its package (trit/lib/, trit/share/trit/); a build in the
/// source tree (build/lib/, build/bin/, .build/<triple>/release/) finds the tree's Models/.
/// One lookup for the C API (trit_bundled_model_path), Python and the `trit` command.
public enum BundledModel {
    public static let fileName = "trit-bundled-i2_s.gguf"

    /// The places looked in, in order, for a binary in `directory` (a real path, no trailing slash):
    /// `directory/../share/trit/`, then `Models/` two and three folders up.
    public static func candidates(besideBinaryIn directory: String) -> [String] {
        var parents: [String] = []
        var d = directory
        for _ in 0..<3 {
            guard let slash = d.lastIndex(of: "/"), slash != d.startIndex else { break }
            d = String(d[..<slash])
            parents.append(d)
        }
        var found: [String] = []
        if let first = parents.first { found.append("\(first)/share/trit/\(fileName)") }
        for p in parents.dropFirst() { found.append("\(p)/Models/\(fileName)") }
        return found
    }

    /// The first readable candidate, or an I/O error naming every place looked in.
    public static func find(besideBinaryIn directory: String) throws -> String {
        let places = candidates(besideBinaryIn: directory)
        for p in places where access(p, R_OK) == 0 { return p }
        throw TritError(.io, "the bundled model \(fileName) was not found; looked in "
            + places.joined(separator: ", ") + " (beside \(directory))")
    }

    /// The real folder of a file (symbolic links resolved), or nil.
    public static func realDirectory(of file: UnsafePointer<CChar>) -> String? {
        guard let real = realpath(file, nil) else { return nil }
        defer { free(real) }
        let path = String(cString: real)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
