//! Sentence templates of the generator, French and English. Slots: `{P}` a place as
//! people write it, `{S}` a tram stop after "arrêt"/"stop", `{L}` a tram line number,
//! `{H}` an hour, `{M}` a mention, `{U}` a link. Background templates mention the watched
//! topics too (a bin fire, a late tram, "il paraît que…"), at background rates, so that
//! false bursts are possible and measured.

/// Background posts about the city.
pub const CITY_FR: &[&str] = &[
    "Belle lumière ce soir sur {P}",
    "Petit café en terrasse {P}, il fait bon",
    "Concert gratuit {P} à {H}, venez nombreux !",
    "Marché de Noël {P} : super ambiance ce soir",
    "Les travaux {P} n'en finissent pas, ras le bol",
    "Trottoirs sales {P}, c'est honteux",
    "Quelqu'un sait si la bibliothèque est ouverte dimanche ?",
    "Le tram {L} est bondé ce matin, comme d'hab",
    "Tram {L} en retard de cinq minutes à l'arrêt {S}",
    "Le tram {L} roule normalement ce matin",
    "Grosse affluence {P} pour les soldes",
    "Balade sympa {P} avec les enfants",
    "Bruit insupportable {P} toute la nuit",
    "Une odeur de fumée vers {P} ? Sûrement un barbecue",
    "Feu de poubelle rue {P} vite éteint",
    "Il paraît que le nouveau resto {P} est génial",
    "Allez les Canaris ! Match ce soir à {H}",
    "Réunion du conseil de quartier {P} jeudi à {H}",
    "Vélo volé devant {P}, super…",
    "Magnifique coucher de soleil sur la Loire",
    "Encore de la pluie sur Nantes, bof",
    "La place est pleine de monde, belle journée {P}",
    "Expo très réussie {P}, je recommande",
    "Bouchons sur le périph ce matin, galère",
    "On se retrouve {P} à {H} ?",
    "Les pompiers font un exercice {P} ce matin",
    "Travaux de nuit sur la ligne {L} cette semaine",
    "Qui connaît un bon boulanger {P} ?",
    "Très bon moment au festival {P} hier soir",
    "Pas mal le nouveau marché {P}",
    "Ce n'est pas terrible l'éclairage {P} le soir",
    "Merci aux agents qui nettoient {P} tous les matins",
    "Manif prévue samedi {P}, itinéraire à confirmer",
    "Super spectacle de rue {P} 👏",
    "Arrêt {S} : escalator encore hors service 🙄",
];

pub const CITY_EN: &[&str] = &[
    "Lovely evening light over {P}",
    "Great coffee near {P} this morning",
    "Free concert at {P} at {H}, come along!",
    "Christmas market at {P} is so much fun",
    "Roadworks at {P} again, what a mess",
    "The tram {L} is packed this morning",
    "Tram {L} running a bit late at {S} stop",
    "Nice walk around {P} with the kids",
    "Anyone know if the library opens on Sunday?",
    "Smell of smoke near {P}? Probably a barbecue",
    "Beautiful sunset over the Loire tonight",
    "Rain again in Nantes, meh",
    "Really enjoyed the exhibition at {P}",
    "Bike stolen outside {P}, great…",
    "Meeting at {P} at {H}?",
    "Heard the new restaurant near {P} is amazing",
    "Street performers at {P} were brilliant",
    "Noise at {P} all night, unbearable",
];

/// A fire at a named square.
pub const FIRE_FR: &[&str] = &[
    "Incendie {P} ! Énorme fumée noire",
    "Gros incendie en cours {P}, les pompiers arrivent",
    "Départ de feu {P}, évitez le secteur",
    "On voit les flammes depuis le bout de la rue, {P} ça brûle 😱",
    "Fumée épaisse {P}, ça sent le brûlé jusqu'ici",
    "Les pompiers sont sur place {P}, incendie d'un immeuble",
    "Incendie {P} : la rue est bloquée, c'est impressionnant",
    "Tout le quartier est enfumé, incendie {P} #Nantes",
    "Le feu a pris dans un restaurant {P}, j'espère qu'il n'y a pas de blessés",
    "Sirènes partout, incendie {P}, faites attention",
    "Des flammes énormes {P}, c'est terrifiant",
    "Évacuation des immeubles {P} à cause de l'incendie",
];

