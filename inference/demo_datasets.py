"""Deterministic generators of the demo models' training data (pure Python, no ML imports).

The hand-written test sets in demo_data/ are kept apart: nothing here reads them, so the accuracy the
demo models report on them says how well they generalise to headlines nobody generated.
"""
import random

# ---------------------------------------------------------------- finance headlines (positive / negative / neutral)

_COMPANIES = [
    "Acme Corp", "Apex Robotics", "Falcon Defense", "Trident Oil", "Silverline Retail", "Pioneer Airlines",
    "Northwind Foods", "Globex", "Initech", "Umbrella Pharma", "Stark Industries", "Wayne Enterprises",
    "Blue Harbor Bank", "Crescent Motors", "Evergreen Energy", "Helix Biotech", "Ironclad Steel", "Juniper Telecom",
    "Keystone Insurance", "Lumen Software", "Meridian Mining", "Nova Semiconductors", "Orion Logistics",
    "Pinnacle Hotels", "Quantum Cloud", "Redwood Brewing", "Summit Capital", "Titan Shipping", "Vertex Media",
    "Zenith Payments", "BrightPath Education", "Cobalt Chemicals", "Delta Textiles", "Echo Games", "Fjord Seafood",
    "Granite Homes", "Harbor Freight Lines", "Indigo Fashion", "Jade Electronics", "Kestrel Aerospace",
    "Lighthouse Health", "Maple Paper", "Nimbus Solar", "Oakridge Farms", "Polar Beverages", "Riverstone Utilities",
]
_SECTORS = [
    "the bank", "the chipmaker", "the retailer", "the airline", "the insurer", "the drugmaker", "the carmaker",
    "the automaker", "the miner", "the brewer", "the lender", "the telecom operator", "the software firm",
    "the startup", "the utility", "the oil major", "the shipping company", "the hotel chain", "the food group",
    "the steelmaker", "the tech group", "the media company", "the property developer", "the logistics firm",
    "the solar panel maker", "the fashion retailer", "the toy maker", "the payments company", "the biotech",
    "the semiconductor group", "the supermarket chain", "the cruise operator", "the games studio", "the fund manager",
    "the aircraft maker", "the cement maker", "the e-commerce platform", "the streaming service",
    "the railway operator",
]
_METRICS = [
    "revenue", "sales", "profit", "net income", "earnings", "operating profit", "quarterly profit", "annual profit",
    "orders", "bookings", "cash flow", "deliveries", "same-store sales", "earnings per share", "online sales",
    "operating margin", "subscriber numbers", "cloud revenue", "ad revenue", "full-year profit", "first-quarter profit",
    "second-quarter earnings", "third-quarter sales", "fourth-quarter revenue", "premium income", "exports",
]
_UP = ["rises", "jumps", "surges", "climbs", "soars", "grows", "doubles", "rebounds", "gains", "increases",
       "rose", "jumped", "surged", "climbed", "soared", "grew", "improves", "improved", "beats estimates",
       "tops forecasts", "hits a record", "beats expectations", "exceeds forecasts", "rises sharply", "triples",
       "reaches an all-time high", "grows strongly", "comes in ahead of forecasts", "rises more than expected"]
_DOWN = ["falls", "drops", "plunges", "slumps", "declines", "tumbles", "sinks", "slides", "shrinks", "halves",
         "fell", "dropped", "plunged", "slumped", "declined", "tumbled", "sank", "weakens", "weakened",
         "misses estimates", "falls short of forecasts", "misses expectations", "collapses", "falls sharply",
         "hits a record low", "comes in below forecasts", "drops more than expected", "shrank", "deteriorates"]
# Plural subjects take the base form: "shares rise", "orders climb", "analysts upgrade".
_UP_PLURAL = ["rise", "jump", "surge", "climb", "soar", "grow", "rebound", "gain", "beat estimates", "top forecasts",
              "rally", "beat expectations", "hit a record", "improve", "rise strongly", "double"]
_DOWN_PLURAL = ["fall", "drop", "plunge", "slump", "decline", "tumble", "sink", "slide", "shrink", "miss estimates",
                "fall short of forecasts", "collapse", "weaken", "hit a record low", "drop sharply", "halve"]
