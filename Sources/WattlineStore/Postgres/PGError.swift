/// The store's one error type: what went wrong with PostgreSQL, classified for callers.
///
/// `message` is PostgreSQL's primary message or libpq's; the DETAIL field is kept out of
/// `description` because it can quote row values (a unique violation names the duplicate key).
public struct PGError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let uniqueViolation = Code("uniqueViolation")            // 23505
        public static let foreignKeyViolation = Code("foreignKeyViolation")    // 23503
        public static let checkViolation = Code("checkViolation")              // 23514, 23502
        public static let serializationFailure = Code("serializationFailure")  // 40001
        public static let deadlock = Code("deadlock")                          // 40P01
        public static let queryCanceled = Code("queryCanceled")                // 57014: statement timeout
        public static let insufficientPrivilege = Code("insufficientPrivilege")  // 42501, RLS WITH CHECK
        /// The connection broke or the server is shutting down: retry on another connection.
        public static let connectionLost = Code("connectionLost")
        /// No connection could be made (yet); the pool keeps retrying with backoff.
        public static let unavailable = Code("unavailable")
        /// Every connection is busy and the wait queue is full, or the wait timed out.
        public static let poolExhausted = Code("poolExhausted")
        /// A result did not have the shape or types the caller decoded.
        public static let decoding = Code("decoding")
        /// A migration file changed after it was applied, or migrations failed.
        public static let migration = Code("migration")
        /// Any other SQL error; see `sqlState`.
        public static let sql = Code("sql")
    }

    public let code: Code
    /// The five-character SQLSTATE, when PostgreSQL reported one.
    public let sqlState: String?
    public let message: String
    /// PostgreSQL's DETAIL, which may contain data: for debugging, never logged by the store.
    public let detail: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil, detail: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
    }

    /// Whether running the same work again (on a fresh connection or transaction) may succeed.
    public var isRetryable: Bool {
        [.serializationFailure, .deadlock, .connectionLost, .unavailable, .poolExhausted].contains(code)
    }

    public var description: String {
        "PGError.\(code)\(sqlState.map { " [\($0)]" } ?? ""): \(message)"
    }

    /// Classifies a SQLSTATE.
    static func code(forSQLState state: String) -> Code {
        switch state {
        case "23505": .uniqueViolation
        case "23503": .foreignKeyViolation
        case "23514", "23502": .checkViolation
        case "40001": .serializationFailure
        case "40P01": .deadlock
        case "57014": .queryCanceled
        case "42501": .insufficientPrivilege
        case "57P01", "57P02", "57P03": .connectionLost
        default: state.hasPrefix("08") ? .connectionLost : .sql
        }
    }
}
