import OMSServerCore
import Testing
@Test func module() { #expect(OMSServerCoreModule.name == "OMSServerCore") }
