import Foundation

/// Runs a command (always under `timeout 10`, so a test can never hang on it) with stdin from
/// /dev/null and its output captured in a temporary file. posix_spawn and waitpid rather than
/// Foundation's Process, whose waitUntilExit was seen to miss a child's exit and hang a test run.
public func runSynchronously(_ command: [String], in directory: String? = nil) -> (status: Int32, output: String) {
    let outputPath = NSTemporaryDirectory() + "wattline-test-command-\(UUID().uuidString)"
    defer { unlink(outputPath) }
    let shellCommand = (directory.map { "cd '\($0)' && " } ?? "") + "exec /usr/bin/timeout 10 \"$@\""
    let argv = ["/bin/sh", "-c", shellCommand, "sh"] + command
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let cArguments = argv.map { strdup($0) } + [nil]
    defer { cArguments.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, cArguments, environ)
    guard spawned == 0 else { return (-1, "cannot run \(command): posix_spawn error \(spawned)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exitStatus, output)
}
