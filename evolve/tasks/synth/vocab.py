"""Word lists and sentence templates of the synthetic dialog task (``dialog-synth``).

Design rules the generator relies on (tests check some of them):
- every fact is told in ONE first-person sentence by its owner, so one dialogue turn is the
  evidence for one fact;
- small talk, reactions and prompts never contain a name, a city, a job, an animal, a hobby,
  a family word or a relative-date phrase, so they carry no fact at all;
- name pools do not overlap each other, month/weekday names or the other word lists.
"""

from __future__ import annotations

SPEAKER_NAMES = (
    "Ana", "Ben", "Clara", "Diego", "Elena", "Felix", "Grace", "Hugo", "Iris", "Jonas",
    "Kira", "Liam", "Mira", "Nico", "Olga", "Pablo", "Rosa", "Sami", "Tessa", "Umar",
    "Vera", "Wes", "Yara", "Zane", "Alma", "Boris", "Cleo", "Dario", "Edith", "Farid",
)
FEMALE_RELATIVE_NAMES = (
    "Maya", "Nora", "Lena", "Ruth", "Ines", "Alina", "Hana", "Leah", "Greta", "Talia",
    "Joan", "Petra", "Sara", "Wilma", "Dora", "Fiona",
)
MALE_RELATIVE_NAMES = (
    "Leo", "Theo", "Marco", "Omar", "Pavel", "Rafael", "Simon", "Tomas", "Victor", "Henrik",
    "Ivan", "Karl", "Luca", "Milo", "Oscar", "Quentin",
)
PET_NAMES = (
    "Biscuit", "Luna", "Pepper", "Mochi", "Oreo", "Ziggy", "Nugget", "Pumpkin", "Waffles",
    "Maple", "Ginger", "Pickles", "Coco", "Bruno", "Olive", "Toffee", "Bean", "Noodle",
    "Sprout", "Pixel", "Marble", "Comet", "Hazel", "Clover", "Tofu", "Peanut", "Rusty",
    "Juniper", "Basil", "Figaro",
)
CITIES = (
    "Lisbon", "Porto", "Madrid", "Berlin", "Rome", "Paris", "Vienna", "Prague", "Dublin",
    "Boston", "Denver", "Austin", "Seattle", "Chicago", "Toronto", "Vancouver", "Sydney",
    "Melbourne", "Osaka", "Kyoto", "Seoul", "Oslo", "Stockholm", "Helsinki", "Copenhagen",
    "Amsterdam", "Brussels", "Munich", "Zurich", "Milan", "Naples", "Athens", "Krakow",
    "Budapest", "Edinburgh", "Manchester", "Valencia", "Seville",
)
JOBS = (
    "nurse", "teacher", "software engineer", "dentist", "chef", "architect", "accountant",
    "graphic designer", "pharmacist", "electrician", "journalist", "librarian",
    "physiotherapist", "veterinarian", "data analyst", "lawyer", "pilot", "firefighter",
    "social worker", "translator", "carpenter", "marketing manager", "paramedic", "mechanic",
)
ANIMALS = ("dog", "cat", "rabbit", "parrot", "hamster", "turtle", "guinea pig", "ferret")
HOBBIES = (
    "pottery", "rock climbing", "painting", "yoga", "salsa dancing", "chess", "gardening",
    "photography", "guitar", "swimming", "knitting", "surfing", "cycling", "hiking", "archery",
    "tennis", "kayaking", "woodworking", "calligraphy", "birdwatching", "fencing", "origami",
)
FEMALE_RELATIONS = ("sister", "aunt", "grandmother", "niece", "mother")
MALE_RELATIONS = ("brother", "uncle", "grandfather", "nephew", "father")
NEUTRAL_RELATIONS = ("cousin",)

