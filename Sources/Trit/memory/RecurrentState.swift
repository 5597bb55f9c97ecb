#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Gated DeltaNet layers' memory (qwen35): per sequence and DeltaNet layer, the conv state (the
/// last kernel − 1 inputs of the causal conv1d, [kernel − 1][convDim], oldest first) and the delta
/// rule's state S ([valueHeads][keyHeadDim][valueHeadDim]). Fixed size, whatever the length: it
/// summarises every position, so it can be kept whole or dropped, never cut back to an earlier
/// position (canRollBack: only to the length itself or to 0), except to its checkpoint: one copy of one
/// sequence's state at a length (`checkpoint`), kept while that sequence is not cut below it (generation
/// takes one after the prompt, so its cut after a stop string re-evaluates only generated tokens).
/// Reserved for all sequences and the checkpoint, committed as a sequence first writes it.
final class RecurrentState: SequenceMemory {
    let nSeq, nLayers: Int
    let shape: DeltaNetShape
    let convFloats, stateFloats: Int   // one (sequence, DeltaNet layer)
    private let buffer: AlignedBuffer
    private var sequenceFloats: Int { nLayers * (convFloats + stateFloats) }
    /// The checkpoint: which sequence, at which length (its state is in the slot after the sequences').
    private(set) var checkpointOf: (sequence: Int, length: Int)? = nil

    /// `layers`: how many DeltaNet layers the model has (their ordinals index the state).
    init(nSeq: Int, layers: Int, shape: DeltaNetShape) throws {
        self.nSeq = nSeq; nLayers = layers; self.shape = shape
        convFloats = (shape.convKernel - 1) * shape.convDim
        stateFloats = shape.valueHeads * shape.keyHeadDim * shape.valueHeadDim
        let floats = try checkedMul(try checkedMul(nSeq + 1, layers, "recurrent state"), convFloats + stateFloats,
                                    "recurrent state")
        buffer = try AlignedBuffer(byteCount: try checkedMul(floats, 4, "recurrent state"),
                                   what: "recurrent state (\(nSeq) sequence(s) × \(layers) Gated DeltaNet layers)")
    }

    private func base(_ s: Int) -> UnsafeMutablePointer<Float> { buffer.floats() + s * sequenceFloats }
    /// Sequence s's conv state in DeltaNet layer d.
    @inline(__always) func conv(sequence s: Int, layer d: Int) -> UnsafeMutablePointer<Float> {
        base(s) + d * (convFloats + stateFloats)
    }
    /// Sequence s's delta-rule state in DeltaNet layer d.
    @inline(__always) func state(sequence s: Int, layer d: Int) -> UnsafeMutablePointer<Float> {
        conv(sequence: s, layer: d) + convFloats
    }

    var kind: SavedState.MemoryKind { .recurrent }
    var reservedBytes: Int { buffer.byteCount }
    var bytesPerPosition: Int { 0 }

    /// Keeps a copy of sequence s's state, which holds `length` positions (replacing any other checkpoint).
    func checkpoint(sequence s: Int, length: Int) {
        base(nSeq).update(from: base(s), count: sequenceFloats)
        checkpointOf = (s, length)
    }

    func canRollBack(sequence s: Int, length: Int, to p: Int) -> Bool {
        p == 0 || p == length || (checkpointOf.map { $0.sequence == s && $0.length == p && p < length } ?? false)
    }

    func rollBack(sequence s: Int, length: Int, to p: Int) {
        guard p < length else { return }
        if let c = checkpointOf, c.sequence == s, c.length == p {
            base(s).update(from: base(nSeq), count: sequenceFloats)
            return
        }
        if checkpointOf?.sequence == s { checkpointOf = nil }
        clear(s)
    }