_PLURAL_METRICS = ["sales", "orders", "bookings", "earnings", "profits", "margins", "deliveries", "shares",
                   "revenues", "exports", "subscriptions", "online orders", "same-store sales"]
_GOOD_WHY = ["on strong demand", "as demand booms", "on higher prices", "thanks to cost cuts", "as customers return",
             "on record orders", "as new products sell well", "on booming online sales", "as margins widen",
             "driven by strong growth", "as travel demand rebounds", "on robust consumer spending", ""]
_BAD_WHY = ["on weak demand", "as costs soar", "as customers cut spending", "amid a price war", "on bad loans",
            "as orders dry up", "after a factory fire", "amid supply problems", "as margins shrink",
            "as sales slump", "on higher fuel costs", "amid the downturn", "after heavy losses", ""]
_GOOD_EVENTS = [
    "raises guidance", "lifts its outlook", "raises its full-year forecast", "raises its dividend",
    "announces a share buyback", "wins a major contract", "wins regulatory approval", "is upgraded to buy",
    "returns to profit", "posts record profit", "secures new funding", "beats earnings estimates",
    "reports strong results", "signs a lucrative deal", "swings to a profit", "boosts its margins",
    "wins FDA approval", "lands a billion-dollar order", "reports better-than-expected earnings",
    "hikes its payout", "cuts its debt", "posts strong growth", "gets a credit rating upgrade",
    "receives a takeover offer at a premium", "reports record sales", "doubles its profit",
    "expands after a successful launch", "reports solid gains", "delivers an earnings beat",
    "posts a surprise profit", "outperforms rivals", "raises prices without losing customers",
    "reports higher profit", "sees strong demand", "adds more customers than expected",
]
_BAD_EVENTS = [
    "issues a profit warning", "cuts guidance", "slashes its outlook", "suspends its dividend", "cuts jobs",
    "announces layoffs", "files for bankruptcy", "faces a fraud investigation", "recalls vehicles",
    "is downgraded to sell", "posts a loss", "defaults on its debt", "is fined by regulators", "loses a key contract",
    "misses earnings estimates", "halts production", "writes down assets", "takes an impairment charge",
    "warns of weak demand", "delays its results", "is sued by investors", "reports a surprise loss",
    "scraps its dividend", "lowers its forecast", "closes stores", "faces an accounting scandal",
    "loses customers to rivals", "warns of heavy losses", "cuts its outlook", "sees demand collapse",
    "is hit by a cyberattack", "warns profits will fall", "reports weak results", "loses market share",
    "breaches its debt covenants", "is downgraded to junk", "expects heavy losses", "shuts down a plant",
    "posts a wider loss", "faces mounting debts", "reports falling sales", "cuts thousands of jobs",
]
_NEUTRAL_EVENTS = [
    "appoints a new chief financial officer", "names a new chair", "schedules a conference call",
    "will hold its annual meeting in {city}", "to present at an industry conference on {date}",
    "publishes its annual report", "moves its headquarters to {city}", "will change its ticker symbol",
    "confirms the record date for its dividend", "files its annual report with regulators",
    "updates its flight schedule", "unveils a new logo", "to hold an investor day in {city}",
    "announces board changes", "relocates its office to {city}", "completes its name change",
    "sets the date for a shareholder vote", "to report results on {date}", "names a new head of marketing",
    "appoints two independent directors", "publishes its sustainability report", "announces its financial calendar",
    "to release results after the market closes", "chief executive to speak at a conference in {city}",
    "holds its annual general meeting", "opens a new office in {city}", "announces the date of its annual meeting",
    "will publish its results on {date}", "names a new chief operating officer", "adds a director to its board",
    "confirms its dividend payment date", "to unveil new products at a trade show", "reschedules its investor call",
    "chief technology officer to retire", "to webcast its results presentation", "launches a new website",
    "updates its corporate governance policy", "announces an executive reshuffle", "to rebrand stores next year",
]
_NEUTRAL_MARKET = [
    "shares were unchanged in early trading", "shares closed little changed", "stock traded flat",
    "shares were steady ahead of the results", "stock ended the session flat", "shares were mixed",
    "trading in the shares will resume on {day}", "shares were little changed as investors awaited data",
]
_CITIES = ["London", "New York", "Austin", "Dublin", "Zurich", "Singapore", "Paris", "Frankfurt", "Tokyo", "Chicago",
           "Toronto", "Boston", "Madrid", "Seoul", "Sydney"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
# Negations flip the label of what they negate: (template, label).
_NEGATIONS = [
    ("{who} fails to beat estimates", "negative"), ("{who} fails to return to profit", "negative"),
    ("{who} failed to meet its sales target", "negative"), ("{metric} did not rise as hoped", "negative"),
    ("{who} does not expect a recovery this year", "negative"), ("{metric} was not as strong as expected", "negative"),
    ("{who} could not avoid a loss", "negative"), ("no improvement in {metric} at {who}", "negative"),
    ("{who} did not miss its target", "positive"), ("{metric} did not fall despite the downturn", "positive"),
    ("{who} avoids a loss and beats forecasts", "positive"), ("{who} sees no slowdown in demand", "positive"),
    ("{metric} never looked stronger at {who}", "positive"), ("{who} has no plans to cut jobs", "positive"),
    ("{who} rules out job cuts as sales grow", "positive"), ("{who} denies bankruptcy rumours and beats estimates",
                                                            "positive"),
    ("{who} does not plan any change to its dividend", "neutral"), ("{who} makes no change to its board", "neutral"),
    ("{who} did not comment on the report", "neutral"), ("{who} has not set a date for its results", "neutral"),
]
_STOCK_UP = ["Shares of {who} jump {pct}%", "{who} stock surges after upbeat results", "{who} shares rally",
             "{who} shares hit an all-time high", "Investors cheer {who} results", "{who} stock climbs {pct}%",
             "Analysts upgrade {who} to buy", "{who} shares soar on strong earnings",
             "{who} raises its dividend for the {nth} straight year", "{who} beats profit forecasts",
             "Credit agency upgrades {who}", "{who} lifts guidance as orders rise"]
_STOCK_DOWN = ["Shares of {who} fall {pct}%", "{who} stock plunges after weak results", "{who} shares tumble",
               "{who} shares hit a record low", "Investors dump {who} shares", "{who} stock slides {pct}%",
               "Analysts downgrade {who} to sell", "{who} shares sink on disappointing earnings",
               "{who} shares fell sharply after the investigation", "{who} stock crashes as auditor quits",
               "Regulators fine {who} over misconduct", "Credit agency downgrades {who}",
               "{who} shares slide after regulators open a probe", "{who} warns that growth will slow"]


def _who(rng: random.Random) -> str:
    return rng.choice(_COMPANIES) if rng.random() < 0.6 else rng.choice(_SECTORS)


def _fill(template: str, rng: random.Random) -> str:
    return template.format(who=_who(rng), metric=rng.choice(_METRICS), pct=rng.randint(2, 40),
                           city=rng.choice(_CITIES), date=f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}",
                           day=rng.choice(_DAYS), nth=rng.choice(["second", "third", "fifth", "tenth"]))


