public enum VenueSimVersion { public static let current = "0.1.0" }
