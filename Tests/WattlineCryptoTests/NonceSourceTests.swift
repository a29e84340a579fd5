import Glibc
import Testing
import WattlineCrypto

@Suite(.serialized) struct NonceSourceTests {
    func draw(_ source: inout NonceSource) throws -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: AEAD.nonceByteCount)
        try nonce.withUnsafeMutableBytes { try source.next(into: $0.baseAddress!) }
        return nonce
    }

    /// A copied pool (what fork() does to memory) repeats nonces unless the fork generation moved on.
    @Test func poolIsDiscardedWhenTheForkGenerationChanges() throws {
        var parent = NonceSource()
        var seen: Set<[UInt8]> = []
        for _ in 0..<300 { seen.insert(try draw(&parent)) }  // spans several batches
        #expect(seen.count == 300)

        var duplicate = parent
        #expect(try draw(&duplicate) == (try draw(&parent)))  // the hazard the generation check exists for

        var child = parent
        forkGeneration.add(1, ordering: .relaxed)  // as the atfork child handler would
        #expect(try draw(&child) != (try draw(&parent)))
    }

    /// The child handler really runs: a forked child sees the generation one higher. The child
    /// only loads an atomic and calls _exit, which is safe in a multithreaded parent.
    @Test func forkBumpsTheGenerationInTheChild() throws {
        #expect(forkHandlerInstalled)
        let before = forkGeneration.load(ordering: .relaxed)
        let pid = fork()
        if pid == 0 { _exit(Int32(truncatingIfNeeded: forkGeneration.load(ordering: .relaxed) &- before)) }
        #expect(pid > 0)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        #expect(status & 0x7f == 0)  // exited normally
        #expect((status >> 8) & 0xff == 1)
    }
}
