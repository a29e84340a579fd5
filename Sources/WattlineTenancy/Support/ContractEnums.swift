import WattlineAccess
import WattlineProtos
import WattlineWire

/// The contract's enums and their names in the store.
extension TenancyV1.Role {
    /// The role a request asks for; UNSPECIFIED and unknown values are INVALID_ARGUMENT.
    func required(_ field: String = "role") throws -> TenantRole {
        guard rawValue > 0, let role = TenantRole(rawValue: Int(rawValue)) else {
            throw CallFailure.invalidArgument("\(field) must be ROLE_OWNER, ROLE_ADMIN, ROLE_TECHNICIAN or ROLE_VIEWER")
        }
        return role
    }

    init(_ role: TenantRole) { self.init(rawValue: Int32(role.rawValue)) }
}

extension TenancyV1.TenantState {
    /// The `wattline.tenants.status` value.
    var storeName: String? {
        switch self {
        case .active: "active"
        case .offboarding: "offboarding"
        case .offboarded: "offboarded"
        case .unspecified, .unrecognized: nil
        }
    }

    init(storeName: String) {
        switch storeName {
        case "active": self = .active
        case "offboarding": self = .offboarding
        case "offboarded": self = .offboarded
        default: self = .unspecified
        }
    }
}

extension TenancyV1.Quantity {
    /// The `wattline.channels.quantity` value; nil for UNSPECIFIED and unknown values.
    var storeName: String? {
        switch self {
        case .activeEnergy: "active_energy"
        case .activePower: "active_power"
        case .reactiveEnergy: "reactive_energy"
        case .reactivePower: "reactive_power"
        case .apparentPower: "apparent_power"
        case .voltage: "voltage"
        case .current: "current"
        case .powerFactor: "power_factor"
        case .frequency: "frequency"
        case .temperature: "temperature"
        case .gasVolume: "gas_volume"
        case .waterVolume: "water_volume"
        case .other: "other"
        case .unspecified, .unrecognized: nil
        }
    }

    init(storeName: String) {
        self = Self.allCases.first { $0.storeName == storeName } ?? .unspecified
    }
}
