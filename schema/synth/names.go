package synth

// Word lists for invented people and places. Given names are common ones;
// family names, streets and towns are made by joining invented parts, so a
// generated person is nobody real. Postcodes use the "ZZ" area, which does
// not exist.

var givenNames = []string{
	"Asha", "Ben", "Cara", "Dev", "Ellis", "Farah", "Gus", "Hana", "Idris", "Jo",
	"Kit", "Lena", "Milo", "Nia", "Omar", "Pip", "Quinn", "Rhea", "Sol", "Tara",
	"Umar", "Vera", "Wes", "Xena", "Yusuf", "Zara", "Alex", "Bryn", "Cleo", "Dara",
	"Eden", "Finn", "Gwen", "Hugo", "Isla", "Jude", "Kai", "Lyra", "Mason", "Noor",
	"Orla", "Priya", "Remy", "Sana", "Theo", "Uma", "Vik", "Wren", "Yara", "Zed",
	"Ari", "Bea", "Cal", "Dina", "Eli", "Fern", "Gio", "Hal", "Ivy", "Jai",
}

var surnameHeads = []string{
	"Quill", "Marrow", "Edder", "Pellow", "Thorn", "Brack", "Fenn", "Ald", "Orm", "Sallow",
	"Wimble", "Crane", "Dunn", "Holl", "Tallow", "Yarrow", "Kest", "Lark", "Nettle", "Rook",
}

var surnameTails = []string{
	"feather", "by", "wick", "mere", "hollow", "stoke", "combe", "thwaite", "ridge", "wold",
	"worth", "shaw", "field", "dale", "ford", "gate",
}

var streetNames = []string{
	"Larkspur", "Tallow", "Ferncombe", "Brackwater", "Quillon", "Marrowbone", "Eddering",
	"Pellow", "Sallowmead", "Oxlode", "Tarnwick", "Nettlebed", "Rookery", "Wimbrel",
	"Cindergate", "Hollowell", "Kestrel", "Drovers", "Mossgrove", "Yarrowfield",
}

var streetKinds = []string{"Row", "Close", "Lane", "Road", "Street", "Way", "Court", "Gardens", "Terrace", "Walk"}

var towns = []string{
	"Quillbury", "Drowley", "Marrowfield", "Eddersley", "Pellingham Cross", "Fennick Green",
	"Sallowmere", "Oxlode Vale", "Tarnhollow", "Brackwater",
}

var adultDescriptions = []string{
	"man of about 30 seen at the address, name not given",
	"woman said to be a friend, stays some nights",
	"older man, said to be an uncle",
}

var reasonsChildNotSeen = []string{
	"at school", "at nursery", "staying with a grandparent this week", "asleep upstairs; parent declined to wake",
	"out with a friend's family", "said to be at a club; to be seen next visit",
}

// partnerConcernNotes: the first two fit a partner seen alone, the rest one
// not seen alone.
var partnerConcernNotes = []string{
	"Partner said, seen alone, that things are calmer since the order; no injuries seen.",
	"Partner seen alone at the door; said she is frightened of his moods.",
	"Partner quiet and deferred to him throughout.",
	"Partner would not speak while he was in the room.",
	"Partner reported a recent argument; police not called.",
}

// observationKinds are the keys of observationNotes, in a fixed order.
var observationKinds = []string{"poor_living_conditions", "substance_misuse", "signs_of_injury", "controlling_behaviour", "fear", "other"}

// observationNotes is what an officer writes beside each kind of
// observation.
var observationNotes = map[string]string{
	"poor_living_conditions": "Kitchen bare, little food; heating off.",
	"substance_misuse":       "Several empty cans in the living room; he appeared under the influence.",
	"signs_of_injury":        "Bruise on partner's forearm; she said she fell.",
	"controlling_behaviour":  "He checked partner's phone during the visit.",
	"fear":                   "Partner flinched when he raised his voice and watched him before answering.",
	"other":                  "Curtains drawn all day; he said he has not been out for a week.",
}

// elsewhereReasons: the first names a partner.
var elsewhereReasons = []string{
	"He asked not to meet at home because his partner was there.",
	"Met on the way to his appointment at the job centre.",
	"He said the flat was being decorated.",
	"Met near his workplace at his request.",
}

// outcomeReasons: the first of each names no partner.
var outcomeReasons = map[string][]string{
	"no_answer":        {"No answer; card left.", "Curtains drawn, no answer; neighbour said he was in."},
	"refused_entry":    {"Spoke at the door; he refused entry.", "Partner answered and refused entry."},
	"not_present":      {"Not there; mother said he was staying with a friend.", "Partner said he was at work."},
	"abandoned_safety": {"Dog loose in the front garden; left.", "Aggressive visitor at the address; left and informed manager."},
	"not_undertaken":   {"Officer unwell; visit rearranged.", "Car broke down; rearranged for next week."},
}

var otherOccupantNotes = []string{
	"Partner and children; occasional visits from his brother.",
	"Lives alone according to him; a man was seen at the address.",
	"Partner, two children, a lodger.",
}

var loneWorkingPlans = []string{
	"Visit in pairs; call office on arrival and on leaving.",
	"Lone visit allowed in daylight; check-in call every 30 minutes.",
	"Visit with police presence until dog risk resolved.",
}

var needs = []string{
	"Domestic abuse programme", "Thinking skills programme", "Alcohol treatment", "Drug treatment",
	"Accommodation support", "Employment, training and education", "Parenting support", "Mental health assessment",
}
