public enum OMSAPIModule { public static let name = "OMSAPI" }
