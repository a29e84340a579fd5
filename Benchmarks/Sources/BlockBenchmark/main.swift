// Telemetry at rest: bytes per sample of sealed columnar blocks (docs/telemetry.md), against
// xz -9 of the raw rows in the same run.
//
//   BlockBenchmark [FILE] [--block-hours H] [--skip-xz]
//
// FILE holds 32-byte little-endian rows (u64 logger_id, u64 channel_id, i64 ts_ms, f64 value) as
// `gen_telemetry.py --format bin` writes them. Without FILE, the reference data set
// (`--sites 10 --meters 8 --duration 86400 --format bin`) is generated into /tmp when ../shared
// exists. Samples are grouped by channel and cut into blocks of aligned H-hour windows (default
// 24); every block is encoded, sealed, opened and decoded, and checked bit for bit.
import Foundation
import WattlineCrypto
import WattlineTelemetry

var path: String?
var blockHours = 24
var runXZ = true
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--block-hours": blockHours = Int(arguments.popFirst() ?? "") ?? blockHours
    case "--skip-xz": runXZ = false
    case let file where !file.hasPrefix("--"): path = file
    default: fatalError("usage: BlockBenchmark [FILE] [--block-hours H] [--skip-xz]")
    }
}

let generatorArguments = "--sites 10 --meters 8 --duration 86400 --format bin"

func shell(_ command: String) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let pipe = Pipe()
    process.standardOutput = pipe
    do { try process.run() } catch { return (-1, "") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

if path == nil {
    let generator = "../shared/data/gen_telemetry.py"
    guard FileManager.default.fileExists(atPath: generator) else {
        print("BlockBenchmark needs data: pass a file written by gen_telemetry.py \(generatorArguments), or run from the project root with ../shared present")
        exit(2)
    }
    let target = "/tmp/wattline-telemetry-10x8x86400.bin"
    if !FileManager.default.fileExists(atPath: target) {
        print("generating \(target) with gen_telemetry.py \(generatorArguments)")
        guard shell("python3 \(generator) \(generatorArguments) --out \(target).tmp && mv \(target).tmp \(target)").status == 0 else {
            fatalError("gen_telemetry.py failed")
        }
    }
    path = target
}
let file = path!
guard let data = FileManager.default.contents(atPath: file), data.count % 32 == 0, !data.isEmpty else {
    fatalError("\(file) is missing, empty or not a multiple of 32 bytes")
}

// MARK: Group by channel and window

struct Row { var time: Int64; var value: Double }
var channels: [UInt64: [Row]] = [:]
data.withUnsafeBytes { raw in
    for offset in stride(from: 0, to: raw.count, by: 32) {
        let channel = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        let time = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 16, as: Int64.self))
        let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
        channels[channel, default: []].append(Row(time: time, value: Double(bitPattern: bits)))
    }
}
let sampleCount = data.count / 32
let windowMs = Int64(blockHours) * 3_600_000

struct Block { let channel: UInt64; let series: ChannelSeries }
var blocks: [Block] = []
for channel in channels.keys.sorted() {
    let rows = channels[channel]!
    var start = 0
    let sorted = rows.sorted { $0.time < $1.time }
    while start < sorted.count {
        let window = sorted[start].time / windowMs
        var stop = start
        while stop < sorted.count, sorted[stop].time / windowMs == window, stop - start < ChannelSeries.maxSampleCount { stop += 1 }
        let slice = sorted[start..<stop]
        let series = try ChannelSeries.normalizing(timesMs: slice.map(\.time), values: slice.map(\.value))
        blocks.append(Block(channel: channel, series: series))
        start = stop
    }
}

// MARK: Encode + seal, open + decode

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