    /// The empty state (zeros), its pages given back where whole pages are covered.
    private func clear(_ s: Int) {
        let start = UnsafeMutableRawPointer(base(s)), bytes = sequenceFloats * 4
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let a = UInt(bitPattern: start), e = a + UInt(bytes)
        let first = (a + UInt(page) - 1) / UInt(page) * UInt(page), last = e / UInt(page) * UInt(page)
        if buffer.mapped > 0 && last > first {
            // zero the partial pages at both ends; the kernel zeroes the rest
            memset(start, 0, Int(first - a))
            memset(UnsafeMutableRawPointer(bitPattern: last)!, 0, Int(e - last))
            madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED)
        } else {
            memset(start, 0, bytes)
        }
    }

    /// `count` is 0 or the source's whole length (InferenceState asks canRollBack first).
    func copyPrefix(from src: Int, to dst: Int, count: Int, dstLength: Int) {
        // the source's state at `count` positions: its checkpoint's when that is where it lies (the state
        // at the checkpoint's length is always the checkpoint), else its own (count = its length)
        let fromCheckpoint = checkpointOf.map { $0.sequence == src && $0.length == count } ?? false
        if checkpointOf?.sequence == dst { checkpointOf = nil }
        if count == 0 { return clear(dst) }
        base(dst).update(from: base(fromCheckpoint ? nSeq : src), count: sequenceFloats)
    }

    var canShift: Bool { false }
    func shift(sequence s: Int, length: Int, keep: Int, discard: Int,
               rotate: (UnsafeMutablePointer<Float>, Int, Int) -> Void) {}

    /// The state after `count` positions (none for 0): every DeltaNet layer's conv state and S.
    func serialize(sequence s: Int, count: Int, into out: inout [UInt8]) {
        guard count > 0 else { return }
        out += UnsafeRawBufferPointer(start: base(s), count: sequenceFloats * 4)
    }

    func serializedBytes(count: Int) -> Int { count > 0 ? sequenceFloats * 4 : 0 }

    func deserialize(sequence s: Int, count: Int, length: Int, from bytes: UnsafeRawBufferPointer) {
        if checkpointOf?.sequence == s { checkpointOf = nil }
        guard count > 0, let p = bytes.baseAddress else { return clear(s) }
        UnsafeMutableRawPointer(base(s)).copyMemory(from: p, byteCount: sequenceFloats * 4)
    }
}

/// A hybrid model's memory (qwen35): the KV cache of its attention layers and the recurrent state
/// of its DeltaNet layers, each operation applied to both; a cut the recurrent state cannot make
/// is refused for the whole.
final class HybridMemory: SequenceMemory {
    let kv: KVCache
    let recurrent: RecurrentState
    init(kv: KVCache, recurrent: RecurrentState) { self.kv = kv; self.recurrent = recurrent }

    var kind: SavedState.MemoryKind { .hybrid }
    var reservedBytes: Int { kv.reservedBytes + recurrent.reservedBytes }
    var bytesPerPosition: Int { kv.bytesPerPosition }

    func canRollBack(sequence s: Int, length: Int, to p: Int) -> Bool {
        kv.canRollBack(sequence: s, length: length, to: p) && recurrent.canRollBack(sequence: s, length: length, to: p)
    }
    func rollBack(sequence s: Int, length: Int, to p: Int) {
        kv.rollBack(sequence: s, length: length, to: p)
        recurrent.rollBack(sequence: s, length: length, to: p)
    }
    func copyPrefix(from src: Int, to dst: Int, count: Int, dstLength: Int) {
        kv.copyPrefix(from: src, to: dst, count: count, dstLength: dstLength)
        recurrent.copyPrefix(from: src, to: dst, count: count, dstLength: dstLength)
    }

    var canShift: Bool { false }
    func shift(sequence s: Int, length: Int, keep: Int, discard: Int,
               rotate: (UnsafeMutablePointer<Float>, Int, Int) -> Void) {}

    /// The KV cache's bytes, then the recurrent state's.
    func serialize(sequence s: Int, count: Int, into out: inout [UInt8]) {
        kv.serialize(sequence: s, count: count, into: &out)
        recurrent.serialize(sequence: s, count: count, into: &out)
    }
    func serializedBytes(count: Int) -> Int {
        kv.serializedBytes(count: count) + recurrent.serializedBytes(count: count)
    }
    func deserialize(sequence s: Int, count: Int, length: Int, from bytes: UnsafeRawBufferPointer) {
        let k = kv.serializedBytes(count: count)
        kv.deserialize(sequence: s, count: count, length: length, from: UnsafeRawBufferPointer(rebasing: bytes[0..<k]))
        recurrent.deserialize(sequence: s, count: count, length: length,
                              from: UnsafeRawBufferPointer(rebasing: bytes[k..<bytes.count]))
    }
}
