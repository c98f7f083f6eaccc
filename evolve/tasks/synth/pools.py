"""Word pools of the ``hard`` size of ``dialog-synth``: a ``main`` pool and a ``held-out`` pool.

Each pool is far larger than one run uses (a conversation draws two speakers, a handful of
relatives, pets, cities and jobs), so the words a run sees are a sample. ``held-out`` shares no
word with ``main`` (a test checks it) and is named nowhere in the offline reader or mutator:
a campaign searched on ``main`` can be re-scored on ``held-out`` to see whether its gains are
about memory design or about the words. The old sizes (tiny, small, full) keep ``vocab.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pool:
    speakers: tuple[str, ...]
    female_relatives: tuple[str, ...]
    male_relatives: tuple[str, ...]
    pet_names: tuple[str, ...]
    cities: tuple[str, ...]
    jobs: tuple[str, ...]
    animals: tuple[str, ...]
    hobbies: tuple[str, ...]
    female_relations: tuple[str, ...]
    male_relations: tuple[str, ...]
    neutral_relations: tuple[str, ...]
    events: tuple[tuple[str, str], ...]  # (past-tense phrase, base form for the question)


def _t(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(";") if p.strip())


MAIN = Pool(
    speakers=_t("Ana Ben Clara Diego Elena Felix Grace Hugo Iris Jonas Kira Liam Mira Nico Olga "
                "Pablo Rosa Sami Tessa Umar Vera Wes Yara Zane Alma Boris Cleo Dario Edith Farid "
                "Gemma Hector Ilse Jasper Katya Lorenzo Marta Niall Odile Piet Quinn Rhea Stefan "
                "Tove Ugo Vida Wanda Xavier Yusuf Zora"),
    female_relatives=_t("Maya Nora Lena Ruth Ines Alina Hana Leah Greta Talia Joan Petra Sara "
                        "Wilma Dora Fiona Agnes Bianca Celine Delia Esme Flora Gilda Hilde"),
    male_relatives=_t("Leo Theo Marco Omar Pavel Rafael Simon Tomas Victor Henrik Ivan Karl Luca "
                      "Milo Oscar Quentin Anton Bruno Cyril Dmitri Emil Florian Gustav Hakon"),
    pet_names=_t("Biscuit Luna Pepper Mochi Oreo Ziggy Nugget Pumpkin Waffles Maple Ginger "
                 "Pickles Coco Olive Toffee Bean Noodle Sprout Pixel Marble Comet Hazel Clover "
                 "Tofu Peanut Rusty Juniper Basil Figaro Pretzel Dumpling Wasabi Muffin Sushi "
                 "Cricket Domino Jellybean Kiwi Nacho Pancake Quokka Radish Sesame Truffle"),
    cities=_t("Lisbon Porto Madrid Berlin Rome Paris Vienna Prague Dublin Boston Denver Austin "
              "Seattle Chicago Toronto Vancouver Sydney Melbourne Osaka Kyoto Seoul Oslo "
              "Stockholm Helsinki Copenhagen Amsterdam Brussels Munich Zurich Milan Naples "
              "Athens Krakow Budapest Edinburgh Manchester Valencia Seville Lyon Marseille "
              "Hamburg Cologne Geneva Antwerp Rotterdam Gothenburg Bergen Tallinn Riga Vilnius "
              "Warsaw Ljubljana Zagreb Belgrade Sofia Bucharest Istanbul Montreal Calgary Ottawa "
              "Portland Phoenix Atlanta Nashville Detroit Brisbane Perth Adelaide Auckland "
              "Wellington"),
    jobs=("nurse", "teacher", "software engineer", "dentist", "chef", "architect", "accountant",
          "graphic designer", "pharmacist", "electrician", "journalist", "librarian",
          "physiotherapist", "veterinarian", "data analyst", "lawyer", "pilot", "firefighter",
          "social worker", "translator", "carpenter", "marketing manager", "paramedic",
          "mechanic", "plumber", "baker", "florist", "optician", "surveyor", "economist",
          "geologist", "midwife", "radiographer", "tailor", "locksmith", "illustrator",
          "sound engineer", "game designer", "urban planner", "dietitian"),
    animals=("dog", "cat", "rabbit", "parrot", "hamster", "turtle", "guinea pig", "ferret",
             "canary", "gecko", "chinchilla", "hedgehog"),
    hobbies=("pottery", "rock climbing", "painting", "yoga", "salsa dancing", "chess",
             "gardening", "photography", "guitar", "swimming", "knitting", "surfing", "cycling",
             "hiking", "archery", "tennis", "kayaking", "woodworking", "calligraphy",
             "birdwatching", "fencing", "origami", "badminton", "juggling", "embroidery",
             "sailing", "bouldering", "pilates", "ceramics", "piano", "violin", "skateboarding",
             "crochet", "baking bread", "beekeeping", "quilting"),
    female_relations=("sister", "aunt", "grandmother", "niece", "mother"),
    male_relations=("brother", "uncle", "grandfather", "nephew", "father"),
    neutral_relations=("cousin",),
    events=(
        ("ran a half marathon", "run a half marathon"),
        ("went to a jazz concert", "go to a jazz concert"),
        ("volunteered at the local food bank", "volunteer at the local food bank"),
        ("went camping by the lake", "go camping by the lake"),
        ("watched a meteor shower", "watch a meteor shower"),
        ("bought a new bike", "buy a new bike"),
        ("won a pub quiz", "win a pub quiz"),
        ("passed a driving test", "pass a driving test"),
        ("hosted a board game night", "host a board game night"),
        ("donated blood", "donate blood"),
        ("visited a science museum", "visit a science museum"),
        ("attended a poetry reading", "attend a poetry reading"),
        ("repainted the bedroom walls", "repaint the bedroom walls"),
        ("built a bookshelf from scratch", "build a bookshelf from scratch"),
        ("tried an escape room", "try an escape room"),
        ("went to an art exhibition", "go to an art exhibition"),
        ("adopted a rescue tortoise for a week", "foster a tortoise"),
        ("climbed a lighthouse", "climb a lighthouse"),
        ("sang at an open mic night", "sing at an open mic night"),
        ("cooked a five-course dinner", "cook a five-course dinner"),
        ("finished a jigsaw puzzle", "finish a jigsaw puzzle"),
        ("planted an apple tree", "plant an apple tree"),
    ),
)

HELD_OUT = Pool(
    speakers=_t("Aurelio Brigid Casimir Dagny Eulalia Fintan Gwendolyn Horatio Isolde Jarrah "
                "Kasimir Leocadia Mstislav Nuala Orsolya Perpetua Radomir Saoirse Tancredi "
                "Ulrike Vasilisa Wendelin Ximena Yevgenia Zenobia Anselm Berenike Cosimo "
                "Dervla Evander"),
    female_relatives=_t("Philippa Rosalind Sidonie Theodora Ursula Valentina Winifred Yolanda "
                        "Araminta Beatrix Clementine Drusilla"),
    male_relatives=_t("Ambrose Barnaby Cornelius Dashiell Ephraim Fitzgerald Gideon Hieronymus "
                      "Ignatius Jedediah Leopold Mortimer"),
    pet_names=_t("Gnocchi Kumquat Parsnip Zabaglione Tamarind Rutabaga Chutney Brioche Quince "
                 "Fennel Sorrel Paprika Kohlrabi Tapioca Mascarpone Cardamom"),
    cities=_t("Trondheim Tampere Aarhus Graz Bratislava Porvoo Leuven Utrecht Gdansk Brno Cluj "
              "Plovdiv Thessaloniki Bologna Salzburg Innsbruck Lucerne Dunedin Hobart Halifax "
              "Winnipeg Tucson Asheville Savannah Oaxaca Cusco Valparaiso Mendoza Kanazawa "
              "Matsumoto"),
    jobs=("sommelier", "cartographer", "glassblower", "actuary", "horologist", "archivist",
          "farrier", "luthier", "stenographer", "taxidermist", "cooper", "lexicographer",
          "arborist", "perfumer", "puppeteer", "bookbinder"),
    animals=("axolotl", "tarantula", "iguana", "cockatoo", "alpaca", "sugar glider"),
    hobbies=("falconry", "fly fishing", "bonsai", "glassblowing", "orienteering", "lacemaking",
             "geocaching", "marquetry", "curling", "taxidermy", "letterpress printing",
             "stone carving", "ikebana", "lindy hop"),
    female_relations=("stepsister", "godmother", "stepmother", "sister-in-law"),
    male_relations=("stepbrother", "godfather", "stepfather", "brother-in-law"),
    neutral_relations=("second cousin",),
    events=(
        ("restored a vintage motorbike", "restore a vintage motorbike"),
        ("judged a chili cook-off", "judge a chili cook-off"),
        ("rowed across the fjord", "row across the fjord"),
        ("carved a wooden spoon", "carve a wooden spoon"),
        ("toured a salt mine", "tour a salt mine"),
        ("learned to waltz at a ceilidh", "learn to waltz at a ceilidh"),
        ("swam in a glacial lake", "swim in a glacial lake"),
        ("bottled homemade elderflower cordial", "bottle homemade elderflower cordial"),
        ("photographed the northern lights", "photograph the northern lights"),
        ("assembled a telescope", "assemble a telescope"),
        ("spoke at a town hall meeting", "speak at a town hall meeting"),
        ("knitted a scarf for a raffle", "knit a scarf for a raffle"),
    ),
)

POOLS: dict[str, Pool] = {"main": MAIN, "held-out": HELD_OUT}
