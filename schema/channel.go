package schema

// Channels of a contact, as measure 3 sorts them (docs/compliance.md).
// The compliance measures and the server store's read model both sort a
// visit with ContactChannel, so that the two never disagree on one.
const (
	ChannelHome         = "face_to_face_home"      // face to face in the home
	ChannelDoorstep     = "face_to_face_doorstep"  // face to face, no further than the door
	ChannelElsewhere    = "face_to_face_elsewhere" // face to face away from the home (place_type says where)
	ChannelPhone        = "phone"
	ChannelVideo        = "video"
	ChannelOtherNotFace = "other_not_face_to_face" // recorded as not face to face, neither phone nor video
)

// Place types of a face-to-face contact away from the home.
const (
	PlaceCafe           = "cafe"
	PlaceLibrary        = "library"
	PlaceOffice         = "office"
	PlaceCommunityVenue = "community_venue"
	PlaceOther          = "other"
)

// ContactChannel says how a contact happened, and for a face-to-face
// contact away from the home, where (cafe, library, office,
// community_venue or other). Phone and video go by the type; any other
// contact recorded as not face to face is other_not_face_to_face. A
// doorstep contact, or a home visit whose location is the doorstep, is
// face_to_face_doorstep (as the policy reads it); a home visit at home (or
// with no location) is face_to_face_home; everything else face to face is
// elsewhere, at its place_type (an office-type contact with none: office;
// otherwise other).
func ContactChannel(v Visit) (channel, place string) {
	switch v.Type {
	case "phone":
		return ChannelPhone, ""
	case "video":
		return ChannelVideo, ""
	}
	if !v.FaceToFace {
		return ChannelOtherNotFace, ""
	}
	home := IsHomeVisit(v.Type) || (v.Type == "" && v.Location != "elsewhere")
	switch {
	case v.Type == "doorstep" || (home && v.Location == "doorstep"):
		return ChannelDoorstep, ""
	case home && v.Location != "elsewhere" && (v.Location != "" || v.Type != ""):
		return ChannelHome, ""
	}
	switch v.PlaceType {
	case PlaceCafe, PlaceLibrary, PlaceOffice, PlaceCommunityVenue:
		return ChannelElsewhere, v.PlaceType
	}
	if v.PlaceType == "" && v.Type == "office" {
		return ChannelElsewhere, PlaceOffice
	}
	return ChannelElsewhere, PlaceOther
}
