import Testing
import VenueSimCore
@Test func version() { #expect(!VenueSimVersion.current.isEmpty) }
