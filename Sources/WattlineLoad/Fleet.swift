import Foundation
import WattlineClient
import WattlineProtos

/// The simulated loggers: what `setup` made and `run` streams as.
struct Fleet: Codable {
    struct Logger: Codable {
        var loggerID: String
        /// The logger's API secret (a development fleet's: the file is written with mode 0600).
        var secret: String
        var channels: [UInt64]
    }

    var tenantID: String
    var loggers: [Logger]

    static func load(_ path: String) throws -> Fleet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError("no fleet file at \(path); run `wattline-load setup` first")
        }
        return try JSONDecoder().decode(Fleet.self, from: data)
    }

    func save(_ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: try JSONEncoder().encode(self), attributes: [.posixPermissions: 0o600]) else {
            throw LoadError("cannot write \(path)")
        }
    }

    /// Registers `count` loggers at the site, each with an API secret and `meters` meters of seven
    /// channels, through the tenancy RPCs as the signed-in person.
    static func setup(client: WattlineClient, token: String, tenant: UUID, site: UUID, count: Int, meters: Int) async throws -> Fleet {
        let options = CallOptions(timeout: .seconds(60), authorization: token)
        let run = UUID().uuidString.prefix(8)
        let quantities: [(TenancyV1.Quantity, String, Bool)] = [
            (.activeEnergy, "kWh", true), (.activePower, "kW", false), (.voltage, "V", false), (.current, "A", false),
            (.powerFactor, "1", false), (.frequency, "Hz", false), (.temperature, "degC", false),
        ]
        let loggers = try await withThrowingTaskGroup(of: Logger.self) { group in
            var made: [Logger] = []
            for index in 0..<count {
                if index >= 16 { made.append(try await group.next()!) }  // 16 loggers set up at a time
                group.addTask {
                    let service = TenancyV1.LoggerService.Client(client)
                    let logger = try await service.registerLogger(.with {
                        $0.tenantID = bytes(tenant)
                        $0.siteID = bytes(site)
                        $0.serialNumber = "LOAD-\(run)-\(index)"
                        $0.model = "wattline-load"
                    }, options: options).logger
                    let loggerID = logger?.loggerID ?? []
                    let issued = try await service.provisionLoggerCredential(.with {
                        $0.tenantID = bytes(tenant)
                        $0.loggerID = loggerID
                        $0.material = .with { $0.material = .apiSecret(.init()) }
                    }, options: options).issued
                    guard case .apiSecret(let secret) = issued?.issued else { throw LoadError("no API secret issued") }
                    var channels: [UInt64] = []
                    let meterService = TenancyV1.MeterService.Client(client)
                    for address in 1...max(1, meters) {
                        let meter = try await meterService.createMeter(.with {
                            $0.tenantID = bytes(tenant)
                            $0.loggerID = loggerID
                            $0.modbusAddress = UInt32(address)
                        }, options: options).meter
                        for (quantity, unit, cumulative) in quantities {
                            channels.append(try await meterService.createChannel(.with {
                                $0.tenantID = bytes(tenant)
                                $0.meterID = meter?.meterID ?? []
                                $0.quantity = quantity
                                $0.unit = unit
                                $0.cumulative = cumulative
                                $0.decimalPlaces = 2
                            }, options: options).channel?.channelID ?? 0)
                        }
                    }
                    return Logger(loggerID: text(loggerID), secret: secret, channels: channels)
                }
            }
            for try await logger in group { made.append(logger) }
            return made
        }
        return Fleet(tenantID: tenant.uuidString.lowercased(), loggers: loggers)
    }
}

func bytes(_ id: UUID) -> [UInt8] { withUnsafeBytes(of: id.uuid) { Array($0) } }

func text(_ bytes: [UInt8]) -> String {
    guard bytes.count == 16 else { return "-" }
    return UUID(uuid: bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }).uuidString.lowercased()
}
