import Foundation

/// CPU time of the server, of every PostgreSQL process and of this process, and the server's
/// resident memory, from /proc: the CPU split the issue asks for, measured beside the load.
struct ProcessSampler: Sendable {
    struct Sample {
        var serverTicks: Int64 = 0
        var postgresTicks: Int64 = 0
        var selfTicks: Int64 = 0
        var serverRSSKiB: Int64 = 0
    }

    let serverPID: Int32?

    func sample() -> Sample {
        var sample = Sample()
        if let serverPID {
            sample.serverTicks = Self.ticks(serverPID) ?? 0
            sample.serverRSSKiB = Self.rssKiB(serverPID) ?? 0
        }
        sample.selfTicks = Self.ticks(getpid()) ?? 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  comm.hasPrefix("postgres") else { continue }
            sample.postgresTicks += Self.ticks(pid) ?? 0
        }
        return sample
    }

    /// utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat, after the command name).
    static func ticks(_ pid: Int32) -> Int64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        return user + system
    }

    static func rssKiB(_ pid: Int32) -> Int64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int64(line.split(separator: " ").dropFirst().first ?? "")
        }
        return nil
    }

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
}
