import Testing
// Placeholder until the venue-sim test suite lands (issue 4).
@Test func venueSimTestsPending() {}
