extension PasswordHasher {
    /// argon2id's cost parameters. Salt (16 bytes) and hash (32 bytes) lengths are fixed.
    public struct Parameters: Sendable, Hashable, CustomStringConvertible {
        /// Memory per hash, in KiB (1 KiB blocks; at least 8 per lane).
        public var memoryKiB: UInt32
        /// Passes over that memory.
        public var iterations: UInt32
        /// Lanes, each filled by its own thread inside libargon2.
        public var parallelism: UInt32

        public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
            self.memoryKiB = memoryKiB
            self.iterations = iterations
            self.parallelism = parallelism
        }

        /// The floor from OWASP's Password Storage Cheat Sheet (m=19456, t=2, p=1).
        public static let owaspMinimum = Parameters(memoryKiB: 19_456, iterations: 2, parallelism: 1)

        /// 46 MiB, 2 passes, 1 lane: 2.4 times OWASP's minimum memory and work, about 6 times its
        /// cost per guess to an attacker (who pays for memory held over time), for ~80 ms per hash
        /// on one core of the 2-core reference machine (the minimum: ~21 ms; 64 MiB: ~115 ms).
        /// Measurements and the trade-off: docs/identity.md.
        /// One lane, because on 2 cores a second lane only moves a login's work onto the core
        /// that serves ingest and other logins; the cost to an attacker is the same.
        public static let `default` = Parameters(memoryKiB: 47_104, iterations: 2, parallelism: 1)

        /// The largest values accepted, in configuration and in stored strings: they bound what a
        /// corrupt or hostile stored string can make one verification allocate (1 GiB) or spend.
        public static let maximumMemoryKiB: UInt32 = 1 << 20
        public static let maximumIterations: UInt32 = 16
        public static let maximumParallelism: UInt32 = 16

        /// libargon2's own floors (8 blocks per lane, one pass, one lane) and our ceilings.
        var isWithinBounds: Bool {
            (1...Self.maximumParallelism).contains(parallelism)
                && (1...Self.maximumIterations).contains(iterations)
                && memoryKiB >= 8 * parallelism && memoryKiB <= Self.maximumMemoryKiB
        }

        public var description: String { "m=\(memoryKiB),t=\(iterations),p=\(parallelism)" }
    }
}
