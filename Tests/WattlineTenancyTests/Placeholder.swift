import Testing
@testable import WattlineTenancy
