"""Deterministic English sentence generator for the offline demo corpus.

There is no text corpus offline, so the demo recipe speaks sentences drawn from a small
hand-written grammar: several hundred common words (determiners, adjectives, nouns with
their plurals, verbs with their past tenses, adverbs, prepositions, names, numbers written
as words, time phrases) and a dozen and a half templates (statements, questions, clauses
joined with commas). Every word is alphabetic and plain enough for flite to say; sentences
are 5 to 14 words long.

    gen = SentenceGenerator(seed="0:slt")   # any int or str; the same seed, the same stream
    gen.sentence()                          # 'Who lent my king against my monkey?'
    gen.unique(seen)                        # a sentence not in the set `seen`, added to it
    words_of("Yes, she did.")               # ['Yes', 'she', 'did']
"""

from __future__ import annotations

import random
import re

MIN_WORDS = 5
MAX_WORDS = 14

NAMES = """
Anna Ben Clara David Emma Frank Grace Henry Isabel Jack Kate Leo Lucy Martin Nora Oscar
Paula Peter Rachel Robert Sarah Thomas Victor Wendy Alice Daniel Helen James Laura Michael
Olivia Simon Susan Walter Julia George Molly Adam Ruth Harold Linda Edward Maria Patrick
Sophie Arthur Diana Charles Eleanor Vincent
""".split()

# singular[:plural]; a missing plural is made by the usual spelling rules.
NOUNS = """
apple baby basket bell bicycle bird blanket boat book bottle box boy bread bridge brother
bucket button cake camera candle car carpet castle cat chair cheese chicken child:children
church city clock cloud coat coin computer cook cousin cow cup curtain desk doctor dog
doll door dragon dream drum duck egg elephant engine farmer feather fence field finger
fish:fish flag flower forest fox friend frog garden gate girl glass glove goat guitar hammer
hat hill horse house island jacket kettle key king kitchen kite knife:knives ladder lake
lamp leaf:leaves letter lion map market mirror monkey moon mountain mouse:mice nail needle
nurse ocean orange painter pancake parrot pencil piano picture pillow pilot plate pocket
pony potato:potatoes queen rabbit radio river road rock roof rope sailor sandwich scarf
school sheep:sheep shell ship shoe shop singer sister soldier spoon squirrel star station
stone storm student sweater table teacher tent ticket tiger tower town toy train tree
truck tunnel umbrella valley village violin wagon wall watch window wizard wolf:wolves
woman:women man:men worker garage lantern saucepan journey puzzle melody village whistle
""".split()

ADJECTIVES = """
old young big small tall short long little heavy light warm cold hot cool bright dark
quiet loud soft hard happy sad angry tired hungry busy lazy brave clever gentle kind
polite rude proud shy strange famous ancient modern empty full clean dirty wet dry broken
shiny rusty wooden golden silver purple yellow green blue red orange brown grey white
black pink fresh stale sweet bitter sour salty spicy smooth rough sharp narrow wide deep
shallow thick thin noisy calm friendly careful curious lucky lonely nervous sleepy
strong weak rich poor cheap expensive simple plain fancy tiny huge enormous gigantic
beautiful ugly pretty handsome wild tame fierce secret hidden frozen crooked peaceful
""".split()

# base:past, both needed (questions use the base form, statements the past).
VERBS_TRANSITIVE = """
find:found take:took bring:brought carry:carried open:opened close:closed paint:painted
wash:washed fix:fixed build:built break:broke buy:bought sell:sold catch:caught throw:threw
push:pushed pull:pulled lift:lifted drop:dropped hide:hid keep:kept lose:lost see:saw
watch:watched follow:followed chase:chased borrow:borrowed lend:lent cook:cooked eat:ate
clean:cleaned move:moved count:counted draw:drew fill:filled empty:emptied hold:held
touch:touched visit:visited answer:answered remember:remembered forget:forgot
guard:guarded polish:polished measure:measured mend:mended deliver:delivered
collect:collected steal:stole wrap:wrapped shake:shook drag:dragged kick:kicked
feed:fed sketch:sketched weigh:weighed check:checked choose:chose describe:described
notice:noticed admire:admired pack:packed bury:buried rescue:rescued
""".split()