def _finance_one(rng: random.Random, label: str) -> str:
    kind = rng.random()
    if label == "neutral":
        if kind < 0.7:
            text = f"{_who(rng)} {rng.choice(_NEUTRAL_EVENTS)}"
        elif kind < 0.9:
            text = f"{_who(rng)} {rng.choice(_NEUTRAL_MARKET)}"
        else:
            text = rng.choice([t for t, lab in _NEGATIONS if lab == "neutral"])
    else:
        good = label == "positive"
        if kind < 0.35:
            text = f"{_who(rng)} {rng.choice(_METRICS)} {rng.choice(_UP if good else _DOWN)} " \
                   f"{rng.choice(_GOOD_WHY if good else _BAD_WHY)}"
        elif kind < 0.7:
            text = f"{_who(rng)} {rng.choice(_GOOD_EVENTS if good else _BAD_EVENTS)}"
        elif kind < 0.8:
            first, second = rng.sample(_GOOD_EVENTS if good else _BAD_EVENTS, 2)
            text = f"{_who(rng)} {first} and {second}"
        elif kind < 0.86:
            text = rng.choice(_STOCK_UP if good else _STOCK_DOWN)
        elif kind < 0.93:
            owner = _who(rng)
            owner = owner + ("'" if owner.endswith("s") else "'s")
            text = f"{owner} {rng.choice(_PLURAL_METRICS)} {rng.choice(_UP_PLURAL if good else _DOWN_PLURAL)} " \
                   f"{rng.choice(_GOOD_WHY if good else _BAD_WHY)}"
        else:
            text = rng.choice([t for t, lab in _NEGATIONS if lab == label])
    text = _fill(text, rng).strip()
    if rng.random() < 0.15:  # headline style "Topic: what happened"
        text = f"{rng.choice(['Update', 'Breaking', 'Earnings', 'Markets', 'Results'])}: {text}"
    return text[0].upper() + text[1:]


