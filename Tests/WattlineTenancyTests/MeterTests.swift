import Foundation
import Testing
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire
@testable import WattlineTenancy

/// A tenant with a technician, one site and a logger there.
struct MeterSetup {
    let tenant: UUID
    let technician: UUID
    let site: TenancyV1.Site
    let logger: UUID

    static func make(_ f: Fixture, _ name: String = "Acme") async throws -> MeterSetup {
        let tenant = try await f.createTenant(name)
        let technician = try await f.member(tenant, .technician)
        let admin = try await f.member(tenant, .admin)
        let site = try await f.createSite(tenant, "Plant", responsible: admin)
        let logger = try await f.insertLogger(tenant, site: site.siteID)
        return MeterSetup(tenant: tenant, technician: technician, site: site, logger: logger)
    }

    func caller(_ f: Fixture) -> CallContext { f.context(f.person(technician), tenant: tenant) }

    func meterRequest(address: UInt32, logger: UUID? = nil) -> TenancyV1.CreateMeterRequest {
        var request = TenancyV1.CreateMeterRequest()
        request.tenantID = tenant.bytes
        request.loggerID = (logger ?? self.logger).bytes
        request.modbusAddress = address
        request.manufacturer = "Janitza"
        request.model = "UMG 604"
        request.serialNumber = "SN-\(address)"
        request.name = "Main feed \(address)"
        return request
    }

    func createMeter(_ f: Fixture, address: UInt32, logger: UUID? = nil) async throws -> TenancyV1.Meter {
        try #require(try await f.meters.createMeter(meterRequest(address: address, logger: logger), caller(f)).meter)
    }

    func channelRequest(_ meter: TenancyV1.Meter, name: String = "Energy") -> TenancyV1.CreateChannelRequest {
        var request = TenancyV1.CreateChannelRequest()
        request.tenantID = tenant.bytes
        request.meterID = meter.meterID
        request.name = name
        request.quantity = .activeEnergy
        request.unit = "kWh"
        request.cumulative = true
        request.rolloverValue = 99_999_999.9
        request.decimalPlaces = 2
        return request
    }

    func createChannel(_ f: Fixture, _ meter: TenancyV1.Meter, name: String = "Energy") async throws -> TenancyV1.Channel {
        try #require(try await f.meters.createChannel(channelRequest(meter, name: name), caller(f)).channel)
    }
}

@Suite("Meters and channels")
struct MeterTests {
    @Test("a technician adds a meter behind a logger; serial and name are stored sealed")
    func createMeter() async throws {
        try await Fixture.with { f in
            let s = try await MeterSetup.make(f)
            let meter = try await s.createMeter(f, address: 7)
            #expect(meter.loggerID == s.logger.bytes)
            #expect(meter.siteID == s.site.siteID)
            #expect(meter.tenantID == s.tenant.bytes)
            #expect(meter.modbusAddress == 7)
            #expect(meter.manufacturer == "Janitza" && meter.model == "UMG 604")
            #expect(meter.serialNumber == "SN-7" && meter.name == "Main feed 7")
            #expect(meter.createdAtMs > 0)
            let id = try #require(UUID(bytes: meter.meterID))
            let serial = try f.rawBytes("SELECT serial_enc FROM wattline.meters WHERE meter_id = $1", [.uuid(id)])
            let name = try f.rawBytes("SELECT name_enc FROM wattline.meters WHERE meter_id = $1", [.uuid(id)])
            #expect(!String(decoding: serial, as: UTF8.self).contains("SN-7"))
            #expect(!String(decoding: name, as: UTF8.self).contains("Main feed"))
            let read = try await f.meters.getMeter(.with { $0.tenantID = s.tenant.bytes; $0.meterID = meter.meterID }, s.caller(f))
            #expect(read.meter == meter)
        }
    }