VERBS_INTRANSITIVE = """
laugh:laughed smile:smiled sleep:slept wait:waited arrive:arrived leave:left run:ran
walk:walked jump:jumped swim:swam sing:sang dance:danced shout:shouted whisper:whispered
cry:cried fall:fell rest:rested travel:traveled climb:climbed hurry:hurried listen:listened
disappear:disappeared return:returned vanish:vanished shiver:shivered wander:wandered
stumble:stumbled float:floated glow:glowed sparkle:sparkled tremble:trembled
""".split()

ADVERBS = """
quickly slowly quietly loudly carefully happily sadly gently suddenly calmly eagerly
proudly softly bravely politely patiently nervously easily early late often rarely
always never again together alone outside upstairs downstairs somewhere everywhere
silently finally certainly honestly secretly badly warmly brightly
""".split()

INTENSIFIERS = "very quite rather really too extremely fairly almost".split()

PREPOSITIONS = """
near behind under beside across inside above below around beyond toward along past
through over between against beneath outside opposite
""".split()

DETERMINERS = "the the the a this that every my your his her our their".split()
PLURAL_DETERMINERS = "the the these those some many several my your our their".split()
PRONOUNS = "he she they we I you".split()
CONJUNCTIONS = "because while when after before although until since".split()

UNITS = "one two three four five six seven eight nine".split()
TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()

DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = "January February March April June July August September October November December".split()
TIMES = [
    "yesterday", "today", "tonight", "this morning", "this evening", "last night",
    "last week", "last summer", "at noon", "at midnight", "before dinner", "after lunch",
    "in the morning", "in the afternoon", "every day", "once again", "long ago",
]
COLOURS_OF_SPEECH = ["Yes", "No", "Well", "Oh", "Now", "Still", "Then", "Later", "Luckily", "Sadly"]

_AN_EXCEPTIONS = {"one", "once", "university", "useful", "unicorn"}


def _expand_pairs(items: list[str], plural: bool) -> list[tuple[str, str]]:
    out = []
    for item in items:
        if ":" in item:
            a, b = item.split(":")
        elif plural:
            a, b = item, _plural(item)
        else:
            raise ValueError(f"{item!r} needs a second form")
        out.append((a, b))
    return out


