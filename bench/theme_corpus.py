#!/usr/bin/env python3
"""Generate a site in the example site's exact schema, for the default theme's benchmark.

Usage:
    python3 bench/theme_corpus.py --projects N --out DIR [--seed S] [--today YYYY-MM-DD]
                                  [--images-every K] [--image-pool P] [--unique-images]

Writes DIR as a complete vitrine site (an existing DIR/content is replaced):
    DIR/vitrine.yaml, DIR/data/     copied from the repository's example site
    DIR/themes/default/             copied from the repository (search page included,
                                    so the build makes its search index)
    DIR/content/_index.md and the four sections' _index.md, copied
    DIR/content/pages/*.md          the example's plain pages, copied as they are
    DIR/content/projects/           N projects; one in K (default 4) is a bundle
                                    `slug/index.md` + `cover.jpg|png` (cover field)
    DIR/content/trainings/          N/10 trainings, 1 to 4 dated sessions each, past
                                    and future relative to --today
    DIR/content/labels/             national labels for about a fifth of the projects
                                    old enough, European ones for about 40 % of those,
                                    and N/200 « Label École eTwinning » (a school, no project)
    DIR/manifest.json               counts, seed, pictures (distinct and total), bytes

Every front matter follows the collection schemas of vitrine.yaml (types, enums from
data/, lengths, patterns, derived countries = France + the partners' countries, as the
forms write them; label rules of the daemon: a project, or a school for the school
label). Bodies link to earlier projects with `@/` links, as the example's do.

Pictures: a pool of P distinct files (default 16): the example site's 11 covers
(JPEG, 1200 x 675) and P - 11 PNG drawn here (zlib + struct, sizes 1024 to 1600 px
wide); each bundle gets a copy of one of them. vitrine's image cache is keyed by a
hash of the bytes, so copies of one picture are decoded once per build at most (more
only when parallel workers meet the same bytes before the first one has finished).
With --unique-images every copy gets a distinct JPEG comment or PNG text chunk (the
pixels stay the same, vitrine strips both), so no two copies share a cache entry and
every picture is decoded and encoded.

Output depends only on the arguments (seeded random.Random; --today is fixed, not the
clock: build with VITRINE_NOW set to that day to get the same past/future split).
Standard library only. Never run by the test suite.
"""

import argparse
import datetime
import json
import os
import random
import shutil
import struct
import sys
import unicodedata
import zlib

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
GENERATOR_VERSION = 1


