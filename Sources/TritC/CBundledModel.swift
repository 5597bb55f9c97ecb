import CTrit
import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// trit_bundled_model_path: the bundled model, found beside this library (BundledModel's places, from the
// folder dladdr reports for libtrit.so.0, or for the program the engine is linked into).

/// dladdr and its Dl_info (four pointers, the first the file's name): the Glibc module declares neither
/// (both need _GNU_SOURCE), so dladdr is looked up by name and Dl_info passed as raw bytes.
private typealias DladdrFunction = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Int32
private typealias DlInfo = (fileName: UnsafePointer<CChar>?, fileBase: UnsafeRawPointer?,
                            symbolName: UnsafePointer<CChar>?, symbolAddress: UnsafeRawPointer?)

/// A byte of this library's data: dladdr maps its address to the file it was loaded from. (A C function
/// pointer to an export would do too, but in a debug build it makes the compiler emit the export again.)
nonisolated(unsafe) var addressInThisLibrary: UInt8 = 0

/// The real folder of the file this code was loaded from.
func directoryOfThisLibrary() -> String? {
    #if os(Linux)
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "dladdr") else { return nil }  // RTLD_DEFAULT
    #else
    // Darwin's RTLD_DEFAULT is (void *)-2, not glibc's 0
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: -2), "dladdr") else { return nil }
    #endif
    let dladdr = unsafeBitCast(symbol, to: DladdrFunction.self)
    var info: DlInfo = (nil, nil, nil, nil)
    let found = withUnsafeMutablePointer(to: &addressInThisLibrary) { here in
        withUnsafeMutableBytes(of: &info) { dladdr(UnsafeRawPointer(here), $0.baseAddress) }
    }
    guard found != 0, let name = info.fileName else { return nil }
    return BundledModel.realDirectory(of: name)
}

/// Looked up once, at the first call: the path (static storage) or the error naming every place tried.
nonisolated(unsafe) let bundledModelLookup: Result<UnsafePointer<CChar>, TritError> = {
    guard let dir = directoryOfThisLibrary() else {
        return .failure(TritError(.io, "the bundled model \(BundledModel.fileName) was not found: the library "
            + "cannot tell where it was loaded from (dladdr failed)"))
    }
    return Result { UnsafePointer(strdup(try BundledModel.find(besideBinaryIn: dir))!) }
        .mapError { $0 as? TritError ?? TritError(.internal, "\($0)") }
}()

@_cdecl("trit_bundled_model_path")
public func trit_bundled_model_path(_ path: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> trit_status {
    guarded {
        guard let path else { throw TritError(.argument, "path is NULL") }
        path.pointee = nil
        path.pointee = try bundledModelLookup.get()
    }
}