def _plural(noun: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


NOUN_FORMS = list(dict.fromkeys(_expand_pairs(NOUNS, plural=True)))
TRANSITIVE = _expand_pairs(VERBS_TRANSITIVE, plural=False)
INTRANSITIVE = _expand_pairs(VERBS_INTRANSITIVE, plural=False)
ADJECTIVES = list(dict.fromkeys(ADJECTIVES))


def number_words(n: int) -> list[str]:
    """1..999 as words: 342 -> ['three', 'hundred', 'forty', 'two']."""
    if not 1 <= n <= 999:
        raise ValueError(n)
    out: list[str] = []
    if n >= 100:
        out += [UNITS[n // 100 - 1], "hundred"]
        n %= 100
        if n:
            out.append("and")
    if n >= 20:
        out.append(TENS[n // 10 - 2])
        n %= 10
    elif n >= 10:
        out.append(TEENS[n - 10])
        n = 0
    if n:
        out.append(UNITS[n - 1])
    return out


def vocabulary() -> set[str]:
    """Every word the generator can emit, lower-cased."""
    words: set[str] = set()
    for group in (NAMES, ADJECTIVES, ADVERBS, INTENSIFIERS, PREPOSITIONS, DETERMINERS,
                  PLURAL_DETERMINERS, PRONOUNS, CONJUNCTIONS, UNITS, TEENS, TENS, DAYS,
                  MONTHS, COLOURS_OF_SPEECH):
        words.update(group)
    for pairs in (NOUN_FORMS, TRANSITIVE, INTRANSITIVE):
        for a, b in pairs:
            words.update((a, b))
    for phrase in TIMES:
        words.update(phrase.split())
    words.update(_FUNCTION_WORDS)
    return {w.lower() for w in words}


# Words the templates spell out themselves.
_FUNCTION_WORDS = """
a an the and but or so did does was were is not who what where when why how that said
thinks thought knew heard wrote hundred have has you seen ever whether if it to home there here with of
in on at by for from into
""".split()


def words_of(sentence: str) -> list[str]:
    """The words of a generated sentence, punctuation removed, case kept."""
    return re.findall(r"[A-Za-z]+", sentence)


class SentenceGenerator:
    """A seeded stream of grammatical, varied sentences (5-14 words)."""

    def __init__(self, seed: int | str = 0):
        self.rng = random.Random(seed)
        self.templates = [
            self._svo, self._svo_place, self._intransitive, self._did_question,
            self._wh_question, self._time_comma, self._clause_comma, self._numbers,
            self._description, self._reported, self._have_you_seen, self._interjection,
            self._two_names, self._was_it, self._date, self._who_question,
        ]

    # -- pieces --------------------------------------------------------------------------
    def pick(self, seq):
        return self.rng.choice(seq)

    def _article(self, det: str, next_word: str) -> str:
        if det == "a" and next_word[0] in "aeiou" and next_word not in _AN_EXCEPTIONS:
            return "an"
        return det

    def noun_phrase(self, plural: bool | None = None, adj_p: float = 0.5) -> list[str]:
        if plural is None:
            plural = self.rng.random() < 0.3
        sing, plur = self.pick(NOUN_FORMS)
        noun = plur if plural else sing
        words = []
        if self.rng.random() < adj_p:
            if self.rng.random() < 0.15:
                words.append(self.pick(INTENSIFIERS))
            words.append(self.pick(ADJECTIVES))
        words.append(noun)
        if plural:
            r = self.rng.random()
            det = self.pick(PLURAL_DETERMINERS) if r < 0.75 else None
            if det is None:
                return self.number(small=True) + words
            return [det] + words
        det = self.pick(DETERMINERS)
        return [self._article(det, words[0])] + words

    def subject(self) -> list[str]:
        r = self.rng.random()
        if r < 0.35:
            return [self.pick(NAMES)]
        if r < 0.5:
            return [self.pick(PRONOUNS)]
        return self.noun_phrase(plural=False if self.rng.random() < 0.8 else True)

    def place(self) -> list[str]:
        return [self.pick(PREPOSITIONS)] + self.noun_phrase(plural=False, adj_p=0.3)

    def number(self, small: bool = False) -> list[str]:
        n = self.rng.randint(2, 19) if small else self.rng.choice(
            [self.rng.randint(2, 99), self.rng.randint(2, 99), self.rng.randint(100, 999)])
        return number_words(n)

    def time(self) -> list[str]:
        r = self.rng.random()
        if r < 0.2:
            return ["on", self.pick(DAYS)]
        if r < 0.3:
            return ["in", self.pick(MONTHS)]
        return self.pick(TIMES).split()

    # -- templates -----------------------------------------------------------------------
    def _svo(self):
        s = self.subject() + [self.pick(TRANSITIVE)[1]] + self.noun_phrase()
        if self.rng.random() < 0.4:
            s += [self.pick(ADVERBS)]
        return s + ["."]

    def _svo_place(self):
        return self.subject() + [self.pick(TRANSITIVE)[1]] + self.noun_phrase() + self.place() + ["."]

    def _intransitive(self):
        s = self.subject() + [self.pick(INTRANSITIVE)[1]]
        r = self.rng.random()
        if r < 0.4:
            s += [self.pick(ADVERBS)]
        elif r < 0.8:
            s += self.place()
        else:
            s += self.time()
        return s + ["."]

    def _did_question(self):
        s = ["did"] + self.subject() + [self.pick(TRANSITIVE)[0]] + self.noun_phrase()
        if self.rng.random() < 0.5:
            s += self.place()
        return s + ["?"]

    def _wh_question(self):
        wh = self.pick(["why", "where", "when", "how"])
        s = [wh, "did"] + self.subject()
        if self.rng.random() < 0.5:
            s += [self.pick(TRANSITIVE)[0]] + self.noun_phrase()
        else:
            s += [self.pick(INTRANSITIVE)[0]]
            if wh != "how" and self.rng.random() < 0.5:
                s += [self.pick(ADVERBS)]
        return s + ["?"]

    def _time_comma(self):
        return self.time() + [","] + self.subject() + [self.pick(INTRANSITIVE)[1]] + self.place() + ["."]

    def _clause_comma(self):
        first = [self.pick(CONJUNCTIONS)] + self.subject() + [self.pick(INTRANSITIVE)[1]]
        second = self.subject() + [self.pick(TRANSITIVE)[1]] + self.noun_phrase(adj_p=0.3)
        return first + [","] + second + ["."]

    def _numbers(self):
        s = self.subject() + [self.pick(TRANSITIVE)[1]] + self.number()
        s += [self.pick(NOUN_FORMS)[1]]
        if self.rng.random() < 0.5:
            s += self.time()
        return s + ["."]

    def _description(self):
        np1 = self.noun_phrase(plural=False, adj_p=0.0)
        adj1, adj2 = self.pick(ADJECTIVES), self.pick(ADJECTIVES)
        s = np1 + ["was", self.pick(INTENSIFIERS), adj1]
        if self.rng.random() < 0.6:
            s += [",", self.pick(["but", "and", "so"]), "it", "was", "not", adj2]
        return s + ["."]

    def _reported(self):
        verb = self.pick(["said", "thought", "knew", "heard", "wrote"])
        return [self.pick(NAMES), verb, "that"] + self.subject() + [self.pick(INTRANSITIVE)[1], self.pick(ADVERBS), "."]

    def _have_you_seen(self):
        return ["have", "you", "ever", "seen"] + self.noun_phrase() + self.place() + ["?"]

    def _interjection(self):
        return [self.pick(COLOURS_OF_SPEECH), ","] + self.subject() + [self.pick(TRANSITIVE)[1]] + self.noun_phrase() + ["."]

    def _two_names(self):
        a, b = self.rng.sample(NAMES, 2)
        s = [a, "and", b, self.pick(TRANSITIVE)[1]] + self.noun_phrase(plural=True)
        if self.rng.random() < 0.5:
            s += self.time()
        return s + ["."]

    def _was_it(self):
        return ["was", "the"] + [self.pick(NOUN_FORMS)[0]] + [self.pick(ADJECTIVES), "or", self.pick(ADJECTIVES)] + self.time() + ["?"]

    def _date(self):
        return ["on", self.pick(DAYS), ","] + self.subject() + [self.pick(INTRANSITIVE)[1], "home", self.pick(ADVERBS), "."]

    def _who_question(self):
        return ["who", self.pick(TRANSITIVE)[1]] + self.noun_phrase() + self.place() + ["?"]

    # -- output --------------------------------------------------------------------------
    def sentence(self) -> str:
        """One sentence of MIN_WORDS..MAX_WORDS words, capitalised and punctuated."""
        while True:
            tokens = self.pick(self.templates)()
            n = sum(1 for t in tokens if t not in {",", ".", "?"})
            if MIN_WORDS <= n <= MAX_WORDS:
                return _detokenize(tokens)

    def unique(self, seen: set[str], max_tries: int = 100000) -> str:
        """A sentence not in ``seen`` (which it is added to): uniqueness across a corpus."""
        for _ in range(max_tries):
            text = self.sentence()
            if text not in seen:
                seen.add(text)
                return text
        raise RuntimeError(f"no new sentence in {max_tries} tries")


def _detokenize(tokens: list[str]) -> str:
    text = ""
    for t in tokens:
        if t in {",", ".", "?"}:
            text += t
        else:
            text += (" " if text else "") + t
    return text[0].upper() + text[1:]
