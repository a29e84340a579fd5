import Foundation
import WattlineWire

extension CallContext {
    /// The call's tenant, which `AccessInterceptor` set from the request's `tenant_id` after
    /// checking the caller's role there. Fails closed when the interceptor did not run or the
    /// request names another tenant than the one checked.
    public func scopedTenant(named requestTenant: [UInt8]) throws -> UUID {
        guard let text = tenantID, let scope = UUID(uuidString: text) else {
            throw CallFailure.permissionDenied("the call's tenant was not established")
        }
        guard requestTenant.count == 16 else {
            throw CallFailure.invalidArgument("tenant_id must be a 16-byte UUID")
        }
        guard requestTenant == withUnsafeBytes(of: scope.uuid, Array.init) else {
            throw CallFailure.permissionDenied("the request names another tenant than the call's")
        }
        return scope
    }
}
