import Foundation

/// A process started with posix_spawn (not Foundation's Process, whose exit monitoring was seen to hang here):
/// stdin is a pipe we hold, so a `serve` child sees EOF when we stop or die; stdout and stderr go to a file we
/// can poll, so a chatty child (s_server prints per connection) never blocks on a full pipe.
final class ChildProcess {
    let pid: pid_t
    let outputPath: String
    private var stdinWriter: Int32
    private var exited = false
    private var status: Int32 = -1

    /// Runs `arguments` in `directory` through `sh -c 'cd … && exec "$@"'`, so `pid` is the program's own.
    init(_ arguments: [String], directory: String = FileManager.default.currentDirectoryPath) throws {
        outputPath = NSTemporaryDirectory() + "connection-benchmark-\(UUID().uuidString).out"
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw BenchmarkError("pipe: errno \(errno)") }
        // Close-on-exec, so no later child inherits our end (a `serve` child would never see EOF); the dup2 onto the
        // child's fd 0 below is a fresh descriptor without the flag. (Swift's Glibc has no pipe2.)
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // posix_spawn inherits the calling thread's signal mask, and NIO and Swift concurrency threads block
        // almost everything: without this the child could never be stopped with SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)  // ignored here; the child gets the default back
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + arguments
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, cArguments, environ)
        close(pipeFDs[0])
        guard spawned == 0 else {
            close(pipeFDs[1])
            throw BenchmarkError("cannot run \(arguments): posix_spawn error \(spawned)")
        }
        self.pid = pid
        self.stdinWriter = pipeFDs[1]
    }

    deinit { stop() }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Polls the output for the first line containing `marker`.
    func waitForLine(containing marker: String, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            if hasExited() { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchmarkError("\(marker) never appeared; output: \(output.suffix(500))")
    }

    /// Waits for the process to end on its own (polling, so no thread blocks); returns its exit status.
    func exitStatus() async -> Int32 {
        closeStdin()
        while !hasExited() { try? await Task.sleep(for: .milliseconds(10)) }
        return status
    }

    /// Ends the process (EOF on stdin, then SIGTERM) and removes its output file.
    func stop() {
        closeStdin()
        if !hasExited() {
            kill(pid, SIGTERM)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0, errno == EINTR {}
            exited = true
        }
        unlink(outputPath)
    }

    private func closeStdin() {
        if stdinWriter >= 0 { close(stdinWriter) }
        stdinWriter = -1
    }

    private func hasExited() -> Bool {
        if exited { return true }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid {
            exited = true
            status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        }
        return exited
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
