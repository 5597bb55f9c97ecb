import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The attention layers' memory: keys and values of every position, per sequence, layer and KV
/// head. Layout [seq][layer][KV head][nCtx][head bytes]: head-major, so attention streams one
/// head's positions contiguously. Reserved for nSeq × nCtx positions, committed as rows are
/// written and given back when a sequence is cut.
final class KVCache: SequenceMemory {
    let nSeq, nCtx, nLayers, nKVHeads, headDim: Int
    let keyType, valueType: KVCacheType
    let keyHeadBytes, valueHeadBytes: Int  // one head vector of one position
    let keys, values: AlignedBuffer

    /// `layers`: the layers that attend (their index in the model; others get no cache).
    init(nSeq: Int, nCtx: Int, layers: Int, kvHeads: Int, headDim: Int, keyType: KVCacheType, valueType: KVCacheType) throws {
        self.nSeq = nSeq; self.nCtx = nCtx; nLayers = layers; nKVHeads = kvHeads; self.headDim = headDim
        self.keyType = keyType; self.valueType = valueType
        keyHeadBytes = keyType.headBytes(headDim)
        valueHeadBytes = valueType.headBytes(headDim)
        let positions = try checkedMul(try checkedMul(layers, nCtx, "KV cache"), nSeq, "KV cache")
        let kvBytes = try checkedMul(positions, kvHeads * (keyHeadBytes + valueHeadBytes), "KV cache")
        // the cache is mapped lazily, so refuse what this machine could never hold
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE)))
        guard kvBytes <= (1 << 46), physical <= 0 || kvBytes <= physical else {
            throw TritError(.outOfMemory, "a KV cache of \(nCtx) positions × \(nSeq) sequence(s) needs \(kvBytes) bytes, more than this machine's memory (\(physical) bytes); choose a smaller n_ctx")
        }
        let what = "KV cache (\(kvBytes) bytes for n_ctx \(nCtx))"
        keys = try AlignedBuffer(byteCount: positions * kvHeads * keyHeadBytes, what: what)
        values = try AlignedBuffer(byteCount: positions * kvHeads * valueHeadBytes, what: what)
    }

    /// Head 0 of sequence s in layer l (its heads follow, nCtx head vectors apart).
    @inline(__always) func keys(sequence s: Int, layer l: Int) -> UnsafeMutablePointer<UInt8> {
        keys.raw.assumingMemoryBound(to: UInt8.self) + (s * nLayers + l) * nCtx * nKVHeads * keyHeadBytes
    }
    @inline(__always) func values(sequence s: Int, layer l: Int) -> UnsafeMutablePointer<UInt8> {
        values.raw.assumingMemoryBound(to: UInt8.self) + (s * nLayers + l) * nCtx * nKVHeads * valueHeadBytes
    }

    /// Appends one position: the KV heads of `k` and `v` (nKVHeads × headDim floats each) at
    /// position `pos` of sequence s in layer l.
    @inline(__always) func store(sequence s: Int, layer l: Int, position pos: Int,
                                 k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        let kb = keys(sequence: s, layer: l), vb = values(sequence: s, layer: l)
        for h in 0..<nKVHeads {
            tk_kv_store(keyType.rawValue, k + h * headDim, 1, Int64(headDim), kb + (h * nCtx + pos) * keyHeadBytes)
            tk_kv_store(valueType.rawValue, v + h * headDim, 1, Int64(headDim), vb + (h * nCtx + pos) * valueHeadBytes)
        }
    }

    var kind: SavedState.MemoryKind { .kvCache }
    var reservedBytes: Int { keys.byteCount + values.byteCount }
    var bytesPerPosition: Int { nLayers * nKVHeads * (keyHeadBytes + valueHeadBytes) }

    /// Each (sequence, layer, KV head) block of nCtx positions, in order.
    private var blocks: Int { nLayers * nKVHeads }

    func canRollBack(sequence s: Int, length: Int, to p: Int) -> Bool { p >= 0 && p <= length }

    func rollBack(sequence s: Int, length: Int, to p: Int) {
        guard p < length else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for (cache, hb) in [(keys, keyHeadBytes), (values, valueHeadBytes)] where cache.mapped > 0 {
            for b in 0..<blocks {
                let base = UInt(bitPattern: cache.raw + ((s * blocks + b) * nCtx + p) * hb)
                let end = UInt(bitPattern: cache.raw + (s * blocks + b + 1) * nCtx * hb)
                let first = (base + UInt(page) - 1) / UInt(page) * UInt(page)
                let last = end / UInt(page) * UInt(page)
                if last > first { madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED) }
            }
        }
    }

    func copyPrefix(from src: Int, to dst: Int, count: Int, dstLength: Int) {
        // each (layer, KV head) holds its positions contiguously
        for (cache, hb) in [(keys, keyHeadBytes), (values, valueHeadBytes)] {
            for b in 0..<blocks {
                let from = (src * blocks + b) * nCtx * hb, to = (dst * blocks + b) * nCtx * hb
                (cache.raw + to).copyMemory(from: cache.raw + from, byteCount: count * hb)
            }
        }
        if count < dstLength { rollBack(sequence: dst, length: dstLength, to: count) }
    }

    var canShift: Bool { true }

    /// Keys in F16 or Q8_0 are read, rotated and stored again (one more rounding of the cache
    /// type); values move as they are.
    func shift(sequence s: Int, length: Int, keep: Int, discard: Int,
               rotate: (UnsafeMutablePointer<Float>, Int, Int) -> Void) {
        var vec = [Float](repeating: 0, count: headDim)
        let kBase = keys.raw.assumingMemoryBound(to: UInt8.self)
        let vBase = values.raw.assumingMemoryBound(to: UInt8.self)
        for p in (keep + discard)..<length {
            let q = p - discard
            for b in 0..<blocks {
                let kHead = kBase + ((s * blocks + b) * nCtx) * keyHeadBytes
                vec.withUnsafeMutableBufferPointer { v in
                    tk_kv_load(keyType.rawValue, kHead + p * keyHeadBytes, 1, Int64(headDim), v.baseAddress)
                    rotate(v.baseAddress!, p, q)
                    tk_kv_store(keyType.rawValue, v.baseAddress, 1, Int64(headDim), kHead + q * keyHeadBytes)
                }
                let vHead = vBase + ((s * blocks + b) * nCtx) * valueHeadBytes
                (vHead + q * valueHeadBytes).update(from: vHead + p * valueHeadBytes, count: valueHeadBytes)
            }
        }
        rollBack(sequence: s, length: length, to: length - discard)
    }

    /// Per layer and KV head: `count` key heads, then `count` value heads (the cache's bytes).
    func serialize(sequence s: Int, count n: Int, into out: inout [UInt8]) {
        for b in 0..<blocks {
            out += UnsafeRawBufferPointer(start: keys.raw + (s * blocks + b) * nCtx * keyHeadBytes, count: n * keyHeadBytes)
            out += UnsafeRawBufferPointer(start: values.raw + (s * blocks + b) * nCtx * valueHeadBytes, count: n * valueHeadBytes)
        }
    }

    func serializedBytes(count n: Int) -> Int { blocks * n * (keyHeadBytes + valueHeadBytes) }

    func deserialize(sequence s: Int, count n: Int, length: Int, from bytes: UnsafeRawBufferPointer) {
        guard n > 0, var at = bytes.baseAddress else { return rollBack(sequence: s, length: length, to: 0) }
        for b in 0..<blocks {
            (keys.raw + (s * blocks + b) * nCtx * keyHeadBytes).copyMemory(from: at, byteCount: n * keyHeadBytes)
            at += n * keyHeadBytes
            (values.raw + (s * blocks + b) * nCtx * valueHeadBytes).copyMemory(from: at, byteCount: n * valueHeadBytes)
            at += n * valueHeadBytes
        }
        if n < length { rollBack(sequence: s, length: length, to: n) }
    }
}
