/// Code that runs around every call's handler, in registration order: authentication (refuse a
/// call by throwing `CallFailure`, or pass on a context with its `principal` set), logging,
/// metrics. It must call `next` at most once.
public protocol ServerInterceptor: Sendable {
    func intercept<Result: Sendable>(
        _ context: CallContext, next: @Sendable (CallContext) async throws -> Result
    ) async throws -> Result
}

extension Array where Element == any ServerInterceptor {
    /// Runs `body` inside every interceptor, the first one outermost.
    func run<Result: Sendable>(
        _ context: CallContext, _ body: @escaping @Sendable (CallContext) async throws -> Result
    ) async throws -> Result {
        var next = body
        for interceptor in reversed() {
            let inner = next
            next = { context in try await interceptor.intercept(context, next: inner) }
        }
        return try await next(context)
    }
}
