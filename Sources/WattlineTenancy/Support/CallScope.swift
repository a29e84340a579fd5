import Foundation
import WattlineAccess
import WattlineStore
import WattlineWire

extension CallContext {
    /// The caller, as `AccessInterceptor` established it (nobody without the interceptor).
    var caller: Principal { principal as? Principal ?? .anonymous }

    /// The call's tenant, which `AccessInterceptor` set from the request's `tenant_id` after
    /// checking the caller's role there. Fails closed when the interceptor did not run or the
    /// request names another tenant than the one checked.
    func tenant(named requestTenant: [UInt8]) throws -> TenantID {
        guard let text = tenantID, let scope = UUID(uuidString: text) else {
            throw CallFailure.permissionDenied("the call's tenant was not established")
        }
        guard let named = UUID(bytes: requestTenant) else {
            throw CallFailure.invalidArgument("tenant_id must be a 16-byte UUID")
        }
        guard named == scope else { throw CallFailure.permissionDenied("the request names another tenant than the call's") }
        return TenantID(scope)
    }
}

extension Principal {
    /// The person's identity, if a person made the call.
    var personID: UUID? {
        guard case .person(let identityID, _, _) = self else { return nil }
        return UUID(uuidString: identityID)
    }

    /// The logger, if a logger made the call (it may read only its own meters and channels).
    var loggerID: UUID? {
        guard case .logger(let loggerID, _, _, _) = self else { return nil }
        return UUID(uuidString: loggerID)
    }
}