    @Test("meters need a live logger of the tenant and a free Modbus address")
    func meterRules() async throws {
        try await Fixture.with { f in
            let s = try await MeterSetup.make(f)
            _ = try await s.createMeter(f, address: 1)
            await expectFailure(Status.alreadyExists) { try await f.meters.createMeter(s.meterRequest(address: 1), s.caller(f)) }
            for address: UInt32 in [0, 248, 1_000] {
                await expectFailure(Status.invalidArgument) { try await f.meters.createMeter(s.meterRequest(address: address), s.caller(f)) }
            }
            var long = s.meterRequest(address: 2)
            long.serialNumber = String(repeating: "9", count: 65)
            await expectFailure(Status.invalidArgument) { try await f.meters.createMeter(long, s.caller(f)) }

            let retired = try await f.insertLogger(s.tenant, site: s.site.siteID, status: "decommissioned")
            await expectFailure(Status.failedPrecondition) {
                try await f.meters.createMeter(s.meterRequest(address: 2, logger: retired), s.caller(f))
            }
            let other = try await MeterSetup.make(f, "Other")
            await expectFailure(Status.notFound) {
                try await f.meters.createMeter(s.meterRequest(address: 2, logger: other.logger), s.caller(f))
            }
            // The same address behind another logger is fine.
            _ = try await other.createMeter(f, address: 1)
        }
    }

    @Test("a meter moves only to a live logger of the same site, keeping its address unique there")
    func updateMeter() async throws {
        try await Fixture.with { f in
            let s = try await MeterSetup.make(f)
            let meter = try await s.createMeter(f, address: 5)
            let sibling = try await f.insertLogger(s.tenant, site: s.site.siteID)
            let admin = try await f.member(s.tenant, .admin, name: "Second")
            let elsewhere = try await f.createSite(s.tenant, "Elsewhere", responsible: admin)
            let farLogger = try await f.insertLogger(s.tenant, site: elsewhere.siteID)

            var request = TenancyV1.UpdateMeterRequest()
            request.tenantID = s.tenant.bytes
            request.meterID = meter.meterID
            request.loggerID = farLogger.bytes
            await expectFailure(Status.failedPrecondition) { try await f.meters.updateMeter(request, s.caller(f)) }

            _ = try await s.createMeter(f, address: 6, logger: sibling)
            request.loggerID = sibling.bytes
            request.modbusAddressUpdate = .modbusAddress(6)
            await expectFailure(Status.alreadyExists) { try await f.meters.updateMeter(request, s.caller(f)) }
            request.modbusAddressUpdate = nil
            request.nameUpdate = .name("Moved")
            let moved = try #require(try await f.meters.updateMeter(request, s.caller(f)).meter)
            #expect(moved.loggerID == sibling.bytes && moved.modbusAddress == 5 && moved.name == "Moved")
            #expect(moved.serialNumber == "SN-5")
        }
    }

    @Test("channel ids are assigned per tenant, counting up from 1")
    func channelIDs() async throws {
        try await Fixture.with { f in
            let a = try await MeterSetup.make(f, "A")
            let b = try await MeterSetup.make(f, "B")
            let meterA = try await a.createMeter(f, address: 1)
            let meterB = try await b.createMeter(f, address: 1)
            var idsA: [UInt64] = []
            for index in 0..<3 { idsA.append(try await a.createChannel(f, meterA, name: "A\(index)").channelID) }
            let firstB = try await b.createChannel(f, meterB)
            #expect(idsA == [1, 2, 3])
            #expect(firstB.channelID == 1)
            let channel = try await f.meters.getChannel(.with { $0.tenantID = a.tenant.bytes; $0.channelID = 2 }, a.caller(f)).channel
            #expect(channel?.name == "A1")
            #expect(channel?.meterID == meterA.meterID && channel?.loggerID == a.logger.bytes && channel?.siteID == a.site.siteID)
            #expect(channel?.quantity == .activeEnergy && channel?.unit == "kWh" && channel?.cumulative == true)
            #expect(channel?.rolloverValue == 99_999_999.9 && channel?.decimalPlaces == 2)

            let name = try f.rawBytes("SELECT name_enc FROM wattline.channels WHERE tenant_id = $1 AND channel_id = 2", [.uuid(a.tenant)])
            #expect(!String(decoding: name, as: UTF8.self).contains("A1"))
            // Tenant B's channel 3 does not exist; tenant A's is not B's to see.
            await expectFailure(Status.notFound) {
                try await f.meters.getChannel(.with { $0.tenantID = b.tenant.bytes; $0.channelID = 3 }, b.caller(f))
            }
            await expectFailure(Status.invalidArgument) {
                try await f.meters.getChannel(.with { $0.tenantID = b.tenant.bytes; $0.channelID = 0 }, b.caller(f))
            }
        }
    }

