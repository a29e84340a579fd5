import Foundation
import WattlineAccess
import WattlineCrypto
import WattlineStore

/// `PeopleDirectory` for the tenancy side: e-mail and display name of identities, opened with
/// the IMS key. Erased identities, unknown ids and malformed ids are left out of the answer.
public struct ImsPeopleDirectory: PeopleDirectory {
    let db: ImsStore

    init(_ db: ImsStore) { self.db = db }

    /// Over a store connected as `wattline_ims` (independent of an `ImsService`, so that the
    /// server can build the tenancy side before the identity service, or the other way round).
    public init(store: Store, keyring: IMSKeyring) { self.db = ImsStore(store: store, keyring: keyring) }

    /// At most this many ids per call (one query with an array parameter).
    public static let maximumBatch = 1_000

    /// Keyed by the ids as given (UUID text in any case).
    public func people(_ identityIDs: [String]) async throws -> [String: PersonSummary] {
        var asked: [UUID: [String]] = [:]
        for text in identityIDs { if let id = UUID(uuidString: text) { asked[id, default: []].append(text) } }
        let ids = Array(asked.keys)
        var result: [String: PersonSummary] = [:]
        for start in stride(from: 0, to: ids.count, by: Self.maximumBatch) {
            let batch = Array(ids[start..<min(start + Self.maximumBatch, ids.count)])
            for (id, email, displayName) in try await db.summaries(batch) {
                for text in asked[id] ?? [] { result[text] = PersonSummary(email: email, displayName: displayName) }
            }
        }
        return result
    }
}
