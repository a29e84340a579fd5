import Testing
@testable import WattlineCredentials