    @Test("channel settings are validated", arguments: [
        (TenancyV1.Quantity.unspecified, "kWh", true, 0.0, UInt32(2)),
        (.activeEnergy, "", true, 0, 2), (.activeEnergy, String(repeating: "u", count: 17), true, 0, 2),
        (.activePower, "kW", false, 10, 2), (.activeEnergy, "kWh", true, -1, 2), (.activeEnergy, "kWh", true, .nan, 2),
        (.activeEnergy, "kWh", true, 0, 10), (.init(rawValue: 99), "x", false, 0, 0),
    ])
    func channelValidation(quantity: TenancyV1.Quantity, unit: String, cumulative: Bool, rollover: Double, decimals: UInt32) async throws {
        try await Fixture.with { f in
            let s = try await MeterSetup.make(f)
            let meter = try await s.createMeter(f, address: 1)
            var request = s.channelRequest(meter)
            request.quantity = quantity
            request.unit = unit
            request.cumulative = cumulative
            request.rolloverValue = rollover
            request.decimalPlaces = decimals
            await expectFailure(Status.invalidArgument) { try await f.meters.createChannel(request, s.caller(f)) }
        }
    }

    @Test("updating a channel changes name, rollover (counters only) and decimals")
    func updateChannel() async throws {
        try await Fixture.with { f in
            let s = try await MeterSetup.make(f)
            let meter = try await s.createMeter(f, address: 1)
            let counter = try await s.createChannel(f, meter)
            var power = s.channelRequest(meter, name: "Power")
            power.quantity = .activePower
            power.unit = "kW"
            power.cumulative = false
            power.rolloverValue = 0
            let gauge = try #require(try await f.meters.createChannel(power, s.caller(f)).channel)

            var request = TenancyV1.UpdateChannelRequest()
            request.tenantID = s.tenant.bytes
            request.channelID = gauge.channelID
            request.rolloverValueUpdate = .rolloverValue(100)
            await expectFailure(Status.invalidArgument) { try await f.meters.updateChannel(request, s.caller(f)) }

            request.channelID = counter.channelID
            request.rolloverValueUpdate = .rolloverValue(1_000_000)
            request.nameUpdate = .name("Energy import")
            request.decimalPlacesUpdate = .decimalPlaces(0)
            let updated = try #require(try await f.meters.updateChannel(request, s.caller(f)).channel)
            #expect(updated.name == "Energy import" && updated.rolloverValue == 1_000_000 && updated.decimalPlaces == 0)
            #expect(updated.unit == "kWh" && updated.createdAtMs == counter.createdAtMs)
        }
    }

