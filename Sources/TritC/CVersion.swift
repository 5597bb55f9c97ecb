import CTrit
import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

nonisolated(unsafe) let versionCString: UnsafePointer<CChar> =
    UnsafePointer(strdup("\(TRIT_VERSION_MAJOR).\(TRIT_VERSION_MINOR).\(TRIT_VERSION_PATCH)")!)

@_cdecl("trit_version_number")
public func trit_version_number() -> Int32 {
    Int32(TRIT_VERSION_MAJOR * 1_000_000 + TRIT_VERSION_MINOR * 1000 + TRIT_VERSION_PATCH)
}

@_cdecl("trit_version_string")
public func trit_version_string() -> UnsafePointer<CChar>? { versionCString }

nonisolated(unsafe) let statusStrings: [UnsafePointer<CChar>] = ([
    "ok", "invalid argument", "input/output error", "malformed file", "unsupported",
    "out of memory", "invalid state", "context full", "cancelled", "buffer too small", "internal error", "busy",
] as [String]).map { UnsafePointer(strdup($0)!) }
nonisolated(unsafe) let unknownStatus: UnsafePointer<CChar> = UnsafePointer(strdup("unknown status")!)

@_cdecl("trit_status_string")
public func trit_status_string(_ status: trit_status) -> UnsafePointer<CChar>? {
    let i = Int(status.rawValue)
    return i < statusStrings.count ? statusStrings[i] : unknownStatus
}

@_cdecl("trit_last_error")
public func trit_last_error() -> UnsafePointer<CChar>? { lastError.get() }