pub const FIRE_EN: &[&str] = &[
    "Huge fire at {P}, black smoke everywhere",
    "Fire at {P}, firefighters on site, avoid the area",
    "You can see the flames from across the river, {P} is on fire",
    "Thick smoke over {P}, scary",
    "Buildings being evacuated at {P} because of the fire",
    "Massive fire near {P} right now #Nantes",
];

/// A tram breakdown at a stop.
pub const TRAM_FR: &[&str] = &[
    "Tram {L} en panne à l'arrêt {S}, rien ne bouge",
    "Ligne {L} bloquée à l'arrêt {S} depuis vingt minutes 😡",
    "Encore une panne du tram {L} à l'arrêt {S}, ras le bol",
    "Panne sur la ligne {L} : on est coincés à l'arrêt {S}",
    "Le tram {L} est arrêté à l'arrêt {S}, aucune info, c'est nul",
    "Trafic interrompu sur la ligne {L} à l'arrêt {S}",
    "Tram {L} bloqué, tout le monde descend à l'arrêt {S}",
    "Ça fait une demi-heure que le tram {L} est en panne, station {S}",
    "Panne de tram à l'arrêt {S}, je vais être en retard au boulot",
    "Ligne {L} coupée à l'arrêt {S}, prenez le bus",
];

pub const TRAM_EN: &[&str] = &[
    "Tram {L} broken down at {S} stop, nothing moving",
    "Line {L} stuck at {S} stop for twenty minutes",
    "Tram breakdown at {S} stop, going to be late",
    "Tram {L} out of service at {S} stop again, fed up",
];

/// A rumour about a landmark.
pub const RUMOUR_FR: &[&str] = &[
    "Il paraît que {P} va fermer définitivement ?!",
    "Rumeur : {P} serait fermé à cause d'une menace, quelqu'un confirme ?",
    "C'est vrai ce qu'on dit sur {P} ? Ça tourne partout",
    "Fake news ou pas ? On dit que {P} est évacué",
    "Encore une rumeur sur {P}, vérifiez vos sources",
    "Il paraît qu'il s'est passé un truc grave {P}, quelqu'un sait ?",
    "Intox : non, {P} n'est pas fermé",
    "La rumeur sur {P} enfle, la mairie doit réagir",
];

pub const RUMOUR_EN: &[&str] = &[
    "Is it true {P} is closing for good? #rumour",
    "Rumour going round that {P} was evacuated, anyone confirm?",
    "Hoax or not? People say something happened at {P}",
];

/// Everyday chatter with no place of the city (the bulk of a firehose).
pub const CHATTER_FR: &[&str] = &[
    "Bon dimanche à tous",
    "Quelqu'un a vu le dernier épisode ? Incroyable",
    "J'ai enfin fini ce livre, je recommande",
    "Café, puis réunion, puis réunion, puis café",
    "Recette de crêpes testée ce soir, un délice",
    "Le chat a encore renversé mon verre",
    "Vivement les vacances",
    "Ce podcast sur l'histoire médiévale est passionnant",
    "Il fait froid ce matin, mettez vos bonnets",
    "Qui joue ce soir ? J'ai besoin de monde",
    "Ma connexion internet est vraiment lente aujourd'hui",
    "Premier jour au nouveau boulot, un peu stressé",
    "Très belle lecture ce week-end",
    "Je cherche une idée de cadeau pour ma sœur",
    "La nouvelle mise à jour de mon téléphone est pénible",
];

pub const CHATTER_EN: &[&str] = &[
    "Happy Sunday everyone",
    "Just finished that book, highly recommend it",
    "Coffee, meeting, meeting, coffee",
    "Tried a new pasta recipe tonight, delicious",
    "The cat knocked my glass over again",
    "Can't wait for the holidays",
    "This history podcast is fascinating",
    "Cold morning, wear a hat",
    "My internet is so slow today",
    "First day at the new job, a bit nervous",
    "Looking for a gift idea for my brother",
    "The new phone update is annoying",
    "What a game last night",
];

/// Words for synthetic handles (adjective_animal_number): never words of the templates.
pub const HANDLE_A: &[&str] = &["bleu", "vif", "calme", "rouge", "doux", "gris", "agile", "sage", "petit", "grand"];
pub const HANDLE_B: &[&str] = &["heron", "loutre", "mouette", "renard", "hibou", "castor", "lynx", "pinson"];
