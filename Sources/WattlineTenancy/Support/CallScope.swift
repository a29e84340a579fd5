import Foundation
import WattlineAccess
import WattlineStore
import WattlineWire

extension CallContext {
    /// The caller, as `AccessInterceptor` established it (nobody without the interceptor).
    var caller: Principal { principal as? Principal ?? .anonymous }

    /// The call's tenant (`scopedTenant(named:)`) as the store's scope.
    func tenant(named requestTenant: [UInt8]) throws -> TenantID {
        TenantID(try scopedTenant(named: requestTenant))
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
