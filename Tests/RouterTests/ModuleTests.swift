import RouterCore
import Testing
@Test func module() { #expect(RouterCoreModule.name == "RouterCore") }
