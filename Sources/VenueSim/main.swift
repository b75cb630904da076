import VenueSimCore
print("venue-sim \(VenueSimVersion.current)")
