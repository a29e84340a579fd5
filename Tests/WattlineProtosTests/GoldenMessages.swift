import WattlineProtos

/// The canonical messages behind `Tests/Fixtures/*.bin`. Each is written as protobuf JSON in
/// `Tests/Fixtures/<name>.json` too, so that Google's implementation (Tests/python) can check the
/// same bytes from the other side.
enum GoldenMessages {
    static let all: [(name: String, message: any ProtoMessage)] = [
        ("telemetry_batch", telemetryBatch),
        ("ingest_request_hello", TelemetryV1.IngestRequest.with {
            $0.kind = .hello(.with { $0.firmwareVersion = "comx-510/4.2.1"; $0.maxInFlight = 8 })
        }),
        ("ingest_response_ack", TelemetryV1.IngestResponse.with {
            $0.kind = .ack(.with {
                $0.sequence = 1_234_567_890_123
                $0.outcome = .rejected
                $0.code = 11
                $0.message = "sample 17 of channel 10017 is older than the accepted window"
            })
        }),
        ("bucketing_calendar", TelemetryV1.Bucketing.with {
            $0.kind = .calendar(.day)
            $0.timeZone = "Europe/Paris"
        }),
        ("bucketing_interval_zero", TelemetryV1.Bucketing.with { $0.kind = .intervalMs(0) }),
        ("call_header", RpcV1.CallHeader.with {
            $0.method = "/wattline.telemetry.v1.QueryService/ReadRaw"
            $0.timeoutMs = 2_500
            $0.metadata = [
                .with { $0.key = "wattline-trace-id"; $0.value = .text("4bf92f3577b34da6") },
                .with { $0.key = "checksum-bin"; $0.value = .binary([0x00, 0xff, 0x10, 0x80]) },
                .with { $0.key = "empty"; $0.value = .text("") },
            ]
            $0.authorization = "eyJhbGciOiJFZERTQSJ9.e30.c2ln"
        }),
        ("call_status_unicode", RpcV1.CallStatus.with {
            $0.code = 9
            $0.message = "Zählerstand fehlt für Standort “Lyon-Part-Dieu” ⚡"
            $0.details = [.with { $0.typeName = "wattline.telemetry.v1.BatchAck"; $0.value = [8, 1, 16, 3] }]
        }),
        ("go_away_unknown_reason", RpcV1.GoAway.with {
            $0.lastStreamID = 4_294_967_295
            $0.reason = .unrecognized(42)
            $0.message = "draining"
        }),
        ("hello_settings", RpcV1.Hello.with {
            $0.versions = [1, 2]
            $0.settings = .with {
                $0.maxFrameSize = 16_384
                $0.maxMessageSize = 4 << 20
                $0.initialStreamWindow = 65_535
                $0.keepaliveIntervalMs = 30_000
            }
            $0.agent = "wattline-swift/0.1"
        }),
        ("empty_message", TelemetryV1.ReadLatestResponse()),
    ]

    /// Two channels (one in two series after a long gap), negative deltas, fractional and
    /// negative values, quality flags.
    static let telemetryBatch = TelemetryV1.TelemetryBatch.with {
        $0.sequence = 42
        $0.seriesStartMs = [1_767_225_600_000, 1_767_225_600_013, 1_770_000_000_000]
        $0.channelIDs = [10_010, 18_446_744_073_709_551_615, 10_010]
        $0.sampleCounts = [3, 2, 1]
        $0.timeDeltasMs = [0, 60_000, 59_987, 0, -5, 2_147_483_647]
        $0.values = [12_345.67, 12_345.81, -0.0, 230.4, 1e-300, 99_999.5]
        $0.qualities = [0, 0, 4, 0, 8, 1]
    }
}
