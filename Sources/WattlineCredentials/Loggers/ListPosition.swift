import Foundation
import WattlineCrypto
import WattlineWire

/// Where a page of ListLoggers ends: serial number, then logger id. The token is opaque to
/// clients (base64url of the id's 16 bytes and the serial number's UTF-8).
struct ListPosition: Comparable {
    let serialNumber: String
    let loggerID: UUID

    init(of logger: LoggerRecord) {
        serialNumber = logger.serialNumber
        loggerID = logger.id
    }

    init(token: String) throws {
        guard token.utf8.count <= 512, let bytes = Base64URL.decode(token), bytes.count >= 17,
              let id = UUID(bytes: Array(bytes[..<16])),
              let serial = String(validating: bytes[16...], as: UTF8.self)
        else { throw CallFailure.invalidArgument("page_token is not one this service returned") }
        serialNumber = serial
        loggerID = id
    }

    var token: String { Base64URL.encode(loggerID.bytes + Array(serialNumber.utf8)) }

    static func < (a: ListPosition, b: ListPosition) -> Bool {
        // Byte order of the UTF-8 (stable, locale-free); ties by id.
        if a.serialNumber != b.serialNumber { return a.serialNumber.utf8.lexicographicallyPrecedes(b.serialNumber.utf8) }
        return a.loggerID.bytes.lexicographicallyPrecedes(b.loggerID.bytes)
    }

    static func == (a: ListPosition, b: ListPosition) -> Bool {
        a.serialNumber == b.serialNumber && a.loggerID == b.loggerID
    }
}
