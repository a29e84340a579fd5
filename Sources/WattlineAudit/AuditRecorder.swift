import Foundation
import Logging
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire

/// Records the calls `AuditedMethods` lists, as `AccessInterceptor` reports them: in the chain of
/// the call's tenant, or the platform's. Each record is its own transaction after the call; if
/// it fails the call's answer stands and the failure is logged as an error (see docs/privacy.md).
public struct AuditRecorder: CallAuditor {
    let store: Store
    let logger: Logger

    public init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func audits(_ method: String) -> Bool { AuditedMethods.entries[method] != nil }

    public func record(_ call: AuditedCall) async {
        guard let entry = AuditedMethods.entries[call.context.method], !(entry.recordedByHandler && call.failure == nil) else { return }
        var event = Self.event(call.context, entry: entry, principal: call.principal, response: call.response)
        switch call.failure {
        case nil: event.outcome = .success
        case let failure? where failure.code == 7 || failure.code == 16: (event.outcome, event.statusCode) = (.denied, failure.code)
        case let failure?: (event.outcome, event.statusCode) = (.failed, failure.code)
        }
        let chain = call.tenantID.flatMap(UUID.init(uuidString:)).map(TenantID.init) ?? AuditLog.platform
        do {
            try await store.transaction(tenant: chain) { [event] tx in _ = try AuditLog.append(tx, event) }
        } catch {
            logger.error("audit event of \(call.context.method) not recorded: \(error)")
        }
    }

    /// The event of a call, without its outcome.
    static func event(_ context: CallContext, entry: AuditedMethods.Entry, principal: Principal, response: (any Sendable)?) -> AuditV1.AuditEvent {
        var event = AuditV1.AuditEvent()
        event.kind = entry.kind
        event.action = context.method
        event.actor = actor(principal)
        if let request = context.request { event.subject = entry.subject(request, response) }
        event.sourceAddress = SourceAddress.ip(fromRemoteAddress: context.peer.remoteAddress) ?? ""
        return event
    }

    static func actor(_ principal: Principal) -> AuditV1.Actor? {
        switch principal {
        case .anonymous:
            return nil
        case .person(let identity, let session, let grants):
            return .with {
                $0.principal = UUID(uuidString: identity).map { .identityID($0.bytes) }
                $0.sessionID = UUID(uuidString: session)?.bytes ?? []
                $0.platformOperator = grants.platformOperator
            }
        case .integration(let credential, _):
            return .with { $0.principal = UUID(uuidString: credential).map { .credentialID($0.bytes) } }
        case .logger(let logger, _, _, _):
            return .with { $0.principal = UUID(uuidString: logger).map { .loggerID($0.bytes) } }
        }
    }
}
