import Foundation
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.tenancy.v1.MeterService`: meters behind loggers and their channels. A logger may
/// read (Get, List) only the meters and channels behind itself; `AccessPolicy` lets loggers call
/// these methods, the handlers narrow them to the logger's own.
public final class MeterService: Sendable {
    let store: Store
    let keyring: TenantKeyring

    public init(store: Store, keyring: TenantKeyring) {
        self.store = store
        self.keyring = keyring
    }

    public func register(in router: inout Router) {
        router.unary(TenancyV1.MeterService.CreateMeter.self) { [self] request, context in
            try await createMeter(request, context)
        }
        router.unary(TenancyV1.MeterService.GetMeter.self) { [self] request, context in
            try await getMeter(request, context)
        }
        router.unary(TenancyV1.MeterService.ListMeters.self) { [self] request, context in
            try await listMeters(request, context)
        }
        router.unary(TenancyV1.MeterService.UpdateMeter.self) { [self] request, context in
            try await updateMeter(request, context)
        }
        router.unary(TenancyV1.MeterService.CreateChannel.self) { [self] request, context in
            try await createChannel(request, context)
        }
        router.unary(TenancyV1.MeterService.GetChannel.self) { [self] request, context in
            try await getChannel(request, context)
        }
        router.unary(TenancyV1.MeterService.ListChannels.self) { [self] request, context in
            try await listChannels(request, context)
        }
        router.unary(TenancyV1.MeterService.UpdateChannel.self) { [self] request, context in
            try await updateChannel(request, context)
        }
    }

    // MARK: Meters

    func createMeter(_ request: TenancyV1.CreateMeterRequest, _ context: CallContext) async throws -> TenancyV1.CreateMeterResponse {
        let scope = try context.tenant(named: request.tenantID)
        let logger = try requiredID(request.loggerID, "logger_id")
        try Validate.modbusAddress(request.modbusAddress)
        try Validate.text(request.manufacturer, "manufacturer", 0...64)
        try Validate.text(request.model, "model", 0...64)
        try Validate.text(request.serialNumber, "serial_number", 0...64)
        try Validate.text(request.name, "name", 0...100)
        let id = UUID.v7()
        let keyring = keyring
        let meter = try await store.transaction(tenant: scope) { tx in
            _ = try MeterRows.usableLogger(tx, logger)
            try MeterRows.checkAddressFree(tx, logger: logger, address: request.modbusAddress, except: nil)
            let serial = try keyring.sealText(request.serialNumber, tx, "meters", "serial_enc", row: id.bytes)
            let name = try keyring.sealText(request.name, tx, "meters", "name_enc", row: id.bytes)
            try tx.query("""
                INSERT INTO wattline.meters (tenant_id, meter_id, logger_id, modbus_address, manufacturer, model, serial_enc, name_enc)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """,
                [.uuid(tx.tenant.uuid), .uuid(id), .uuid(logger), .int32(Int32(request.modbusAddress)),
                 .text(request.manufacturer), .text(request.model), .bytea(serial), .bytea(name)])
            return try MeterRows.read(tx, keyring, id)!
        }
        var response = TenancyV1.CreateMeterResponse()
        response.meter = meter
        return response
    }

    func getMeter(_ request: TenancyV1.GetMeterRequest, _ context: CallContext) async throws -> TenancyV1.GetMeterResponse {
        let scope = try context.tenant(named: request.tenantID)
        let id = try requiredID(request.meterID, "meter_id")
        let own = try Self.ownLogger(context.caller)
        let keyring = keyring
        let meter = try await store.transaction(tenant: scope) { tx in try MeterRows.read(tx, keyring, id, logger: own) }
        guard let meter else { throw CallFailure.notFound("no such meter") }
        var response = TenancyV1.GetMeterResponse()
        response.meter = meter
        return response
    }

    func listMeters(_ request: TenancyV1.ListMetersRequest, _ context: CallContext) async throws -> TenancyV1.ListMetersResponse {
        let scope = try context.tenant(named: request.tenantID)
        let size = try Validate.pageSize(request.pageSize)
        let after = try PageToken.decode(request.pageToken, for: .meters).flatMap { UUID(bytes: $0.id) }
        let site = try optionalID(request.siteID, "site_id")
        let logger = try Self.loggerFilter(try optionalID(request.loggerID, "logger_id"), context.caller)
        let keyring = keyring
        let meters = try await store.transaction(tenant: scope) { tx in
            try MeterRows.page(tx, keyring, site: site, logger: logger, after: after, limit: size + 1)
        }
        var response = TenancyV1.ListMetersResponse()
        response.meters = Array(meters.prefix(size))
        if meters.count > size, let last = response.meters.last {
            response.nextPageToken = PageToken(listing: .meters, sortKey: "", id: last.meterID).encoded
        }
        return response
    }

    func updateMeter(_ request: TenancyV1.UpdateMeterRequest, _ context: CallContext) async throws -> TenancyV1.UpdateMeterResponse {
        let scope = try context.tenant(named: request.tenantID)
        let id = try requiredID(request.meterID, "meter_id")
        let newLogger = try optionalID(request.loggerID, "logger_id")
        let update = try MeterUpdate(request)
        let keyring = keyring
        let meter = try await store.transaction(tenant: scope) { tx in
            guard let current = try MeterRows.read(tx, keyring, id, lock: true) else { throw CallFailure.notFound("no such meter") }
            let currentLogger = UUID(bytes: current.loggerID)!
            let logger = newLogger ?? currentLogger
            if logger != currentLogger {
                let site = try MeterRows.usableLogger(tx, logger)
                guard site.bytes == current.siteID else {
                    throw CallFailure.failedPrecondition("a meter may move only to another logger of the same site")
                }
            }
            let address = update.modbusAddress ?? current.modbusAddress
            if logger != currentLogger || address != current.modbusAddress {
                try MeterRows.checkAddressFree(tx, logger: logger, address: address, except: id)
            }
            guard logger != currentLogger || !update.isEmpty else { return current }
            let serial = try update.serialNumber.map { try keyring.sealText($0, tx, "meters", "serial_enc", row: id.bytes) }
            let name = try update.name.map { try keyring.sealText($0, tx, "meters", "name_enc", row: id.bytes) }
            try tx.query("""
                UPDATE wattline.meters SET logger_id = $2, modbus_address = $3, manufacturer = coalesce($4, manufacturer),
                    model = coalesce($5, model), serial_enc = coalesce($6, serial_enc), name_enc = coalesce($7, name_enc),
                    updated_at = now()
                WHERE meter_id = $1
                """,
                [.uuid(id), .uuid(logger), .int32(Int32(address)), update.manufacturer.map(PGValue.text) ?? .null,
                 update.model.map(PGValue.text) ?? .null, serial.map(PGValue.bytea) ?? .null, name.map(PGValue.bytea) ?? .null])
            return try MeterRows.read(tx, keyring, id)!
        }
        var response = TenancyV1.UpdateMeterResponse()
        response.meter = meter
        return response
    }

    // MARK: Channels

    func createChannel(_ request: TenancyV1.CreateChannelRequest, _ context: CallContext) async throws -> TenancyV1.CreateChannelResponse {
        let scope = try context.tenant(named: request.tenantID)
        let meterID = try requiredID(request.meterID, "meter_id")
        try Validate.text(request.name, "name", 0...100)
        guard let quantity = request.quantity.storeName else {
            throw CallFailure.invalidArgument("quantity must be set to a known quantity")
        }
        try Validate.text(request.unit, "unit", 1...16)
        try Validate.rollover(request.rolloverValue, cumulative: request.cumulative)
        try Validate.decimalPlaces(request.decimalPlaces)
        let keyring = keyring
        let channel = try await store.transaction(tenant: scope) { tx in
            guard try MeterRows.read(tx, keyring, meterID) != nil else { throw CallFailure.notFound("no such meter") }
            let id = try ChannelRows.nextID(tx)
            let name = try keyring.sealText(request.name, tx, "channels", "name_enc", row: channelRow(id))
            try tx.query("""
                INSERT INTO wattline.channels (tenant_id, channel_id, meter_id, name_enc, quantity, unit, cumulative,
                                               rollover_value, decimal_places)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """,
                [.uuid(tx.tenant.uuid), .int64(id), .uuid(meterID), .bytea(name), .text(quantity), .text(request.unit),
                 .bool(request.cumulative), .float64(request.rolloverValue), .int32(Int32(request.decimalPlaces))])
            return try ChannelRows.read(tx, keyring, id)!
        }
        var response = TenancyV1.CreateChannelResponse()
        response.channel = channel
        return response
    }

    func getChannel(_ request: TenancyV1.GetChannelRequest, _ context: CallContext) async throws -> TenancyV1.GetChannelResponse {
        let scope = try context.tenant(named: request.tenantID)
        let id = try Validate.channelID(request.channelID)
        let own = try Self.ownLogger(context.caller)
        let keyring = keyring
        let channel = try await store.transaction(tenant: scope) { tx in try ChannelRows.read(tx, keyring, id, logger: own) }
        guard let channel else { throw CallFailure.notFound("no such channel") }
        var response = TenancyV1.GetChannelResponse()
        response.channel = channel
        return response
    }

    func listChannels(_ request: TenancyV1.ListChannelsRequest, _ context: CallContext) async throws -> TenancyV1.ListChannelsResponse {
        let scope = try context.tenant(named: request.tenantID)
        let size = try Validate.pageSize(request.pageSize)
        let after = try PageToken.decode(request.pageToken, for: .channels).map { token in
            token.id.count == 8 ? token.id.reduce(Int64(0)) { $0 << 8 | Int64($1) } : -1
        } ?? 0
        guard after >= 0 else { throw CallFailure.invalidArgument("page_token is not one this listing returned") }
        let site = try optionalID(request.siteID, "site_id")
        let meter = try optionalID(request.meterID, "meter_id")
        let logger = try Self.loggerFilter(try optionalID(request.loggerID, "logger_id"), context.caller)
        let keyring = keyring
        let channels = try await store.transaction(tenant: scope) { tx in
            try ChannelRows.page(tx, keyring, site: site, logger: logger, meter: meter, after: after, limit: size + 1)
        }
        var response = TenancyV1.ListChannelsResponse()
        response.channels = Array(channels.prefix(size))
        if channels.count > size, let last = response.channels.last {
            response.nextPageToken = PageToken(listing: .channels, sortKey: "", id: channelRow(Int64(last.channelID))).encoded
        }
        return response
    }

    func updateChannel(_ request: TenancyV1.UpdateChannelRequest, _ context: CallContext) async throws -> TenancyV1.UpdateChannelResponse {
        let scope = try context.tenant(named: request.tenantID)
        let id = try Validate.channelID(request.channelID)
        let name: String?, rollover: Double?, decimals: UInt32?
        if case .name(let value) = request.nameUpdate {
            try Validate.text(value, "name", 0...100)
            name = value
        } else {
            name = nil
        }
        if case .rolloverValue(let value) = request.rolloverValueUpdate {
            try Validate.rollover(value, cumulative: true)
            rollover = value
        } else {
            rollover = nil
        }
        if case .decimalPlaces(let value) = request.decimalPlacesUpdate {
            try Validate.decimalPlaces(value)
            decimals = value
        } else {
            decimals = nil
        }
        let keyring = keyring
        let channel = try await store.transaction(tenant: scope) { tx in
            guard let current = try ChannelRows.read(tx, keyring, id, lock: true) else { throw CallFailure.notFound("no such channel") }
            if rollover != nil, !current.cumulative {
                throw CallFailure.invalidArgument("rollover_value can be changed for cumulative channels only")
            }
            guard name != nil || rollover != nil || decimals != nil else { return current }
            let sealed = try name.map { try keyring.sealText($0, tx, "channels", "name_enc", row: channelRow(id)) }
            try tx.query("""
                UPDATE wattline.channels SET name_enc = coalesce($2, name_enc), rollover_value = coalesce($3, rollover_value),
                    decimal_places = coalesce($4, decimal_places), updated_at = now()
                WHERE channel_id = $1
                """,
                [.int64(id), sealed.map(PGValue.bytea) ?? .null, rollover.map(PGValue.float64) ?? .null,
                 decimals.map { PGValue.int32(Int32($0)) } ?? .null])
            return try ChannelRows.read(tx, keyring, id)!
        }
        var response = TenancyV1.UpdateChannelResponse()
        response.channel = channel
        return response
    }

    // MARK: Loggers reading their own

    /// The caller's own logger when a logger calls (nil for people and integrations).
    static func ownLogger(_ caller: Principal) throws -> UUID? {
        guard case .logger = caller else { return nil }
        guard let id = caller.loggerID else { throw CallFailure.permissionDenied("the logger's identity is malformed") }
        return id
    }

    /// The logger filter of a listing: a logger lists only its own, and may not name another.
    static func loggerFilter(_ requested: UUID?, _ caller: Principal) throws -> UUID? {
        guard let own = try ownLogger(caller) else { return requested }
        if let requested, requested != own {
            throw CallFailure.permissionDenied("a logger may list only its own meters and channels")
        }
        return own
    }
}

/// The optional fields of an UpdateMeterRequest, validated.
struct MeterUpdate: Sendable {
    var modbusAddress: UInt32?
    var manufacturer: String?
    var model: String?
    var serialNumber: String?
    var name: String?

    var isEmpty: Bool { modbusAddress == nil && manufacturer == nil && model == nil && serialNumber == nil && name == nil }

    init(_ request: TenancyV1.UpdateMeterRequest) throws {
        if case .modbusAddress(let value) = request.modbusAddressUpdate {
            try Validate.modbusAddress(value)
            modbusAddress = value
        }
        if case .manufacturer(let value) = request.manufacturerUpdate {
            try Validate.text(value, "manufacturer", 0...64)
            manufacturer = value
        }
        if case .model(let value) = request.modelUpdate {
            try Validate.text(value, "model", 0...64)
            model = value
        }
        if case .serialNumber(let value) = request.serialNumberUpdate {
            try Validate.text(value, "serial_number", 0...64)
            serialNumber = value
        }
        if case .name(let value) = request.nameUpdate {
            try Validate.text(value, "name", 0...100)
            name = value
        }
    }
}
