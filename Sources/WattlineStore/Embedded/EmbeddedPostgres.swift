import Foundation

/// A private PostgreSQL cluster in a folder of the project (`.wattline/pg` by default): created
/// by `initdb` on first use, started if it is not running, reused across runs.
///
/// It listens on a Unix socket only, in a folder only its owner can enter, and trusts local
/// connections there (nothing else can reach it). PostgreSQL refuses to run as root, so when the
/// process is root the cluster is owned by and run as the `postgres` OS user.
public struct EmbeddedPostgres: Sendable {
    public let directory: String
    public let port: Int

    public var dataDirectory: String { directory + "/data" }
    public var socketDirectory: String { directory + "/run" }
    public var logFile: String { directory + "/postgres.log" }

    /// - Parameter directory: where the cluster lives. When running as root and the `postgres`
    ///   user cannot reach that folder (a checkout under `/root`, say), the cluster lives in
    ///   `/var/tmp/wattline-pg-<hash of directory>` instead, and `directory` says so.
    public init(directory: String, port: Int = 54329) {
        self.directory = Self.reachableDirectory(for: directory)
        self.port = port
    }

    private static func reachableDirectory(for directory: String) -> String {
        guard getuid() == 0 else { return directory }
        let parent = (directory as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        if (try? Command.run("/sbin/runuser", ["-u", "postgres", "--", "/usr/bin/test", "-x", parent])) != nil {
            return directory
        }
        let hash = directory.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        return "/var/tmp/wattline-pg-" + String(hash, radix: 16)
    }

    /// A libpq connection string for `user` on `database`.
    public func conninfo(database: String, user: String = "postgres") -> String {
        "host=\(socketDirectory) port=\(port) dbname=\(database) user=\(user) connect_timeout=5"
    }

    /// Creates the cluster if needed and starts it if it is not running.
    public func start() throws {
        let fm = FileManager.default
        guard socketDirectory.utf8.count + 20 < 108 else {
            throw PGError(.unavailable, "socket path \(socketDirectory) is too long for a Unix socket; use a shorter project path")
        }
        try fm.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        if !fm.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            try takeOwnership()
            try run(Self.binary("initdb"), ["-D", dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        }
        try takeOwnership()
        if try isRunning() { return }
        try run(Self.binary("pg_ctl"), [
            "-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o",
            "-p \(port) -k \(socketDirectory) -c listen_addresses= -c unix_socket_permissions=0700 -c fsync=on",
            "start",
        ])
    }

    /// Stops the cluster (fast shutdown: running transactions are rolled back).
    public func stop() throws {
        guard try isRunning() else { return }
        try run(Self.binary("pg_ctl"), ["-D", dataDirectory, "-m", "fast", "-w", "stop"])
    }

    /// Restarts the cluster: every open connection is cut.
    public func restart() throws {
        try run(Self.binary("pg_ctl"), ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "restart"])
    }

    public func isRunning() throws -> Bool {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return false }
        return (try? run(Self.binary("pg_ctl"), ["-D", dataDirectory, "status"])) != nil
    }

    private var runAsPostgres: Bool { getuid() == 0 }

    /// The data and socket folders belong to whoever runs the server process, 0700.
    private func takeOwnership() throws {
        for path in [directory, dataDirectory, socketDirectory] {
            if runAsPostgres {
                try run("/bin/chown", ["postgres:postgres", path])
            }
            chmod(path, 0o700)
        }
        if runAsPostgres, FileManager.default.fileExists(atPath: logFile) {
            try run("/bin/chown", ["postgres:postgres", logFile])
        }
    }

    @discardableResult
    private func run(_ executable: String, _ arguments: [String]) throws -> String {
        do {
            if runAsPostgres, executable != "/bin/chown" {
                return try Command.run("/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
            }
            return try Command.run(executable, arguments)
        } catch let failure as Command.Failure {
            throw PGError(.unavailable, "\(failure)")
        }
    }

    /// The server binaries of the newest installed PostgreSQL (Debian keeps them off PATH).
    static func binary(_ name: String) -> String {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(base)/\(version)/bin/\(name)") {
            return "\(base)/\(version)/bin/\(name)"
        }
        return "/usr/bin/\(name)"
    }
}
