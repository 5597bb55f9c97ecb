import CTrit
import Trit

// trit.h's token constraint (trit_mask_fn, trit_token_fn, trit_forced_fn) as a Trit.TokenConstraint.

/// The constraint of a generation or request, or nil when `mask` is NULL. A callback's nonzero
/// return (the forced callback's negative one) becomes a TRIT_ERR_CANCELLED error naming it.
func tokenConstraint(_ mask: trit_mask_fn?, _ accept: trit_token_fn?, _ forced: trit_forced_fn?,
                     _ user: UnsafeMutableRawPointer?, vocabSize: Int) throws -> TokenConstraint? {
    guard let mask else {
        guard accept == nil else { throw TritError(.argument, "constraint_accept is set but constraint_mask is NULL") }
        guard forced == nil else { throw TritError(.argument, "constraint_forced is set but constraint_mask is NULL") }
        return nil
    }
    let forcedTokens: ((UnsafeMutableBufferPointer<Int32>) throws -> Int)? = forced.map { f in
        { buf in
            let n = f(buf.baseAddress, buf.count, user)
            if n < 0 { throw TritError(.cancelled, "the constraint's forced-token callback returned \(n)") }
            return Int(n)
        }
    }
    return try TokenConstraint(vocabSize: vocabSize, fillMask: { words in
        let rc = mask(words.baseAddress, words.count, user)
        if rc != 0 { throw TritError(.cancelled, "the constraint's mask callback returned \(rc)") }
    }, tokenChosen: { token in
        guard let accept else { return }
        let rc = accept(token, user)
        if rc != 0 { throw TritError(.cancelled, "the constraint's accept callback returned \(rc) for token \(token)") }
    }, forced: forcedTokens)
}