let tenant = (0..<16).map { _ in UInt8.random(in: 0...255) }
let context = try AEAD.Context(key: SecretKey.random())
var layouts = BlockCodec.Layout(header: 0, timestamps: 0, values: 0, qualities: 0)
var plaintexts: [[UInt8]] = []  // every block's plaintext, to see whether a general compressor would still gain
var sealed: [(bytes: [UInt8], binding: BlockBinding)] = []
sealed.reserveCapacity(blocks.count)
let encodeStart = now()
for block in blocks {
    let (plaintext, layout) = BlockCodec.encodeWithLayout(block.series)
    let binding = try BlockBinding(tenantID: tenant, channelID: block.channel, summary: block.series.summary)
    sealed.append((try SealedBlock.seal(plaintext: plaintext, binding: binding, context: context), binding))
    if runXZ { plaintexts.append(plaintext) }
    layouts.header += layout.header
    layouts.timestamps += layout.timestamps
    layouts.values += layout.values
    layouts.qualities += layout.qualities
}
let encodeNs = now() - encodeStart

var decoded: [ChannelSeries] = []
decoded.reserveCapacity(blocks.count)
let decodeStart = now()
for (bytes, binding) in sealed { decoded.append(try SealedBlock.open(bytes, binding: binding, context: context)) }
let decodeNs = now() - decodeStart
for (block, result) in zip(blocks, decoded) where !block.series.isBitwiseEqual(to: result) {
    fatalError("channel \(block.channel): decoded block differs from the input")
}

// MARK: Report

let totalBytes = sealed.reduce(0) { $0 + $1.bytes.count }
let cryptoBytes = blocks.count * SealedBlock.overhead
let perSample = { (bytes: Int) in Double(bytes) / Double(sampleCount) }
print("file: \(file) (\(sampleCount) samples, \(channels.count) channels)")
print("blocks: \(blocks.count) of up to \(blockHours) h per channel, \(sampleCount / max(blocks.count, 1)) samples each on average")
print(String(format: "sealed bytes/sample: %.3f", perSample(totalBytes)))
print(String(format: "  timestamps %.3f  values %.3f  flags %.3f  codec header %.3f  crypto overhead %.3f",
             perSample(layouts.timestamps), perSample(layouts.values), perSample(layouts.qualities),
             perSample(layouts.header), perSample(cryptoBytes)))
let xzBytes = runXZ ? Int(shell("xz -9 -T1 -c '\(file)' | wc -c").output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 : -1
if runXZ { print(String(format: "xz -9 of the raw 32-byte rows: %.3f bytes/sample (%d bytes)", perSample(xzBytes), xzBytes)) }
if runXZ {
    // Would a general compressor inside each block still gain? Compress every plaintext on its own.
    let directory = "/tmp/wattline-block-plaintexts-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (index, plaintext) in plaintexts.enumerated() {
        _ = FileManager.default.createFile(atPath: "\(directory)/\(index)", contents: Data(plaintext))
    }
    for compressor in ["zstd -19 -q", "xz -9 -T1"] {
        let sum = "for f in '\(directory)'/*; do \(compressor) -c \"$f\" | wc -c; done | awk '{ s += $1 } END { print s }'"
        let bytes = Int(shell(sum).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        let total = plaintexts.reduce(0) { $0 + $1.count }
        print(String(format: "%@ of each block's plaintext: %.3f bytes/sample (the codec's plaintexts: %.3f)", compressor,
                     perSample(bytes), perSample(total)))
    }
    try? FileManager.default.removeItem(atPath: directory)
}
let encodePerSample = Double(encodeNs) / Double(sampleCount)
let decodePerSample = Double(decodeNs) / Double(sampleCount)
print(String(format: "encode+seal %.1f ns/sample, open+decode %.1f ns/sample (one core)", encodePerSample, decodePerSample))
print(String(
    format: "{\"benchmark\":\"telemetry_block\",\"samples\":%d,\"channels\":%d,\"blocks\":%d,\"block_hours\":%d,"
        + "\"bytes_per_sample\":%.4f,\"timestamps\":%.4f,\"values\":%.4f,\"flags\":%.4f,\"header\":%.4f,\"crypto\":%.4f,"
        + "\"xz9_bytes_per_sample\":%.4f,\"encode_ns_per_sample\":%.1f,\"decode_ns_per_sample\":%.1f}",
    sampleCount, channels.count, blocks.count, blockHours, perSample(totalBytes), perSample(layouts.timestamps),
    perSample(layouts.values), perSample(layouts.qualities), perSample(layouts.header), perSample(cryptoBytes),
    perSample(xzBytes), encodePerSample, decodePerSample))
