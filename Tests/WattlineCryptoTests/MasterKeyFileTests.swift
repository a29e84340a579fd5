import Glibc
import Testing
import WattlineCrypto

/// Each test gets a fresh directory under /tmp, removed when the test's suite instance goes away.
@Suite final class MasterKeyFileTests {
    let directory: String = {
        var template = Array("/tmp/wattline-crypto-test-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }()

    deinit { removeTree(directory) }

    func write(_ name: String, _ contents: [UInt8], mode: mode_t) -> String {
        let path = "\(directory)/\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0)
        _ = contents.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)
        close(fd)
        return path
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        precondition(stat(path, &info) == 0)
        return info.st_mode & 0o7777
    }

    @Test func createIfMissingMakesPrivateDirectoriesAndFile() throws {
        let path = "\(directory)/a/b/master.key"
        let created = try MasterKeyFile.createIfMissing(path: path)
        #expect(mode(path) == 0o600)
        #expect(mode("\(directory)/a") == 0o700)
        #expect(mode("\(directory)/a/b") == 0o700)
        #expect(bytes(of: try MasterKeyFile.load(path: path)) == bytes(of: created))
        #expect(bytes(of: try MasterKeyFile.createIfMissing(path: path)) == bytes(of: created))  // not replaced
        #expect(entries("\(directory)/a/b") == ["master.key"])  // no temporary file left beside it
    }

    @Test func refusesGroupOrOtherAccessWithAClearMessage() throws {
        let path = write("open.key", pattern(32), mode: 0o644)
        let error = cryptoError { _ = try MasterKeyFile.load(path: path) }
        #expect(error?.code == .keyFile)
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains("0644") == true)
        let groupReadable = write("group.key", pattern(32), mode: 0o640)
        #expect(cryptoError { _ = try MasterKeyFile.load(path: groupReadable) }?.message.contains("0640") == true)
        #expect(throws: Never.self) { try MasterKeyFile.load(path: write("strict.key", pattern(32), mode: 0o400)) }
    }

    @Test func refusesWrongLengths() {
        let cases: [[UInt8]] = [[], pattern(31), pattern(33), Array(String(repeating: "a", count: 63).utf8),
                                Array(String(repeating: "a", count: 66).utf8), pattern(200)]
        for (index, contents) in cases.enumerated() {
            let path = write("len\(index).key", contents, mode: 0o600)
            let error = cryptoError { _ = try MasterKeyFile.load(path: path) }
            #expect(error?.code == .keyFile, "case \(index)")
            #expect(error?.message.contains(path) == true)
        }
    }

    @Test func acceptsRawAndHexForms() throws {
        let raw = pattern(32)
        let hexText = raw.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(bytes(of: try MasterKeyFile.load(path: write("raw.key", raw, mode: 0o600))) == raw)
        #expect(bytes(of: try MasterKeyFile.load(path: write("hex.key", Array(hexText.utf8), mode: 0o600))) == raw)
        #expect(bytes(of: try MasterKeyFile.load(path: write("hexnl.key", Array((hexText.uppercased() + "\n").utf8), mode: 0o600))) == raw)
        #expect(bytes(of: try MasterKeyFile.fromEnvironment(value: hexText)) == raw)
        #expect(bytes(of: try MasterKeyFile.fromEnvironment(value: hexText + "\n")) == raw)
    }

    @Test func rejectsBadHexWithoutEchoingIt() {
        let text = "zz" + String(repeating: "5e", count: 31)
        let error = cryptoError { _ = try MasterKeyFile.load(path: write("badhex.key", Array(text.utf8), mode: 0o600)) }
        #expect(error?.code == .keyFile)
        #expect(error?.message.contains("5e5e") == false)
        #expect(cryptoError { _ = try MasterKeyFile.fromEnvironment(value: String(repeating: "a", count: 62)) }?.code == .invalidInput)
        #expect(cryptoError { _ = try MasterKeyFile.fromEnvironment(value: text) }?.message.contains("5e5e") == false)
    }

    @Test func missingFileAndDirectoryAreKeyFileErrors() {
        #expect(cryptoError { _ = try MasterKeyFile.load(path: "\(directory)/nope.key") }?.code == .keyFile)
        mkdir("\(directory)/dir.key", 0o700)
        let error = cryptoError { _ = try MasterKeyFile.load(path: "\(directory)/dir.key") }
        #expect(error?.code == .keyFile)
        #expect(error?.message.contains("not a regular file") == true)
    }
}

func entries(_ directory: String) -> [String] {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if info.st_mode & 0o170000 == 0o040000 {
        for name in entries(path) { removeTree("\(path)/\(name)") }
        rmdir(path)
    } else {
        unlink(path)
    }
}
