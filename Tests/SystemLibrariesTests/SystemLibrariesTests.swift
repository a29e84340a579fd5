import CLibPQ
import COpenSSL
import COpenSSLShim
import CProtobufC
import Testing

/// The three system libraries link and their versions are the ones the project is built for.
@Suite("System libraries")
struct SystemLibrariesTests {
    @Test("OpenSSL 3 is linked and the shim sets the TLS 1.2 floor")
    func openSSL() throws {
        #expect(OpenSSL_version_num() >= 0x3000_0000)
        let context = try #require(SSL_CTX_new(TLS_method()))
        defer { SSL_CTX_free(context) }
        #expect(wl_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1)
        #expect(wl_SSL_CTX_get_min_proto_version(context) == TLS1_2_VERSION)
    }

    @Test("libpq 15 or newer is linked and reports a failed connection as an error")
    func libpq() throws {
        #expect(PQlibVersion() >= 150000)
        let connection = PQconnectdb("host=/nonexistent-wattline-socket-dir dbname=none connect_timeout=1")
        defer { PQfinish(connection) }
        #expect(PQstatus(connection) == CONNECTION_BAD)
        let message = String(cString: PQerrorMessage(connection))
        #expect(message.contains("nonexistent-wattline-socket-dir"))
    }

    @Test("protobuf-c 1.4 is linked")
    func protobufC() {
        #expect(protobuf_c_version_number() >= 1_004_000)
    }
}