# (past-tense phrase told by the owner, base-form phrase used in the question)
EVENTS = (
    ("ran a half marathon", "run a half marathon"),
    ("went to a jazz concert", "go to a jazz concert"),
    ("baked a chocolate cake for a bake sale", "bake a chocolate cake for a bake sale"),
    ("volunteered at the local food bank", "volunteer at the local food bank"),
    ("finished a jigsaw puzzle with a thousand pieces", "finish a thousand-piece jigsaw puzzle"),
    ("went camping by the lake", "go camping by the lake"),
    ("watched a meteor shower", "watch a meteor shower"),
    ("bought a new bike", "buy a new bike"),
    ("won a pub quiz", "win a pub quiz"),
    ("went to a friend's wedding", "go to a friend's wedding"),
    ("saw a comedy show", "see a comedy show"),
    ("passed a driving test", "pass a driving test"),
    ("hosted a board game night", "host a board game night"),
    ("donated blood", "donate blood"),
    ("visited a science museum", "visit a science museum"),
    ("planted tomatoes on the balcony", "plant tomatoes on the balcony"),
    ("attended a poetry reading", "attend a poetry reading"),
    ("repainted the bedroom walls", "repaint the bedroom walls"),
    ("joined a community choir rehearsal", "join a community choir rehearsal"),
    ("went to a farmers market", "go to a farmers market"),
    ("built a bookshelf from scratch", "build a bookshelf from scratch"),
    ("watched a total solar eclipse documentary", "watch a solar eclipse documentary"),
    ("helped a neighbour move house", "help a neighbour move house"),
    ("tried an escape room", "try an escape room"),
    ("went to an art exhibition", "go to an art exhibition"),
    ("ran a charity bake stall", "run a charity bake stall"),
)

# Relative date phrases and their day offsets; "last <weekday>" phrases are added by the
# generator (the most recent such weekday strictly before the session date).
RELATIVE_OFFSETS = {
    "yesterday": -1, "two days ago": -2, "three days ago": -3, "four days ago": -4,
    "a week ago": -7, "two weeks ago": -14, "this morning": 0,
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

# Fact sentence templates; {rel} is a relative-date phrase, {a} the article of the next noun.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "home": (
        "I live in {city} these days, in a small flat near the river.",
        "I have been living in {city} for a few years now.",
        "My place in {city} is tiny but I love living there.",
    ),
    "move": (
        "Big news: I moved to {city} {rel}!",
        "We finally moved to {city} {rel}, and the new place is lovely.",
        "I relocated to {city} {rel} and I am still unpacking boxes.",
    ),
    "job": (
        "I work as {a} {job} at a place downtown.",
        "My job as {a} {job} keeps me really busy.",
        "I have been working as {a} {job} for a while now.",
    ),
    "job_change": (
        "I started a new job as {a} {job} {rel}!",
        "Guess what, I got hired as {a} {job} {rel}.",
        "I switched careers and began working as {a} {job} {rel}.",
    ),
    "relative_job": (
        "My {relation} {name} works as {a} {job} and really enjoys it.",
        "My {relation} {name} has a job as {a} {job}.",
    ),
    "relative_home": (
        "My {relation} {name} lives in {city}.",
        "My {relation} {name} has lived in {city} for years.",
    ),
    "relative_move": (
        "My {relation} {name} moved to {city} {rel}.",
        "My {relation} {name} relocated to {city} {rel}.",
    ),
    "relative_visit": (
        "My {relation} {name} came to visit me {rel}.",
        "My {relation} {name} visited me {rel} and we cooked together.",
    ),
    "pet": (
        "I adopted {a} {animal} named {pet} {rel}!",
        "We brought home {a} {animal} {rel} and named it {pet}.",
        "I adopted a little {animal} {rel}, and I called it {pet}.",
    ),
    "hobby": (
        "I took up {hobby} {rel} and I am hooked.",
        "I started {hobby} lessons {rel}.",
        "I picked up {hobby} {rel}, it is so relaxing.",
    ),
    "event": (
        "I {event} {rel}!",
        "Oh, and I {event} {rel}.",
    ),
    "trip": (
        "I went on a trip to {city} {rel}, the food was amazing.",
        "I took a short trip to {city} {rel} to see the old town.",
    ),
    # Follow-ups: true remarks no question asks about ({rel} may be empty).
    "followup_pet": (
        "{pet} chewed up my favourite slippers {rel}.",
        "I took {pet} to the park {rel} and it was so happy.",
        "{pet} has been sleeping at the foot of my bed every night.",
    ),
    "followup_relative": (
        "My {relation} {name} called me {rel} to catch up.",
        "I had lunch with my {relation} {name} {rel}.",
    ),
    "followup_job": (
        "Being {a} {job} is tiring some days, but I like my team.",
        "There is never a quiet day for {a} {job}, honestly.",
    ),
    "followup_city": (
        "There is a lovely market near my place in {city}.",
        "The rent in {city} keeps going up {rel}.",
    ),
    "followup_trip": (
        "I still dream about the food I had in {city}.",
        "I printed some photos from my trip to {city} {rel}.",
    ),
    "followup_hobby": (
        "I spent the whole evening on {hobby} again {rel}.",
        "I am getting better at {hobby}, slowly but surely.",
    ),
    "followup_generic": (
        "I walked {n} kilometres along the river {rel}.",
        "I read {n} chapters of a mystery novel {rel}.",
        "I wrote {n} pages in my journal {rel}.",
    ),
}

