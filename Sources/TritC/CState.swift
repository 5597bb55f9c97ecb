import CTrit
import Trit

// Saved state (prompt cache): Trit's SavedState through the C API.

@_cdecl("trit_state_save_file")
public func trit_state_save_file(_ ctx: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in try box.state.saveState(path: try string(path, "path")) }
    }
}

@_cdecl("trit_state_load_file")
public func trit_state_load_file(_ ctx: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in try box.state.loadState(path: try string(path, "path")) }
    }
}

@_cdecl("trit_state_save")
public func trit_state_save(_ ctx: OpaquePointer?, _ buf: UnsafeMutablePointer<UInt8>?, _ capacity: Int,
                            _ nBytes: UnsafeMutablePointer<Int>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let nBytes else { throw TritError(.argument, "n_bytes is NULL") }
            let bytes = box.state.saveState()
            nBytes.pointee = bytes.count
            guard capacity >= bytes.count else {
                throw TritError(.bufferTooSmall, "the state has \(bytes.count) bytes; the buffer holds \(capacity)")
            }
            guard let buf else { throw TritError(.argument, "buf is NULL") }
            bytes.withUnsafeBufferPointer { buf.update(from: $0.baseAddress!, count: bytes.count) }
        }
    }
}

@_cdecl("trit_state_load")
public func trit_state_load(_ ctx: OpaquePointer?, _ buf: UnsafePointer<UInt8>?, _ nBytes: Int) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let buf else { throw TritError(.argument, "buf is NULL") }
            try box.state.loadState(UnsafeRawBufferPointer(start: buf, count: nBytes))
        }
    }
}
