import Testing
@testable import WattlineTLS

/// Two TLSConnections pumped back to back: the byte machine alone, no sockets.
@Suite struct TLSConnectionTests {
    let certificates = TestCertificates.shared

    func pair(
        server serverConfiguration: TLSConfiguration? = nil, client clientConfiguration: TLSConfiguration? = nil
    ) throws -> (client: TLSConnection, server: TLSConnection) {
        let server = try TLSContext(configuration: serverConfiguration ?? certificates.serverConfiguration(), role: .server)
        let client = try TLSContext(configuration: clientConfiguration ?? certificates.clientConfiguration(), role: .client)
        return (try TLSConnection(context: client), try TLSConnection(context: server))
    }

    @Test func handshakeDataAndCloseNotifyInMemory() throws {
        let (client, server) = try pair()
        try handshakeInMemory(client: client, server: server)
        let info = client.peerInfo
        #expect(info.protocolVersion == "TLSv1.3")
        #expect(info.alpnProtocol == "wattline/1")
        #expect(server.peerInfo.alpnProtocol == "wattline/1")
        #expect(info.peerSubject?.contains("CN=localhost") == true)
        #expect(info.resumed == false)

        try client.write(Array("ping from client".utf8))
        shuttle(client, server)
        #expect(try server.readPlaintext() == Array("ping from client".utf8))
        try server.write(Array("pong from server".utf8))
        shuttle(client, server)
        #expect(try client.readPlaintext() == Array("pong from server".utf8))

        #expect(server.receivedCloseNotify == false)
        client.close()
        shuttle(client, server)
        #expect(try server.readPlaintext().isEmpty)
        #expect(server.receivedCloseNotify)
    }

    @Test func sessionResumption() throws {
        let serverContext = try TLSContext(configuration: certificates.serverConfiguration(), role: .server)
        let clientContext = try TLSContext(configuration: certificates.clientConfiguration(), role: .client)

        let first = try TLSConnection(context: clientContext)
        let firstServer = try TLSConnection(context: serverContext)
        try handshakeInMemory(client: first, server: firstServer)
        try firstServer.write(Array("hello".utf8))
        shuttle(first, firstServer)
        #expect(try first.readPlaintext() == Array("hello".utf8))  // also consumes the TLS 1.3 tickets
        #expect(first.peerInfo.resumed == false)
        let session = try #require(first.session)
        #expect(session.isResumable)

        let second = try TLSConnection(context: clientContext, resuming: session)
        let secondServer = try TLSConnection(context: serverContext)
        try handshakeInMemory(client: second, server: secondServer)
        #expect(second.peerInfo.resumed)
        #expect(secondServer.peerInfo.resumed)
    }

    /// A ticket from one server process resumes on another (a restart, another node) that holds
    /// the same session ticket keys, and on no server with other keys.
    @Test func sessionTicketKeysOutliveTheProcess() throws {
        var configuration = certificates.serverConfiguration()
        configuration.sessionTicketKeys = (0..<80).map { UInt8($0) }
        let clientContext = try TLSContext(configuration: certificates.clientConfiguration(), role: .client)
        let first = try TLSConnection(context: clientContext)
        let firstServer = try TLSConnection(context: TLSContext(configuration: configuration, role: .server))
        try handshakeInMemory(client: first, server: firstServer)
        try firstServer.write(Array("hello".utf8))
        shuttle(first, firstServer)
        _ = try first.readPlaintext()
        let session = try #require(first.session)

        func resumes(on server: TLSConfiguration) throws -> Bool {
            let client = try TLSConnection(context: clientContext, resuming: session)
            let restarted = try TLSConnection(context: TLSContext(configuration: server, role: .server))
            try handshakeInMemory(client: client, server: restarted)
            return restarted.peerInfo.resumed && client.peerInfo.resumed
        }
        #expect(try resumes(on: configuration))
        var otherKeys = configuration
        otherKeys.sessionTicketKeys = (0..<80).map { UInt8(255 - $0) }
        #expect(try resumes(on: otherKeys) == false)
        #expect(try resumes(on: certificates.serverConfiguration()) == false)  // random keys
        var short = configuration
        short.sessionTicketKeys = [UInt8](repeating: 1, count: 48)
        #expect(throws: TLSError.self) { try TLSContext(configuration: short, role: .server) }
    }

    @Test func garbageIsAProtocolViolation() throws {
        let (_, server) = try pair()
        server.receive(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect {
            try server.handshake()
        } throws: { error in
            (error as? TLSError)?.code == .protocolViolation
        }
        // A failed connection refuses further work instead of touching OpenSSL again.
        #expect(throws: TLSError.self) { try server.handshake() }
    }

    @Test func wrongHostNameIsRejected() throws {
        let (client, server) = try pair(client: certificates.clientConfiguration(serverName: "meters.example.com"))
        #expect {
            try handshakeInMemory(client: client, server: server)
        } throws: { error in
            (error as? TLSError)?.code == .certificateRejected
        }
    }

    @Test func noCommonALPNProtocolFailsTheHandshake() throws {
        var clientConfiguration = certificates.clientConfiguration()
        clientConfiguration.alpnProtocols = ["h2"]
        let (client, server) = try pair(client: clientConfiguration)
        #expect(throws: TLSError.self) { try handshakeInMemory(client: client, server: server) }
        #expect(client.isHandshakeComplete == false)
    }

    @Test func clientWithoutALPNIsRefused() throws {
        var clientConfiguration = certificates.clientConfiguration()
        clientConfiguration.alpnProtocols = []
        let (client, server) = try pair(client: clientConfiguration)
        #expect(throws: TLSError.self) { try handshakeInMemory(client: client, server: server) }
        #expect(server.isHandshakeComplete == false)
    }

    @Test func providerReloadSwapsTheContext() throws {
        let provider = try TLSContextProvider(configuration: certificates.serverConfiguration())
        let before = provider.current
        try provider.reload()
        #expect(provider.current !== before)
        var broken = certificates.serverConfiguration()
        broken.privateKeyPath = certificates.clientKeyPath  // key does not match the certificate
        let current = provider.current
        #expect(throws: TLSError.self) { try provider.reload(configuration: broken) }
        #expect(provider.current === current)
    }
}
