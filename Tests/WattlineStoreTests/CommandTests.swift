#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import WattlineStore

@Suite("Child processes")
struct CommandTests {
    @Test("a child inherits none of this process's descriptors (SwiftNIO's sockets are not CLOEXEC)")
    func noInheritedDescriptors() throws {
        let descriptors = (0..<200).map { _ in open("/dev/null", O_RDONLY) }  // no O_CLOEXEC, like NIO's sockets
        defer { descriptors.forEach { close($0) } }
        #expect(descriptors.allSatisfy { $0 >= 0 })
        let listing = try Command.run("/bin/sh", ["-c", "ls /proc/self/fd"])
        let count = listing.split(separator: "\n").count
        #expect(count <= 5, "the child sees \(count) descriptors: 0-2, the listing's own, and nothing of ours")
    }
}
