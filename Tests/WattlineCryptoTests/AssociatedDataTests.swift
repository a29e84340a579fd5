import Testing
import WattlineCrypto

@Suite struct AssociatedDataTests {
    let key = try! SecretKey.random()
    let original = try! AssociatedData(tenant: tenantA, table: "meters", column: "serial", row: hex("0000000000000001"))

    @Test func encodingIsTheDocumentedCanonicalForm() throws {
        let ad = try AssociatedData(tenant: tenantA, table: "t", column: "cc", row: [9])
        let expected = Array("wattline-ad-v1".utf8) + [0, 0, 0, 16] + tenantA + [0, 0, 0, 1] + Array("t".utf8)
            + [0, 0, 0, 2] + Array("cc".utf8) + [0, 0, 0, 1, 9]
        #expect(ad.bytes == expected)
    }

    @Test func boundaryShiftsAreUnambiguous() throws {
        let a = try AssociatedData(tenant: tenantA, table: "ab", column: "c", row: [1])
        let b = try AssociatedData(tenant: tenantA, table: "a", column: "bc", row: [1])
        #expect(a.bytes != b.bytes)
        let c = try AssociatedData(tenant: tenantA, table: "x", column: "ab", row: Array("c".utf8))
        let d = try AssociatedData(tenant: tenantA, table: "x", column: "a", row: Array("bc".utf8))
        #expect(c.bytes != d.bytes)
    }

    @Test func tenantMustBeAUUID() {
        #expect(cryptoError { _ = try AssociatedData(tenant: [1, 2, 3], table: "t", column: "c", row: []) }?.code == .invalidInput)
    }

    @Test(arguments: ["tenant", "table", "column", "row"])
    func movedCiphertextFailsToOpen(part: String) throws {
        let sealed = try AEAD.seal(Array("221B Baker Street".utf8), key: key, associatedData: original.bytes)
        #expect(try AEAD.open(sealed, key: key, associatedData: original.bytes) == Array("221B Baker Street".utf8))
        let moved: AssociatedData = switch part {
        case "tenant": try AssociatedData(tenant: tenantB, table: "meters", column: "serial", row: hex("0000000000000001"))
        case "table": try AssociatedData(tenant: tenantA, table: "sites", column: "serial", row: hex("0000000000000001"))
        case "column": try AssociatedData(tenant: tenantA, table: "meters", column: "label", row: hex("0000000000000001"))
        default: try AssociatedData(tenant: tenantA, table: "meters", column: "serial", row: hex("0000000000000002"))
        }
        #expect(moved.bytes != original.bytes)
        #expect(cryptoError { _ = try AEAD.open(sealed, key: key, associatedData: moved.bytes) }?.code == .authenticationFailed)
    }
}