def finance_headlines(*, n: int = 6000, seed: int = 0, exclude: set[str] = frozenset()
                      ) -> tuple[list[str], list[str]]:
    """`n` headlines, a third of each label, from templates, vocabularies and negations (deterministic).

    Headlines in `exclude` (the hand-written test set, lower-cased) are never generated.
    """
    rng = random.Random(seed)
    texts, labels = [], []
    index = 0
    while len(texts) < n:
        label = ("positive", "negative", "neutral")[index % 3]
        text = _finance_one(rng, label)
        index += 1
        if text.lower() in exclude:
            continue
        texts.append(text)
        labels.append(label)
    return texts, labels


# ---------------------------------------------------------------- symptom triage (routine / soon / urgent)

_TRIAGE = {
    "urgent": [
        "crushing chest pain spreading to my left arm", "chest pain and I am sweating a lot",
        "I can't breathe properly",
        "struggling to breathe and my lips look blue", "heavy bleeding that will not stop",
        "he fainted and is not waking up",
        "her face is drooping and her speech is slurred", "sudden weakness on one side of my body",
        "my throat is swelling after eating peanuts", "a seizure that lasted five minutes",
        "I am thinking about ending my life",
        "severe allergic reaction with swollen tongue", "coughing up blood",
        "the worst headache of my life came on suddenly",
        "my baby is floppy and will not feed", "I took too many pills", "a deep cut and blood is spurting out",
        "severe pain in my stomach and I am vomiting blood", "chest feels tight and my heart is racing",
        "he hit his head and is now confused and vomiting", "I can't feel my arm and my vision went blurry",
        "difficulty breathing after a bee sting", "unconscious after a fall", "high fever with a stiff neck and a rash",
        "she collapsed and is not responding", "I can't catch my breath", "bleeding heavily and it won't stop",
        "he took an overdose of tablets", "not breathing normally", "choking and cannot speak",
        "severe burns on his arm",
    ],
    "soon": [
        "a fever for three days", "my ear has hurt since yesterday", "burning when I pee", "a rash that is spreading",
        "vomiting since last night but keeping water down", "my ankle is swollen after I twisted it",
        "the wound looks red and infected",
        "a bad cough for a week", "sore throat and swollen glands", "painful tooth and my cheek is swollen",
        "diarrhoea for two days", "my child has a temperature and is off her food", "a new lump in my breast",
        "my eye is red and sticky", "back pain that is getting worse", "pain when I swallow for several days",
        "blood in my urine", "dizzy spells this week", "shortness of breath when I climb stairs lately",
        "my asthma inhaler is not helping as much as usual", "a painful swollen knee",
        "blisters on my skin that are spreading",
    ],
    "routine": [
        "I need a repeat prescription", "can I book my annual check-up", "I would like to book a flu vaccination",
        "mild hay fever this spring", "a question about my blood test results", "I need a sick note for work",
        "can I change my appointment to next week", "mild back ache for a few months", "advice about quitting smoking",
        "a travel vaccination before my holiday", "request for a copy of my medical records", "dry skin on my hands",
        "I want to discuss my diet", "a mole I would like checked at some point", "renewing my contraceptive pill",
        "occasional mild heartburn after big meals", "I would like a referral for physiotherapy",
        "a routine blood pressure check",
        "questions about my medication dose", "trouble sleeping for a while", "mild knee stiffness in the morning",
        "update my address on my record", "please update my contact details", "advice about losing weight",
        "vaccinations for my trip abroad", "a question about my bill", "I would like to register with the practice",
        "a form that needs signing by the doctor", "routine review of my medication",
    ],
}
_TRIAGE_OPENERS = ["", "Hi, ", "Hello, ", "Good morning, ", "Hi doctor, ", "Message from patient: ",
"Hello, my husband has ",
                   "Please help, ", "Quick question: ", "Hi, I have ", "Dear surgery, "]
