import CTrit
import Trit

// Batches with per-row logits and the per-sequence cache operations.

@_cdecl("trit_decode")
public func trit_decode(_ ctx: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ seqIDs: UnsafePointer<Int32>?,
                        _ want: UnsafePointer<Bool>?, _ nTokens: Int, _ logits: UnsafeMutablePointer<Float>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let tokens, let seqIDs else { throw TritError(.argument, "tokens and seq_ids must not be NULL") }
            guard nTokens > 0, nTokens <= Int(Int32.max) else { throw TritError(.argument, "n_tokens must be positive, got \(nTokens)") }
            try box.state.decode(UnsafeBufferPointer(start: tokens, count: nTokens),
                                 sequences: UnsafeBufferPointer(start: seqIDs, count: nTokens),
                                 wantLogits: want.map { UnsafeBufferPointer(start: $0, count: nTokens) }, logits: logits)
        }
    }
}

@_cdecl("trit_seq_length")
public func trit_seq_length(_ ctx: OpaquePointer?, _ seq: Int32, _ n: UnsafeMutablePointer<Int32>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let n else { throw TritError(.argument, "n_positions is NULL") }
            guard seq >= 0, Int(seq) < box.state.nSeq else { throw TritError(.argument, "sequence \(seq) is out of range (the context has \(box.state.nSeq))") }
            n.pointee = Int32(clamping: box.state.seqPast[Int(seq)])
        }
    }
}

@_cdecl("trit_seq_remove")
public func trit_seq_remove(_ ctx: OpaquePointer?, _ seq: Int32, _ from: Int32) -> trit_status {
    guarded { try withContext(ctx) { try $0.state.removeTokens(of: Int(seq), from: Int(from)) } }
}

@_cdecl("trit_seq_copy")
public func trit_seq_copy(_ ctx: OpaquePointer?, _ src: Int32, _ dst: Int32, _ n: Int32) -> trit_status {
    guarded { try withContext(ctx) { try $0.state.copyPrefix(from: Int(src), to: Int(dst), count: Int(n)) } }
}

@_cdecl("trit_context_get_cells")
public func trit_context_get_cells(_ ctx: OpaquePointer?, _ used: UnsafeMutablePointer<Int32>?,
                                   _ capacity: UnsafeMutablePointer<Int32>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            used?.pointee = Int32(clamping: box.state.cellsUsed)
            capacity?.pointee = Int32(clamping: box.state.cellCapacity)
        }
    }
}