    @Test("a logger reads only the meters and channels behind itself")
    func loggerScope() async throws {
        try await Fixture.with { f in
            let s = try await MeterSetup.make(f)
            let otherLogger = try await f.insertLogger(s.tenant, site: s.site.siteID)
            let own = try await s.createMeter(f, address: 1)
            let foreign = try await s.createMeter(f, address: 1, logger: otherLogger)
            let ownChannel = try await s.createChannel(f, own)
            let foreignChannel = try await s.createChannel(f, foreign)
            let principal = Principal.logger(loggerID: s.logger.lowercased, siteID: UUID(bytes: s.site.siteID)!.lowercased,
                                             tenantID: s.tenant.lowercased, credentialID: UUID.v7().lowercased)
            let asLogger = f.context(principal, tenant: s.tenant)

            let got = try await f.meters.getMeter(.with { $0.tenantID = s.tenant.bytes; $0.meterID = own.meterID }, asLogger)
            #expect(got.meter == own)
            await expectFailure(Status.notFound) {
                try await f.meters.getMeter(.with { $0.tenantID = s.tenant.bytes; $0.meterID = foreign.meterID }, asLogger)
            }
            let meters = try await f.meters.listMeters(.with { $0.tenantID = s.tenant.bytes }, asLogger)
            #expect(meters.meters.map(\.meterID) == [own.meterID])
            await expectFailure(Status.permissionDenied) {
                try await f.meters.listMeters(.with { $0.tenantID = s.tenant.bytes; $0.loggerID = otherLogger.bytes }, asLogger)
            }

            let channel = try await f.meters.getChannel(.with { $0.tenantID = s.tenant.bytes; $0.channelID = ownChannel.channelID }, asLogger)
            #expect(channel.channel == ownChannel)
            await expectFailure(Status.notFound) {
                try await f.meters.getChannel(.with { $0.tenantID = s.tenant.bytes; $0.channelID = foreignChannel.channelID }, asLogger)
            }
            let channels = try await f.meters.listChannels(.with { $0.tenantID = s.tenant.bytes }, asLogger)
            #expect(channels.channels.map(\.channelID) == [ownChannel.channelID])

            // People see both.
            let all = try await f.meters.listMeters(.with { $0.tenantID = s.tenant.bytes }, s.caller(f))
            #expect(all.meters.count == 2)
        }
    }

    @Test("meters and channels list page by page, filtered by site, logger or meter")
    func listing() async throws {
        try await Fixture.with { f in
            let s = try await MeterSetup.make(f)
            let second = try await f.insertLogger(s.tenant, site: s.site.siteID)
            var meters: [TenancyV1.Meter] = []
            for address: UInt32 in 1...3 { meters.append(try await s.createMeter(f, address: address)) }
            let lone = try await s.createMeter(f, address: 1, logger: second)
            for meter in meters { _ = try await s.createChannel(f, meter) }
            _ = try await s.createChannel(f, lone)

            var request = TenancyV1.ListMetersRequest()
            request.tenantID = s.tenant.bytes
            request.loggerID = s.logger.bytes
            request.pageSize = 2
            let first = try await f.meters.listMeters(request, s.caller(f))
            #expect(first.meters.map(\.meterID) == meters.prefix(2).map(\.meterID))
            request.pageToken = first.nextPageToken
            let rest = try await f.meters.listMeters(request, s.caller(f))
            #expect(rest.meters.map(\.meterID) == [meters[2].meterID])
            #expect(rest.nextPageToken.isEmpty)

            var channels = TenancyV1.ListChannelsRequest()
            channels.tenantID = s.tenant.bytes
            channels.pageSize = 3
            let page1 = try await f.meters.listChannels(channels, s.caller(f))
            #expect(page1.channels.map(\.channelID) == [1, 2, 3])
            channels.pageToken = page1.nextPageToken
            let page2 = try await f.meters.listChannels(channels, s.caller(f))
            #expect(page2.channels.map(\.channelID) == [4])
            #expect(page2.nextPageToken.isEmpty)

            channels = TenancyV1.ListChannelsRequest()
            channels.tenantID = s.tenant.bytes
            channels.meterID = lone.meterID
            #expect(try await f.meters.listChannels(channels, s.caller(f)).channels.map(\.channelID) == [4])
            channels.meterID = []
            channels.siteID = s.site.siteID
            #expect(try await f.meters.listChannels(channels, s.caller(f)).channels.count == 4)
            channels.pageToken = first.nextPageToken  // a meters token
            await expectFailure(Status.invalidArgument) { try await f.meters.listChannels(channels, s.caller(f)) }
        }
    }
}