_TRIAGE_TAILS = ["", ".", " since this morning.", ", what should I do?", ". Thank you.", ", please advise.",
                 " and I am worried.", ". Can someone call me?", "!"]


def triage_messages(*, n: int = 3000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Patient messages from phrases per urgency level with varied openers and endings (deterministic)."""
    rng = random.Random(seed)
    labels_cycle = ("urgent", "soon", "routine")
    texts, labels = [], []
    for index in range(n):
        label = labels_cycle[index % 3]
        phrase = rng.choice(_TRIAGE[label])
        if rng.random() < 0.2:  # two complaints of the same level
            phrase = f"{phrase} and {rng.choice(_TRIAGE[label])}"
        text = f"{rng.choice(_TRIAGE_OPENERS)}{phrase}{rng.choice(_TRIAGE_TAILS)}"
        texts.append(text[0].upper() + text[1:])
        labels.append(label)
    return texts, labels


# ---------------------------------------------------------------- language identification (ISO 639-1 codes)

_LANGUAGE_WORDS = {
    "en": "the and that have with this from they will would there their what about which when make like time just "
          "know take people into year your good some could them see other than then now look only come think also "
          "back after work first well way even want because any these give most us weather today friend house water",
    "de": "der die und das ist nicht ich sie mit sich auf dem den des ein eine auch als noch wie wird bei oder nach "
          "werden aus wenn nur aber haben hat kann schon sehr heute Wetter Freund Haus Wasser gut immer zwischen "
          "über während können müssen wir ihr unser gehen machen Zeit Jahr",
    "fr": "le la les de des et est que qui dans pour pas sur avec une un il elle nous vous ils sont mais plus tout "
          "faire comme aussi bien très avoir être cette temps aujourd'hui ami maison eau toujours pourquoi parce "
          "beaucoup où même après avant chez",
    "es": "el la los las de del y que en un una es por con para no se su al lo como más pero sus le ya o este sí "
          "porque esta cuando muy sin sobre también me hasta hay donde quien desde todo nos durante hoy amigo casa "
          "agua siempre tiempo año bueno",
    "it": "il lo la i gli le di che e è un una per non sono con mi si ma come anche più questo quello della del "
          "nella alla molto tutto essere fare ancora oggi amico casa acqua sempre perché dove quando tempo anno "
          "bene grazie allora cosa",
    "pt": "o a os as de do da que e é um uma para com não em no na por mais mas como se seu sua ele ela nós você "
          "eles muito também já quando onde hoje amigo casa água sempre porque tempo ano bom obrigado então coisa "
          "está são foi",
    "nl": "de het een en van ik te dat die in is niet op zijn met voor hij het maar ook als aan er nog zo wat "
          "naar bij wel kan dan worden vandaag vriend huis water altijd omdat waar wanneer tijd jaar goed dank "
          "misschien heel",
    "sv": "och att det som en på är av för med till den har de inte om ett han men var jag sig från vi så kan "
          "man när år säger hon under också efter idag vän hus vatten alltid eftersom var tid bra tack mycket "
          "kanske kommer",
    "pl": "i w nie na się z że do to jest jak co ale po tak za od o jego czy już być może tylko przez jest są "
          "dzisiaj przyjaciel dom woda zawsze ponieważ gdzie kiedy czas rok dobrze dziękuję bardzo jeszcze teraz",
    "tr": "ve bir bu da de için ile ne çok ama daha gibi var yok olarak sonra kadar ben sen biz onlar değil "
          "bugün arkadaş ev su her zaman çünkü nerede ne zaman yıl iyi teşekkür ederim şimdi güzel nasıl",
}
LANGUAGES = sorted(_LANGUAGE_WORDS)


def language_samples(*, n: int = 4000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Short texts of 3 to 12 frequent words per language (deterministic): what character n-grams learn from."""
    rng = random.Random(seed)
    vocab = {code: words.split() for code, words in _LANGUAGE_WORDS.items()}
    texts, labels = [], []
    for index in range(n):
        code = LANGUAGES[index % len(LANGUAGES)]
        words = rng.choices(vocab[code], k=rng.randint(3, 12))
        text = " ".join(words)
        texts.append(text[0].upper() + text[1:] + rng.choice(["", ".", "?", "!"]))
        labels.append(code)
    return texts, labels


# ---------------------------------------------------------------- NPC dialogue lines (grammatical by construction)

_NPC_SPEAKERS = ["Innkeeper", "Blacksmith", "Guard", "Merchant", "Farmer", "Healer", "Wizard", "Hunter", "Bard",
                 "Captain", "Priest", "Fisherman"]
_NPC_PLACES = ["the northern mine", "the old mill", "the goblin caves", "the ruined abbey", "the frozen pass",
               "the sunken temple", "the king's road", "the dark forest", "the harbour", "the desert outpost",
               "the misty marsh", "the castle gate"]
_NPC_THINGS = ["a silver amulet", "the mayor's ring", "an old map", "a rusty key", "a bag of gold", "a healing potion",
               "a dragon scale", "a lost letter", "a magic lantern", "a stolen sword"]
_NPC_FOES = [("wolves", "have"), ("bandits", "have"), ("goblins", "have"), ("a troll", "has"), ("a giant spider",
"has"),
             ("the bog witch", "has"), ("skeletons", "have"), ("a wild bear", "has")]
_NPC_TEMPLATES = [
    "Welcome, traveller! Sit by the fire and rest your feet.",
    "Welcome, friend! A warm meal costs two silver coins.",
    "Ah, a traveller! Do you need a new blade or a sharper one?",
    "Halt! State your name and your business in this town.",
    "Move along, and stay out of trouble.",
    "Be careful in {place}. {Foe} {foe_has} been seen there at night.",
    "If you find {thing} in {place}, bring it to me and I will pay you well.",
    "They say {thing} is hidden somewhere in {place}.",
    "You want to reach {place}? Follow the river to the old bridge, then turn west.",
    "My brother went to {place} a week ago, and he has not come back.",
    "I can sell you {thing} for ten gold coins. A fair price, I promise.",
    "Thank you for your help. The whole village owes you a great debt.",
    "The roads are not safe since {foe} came down from the hills.",
    "Have you heard the news? {Foe} {foe_has} taken over {place}.",
    "Rest here tonight. The road to {place} is long and cold.",
    "I have fresh bread, cheese and apples. What would you like?",
    "Keep your sword sharp and your wits sharper.",
    "The weather is turning. Storms always come before the harvest.",
    "I lost {thing} on the road to {place}. Will you help me find it?",
    "Take this map. It shows the safest way through {place}.",
    "Good morning! The market opens at dawn, so come early.",
    "Drink this potion before you go into {place}. It will keep you safe.",
    "I do not trust strangers, but you look honest enough.",
    "The king has doubled the reward for {thing}.",
    "Come back when you have more gold, friend.",
    "Stay a while and listen. I have a story about {place}.",
    "Nobody goes to {place} anymore, not since {foe} moved in.",
    "Watch your step. The floor of {place} is full of traps.",
]


def npc_lines(*, n: int = 6000, seed: int = 0) -> list[str]:
    """Speaker-prefixed lines from grammatical templates with places, items and foes (deterministic)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        foe, has = rng.choice(_NPC_FOES)
        line = rng.choice(_NPC_TEMPLATES).format(place=rng.choice(_NPC_PLACES), thing=rng.choice(_NPC_THINGS),
                                                 foe=foe, Foe=foe[0].upper() + foe[1:], foe_has=has)
        lines.append(f"{rng.choice(_NPC_SPEAKERS)}: {line}")
    return lines
