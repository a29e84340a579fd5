// Encode and decode of one 1,000-sample telemetry batch: Wattline's Swift wrappers over
// protobuf-c against swift-protobuf, on the same .proto message, in the same run.
//
//   LD_PRELOAD=.../libMallocInterposerSwift.so CodecBenchmark [--data FILE] [--iterations N]
// Scripts/bench runs it with gen_telemetry.py data and the allocation counter preloaded.
import Foundation
import SwiftProtobuf
import WattlineProtos

var dataPath: String?
var iterations = 20_000
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--data": dataPath = arguments.popFirst()
    case "--iterations": iterations = Int(arguments.popFirst() ?? "") ?? iterations
    default: fatalError("usage: CodecBenchmark [--data FILE] [--iterations N]")
    }
}

let (samples, source) = try Samples.load(path: dataPath)
let batch = TelemetryV1.TelemetryBatch(sequence: 1, samples: samples)
let bytes = batch.serializedBytes()
let reference = try Wattline_Telemetry_V1_TelemetryBatch(serializedBytes: bytes)
let referenceBytes: [UInt8] = try reference.serializedBytes()
precondition(referenceBytes == bytes, "swift-protobuf and protobuf-c disagree on the batch's bytes")
let sampleCount = Double(samples.count)

let results = [
    measure("wattline encode (protobuf-c pack)", iterations: iterations) {
        blackHole(batch.serializedBytes())
    },
    measure("wattline decode, zero-copy view", iterations: iterations) {
        let view = try! TelemetryBatchView(serializedBytes: bytes)
        blackHole(view.values.count)
    },
    measure("wattline decode, Swift struct", iterations: iterations) {
        blackHole(try! TelemetryV1.TelemetryBatch(serializedBytes: bytes))
    },
    measure("swift-protobuf encode", iterations: iterations) {
        blackHole(try! reference.serializedBytes() as [UInt8])
    },
    measure("swift-protobuf decode", iterations: iterations) {
        blackHole(try! Wattline_Telemetry_V1_TelemetryBatch(serializedBytes: bytes))
    },
]

print("Telemetry batch codec: \(samples.count) samples, \(batch.channelIDs.count) channels, \(bytes.count) bytes encoded")
print("data: \(source)")
print("name".padding(toLength: 36, withPad: " ", startingAt: 0) + "   ns/batch   ns/sample   allocs/batch")
for result in results {
    print(
        result.name.padding(toLength: 36, withPad: " ", startingAt: 0)
            + String(format: " %10.0f %11.2f %14.1f", result.nanosecondsPerCall, result.nanosecondsPerCall / sampleCount,
                     result.allocationsPerCall))
}
let ratio = { (a: Int, b: Int) in results[b].nanosecondsPerCall / results[a].nanosecondsPerCall }
print(String(format: "swift-protobuf / wattline: encode %.2fx, decode %.2fx (view), %.2fx (struct)", ratio(0, 3), ratio(1, 4), ratio(2, 4)))
let summary: [String: Any] = [
    "benchmark": "codec", "samples": samples.count, "bytes": bytes.count,
    "encode_ns_per_sample": results[0].nanosecondsPerCall / sampleCount,
    "decode_view_ns_per_sample": results[1].nanosecondsPerCall / sampleCount,
    "decode_struct_ns_per_sample": results[2].nanosecondsPerCall / sampleCount,
    "decode_view_allocs_per_batch": results[1].allocationsPerCall,
    "swift_protobuf_encode_ns_per_sample": results[3].nanosecondsPerCall / sampleCount,
    "swift_protobuf_decode_ns_per_sample": results[4].nanosecondsPerCall / sampleCount,
]
print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
