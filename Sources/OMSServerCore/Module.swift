public enum OMSServerCoreModule { public static let name = "OMSServerCore" }
