/// Every failure the engine reports: a kind (mapped to a C status code) and a message that
/// names the file, tensor or key and what was expected.
public struct TritError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Int32, Sendable {
        case argument = 1      // TRIT_ERR_ARG
        case io = 2            // TRIT_ERR_IO
        case format = 3        // TRIT_ERR_FORMAT
        case unsupported = 4   // TRIT_ERR_UNSUPPORTED
        case outOfMemory = 5   // TRIT_ERR_OOM
        case state = 6         // TRIT_ERR_STATE
        case contextFull = 7   // TRIT_ERR_CONTEXT_FULL
        case cancelled = 8     // TRIT_ERR_CANCELLED
        case bufferTooSmall = 9 // TRIT_ERR_BUFFER_TOO_SMALL
        case `internal` = 10   // TRIT_ERR_INTERNAL
        case busy = 11         // TRIT_ERR_BUSY
    }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }

    static func format(_ m: String) -> TritError { TritError(.format, m) }
    static func unsupported(_ m: String) -> TritError { TritError(.unsupported, m) }
    static func argument(_ m: String) -> TritError { TritError(.argument, m) }
}

/// Overflow-checked size arithmetic for sizes read from files.
@inline(__always)
func checkedMul(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
    let (r, o) = a.multipliedReportingOverflow(by: b)
    if o || a < 0 || b < 0 { throw TritError.format("\(what()): size overflows") }
    return r
}

@inline(__always)
func checkedAdd(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
    let (r, o) = a.addingReportingOverflow(b)
    if o || a < 0 || b < 0 { throw TritError.format("\(what()): size overflows") }
    return r
}
