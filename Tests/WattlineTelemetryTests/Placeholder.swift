import Testing
@testable import WattlineTelemetry
