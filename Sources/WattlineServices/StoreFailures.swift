import WattlineStore
import WattlineWire

/// What a store error means to a caller, for every handler at once (`CallFailureConvertible`):
/// retryable trouble is UNAVAILABLE, a unique key taken concurrently ALREADY_EXISTS, anything
/// else INTERNAL. Never the database's text: it may name tables or carry customer data.
extension PGError: CallFailureConvertible {
    public var callFailure: CallFailure {
        if code == .uniqueViolation { return .alreadyExists("it was created concurrently; read it again") }
        if isRetryable || code == .poolExhausted || code == .queryCanceled {
            return .unavailable("the store is unavailable; try again")
        }
        return .internalError()
    }
}
