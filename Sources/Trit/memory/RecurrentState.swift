#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Gated DeltaNet layers' memory (qwen35): per sequence and DeltaNet layer, the conv state (the
/// last kernel − 1 inputs of the causal conv1d, [kernel − 1][convDim], oldest first) and the delta
/// rule's state S ([valueHeads][keyHeadDim][valueHeadDim]). Fixed size, whatever the length: it
/// summarises every position, so it can be kept whole or dropped, never cut back to an earlier
/// position (canRollBack: only to the length itself or to 0), except to one of its checkpoints: copies
/// of the sequence's state at earlier lengths (`checkpoint`), at most `checkpointsPerSequence` per
/// sequence (the oldest, shortest one goes first), kept while the sequence is not cut below them
/// (llama.cpp's context checkpoints). Generation takes one after the prompt, so its cut after a stop
/// string re-evaluates only generated tokens; the engine takes them at prompt chunk ends, so a new
/// request sharing a prefix resumes from the longest one within it.
/// Reserved for all sequences and their checkpoints (nSeq × (1 + checkpointsPerSequence) states),
/// committed as a sequence or checkpoint first writes it.
final class RecurrentState: SequenceMemory {
    let nSeq, nLayers: Int
    let shape: DeltaNetShape
    let convFloats, stateFloats: Int   // one (sequence, DeltaNet layer)
    let checkpointsPerSequence: Int
    private let buffer: AlignedBuffer
    private var sequenceFloats: Int { nLayers * (convFloats + stateFloats) }
    /// Each sequence's checkpoints, shortest first: the length and the state slot (≥ nSeq) holding it.
    private var checkpoints: [[(length: Int, slot: Int)]]

    /// `layers`: how many DeltaNet layers the model has (their ordinals index the state);
    /// `checkpoints`: how many checkpoints each sequence may keep (0 to 64).
    init(nSeq: Int, layers: Int, shape: DeltaNetShape, checkpoints: Int = 1) throws {
        guard checkpoints >= 0, checkpoints <= 64 else {
            throw TritError.argument("checkpoints must be 0 to 64 per sequence, got \(checkpoints)")
        }
        self.nSeq = nSeq; nLayers = layers; self.shape = shape
        checkpointsPerSequence = checkpoints
        self.checkpoints = Array(repeating: [], count: nSeq)
        convFloats = (shape.convKernel - 1) * shape.convDim
        stateFloats = shape.valueHeads * shape.keyHeadDim * shape.valueHeadDim
        let states = try checkedMul(nSeq, 1 + checkpoints, "recurrent state")
        let floats = try checkedMul(try checkedMul(states, layers, "recurrent state"), convFloats + stateFloats,
                                    "recurrent state")
        buffer = try AlignedBuffer(byteCount: try checkedMul(floats, 4, "recurrent state"),
                                   what: "recurrent state (\(nSeq) sequence(s) × \(1 + checkpoints) states × "
                                       + "\(layers) Gated DeltaNet layers)", hugePages: true)
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
    /// Bytes one sequence's state takes (a checkpoint takes as much).
    var sequenceBytes: Int { sequenceFloats * 4 }

    /// The lengths at which sequence s has checkpoints, shortest first.
    func checkpointLengths(sequence s: Int) -> [Int] { checkpoints[s].map { $0.length } }

    /// The longest checkpoint of sequence s at a length ≤ n (nil: none).
    func longestCheckpoint(sequence s: Int, atMost n: Int) -> Int? {
        checkpoints[s].last { $0.length <= n }?.length
    }

    /// Keeps a copy of sequence s's state, which holds `length` positions (its checkpoints are all
    /// shorter or equal: longer ones went with the cut that made it shorter); when s has its
    /// allowance already, the shortest one goes.
    func checkpoint(sequence s: Int, length: Int) {
        guard checkpointsPerSequence > 0, length > 0 else { return }
        checkpoints[s].removeAll { $0.length >= length }   // (equal: the same state; longer: cannot be)
        let own = (nSeq + s * checkpointsPerSequence)..<(nSeq + (s + 1) * checkpointsPerSequence)
        let slot: Int
        if checkpoints[s].count == checkpointsPerSequence {
            slot = checkpoints[s].removeFirst().slot
        } else {
            slot = own.first { c in !checkpoints[s].contains { $0.slot == c } }!
        }
        base(slot).update(from: base(s), count: sequenceFloats)
        checkpoints[s].append((length, slot))
    }

    func canRollBack(sequence s: Int, length: Int, to p: Int) -> Bool {
        p == 0 || p == length || (p < length && checkpoints[s].contains { $0.length == p })
    }

    func rollBack(sequence s: Int, length: Int, to p: Int) {
        guard p < length else { return }
        checkpoints[s].removeAll { $0.length > p }
        if p > 0, let c = checkpoints[s].last, c.length == p {
            base(s).update(from: base(c.slot), count: sequenceFloats)
            return
        }
        checkpoints[s].removeAll()
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

    /// `count` is 0, the source's whole length or one of its checkpoints' (InferenceState asks
    /// canRollBack first). The destination's checkpoints are dropped.
    func copyPrefix(from src: Int, to dst: Int, count: Int, dstLength: Int) {
        // the source's state at `count` positions: its checkpoint's when one lies there, else its own
        let from = checkpoints[src].last { $0.length == count }?.slot ?? src
        checkpoints[dst].removeAll()
        if count == 0 { return clear(dst) }
        base(dst).update(from: base(from), count: sequenceFloats)
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
        checkpoints[s].removeAll()
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
