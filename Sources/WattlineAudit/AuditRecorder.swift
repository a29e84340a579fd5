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
        guard let entry = AuditedMethods.entries[call.context.method] else { return }
        var event = AuditV1.AuditEvent()
        event.kind = entry.kind
        event.action = call.context.method
        event.actor = Self.actor(call.principal)
        if let request = call.context.request { event.subject = entry.subject(request, call.response) }
        event.sourceAddress = SourceAddress.ip(fromRemoteAddress: call.context.peer.remoteAddress) ?? ""
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