def read_list(name):
    """A data/*.yaml list of the example site (plain `- item` lines)."""
    out = []
    with open(os.path.join(REPO, "data", name), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("- "):
                out.append(line[2:].strip().strip('"'))
    return out


COUNTRIES = read_list("countries.yaml")
DISCIPLINES = read_list("disciplines.yaml")
LEVELS = read_list("levels.yaml")
LANGUAGES = read_list("languages.yaml")
LABEL_KINDS = read_list("label_kinds.yaml")  # national, European, École eTwinning
DURATIONS = ["quelques semaines", "un trimestre", "une année scolaire", "plusieurs années"]

# --- vocabulary (written for this generator; words and facts of content/ and of the seed) ---

# Language(s) spoken in each country, for the projects' working languages.
COUNTRY_LANGS = {
    "Allemagne": "allemand", "Autriche": "allemand", "Belgique": "néerlandais", "Chypre": "grec",
    "Croatie": "croate", "Danemark": "danois", "Espagne": "espagnol", "Finlande": "finnois",
    "Grèce": "grec", "Hongrie": "hongrois", "Italie": "italien", "Luxembourg": "allemand",
    "Pays-Bas": "néerlandais", "Pologne": "polonais", "Portugal": "portugais",
    "République tchèque": "tchèque", "Roumanie": "roumain", "Slovénie": "slovène", "Suède": "suédois",
    "Turquie": "turc", "Moldavie": "roumain",
}

# Partner schools: (kinds of school, cities) per country.
PARTNERS = {
    "Albanie": (["Shkolla 9-vjeçare", "Gjimnazi"], ["Tirana", "Durrës", "Shkodër", "Korçë"]),
    "Allemagne": (["Gymnasium", "Gesamtschule", "Grundschule", "Realschule", "Berufsschule"],
                  ["Fribourg-en-Brisgau", "Coblence", "Sarrebruck", "Leipzig", "Brême", "Munich", "Cologne"]),
    "Autriche": (["Bundesrealgymnasium", "Volksschule", "Mittelschule"], ["Salzbourg", "Graz", "Linz", "Innsbruck"]),
    "Belgique": (["Athénée royal", "Institut provincial", "Basisschool", "École communale"],
                 ["Liège", "Dinant", "Gand", "Namur", "Louvain", "Mons"]),
    "Bulgarie": (["Sredno uchilishte", "Osnovno uchilishte"], ["Plovdiv", "Varna", "Sofia", "Bourgas"]),
    "Chypre": (["Gymnasio", "Dimotiko scholeio"], ["Larnaca", "Limassol", "Nicosie", "Paphos"]),
    "Croatie": (["Osnovna škola", "Gimnazija", "Strukovna škola"], ["Split", "Zadar", "Rijeka", "Osijek"]),
    "Danemark": (["Gymnasium", "Folkeskole"], ["Aarhus", "Odense", "Aalborg", "Esbjerg"]),
    "Espagne": (["IES", "CEIP", "Colegio"], ["Valence", "Grenade", "Malaga", "Saragosse", "Séville", "Bilbao"]),
    "Estonie": (["Põhikool", "Gümnaasium"], ["Tallinn", "Tartu", "Pärnu", "Narva"]),
    "Finlande": (["Peruskoulu", "Lukio"], ["Tampere", "Oulu", "Turku", "Jyväskylä"]),
    "France": (["Lycée", "Collège", "École élémentaire"], ["Vieux-Port-sur-Mer", "Annecy", "Quimper", "Colmar"]),
    "Grèce": (["Gymnasio", "Lykeio", "Dimotiko scholeio"], ["Patras", "Kalamata", "Thessalonique", "Héraklion"]),
    "Hongrie": (["Gimnázium", "Általános Iskola"], ["Győr", "Debrecen", "Szeged", "Pécs"]),
    "Irlande": (["Scoil", "Community College", "National School"], ["Galway", "Cork", "Limerick", "Sligo"]),
    "Islande": (["Grunnskóli", "Menntaskóli"], ["Akureyri", "Reykjavik", "Ísafjörður"]),
    "Italie": (["Liceo", "Istituto comprensivo", "Scuola primaria", "Istituto professionale"],
               ["Bologne", "Naples", "Turin", "Palerme", "Vérone", "Bari"]),
    "Lettonie": (["Vidusskola", "Pamatskola"], ["Riga", "Liepāja", "Daugavpils"]),
    "Liechtenstein": (["Realschule", "Primarschule"], ["Vaduz", "Schaan"]),
    "Lituanie": (["Pradinė mokykla", "Gimnazija"], ["Kaunas", "Vilnius", "Klaipėda", "Šiauliai"]),
    "Luxembourg": (["Lycée technique", "École fondamentale"], ["Esch-sur-Alzette", "Differdange", "Ettelbruck"]),
    "Macédoine du Nord": (["Osnovno učilište", "Gimnazija"], ["Skopje", "Ohrid", "Bitola"]),
    "Malte": (["Primary School", "Middle School"], ["La Valette", "Mosta", "Victoria"]),
    "Monténégro": (["Osnovna škola", "Gimnazija"], ["Podgorica", "Kotor", "Nikšić"]),
    "Norvège": (["videregående skole", "barneskole"], ["Bergen", "Trondheim", "Stavanger", "Tromsø"]),
    "Pays-Bas": (["ROC", "Basisschool", "Lyceum"], ["Rotterdam", "Utrecht", "Groningue", "Maastricht"]),
    "Pologne": (["Szkoła Podstawowa", "Liceum", "Przedszkole"], ["Cracovie", "Gdańsk", "Poznań", "Wrocław", "Lublin"]),
    "Portugal": (["Escola Básica", "Escola Secundária", "Escola Profissional"], ["Porto", "Braga", "Coimbra", "Faro"]),
    "République tchèque": (["Základní škola", "Gymnázium"], ["Brno", "Ostrava", "Olomouc", "Plzeň"]),
    "Roumanie": (["Școala Gimnazială", "Liceul Teoretic", "Colegiul Național"],
                 ["Cluj-Napoca", "Galați", "Iași", "Timișoara", "Brașov"]),
    "Royaume-Uni": (["Primary School", "Academy", "High School"], ["Leeds", "Bristol", "Cardiff", "Édimbourg"]),
    "Serbie": (["Osnovna škola", "Gimnazija"], ["Novi Sad", "Niš", "Kragujevac"]),
    "Slovaquie": (["Gymnázium", "Základná škola"], ["Poprad", "Košice", "Žilina", "Nitra"]),
    "Slovénie": (["Osnovna šola", "Gimnazija"], ["Maribor", "Ljubljana", "Celje", "Koper"]),
    "Suède": (["Gymnasiet", "Grundskola"], ["Umeå", "Uppsala", "Malmö", "Göteborg", "Luleå"]),
    "Turquie": (["Ortaokulu", "Lisesi", "İlkokulu"], ["Izmir", "Bursa", "Antalya", "Trabzon"]),
    "Arménie": (["École", "Lycée"], ["Gyumri", "Erevan", "Vanadzor"]),
    "Azerbaïdjan": (["École secondaire", "Lycée"], ["Bakou", "Gandja", "Sheki"]),
    "Géorgie": (["École publique", "Lycée"], ["Koutaïssi", "Tbilissi", "Batoumi"]),
    "Moldavie": (["Liceul Teoretic", "Gimnaziul"], ["Chișinău", "Bălți", "Cahul"]),
    "Tunisie": (["Lycée", "Collège", "École primaire"], ["Sousse", "Sfax", "Bizerte", "Monastir"]),
    "Ukraine": (["Gymnase", "Lycée"], ["Lviv", "Odessa", "Kharkiv", "Tchernivtsi"]),
    "Jordanie": (["School", "Secondary School"], ["Amman", "Irbid", "Aqaba"]),
}
SCHOOL_NAMES_ABROAD = [
    "Lindenhof", "Seeblick", "am Rheinufer", "Aktis", "Mar de Alborán", "Norrsken", "Tatranská",
    "Pod Gradom", "Na Výsluní", "Saulutė", "Deltalanden", "Dunărea", "Izvoraș", "Vesuvio", "Jadran",
    "Il Girasole", "Huerta", "Alto Genil", "Kalamaja", "Sonyachnyi", "Arevik", "nr 7", "nr 12",
    "Aurora", "Europa", "Comenius", "Galileo", "Da Vinci", "Copernic", "Sibelius", "Mozart", "Cervantes",
    "Camões", "Andersen", "Dante", "Erasmus", "Humboldt", "Kepler", "Marie Curie", "Montessori",
    "Nansen", "Pestalozzi", "Solidarność", "Tesla", "Vivaldi", "Linné", "Herder", "Lorca", "Petőfi",
]

# Schools and towns of the académie (fictitious, in the example site's manner).
SCHOOL_KINDS = [
    ("École maternelle", ["maternelle"]), ("École élémentaire", ["élémentaire"]),
    ("École primaire", ["maternelle", "élémentaire"]), ("Collège", ["collège"]),
    ("Lycée", ["lycée"]), ("Lycée polyvalent", ["lycée", "BTS"]),
    ("Lycée professionnel", ["lycée professionnel"]), ("CFA", ["CFA"]),
    ("Lycée général et technologique", ["lycée", "BTS"]),
]
SCHOOL_NAMES = [
    "Les Tilleuls", "du Lac", "La Clairière", "du Moulin-Neuf", "des Métiers", "du Val-Fleuri",
    "des Sources", "de la Vallée-Verte", "des Quatre-Chemins", "Olympe-de-Gouges", "Marie-Curie",
    "Les Coquelicots", "Les Hauts-Fourneaux", "Jean-Rostand", "Les Compagnons", "du Grand-Large",
    "des Remparts", "Simone-Veil", "Jules-Verne", "Victor-Hugo", "George-Sand", "Louise-Michel",
    "Jean-Moulin", "Paul-Éluard", "Colette", "Pablo-Neruda", "Antoine-de-Saint-Exupéry", "Les Érables",
    "Les Glycines", "du Parc", "de la Source", "des Cèdres", "Albert-Camus", "Condorcet", "Montaigne",
    "Aristide-Briand", "Camille-Claudel", "Frida-Kahlo", "Nelson-Mandela", "Rosa-Parks", "Les Peupliers",
    "du Château", "des Tanneurs", "de la Gare", "Les Genêts", "des Marronniers", "Lucie-Aubrac",
    "Germaine-Tillion", "Jacques-Prévert", "Robert-Schuman", "Jean-Monnet", "Émilie-du-Châtelet",
    "Sophie-Germain", "Ada-Lovelace", "Hubert-Reeves", "Théodore-Monod", "Alexandra-David-Néel",
]
TOWNS = [
    "Marcillac-en-Forez", "Bourg-les-Landes", "Bellerive-la-Forêt", "Chaumont-les-Prés",
    "Val-d’Arvière", "Saint-Aubin-sur-Loire", "Montreuil-la-Rivière", "Port-Vallon",
    "Montferrand-le-Vieux", "Vieux-Port-sur-Mer", "Saint-Léger-des-Vignes", "Fontaine-aux-Roches",
    "Roche-Bernard-sur-Sèvre", "Les Essarts-du-Pin", "Villeneuve-sur-Arve", "Pont-de-Lisle",
    "Beaulieu-les-Sources", "Saint-Jorioz-le-Haut", "Lamballe-sur-Oust", "Castelnau-des-Bois",
    "Mirande-la-Côte", "Sainte-Colombe-en-Auxois", "Aurignac-les-Bains", "Champagnac-la-Prune",
]

# Themes: (title heads, topic of the body, tags, disciplines leaning that way).
THEMES = [
    (["Sur les planches", "Rideau !", "Le théâtre des deux rives", "Scènes d’Europe"],
     "une pièce de théâtre écrite à plusieurs mains", ["théâtre", "écriture", "vidéo", "bilinguisme"],
     ["Lettres", "Langues vivantes", "Arts plastiques"]),
    (["Potagers sans frontières", "Jardins partagés", "Graines voyageuses", "Le carré des simples"],
     "un potager pédagogique suivi dans plusieurs climats", ["jardinage", "biodiversité", "eau", "climat"],
     ["Sciences de la vie et de la Terre", "Développement durable", "Technologie"]),
    (["Un ciel pour tous", "Nuits d’étoiles", "Carnets d’astronomes", "La Lune en partage"],
     "des observations du ciel nocturne comparées d’un pays à l’autre", ["astronomie", "sciences", "photographie"],
     ["Physique-chimie", "Mathématiques", "Informatique"]),
    (["Contes des quatre vents", "Il était une fois l’Europe", "Légendes croisées", "Le kamishibaï voyageur"],
     "un recueil de contes traditionnels illustrés et traduits", ["contes", "lecture", "illustration", "traditions"],
     ["Lettres", "Langues vivantes", "Arts plastiques"]),
    (["Chaque goutte compte", "Au fil de l’eau", "Rivières d’Europe", "L’eau, bien commun"],
     "des mesures de consommation d’eau et des gestes d’économie", ["eau", "climat", "énergie", "sciences"],
     ["Physique-chimie", "Développement durable", "Sciences de la vie et de la Terre"]),
    (["La chorale des colombes", "Chœurs à distance", "Une chanson pour la paix", "Harmonies"],
     "une chorale virtuelle enregistrée voix par voix", ["musique", "paix", "chorale", "vidéo"],
     ["Éducation musicale", "Langues vivantes"]),
    (["Le Journal des deux rives", "Unes croisées", "À la une !", "Reporters sans frontières de classe"],
     "un journal en ligne rédigé par des comités de rédaction mixtes", ["journalisme", "médias", "écriture", "débat"],
     ["Lettres", "Enseignement moral et civique", "Langues vivantes"]),
    (["Lettres d’hier, voix d’aujourd’hui", "Mémoires de guerre et de paix", "Archives vivantes", "Correspondances"],
     "la lecture de lettres anciennes et leur mise en voix", ["mémoire", "correspondance", "paix", "histoire locale"],
     ["Histoire-géographie", "Lettres", "Langues vivantes"]),
    (["Petites bêtes et compagnie", "La mascotte voyageuse", "Insectes de nos cours", "Bestiaire partagé"],
     "l’observation des petites bêtes de la cour et une mascotte qui voyage", ["biodiversité", "mascotte", "comptines"],
     ["Sciences de la vie et de la Terre", "Arts plastiques"]),
    (["Robots citoyens", "Des robots dans la ville", "Codeurs en herbe", "Le défi des automates"],
     "des robots programmés pour rendre service dans la ville", ["robotique", "codage", "villes", "numérique"],
     ["Technologie", "Informatique", "Mathématiques"]),
    (["Saveurs d’Europe", "Recettes de saison", "À table !", "Le goût des autres"],
     "des recettes de saison échangées entre cuisines pédagogiques", ["cuisine", "alimentation", "métiers", "traditions"],
     ["Sciences de la vie et de la Terre", "Langues vivantes"]),
    (["Bouger ensemble", "Le défi des pas", "Jeux de cour d’Europe", "Sport et santé"],
     "un défi sportif commun et des jeux de cour traditionnels", ["sport", "santé", "jeux", "alimentation"],
     ["Éducation physique et sportive", "Mathématiques"]),
    (["Voix égales", "Filles et garçons, mêmes droits", "Égalité en ondes", "Toutes et tous"],
     "un podcast sur l’égalité entre filles et garçons", ["égalité", "podcast", "radio", "citoyenneté"],
     ["Enseignement moral et civique", "Langues vivantes", "Philosophie"]),
    (["Algorithmes et nous", "L’IA en questions", "Données et libertés", "Esprit critique numérique"],
     "un débat argumenté sur les algorithmes qui nous entourent", ["intelligence artificielle", "codage", "débat", "médias"],
     ["Informatique", "Philosophie", "Mathématiques"]),
    (["Mathématiques en jeux", "Calcul mental sans frontières", "Énigmes et casse-têtes", "Le rallye des nombres"],
     "des jeux mathématiques traditionnels et un rallye en ligne", ["mathématiques ludiques", "jeux", "calcul mental"],
     ["Mathématiques"]),
    (["Mini-entreprise sans frontières", "Entreprendre ensemble", "Nos métiers de demain", "L’atelier européen"],
     "une mini-entreprise commune, de l’idée à la vente", ["entrepreneuriat", "métiers", "orientation", "recyclage"],
     ["Sciences économiques et sociales", "Technologie"]),
    (["Couleurs d’automne", "Land art des saisons", "Quatre saisons, quatre pays", "Feuilles et lumières"],
     "des œuvres de land art au fil des saisons", ["saisons", "land art", "forêts", "correspondance"],
     ["Arts plastiques", "Sciences de la vie et de la Terre"]),
    (["Patrimoines en partage", "Nos villes racontées", "Pierres et mémoires", "Le musée de la classe"],
     "un musée virtuel du patrimoine de chaque ville partenaire", ["patrimoine", "architecture", "villes", "Europe"],
     ["Histoire-géographie", "Arts plastiques"]),
    (["Océans en danger", "La mer en bouteille", "Plastique, non merci", "Côtes et marées"],
     "une enquête sur les déchets des plages et des rivières", ["océans", "recyclage", "développement durable", "climat"],
     ["Sciences de la vie et de la Terre", "Développement durable", "Physique-chimie"]),
    (["Parlons-nous !", "Des mots et des langues", "Le dictionnaire des petits mots", "Babel à l’école"],
     "un dictionnaire illustré des mots du quotidien dans toutes les langues du projet", ["langues", "lecture", "illustration"],
     ["Langues vivantes", "Lettres"]),
    (["Citoyens d’Europe", "Notre parlement des jeunes", "Débattre pour décider", "La voix des élèves"],
     "une simulation de parlement européen préparée à distance", ["citoyenneté", "débat", "Europe", "droits de l’enfant"],
     ["Enseignement moral et civique", "Histoire-géographie", "Langues vivantes"]),
    (["Énergies de demain", "Le soleil au service de l’école", "Éoliennes en classe", "Watt’s up ?"],
     "des maquettes d’énergie renouvelable et des relevés de consommation", ["énergie", "climat", "sciences", "métiers"],
     ["Physique-chimie", "Technologie", "Développement durable"]),
    (["Bandes dessinées croisées", "Bulles d’Europe", "Cases et planches", "Nos héros dessinés"],
     "une bande dessinée collective en plusieurs langues", ["bande dessinée", "illustration", "écriture"],
     ["Arts plastiques", "Lettres", "Langues vivantes"]),
    (["Fêtes et traditions", "Le calendrier des fêtes", "Carnavals d’Europe", "Lumières d’hiver"],
     "un calendrier des fêtes et des traditions de chaque pays", ["fêtes", "traditions", "musique", "cuisine"],
     ["Langues vivantes", "Histoire-géographie", "Éducation musicale"]),
]
TITLE_TAILS = ["", "", "", "", " : un projet européen", " en deux langues", " à distance", " d’une rive à l’autre",
               " entre classes européennes", " au fil de l’année", " : regards croisés", " pour demain"]

SENT_SUBJECTS = ["Les élèves", "Les classes partenaires", "Chaque groupe", "Les correspondants",
                 "Les enseignants", "Les équipes mixtes", "Les plus grands", "Les apprentis",
                 "Les binômes franco-européens", "Les délégués de classe", "Une élève", "Un petit groupe",
                 "La classe", "Notre classe", "Le club européen", "Les collégiens", "Les lycéens"]
SINGULAR = ("Chaque ", "Une ", "Un ", "La ", "Le ", "Notre ")
SENT_VERBS = ["ont imaginé", "ont rédigé", "ont enregistré", "ont filmé", "ont comparé", "ont traduit",
              "ont illustré", "ont mesuré", "ont présenté", "ont cartographié", "ont interviewé", "ont relu",
              "ont mis en page", "ont photographié", "ont programmé", "ont chanté", "ont cuisiné", "ont planté",
              "ont discuté", "ont sélectionné", "ont construit", "ont corrigé", "ont partagé", "ont publié"]
SENT_OBJECTS = ["un glossaire illustré", "des capsules vidéo", "une exposition itinérante", "un carnet de bord",
                "des questionnaires", "une carte collaborative", "des interviews d’habitants", "un herbier",
                "des affiches", "une frise chronologique", "des relevés hebdomadaires", "un livre numérique",
                "des podcasts", "un jeu de piste", "des maquettes", "un quiz", "une chanson", "des recettes",
                "un reportage photo", "des courts-métrages", "une anthologie", "des cartes postales",
                "un tableau de mesures", "un guide de visite", "une charte de travail", "des portraits"]
SENT_PLACES = ["sur le TwinSpace", "en visioconférence", "dans le forum du projet", "par messagerie",
               "pendant la semaine européenne", "lors de la rencontre finale", "au CDI", "en salle informatique",
               "dans le jardin de l’école", "au fil des séances", "dans chaque établissement",
               "avec l’aide du professeur documentaliste", "en petits groupes", "à la maison avec les familles"]
SENT_ENDS = ["", "", "", " avant de les échanger avec les partenaires",
             " pour les présenter aux familles", " en français et en anglais", " dans la langue des partenaires",
             " en respectant la charte d’usage du numérique", " sans jamais publier de photo d’élève identifiable",
             " puis soumis le résultat au vote des classes", ", ensuite relu par les locuteurs natifs"]
CONNECTORS = ["Ensuite,", "Au premier trimestre,", "Chaque mois,", "En parallèle,", "Pour finir,", "Dès la rentrée,",
              "Au printemps,", "Entre deux visioconférences,", "Avant les vacances,", "À mi-parcours,"]
REFLECTIONS = [
    "Les élèves ont découvert qu’une langue étrangère sert d’abord à communiquer « pour de vrai ».",
    "La collaboration a dépassé le simple échange : chaque production est une création commune.",
    "Le projet a mobilisé plusieurs disciplines, et plusieurs collègues de chaque établissement.",
    "Les outils du TwinSpace, gratuits et sécurisés, ont suffi pour l’essentiel du travail.",
    "Les familles ont suivi l’avancement grâce au blog de classe, sans données personnelles.",
    "Les élèves les plus discrets ont trouvé leur place dans les petits groupes internationaux.",
    "Le calendrier commun, fixé dès septembre, a évité bien des malentendus entre fuseaux horaires.",
    "L’évaluation s’est faite en commun, à partir d’une grille construite avec les élèves.",
    "Le bureau d’assistance national a aidé à résoudre une difficulté technique au lancement.",
    "Une ambassadrice eTwinning de l’académie a accompagné l’équipe pendant la première année.",
    "Le projet a été présenté à la journée académique des projets européens.",
    "Plusieurs partenaires souhaitent prolonger l’aventure l’an prochain, avec d’autres classes.",
]
H2 = ["Le point de départ", "Comment nous avons travaillé", "Les activités", "Ce que les élèves ont produit",
      "Le partenariat", "Les outils", "Bilan", "Et après ?", "Les temps forts", "Évaluer ensemble",
      "Une production commune", "Les rencontres en ligne"]
QUOTES = [
    "J’ai compris que l’accent n’est pas une faute.",
    "Maintenant j’ai des amis en {country}.",
    "On ne pensait pas que c’était si différent chez eux, ni si proche.",
    "Le plus dur, c’était de se mettre d’accord à distance.",
    "J’ai parlé anglais sans avoir peur de me tromper.",
    "On a tous appris quelque chose des autres classes.",
]
MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre"]

TRAINING_KINDS = [
    # (title pattern, scope, mode, organiser, audience choices, place kind, hours)
    ("Stage du plan académique : {topic}", "nationale", "en présence",
     "Correspondante académique eTwinning, plan académique de formation", "school", (9, 16)),
    ("Demi-journée Canopé : {topic}", "nationale", "en présence",
     "Réseau Canopé — correspondante académique eTwinning", "canope", (14, 17)),
    ("En ligne : {topic}", "nationale", "en ligne",
     "Bureau d’assistance national eTwinning (Réseau Canopé)", "virtual", (17, 18)),
    ("Formation en établissement : {topic}", "nationale", "en présence",
     "Correspondante académique eTwinning et ambassadeurs de l’académie", "school", (13, 16)),
    ("Séminaire de contact à {city} : {topic}", "européenne", "en présence",
     "Bureaux d’assistance nationaux eTwinning", "abroad", (9, 17)),
    ("Atelier européen en ligne : {topic}", "européenne", "en ligne",
     "Bureau d’assistance européen eTwinning (European Schoolnet)", "webinar", (17, 18)),
    ("Rendez-vous des ambassadeurs : {topic}", "nationale", "en ligne",
     "Bureau d’assistance national eTwinning et réseau des ambassadeurs", "virtual", (18, 19)),
]
TRAINING_TOPICS = [
    "démarrer un projet eTwinning", "trouver un partenaire", "le TwinSpace pas à pas",
    "projets au premier degré", "projets au lycée professionnel", "évaluer un projet collaboratif",
    "la sécurité en ligne des élèves", "préparer un label de qualité", "devenir École eTwinning",
    "les outils pour collaborer à distance", "l’intelligence artificielle en classe",
    "les langues dans un projet pluridisciplinaire", "du projet eTwinning à la mobilité Erasmus+",
    "animer une visioconférence avec des élèves", "le développement durable en projet européen",
    "la citoyenneté européenne", "valoriser un projet auprès des familles", "l’inclusion dans les projets",
]
AUDIENCES = ["enseignants du premier degré", "enseignants du second degré", "conseillers pédagogiques",
             "professeurs documentalistes", "chefs d’établissement", "enseignants de lycée professionnel",
             "formateurs académiques", "directeurs et directrices d’école",
             "équipes pédagogiques d’un même établissement"]
CANOPE_TOWNS = ["Bellerive-la-Forêt", "Port-Vallon", "Chaumont-les-Prés", "Saint-Aubin-sur-Loire",
                "Marcillac-en-Forez", "Montferrand-le-Vieux"]
ABROAD = ["Lisbonne (Portugal)", "Tallinn (Estonie)", "Strasbourg", "Varsovie (Pologne)", "Athènes (Grèce)",
          "Dublin (Irlande)", "Ljubljana (Slovénie)", "Valence (Espagne)", "Helsinki (Finlande)", "Bruxelles (Belgique)"]
TRAINING_PARAS = [
    "La formation alterne apports, démonstrations et temps de travail en petits groupes sur votre propre projet.",
    "Chaque participant repart avec un projet esquissé et un calendrier de travail réaliste.",
    "Aucune compétence technique particulière n’est requise : il suffit d’être inscrit sur eTwinning.",
    "Les supports sont partagés après la session ; un groupe d’entraide reste ouvert toute l’année.",
    "Les frais de déplacement sont pris en charge selon les règles du plan de formation.",
    "Un ambassadeur eTwinning présente un projet mené dans l’académie, de la recherche de partenaire au label.",
    "Prévoyez un ordinateur portable et vos identifiants eTwinning pour les travaux pratiques.",
    "La session est ouverte aux enseignants de toutes disciplines, du premier comme du second degré.",
    "Les places attribuées à l’académie sont limitées ; la candidature comporte une courte lettre de motivation.",
    "Le bureau d’assistance national répond ensuite aux questions techniques sur la plateforme.",
]
TRAINING_BULLETS = ["s’inscrire et compléter son profil", "publier une annonce de projet",
                    "utiliser la recherche avancée de partenaires", "créer un TwinSpace et y inviter des élèves",
                    "organiser une visioconférence", "construire une activité collaborative",
                    "documenter le projet pour le label", "associer les familles", "évaluer avec les élèves",
                    "protéger les données personnelles des élèves"]
CITATIONS = [
    "Une collaboration **exemplaire** : les élèves des différents pays ont réellement produit ensemble.",
    "Le projet place les élèves au cœur de la démarche ; ils ont pris des décisions à chaque étape.",
    "L’usage des outils numériques est varié, sûr et au service des apprentissages.",
    "L’intégration au programme est remarquable, dans plusieurs disciplines à la fois.",
    "Les productions finales, de grande qualité, peuvent être réutilisées par d’autres classes.",
    "La communication entre partenaires est régulière et authentique, dans plusieurs langues.",
    "Le jury a apprécié la continuité du travail sur toute l’année et son impact sur l’établissement.",
]


def slugify(text):
    text = unicodedata.normalize("NFKD", text.replace("’", "-").replace("'", "-"))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    out, dash = [], False
    for ch in text:
        if ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash and out:
            out.append("-")
            dash = True
    return "".join(out).strip("-")[:70].strip("-") or "projet"


def q(s):
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(s, ensure_ascii=False)


def flow_list(items):
    return "[" + ", ".join(q(i) for i in items) + "]"


def school_year_of(day):
    y = day.year if day.month >= 9 else day.year - 1
    return "%d-%d" % (y, y + 1)


def fr_date(day):
    return "%d %s %d" % (day.day, MONTHS_FR[day.month - 1], day.year)


# --- pictures --------------------------------------------------------------------

def png_bytes(width, height, seed):
    """An opaque RGB PNG: gradients, bands and discs (a flat illustration)."""
    r = random.Random(seed)
    c1 = [r.randrange(40, 220) for _ in range(3)]
    c2 = [r.randrange(40, 220) for _ in range(3)]
    discs = [(r.randrange(width), r.randrange(height), r.randrange(40, height // 3),
              [r.randrange(256) for _ in range(3)]) for _ in range(6)]
    band = r.randrange(24, 80)
    rows = []
    for y in range(height):
        t = y / height
        base = [int(c1[k] * (1 - t) + c2[k] * t) for k in range(3)]
        shade = 18 if (y // band) % 2 else 0
        row = bytearray()
        for x in range(0, width, 8):  # 8-pixel runs: cheap in Python, still real content
            px = [min(255, base[k] + shade + (x * 40) // width) for k in range(3)]
            for (cx, cy, rad, col) in discs:
                if (x - cx) ** 2 + (y - cy) ** 2 < rad * rad:
                    px = col
                    break
            row += bytes(px) * min(8, width - x)
        rows.append(b"\x00" + bytes(row))
    raw = zlib.compress(b"".join(rows), 6)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def marked(data, ext, n):
    """The same picture with a distinct comment (JPEG COM segment, PNG tEXt chunk)."""
    text = b"vitrine bench copy %d" % n
    if ext == "jpg":
        return data[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + data[2:]
    body = b"Comment\x00" + text
    ch = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF)
    return data[:33] + ch + data[33:]  # after the signature and IHDR


def picture_pool(size, seed):
    """[(ext, bytes, alt)]: the example's covers, then drawn PNGs."""
    pool = []
    proj = os.path.join(REPO, "content", "projects")
    for d in sorted(os.listdir(proj)):
        p = os.path.join(proj, d, "cover.jpg")
        if os.path.isfile(p) and len(pool) < size:
            with open(p, "rb") as f:
                pool.append(("jpg", f.read(), "Illustration du projet : une affiche aux couleurs des pays partenaires."))
    sizes = [(1600, 900), (1200, 800), (1024, 768), (1440, 1080), (1280, 720)]
    i = 0
    while len(pool) < size:
        w, h = sizes[i % len(sizes)]
        pool.append(("png", png_bytes(w, h, seed * 1000 + i),
                     "Illustration : des cercles de couleur sur un fond dégradé, comme des bulles de dialogue."))
        i += 1
    return pool


# --- writers ---------------------------------------------------------------------

class Gen:
    def __init__(self, rng, n, today):
        self.r = rng
        self.n = n
        self.today = today
        self.slugs = set()
        self.projects = []  # (slug, title, date, link path, school)

    def free_slug(self, base, taken):
        slug, i = base, 2
        while slug in taken:
            slug = "%s-%d" % (base, i)
            i += 1
        taken.add(slug)
        return slug

    def sentence(self, country=None):
        r = self.r
        s = r.choice(SENT_SUBJECTS)
        verb = r.choice(SENT_VERBS)
        if s.startswith(SINGULAR):
            verb = "a" + verb[3:]
        if r.random() < 0.3:
            s = r.choice(CONNECTORS) + " " + s[0].lower() + s[1:]
        obj = r.choice(SENT_OBJECTS)
        if r.random() < 0.12:
            obj = "**%s**" % obj
        place = r.choice(SENT_PLACES)
        if country and r.random() < 0.3:
            place += " avec les partenaires (%s)" % country
        return "%s %s %s %s%s." % (s, verb, obj, place, r.choice(SENT_ENDS))

    def paragraph(self, countries, lo=2, hi=4):
        r = self.r
        return " ".join(self.sentence(r.choice(countries)) for _ in range(r.randint(lo, hi)))

    def project(self, idx):
        r = self.r
        heads, topic, tags, discs = r.choice(THEMES)
        title = r.choice(heads) + r.choice(TITLE_TAILS)
        if r.random() < 0.3:
            title = "%s (%s)" % (title, r.choice(SENT_OBJECTS))
        slug = self.free_slug(slugify(title), self.slugs)
        # Dates: from 2008 to today, more recent ones more frequent.
        span = (self.today - datetime.date(2008, 9, 1)).days
        day = self.today - datetime.timedelta(days=int(span * (r.random() ** 1.6)))
        kind, levels = r.choice(SCHOOL_KINDS)
        town = r.choice(TOWNS)
        school = "%s %s" % (kind, r.choice(SCHOOL_NAMES))
        n_partners = min(len(COUNTRIES) - 1, r.choice([1, 1, 2, 2, 2, 3, 3, 3, 4, 5, 6, 8]))
        others = [c for c in COUNTRIES if c != "France"]
        pcountries = r.sample(others, n_partners)
        partners = []
        for c in pcountries:
            kinds, cities = PARTNERS[c]
            partners.append((("%s %s" % (r.choice(kinds), r.choice(SCHOOL_NAMES_ABROAD))), r.choice(cities), c))
        if r.random() < 0.1:  # a second school of one partner country
            c = r.choice(pcountries)
            kinds, cities = PARTNERS[c]
            partners.append((("%s %s" % (r.choice(kinds), r.choice(SCHOOL_NAMES_ABROAD))), r.choice(cities), c))
        countries = ["France"] + pcountries  # what the forms derive: France, then the partners'
        disciplines = sorted(set(r.sample(discs, r.randint(1, len(discs)))
                                 + r.sample(DISCIPLINES, r.randint(0, 2))))[:5]
        langs = ["français", "anglais"] if r.random() < 0.7 else ["anglais"]
        for c in pcountries:
            l = COUNTRY_LANGS.get(c)
            if l and l not in langs and len(langs) < 5 and r.random() < 0.5:
                langs.append(l)
        summary = "%s %s : %s, avec %s." % (
            r.choice(["Des élèves de", "Trois classes de", "Deux classes de", "Les classes de"]),
            ", ".join(levels), topic, self.partner_phrase(pcountries))
        tagset = sorted(set(r.sample(tags, r.randint(2, len(tags))) + r.sample([t for th in THEMES for t in th[2]], 2)))[:8]
        return {
            "idx": idx, "slug": slug, "title": title, "date": day, "summary": summary, "school": school,
            "city": town, "school_kind": kind, "countries": countries, "disciplines": disciplines, "levels": levels,
            "languages": langs, "duration": r.choice(DURATIONS), "school_year": school_year_of(day),
            "partners": partners, "tags": tagset, "topic": topic,
            "website": "https://example.org/projets/%s" % slug if r.random() < 0.3 else None,
        }

    def partner_phrase(self, countries):
        if len(countries) == 1:
            return "une classe partenaire (%s)" % countries[0]
        return "des partenaires de %d pays (%s)" % (len(countries), ", ".join(countries[:4]) + ("…" if len(countries) > 4 else ""))

    def project_body(self, p):
        r = self.r
        cs = p["countries"][1:]
        kind, name = p["school_kind"], p["school"][len(p["school_kind"]) + 1:]
        article = "le " if kind in ("Collège", "Lycée", "CFA") or kind.startswith("Lycée ") else "l’"
        blocks = ["Le projet est né d’une annonce publiée sur eTwinning par %s%s %s, à %s : %s." % (
            article, kind[0].lower() + kind[1:], name, p["city"], p["topic"]),
            self.paragraph(cs)]
        heads = r.sample(H2, r.randint(3, 5))
        for i, h in enumerate(heads):
            blocks.append("## " + h)
            blocks.append(self.paragraph(cs, 2, 5))
            x = r.random()
            if x < 0.3:
                blocks.append("\n".join("- " + self.sentence(r.choice(cs))[:-1] + " ;" for _ in range(r.randint(2, 4)))[:-2] + ".")
            elif x < 0.4:
                rows = ["| Mois | Activité | Classe |", "|------|----------|--------|"]
                for m in sorted(r.sample(range(9), r.randint(3, 5))):
                    rows.append("| %s | %s | %s |" % (MONTHS_FR[(m + 8) % 12], r.choice(SENT_OBJECTS), r.choice(cs)))
                blocks.append("\n".join(rows))
            elif x < 0.5:
                blocks.append("> « %s » — %s" % (r.choice(QUOTES).format(country=r.choice(cs)),
                                               r.choice(["une élève", "un élève", "une enseignante", "un enseignant"])))
        blocks.append(" ".join(r.sample(REFLECTIONS, 2)))
        if self.projects and r.random() < 0.35:
            other = self.projects[r.randrange(len(self.projects))]
            blocks.append("Une démarche voisine : le projet [%s](@/projects/%s)." % (other[1], other[3]))
        return "\n\n".join(blocks) + "\n"

    def project_file(self, p, cover):
        lines = ["---", "title: " + q(p["title"]), "date: " + p["date"].isoformat(),
                 "summary: " + q(p["summary"]), "school: " + q(p["school"]), "city: " + q(p["city"]),
                 "countries: " + flow_list(p["countries"]), "disciplines: " + flow_list(p["disciplines"]),
                 "levels: " + flow_list(p["levels"]), "languages: " + flow_list(p["languages"]),
                 "duration: " + q(p["duration"]), "school_year: " + q(p["school_year"]), "partners:"]
        for s, c, co in p["partners"]:
            lines.append("  - { school: %s, city: %s, country: %s }" % (q(s), q(c), q(co)))
        if p["website"]:
            lines.append("website: " + q(p["website"]))
        if cover:
            lines.append("cover: { src: %s, alt: %s }" % (cover[0], q(cover[1])))
        lines.append("tags: " + flow_list(p["tags"]))
        lines.append("---")
        return "\n".join(lines) + "\n\n" + self.project_body(p)

    def training(self, idx, taken):
        r = self.r
        title_p, scope, mode, organiser, place_kind, (h0, h1) = r.choice(TRAINING_KINDS)
        topic = r.choice(TRAINING_TOPICS)
        city = r.choice(ABROAD).split(" (")[0]
        title = title_p.format(topic=topic, city=city)
        # Published over the last six years, a fifth of them in the last four months
        # (their sessions are mostly still to come).
        back = r.randrange(0, 120) if r.random() < 0.2 else r.randrange(120, 6 * 365)
        pub = self.today - datetime.timedelta(days=back)
        title = "%s (%s)" % (title, school_year_of(pub + datetime.timedelta(days=30)))
        slug = self.free_slug(slugify(title), taken)
        n_sess = r.choice([1, 1, 2, 3, 3, 4])
        start = pub + datetime.timedelta(days=r.randrange(14, 60))
        sessions = []
        for _ in range(n_sess):
            if place_kind == "virtual":
                place = "Classe virtuelle"
            elif place_kind == "webinar":
                place = "Webinaire européen"
            elif place_kind == "canope":
                place = "Atelier Canopé de %s" % r.choice(CANOPE_TOWNS)
            elif place_kind == "abroad":
                place = r.choice(ABROAD)
            else:
                place = "%s %s, %s" % (r.choice(SCHOOL_KINDS)[0], r.choice(SCHOOL_NAMES), r.choice(TOWNS))
            days = 3 if place_kind == "abroad" else 1
            end = start + datetime.timedelta(days=days - 1)
            sessions.append("  - { start: %sT%02d:00, end: %sT%02d:%s, place: %s }" % (
                start.isoformat(), h0, end.isoformat(), h1, r.choice(["00", "30"]), q(place)))
            start = start + datetime.timedelta(days=r.randrange(20, 90))
        audience = r.sample(AUDIENCES, r.randint(1, 3))
        lines = ["---", "title: " + q(title), "date: " + pub.isoformat(),
                 "summary: " + q("%s %s, pour %s : %s." % (
                     "Une formation" if scope == "nationale" else "Une formation européenne",
                     mode, audience[0], topic)),
                 "scope: " + q(scope), "mode: " + q(mode), "audience: " + flow_list(audience),
                 "organiser: " + q(organiser)]
        first = pub + datetime.timedelta(days=14)
        if r.random() < 0.5:
            lines.append("registration_deadline: " + (first - datetime.timedelta(days=r.randrange(1, 10))).isoformat())
        if r.random() < 0.7:
            lines.append("registration_url: " + q("https://example.org/formations/%s" % slug))
        if r.random() < 0.4:
            lines.append("places_limited: true")
        lines.append("languages: " + flow_list(["anglais"] if scope == "européenne" else ["français"]))
        lines.append("sessions:")
        lines += sessions
        lines.append("---")
        body = ["## Programme", r.choice(TRAINING_PARAS) + " " + r.choice(TRAINING_PARAS),
                "Au programme :", "\n".join("- " + b + " ;" for b in r.sample(TRAINING_BULLETS, r.randint(3, 6)))[:-2] + ".",
                "## Pour qui ?", "Cette formation s’adresse aux %s. %s" % (", ".join(audience), r.choice(TRAINING_PARAS))]
        return slug, "\n".join(lines) + "\n\n" + "\n\n".join(body) + "\n"

    def label(self, p, kind, day):
        r = self.r
        adj = "national" if kind == LABEL_KINDS[0] else "européen"
        cit = " ".join(r.sample(CITATIONS, r.randint(2, 3)))
        return ("---\ntitle: %s\ndate: %s\nkind: %s\nyear: %d\nproject: %s\ncitation: |\n  %s\n---\n\n%s\n" % (
            q("Label de qualité %s : %s" % (adj, p["title"])), day.isoformat(), q(kind), day.year, p["slug"], cit,
            "Le jury %s a distingué le travail mené à %s (%s) avec ses partenaires : %s." % (
                adj, p["school"], p["city"], ", ".join(p["countries"][1:]))))

    def school_label(self, day):
        r = self.r
        kind, _ = r.choice(SCHOOL_KINDS)
        school = "%s %s, %s" % (kind, r.choice(SCHOOL_NAMES), r.choice(TOWNS))
        cit = " ".join(r.sample(CITATIONS, 2))
        return school, ("---\ntitle: %s\ndate: %s\nkind: %s\nyear: %d\nschool: %s\ncitation: |\n  %s\n---\n\n%s\n" % (
            q("Label École eTwinning : %s" % school), day.isoformat(), q(LABEL_KINDS[2]), day.year, q(school), cit,
            "Ce label reconnaît l’engagement de toute une équipe : projets menés par plusieurs enseignants, "
            "place d’eTwinning dans le projet d’établissement et sensibilisation des élèves à la sécurité en ligne."))


def write(path, text):
    data = text.encode("utf-8") if isinstance(text, str) else text
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--projects", type=int, required=True, help="number of projects (N)")
    ap.add_argument("--out", required=True, help="the site directory to write")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--today", default="2026-12-01", help="the day dates are relative to (default 2026-12-01)")
    ap.add_argument("--images-every", type=int, default=4, help="one project in K is a bundle with a cover (default 4)")
    ap.add_argument("--image-pool", type=int, default=16, help="distinct pictures (default 16; the first 11 are the example's covers)")
    ap.add_argument("--unique-images", action="store_true", help="make every copy distinct bytes (no cache sharing)")
    args = ap.parse_args(argv)
    if args.projects < 1 or args.images_every < 1 or args.image_pool < 1:
        ap.error("--projects, --images-every and --image-pool must be >= 1")
    today = datetime.date.fromisoformat(args.today)
    rng = random.Random(args.seed)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    # The example site's configuration, data and theme, as they are.
    shutil.copy(os.path.join(REPO, "vitrine.yaml"), out)
    for d in ("data", os.path.join("themes", "default")):
        if os.path.exists(os.path.join(out, d)):
            shutil.rmtree(os.path.join(out, d))
        shutil.copytree(os.path.join(REPO, d), os.path.join(out, d))
    content = os.path.join(out, "content")
    if os.path.isdir(content):
        shutil.rmtree(content)
    src = os.path.join(REPO, "content")
    os.makedirs(content)
    shutil.copy(os.path.join(src, "_index.md"), content)
    shutil.copytree(os.path.join(src, "pages"), os.path.join(content, "pages"))
    for c in ("projects", "trainings", "labels"):
        os.makedirs(os.path.join(content, c))
        shutil.copy(os.path.join(src, c, "_index.md"), os.path.join(content, c))

    g = Gen(rng, args.projects, today)
    pool = picture_pool(args.image_pool, args.seed)
    used = set()
    nbytes = 0
    pictures = 0
    projects = []
    for i in range(args.projects):
        p = g.project(i)
        bundle = rng.randrange(args.images_every) == 0
        pdir = os.path.join(content, "projects")
        if bundle:
            k = rng.randrange(len(pool))
            ext, data, alt = pool[k]
            used.add(k)
            os.makedirs(os.path.join(pdir, p["slug"]))
            name = "cover." + ext
            nbytes += write(os.path.join(pdir, p["slug"], name), marked(data, ext, i) if args.unique_images else data)
            pictures += 1
            nbytes += write(os.path.join(pdir, p["slug"], "index.md"), g.project_file(p, (name, alt)))
            link = p["slug"] + "/index.md"
        else:
            nbytes += write(os.path.join(pdir, p["slug"] + ".md"), g.project_file(p, None))
            link = p["slug"] + ".md"
        g.projects.append((p["slug"], p["title"], p["date"], link, p["school"]))
        projects.append(p)

    n_train = max(1, args.projects // 10)
    taken = set()
    sessions = upcoming = 0
    for i in range(n_train):
        slug, text = g.training(i, taken)
        sessions += text.count("  - { start: ")
        for line in text.splitlines():
            if line.startswith("  - { start: ") and line[13:23] >= today.isoformat():
                upcoming += 1
        nbytes += write(os.path.join(content, "trainings", slug + ".md"), text)

    # Labels: a national label for about a fifth of the projects that ended long enough
    # ago, a European one for about 40 % of those; given 2 to 10 months after the date.
    ltaken = set()
    counts = {k: 0 for k in LABEL_KINDS}
    for p in projects:
        if rng.random() >= 0.2:
            continue
        day = p["date"] + datetime.timedelta(days=rng.randrange(60, 300))
        if day > today:
            continue
        slug = g.free_slug(p["slug"] + "-national", ltaken)
        nbytes += write(os.path.join(content, "labels", slug + ".md"), g.label(p, LABEL_KINDS[0], day))
        counts[LABEL_KINDS[0]] += 1
        if rng.random() < 0.4:
            day2 = day + datetime.timedelta(days=rng.randrange(30, 120))
            if day2 <= today:
                slug = g.free_slug(p["slug"] + "-europeen", ltaken)
                nbytes += write(os.path.join(content, "labels", slug + ".md"), g.label(p, LABEL_KINDS[1], day2))
                counts[LABEL_KINDS[1]] += 1
    for i in range(max(1, args.projects // 200)):
        day = today - datetime.timedelta(days=rng.randrange(0, 8 * 365))
        school, text = g.school_label(day)
        slug = g.free_slug("ecole-etwinning-" + slugify(school), ltaken)
        nbytes += write(os.path.join(content, "labels", slug + ".md"), text)
        counts[LABEL_KINDS[2]] += 1

    n_pages = len([f for f in os.listdir(os.path.join(content, "pages")) if f != "_index.md"])
    manifest = {
        "generator": "bench/theme_corpus.py", "generator_version": GENERATOR_VERSION, "seed": args.seed,
        "today": args.today, "projects": args.projects, "project_bundles_with_picture": pictures,
        "trainings": n_train, "sessions": sessions, "sessions_from_today": upcoming,
        "labels": counts, "plain_pages": n_pages,
        "entries": args.projects + n_train + sum(counts.values()) + n_pages,
        "pictures": {"total": pictures, "distinct_files": pictures if args.unique_images else len(used),
                     "pool": len(pool), "unique_images": args.unique_images,
                     "pool_kinds": {"jpg (example covers)": sum(1 for e, _, _ in pool if e == "jpg"),
                                    "png (drawn)": sum(1 for e, _, _ in pool if e == "png")}},
        "content_bytes_written": nbytes,
        "images_every": args.images_every, "image_pool": args.image_pool,
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
    print(json.dumps(manifest, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