LEAD_INS = ("", "", "", "Oh, guess what. ", "So, some news. ", "Anyway. ")

REACTIONS = (
    "Wow, congratulations!",
    "That's amazing, I'm so happy for you!",
    "Oh nice! How is it going so far?",
    "No way, that's wonderful.",
    "That sounds like a lot of fun.",
    "I love that for you!",
    "Haha, that is so typical of you.",
    "Oh wow, tell me more some time.",
)
PROMPTS = (
    "What's new with you?",
    "Anything exciting going on with you?",
    "And how about you, any news?",
    "So what have you been up to?",
)
GREETINGS = (
    "Hey! It's been a while. How are you doing?",
    "Hi there! So good to hear from you.",
    "Hello again! How have things been?",
    "Hey, good to catch you. How is everything?",
)
GREETING_REPLIES = (
    "Pretty good, thanks for asking! It has been a busy stretch.",
    "Doing well, just a bit tired. How about you?",
    "All good here, thanks. Life has been hectic but fun.",
    "Not bad at all! Happy to chat.",
)
# (opener, reply) pairs of small talk.
SMALL_TALK = (
    ("The weather has been all over the place lately.",
     "I know, right? Sunny one moment and pouring the next."),
    ("I have been trying to drink more water and sleep earlier.",
     "Good for you, I should do the same."),
    ("Honestly, I could use a long vacation soon.", "Same here, some rest would be nice."),
    ("Did you watch anything good recently?",
     "Not really, I keep starting shows and never finishing them."),
    ("My watch list keeps growing and growing.", "Ha, mine too. There is just too much."),
    ("I made a huge pot of soup and it lasted for days.", "Soup is the best for lazy evenings."),
    ("Coffee is the only thing keeping me going some mornings.",
     "Relatable. I am on my second cup already."),
    ("I cleaned out my closet and found so many old things.",
     "That must have felt great, I should do that too."),
    ("The traffic around here is getting worse and worse.",
     "Ugh, tell me about it. It takes forever to get anywhere."),
    ("I finally fixed the squeaky door that was driving me crazy.",
     "Ha, small victories are the best."),
    ("Have you tried that new bakery on the corner?",
     "Not yet, but I keep hearing good things about it."),
    ("Some days just fly by without me noticing.", "Totally, time moves so fast lately."),
)
CLOSINGS = (
    ("Anyway, it's so nice to catch up like this.", "Totally. We should do this more often."),
    ("I should get going, but this was lovely.", "Same here! Talk soon, take care."),
    ("Okay, I need to run some errands now.", "No worries, bye for now!"),
)
