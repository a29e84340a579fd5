import WattlineStore
import WattlineWire

/// Runs a handler body so that only precise `CallFailure`s leave it: database trouble becomes
/// UNAVAILABLE (retryable) or INTERNAL, never with the database's text.
func guarded<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let failure as CallFailure {
        throw failure
    } catch let error as PGError where error.isRetryable || error.code == .poolExhausted {
        throw CallFailure.unavailable("the credential store is unavailable; try again")
    } catch is CancellationError {
        throw CallFailure.cancelled()
    } catch {
        throw CallFailure.internalError()
    }
}
