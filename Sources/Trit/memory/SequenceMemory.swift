/// What a context keeps of each sequence between forward passes, behind one interface: the
/// operations a context, the engine, generation and saved states perform on "the memory of
/// sequence s" go through this protocol only (llama.cpp's `llama_memory_i` has the same shape).
///
/// The context owns the positions (how many tokens each sequence holds, and which); a memory
/// holds what the layers computed for them. The forward pass appends (it writes the new
/// positions' entries before the context commits them). A KV cache can forget any suffix; a
/// recurrent state (a Gated DeltaNet layer's) summarises every position in one fixed-size state
/// and cannot go back to an arbitrary earlier position: `canRollBack` says which cuts a memory can
/// make, and the context refuses the others with TritError .state instead of continuing wrongly.
///
/// Adding a memory kind = a type conforming to this protocol (e.g. a recurrent state, or a hybrid
/// holding a KV cache for the attention layers and a recurrent state for the others), chosen in
/// `InferenceState.init` from the model's layer kinds, and a `SavedState.MemoryKind` id.
protocol SequenceMemory: AnyObject {
    /// The kind's id in a saved state (SavedState.MemoryKind).
    var kind: SavedState.MemoryKind { get }
    /// Bytes reserved for all sequences (address space; committed as positions are written).
    var reservedBytes: Int { get }
    /// Bytes one position of one sequence takes (for a recurrent state: 0).
    var bytesPerPosition: Int { get }

    /// True when sequence `s`, holding `length` positions, can be cut back to its first `p`.
    func canRollBack(sequence s: Int, length: Int, to p: Int) -> Bool
    /// Forgets positions p..<length of sequence s (giving their memory back); callers check
    /// canRollBack first. p = 0 frees the sequence.
    func rollBack(sequence s: Int, length: Int, to p: Int)
    /// Makes sequence `dst` hold the first `count` positions of `src` (dst held `dstLength`).
    func copyPrefix(from src: Int, to dst: Int, count: Int, dstLength: Int)

    /// True when positions can be dropped from the middle of a sequence (context shift).
    var canShift: Bool { get }
    /// Drops positions keep..<keep+discard of sequence s (holding `length`), moving the later ones
    /// down; `rotate(vec, from, to)` re-rotates a key from one position to another.
    func shift(sequence s: Int, length: Int, keep: Int, discard: Int,
               rotate: (UnsafeMutablePointer<Float>, Int, Int) -> Void)

    /// The memory of the first `count` positions of sequence s, appended to `out`.
    func serialize(sequence s: Int, count: Int, into out: inout [UInt8])
    /// Bytes `serialize` writes for `count` positions.
    func serializedBytes(count: Int) -> Int
    /// Replaces sequence s's memory by `bytes` (exactly serializedBytes(count) of them, checked
    /// by the caller) for `count` positions; sequence s held `length` before.
    func deserialize(sequence s: Int, count: Int, length: Int, from bytes: UnsafeRawBufferPointer)
}
