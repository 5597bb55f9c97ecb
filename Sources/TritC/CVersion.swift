import CTrit
import Trit

@_cdecl("trit_version_number")
public func trit_version_number() -> Int32 { Int32(TRIT_VERSION_MAJOR * 1_000_000 + TRIT_VERSION_MINOR * 1000 + TRIT_VERSION_PATCH) }
