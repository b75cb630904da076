import Foundation
import Logging
import OMSCore
import OMSTestSupport

/// The broker fixture shared by all test targets (Tests/OMSTestSupport).
typealias NATSServer = NATSServerFixture
typealias FixtureFailure = FixtureError

func repoRoot() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
