public enum RouterCoreModule { public static let name = "RouterCore" }
