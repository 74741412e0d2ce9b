"""voiceflow.text.g2p: offline G2P backends with a pinned phone set."""

import shutil
import sys
from pathlib import Path

import pytest

from voiceflow.errors import VoiceflowError
from voiceflow.text import ARPABET, Phonemized, make_g2p

REPO = Path(__file__).resolve().parents[2]
DEMO_LOCAL = REPO / "recipes" / "demo" / "local"
needs_t2p = pytest.mark.skipif(shutil.which("t2p") is None, reason="t2p (Debian flite) not installed")
ARPA_OK = ARPABET | {"SIL", "+SPN+"}

# 200 common English words (beyond the demo generator's vocabulary).
COMMON = """
about after again against all also always among another answer any anything area around
ask away back because become been before began being believe best better between body
both bring build business call came can car care carry case cause change child children
city close come company could country course cut day did different does done door down
during each early earth end enough even ever every example eye face fact family far
father feel few find first follow food for form found four friend from game gave general
get girl give good government great group grow half hand happen hard have head hear help
her here high history hold home house how however idea important interest just keep kind
knew know large last later learn leave left less letter life light line list little live
long look love made make man many may measure might mind money more most mother move much
music must name near need never new next night number often once only open order other
own paper part people person picture place play point power problem question quite rather
really right river room said same school second should show side small something sound
special start state still story student study such sure system table take talk than that
their them there these thing think though thought three through time today together told
took toward tree true turn under until usually very voice want water were what where which
while white whole why without woman word work world would write year young zoo rhythm
jalapeno croissant loch genre garage beige
""".split()


def demo_vocabulary() -> list[str]:
    sys.path.insert(0, str(DEMO_LOCAL))
    try:
        import sentences
    finally:
        sys.path.remove(str(DEMO_LOCAL))
    return sorted(sentences.vocabulary())


@pytest.fixture(scope="module")
def espeak():
    return make_g2p("espeak")


@pytest.fixture(scope="module")
def cmu():
    return make_g2p("cmudict")


@pytest.fixture(scope="module")
def flite():
    if shutil.which("t2p") is None:
        pytest.skip("t2p (Debian flite) not installed")
    return make_g2p("flite")


# -- pinned phones: the guard that the phone sets do not drift ---------------------------

ESPEAK_PINNED = {  # libespeak-ng 1.52.0 from espeakng-loader 0.2.4, en-us, stress dropped
    "hello": ["h", "ə", "l", "oʊ"],
    "world": ["w", "ɜː", "l", "d"],
    "water": ["w", "ɔː", "ɾ", "ɚ"],
    "button": ["b", "ʌ", "ʔ", "n̩"],
    "little": ["l", "ɪ", "ɾ", "əl"],
    "the": ["ð", "ə"],
    "a": ["ɐ"],
    "don't": ["d", "oʊ", "n", "t"],
    "john's": ["dʒ", "ɑː", "n", "z"],
    "year": ["j", "ɪɹ"],
    "fire": ["f", "aɪɚ"],
    "church": ["tʃ", "ɜː", "tʃ"],
    "measure": ["m", "ɛ", "ʒ", "ɚ"],
    "thought": ["θ", "ɔː", "t"],
}
CMUDICT_PINNED = {  # cmudict 1.1.3, first pronunciation
    "hello": ["HH", "AH0", "L", "OW1"],
    "world": ["W", "ER1", "L", "D"],
    "water": ["W", "AO1", "T", "ER0"],
    "button": ["B", "AH1", "T", "AH0", "N"],
    "the": ["DH", "AH0"],
    "a": ["AH0"],
    "don't": ["D", "OW1", "N", "T"],
    "john's": ["JH", "AA1", "N", "Z"],
    "fire": ["F", "AY1", "ER0"],
    "measure": ["M", "EH1", "ZH", "ER0"],
}
FLITE_PINNED = {  # Debian flite 2.2 t2p, stress digits and pau removed
    "hello": ["hh", "ax", "l", "ow"],
    "world": ["w", "er", "l", "d"],
    "water": ["w", "ao", "t", "er"],
    "button": ["b", "ah", "t", "ax", "n"],
    "little": ["l", "ih", "t", "ax", "l"],
    "the": ["dh", "ax"],
    "a": ["ey"],
    "don't": ["d", "ow", "n", "t"],
    "rhythm": ["r", "ih", "dh", "ax", "m"],
    "fire": ["f", "ay", "er"],
}


def test_espeak_pinned(espeak):
    assert espeak.version.startswith("espeak-ng 1.52")
    assert {w: espeak.word_phones(w) for w in ESPEAK_PINNED} == ESPEAK_PINNED


def test_espeak_uses_the_bundled_library(espeak):
    import espeakng_loader

    wrapper = espeak._backend._espeak
    assert Path(wrapper.library_path).resolve() == Path(espeakng_loader.get_library_path()).resolve()
    assert Path(wrapper.data_path).resolve() == Path(espeakng_loader.get_data_path()).resolve()


def test_cmudict_pinned(cmu):
    assert cmu.version == "cmudict 1.1.3"
    assert {w: cmu.word_phones(w) for w in CMUDICT_PINNED} == CMUDICT_PINNED


@needs_t2p
def test_flite_pinned(flite):
    assert {w: flite.word_phones(w) for w in FLITE_PINNED} == FLITE_PINNED


# -- behaviour common to all backends -----------------------------------------------------

BACKENDS = ["espeak", "cmudict", pytest.param("flite", marks=needs_t2p)]


@pytest.mark.parametrize("name", BACKENDS)
def test_deterministic_and_cached(name):
    text = "The old sailor found 3 shiny coins on Jan. 5, 2021."
    a = make_g2p(name).phonemize(text)
    g = make_g2p(name)
    b, c = g.phonemize(text), g.phonemize(text)
    assert a == b == c
    c.phones[0].append("X")  # results are copies: the cache is not mutated
    assert g.phonemize(text) == b


@pytest.mark.parametrize("name", BACKENDS)
def test_sequence_structure(name):
    ph = make_g2p(name).phonemize("Hello, a big world!")
    assert ph.words == ["hello", "a", "big", "world"]
    seq, spans = ph.sequence(), ph.word_spans()
    assert seq[0] == "sil" and seq[-1] == "sil"
    assert len(seq) == sum(map(len, ph.phones)) + len(ph.words) + 1
    assert len(spans) == 4
    for (s, e), phones in zip(spans, ph.phones):
        assert e - s == len(phones)
        assert seq[s - 1] == "sil" and seq[e] == "sil"
        tagged = seq[s:e]
        assert [t.rsplit("_", 1)[0] for t in tagged] == phones
        if len(phones) == 1:
            assert tagged[0].endswith("_S")
        else:
            assert tagged[0].endswith("_B") and tagged[-1].endswith("_E")
            assert all(t.endswith("_I") for t in tagged[1:-1])
    # exactly one sil between two words, none inside a word
    assert [i for i, p in enumerate(seq) if p == "sil"] == [0] + [e for _, e in spans]


def test_sequence_by_hand():
    ph = Phonemized(words=["hi", "a", "x"], phones=[["h", "aɪ"], ["ɐ"], ["spn"]], unknown=["x"])
    assert ph.sequence() == ["sil", "h_B", "aɪ_E", "sil", "ɐ_S", "sil", "spn", "sil"]
    assert ph.word_spans() == [(1, 3), (4, 5), (6, 7)]


@pytest.mark.parametrize("name", BACKENDS)
def test_nothing_to_speak(name):
    g = make_g2p(name)
    for text in ["", "  ", "?!...", "🎉"]:
        with pytest.raises(VoiceflowError, match="nothing to speak"):
            g.phonemize(text)


def test_unknown_words_error_names_them(cmu):
    with pytest.raises(VoiceflowError) as e:
        cmu.phonemize("hello qxzvbn world zzyzzq qxzvbn")
    msg = str(e.value)
    assert "'qxzvbn'" in msg and "'zzyzzq'" in msg and "\n" not in msg
    assert "'hello'" not in msg


def test_unknown_words_spn(cmu):
    ph = cmu.phonemize("hello qxzvbn world zzyzzq qxzvbn", on_unknown="spn")
    assert ph.words == ["hello", "qxzvbn", "world", "zzyzzq", "qxzvbn"]
    assert ph.unknown == ["qxzvbn", "zzyzzq"]
    assert ph.phones[1] == ph.phones[3] == ph.phones[4] == ["spn"]
    assert ph.sequence()[4:8] == ["OW1_E", "sil", "spn", "sil"]
    assert cmu.word_phones("qxzvbn") is None


def test_espeak_unknown_word_policy(espeak):
    # espeak reads almost anything (even emoji names); what it cannot say (no output) or
    # says with phones outside the pinned table (Russian vowels) is unknown.
    with pytest.raises(VoiceflowError, match="'—', 'привет'"):
        espeak.phonemize("hello — привет", normalize=False)
    ph = espeak.phonemize("hello — привет —", normalize=False, on_unknown="spn")
    assert ph.unknown == ["—", "привет"] and ph.phones[1:] == [["spn"]] * 3


def test_bad_arguments(cmu):
    with pytest.raises(VoiceflowError, match="on_unknown"):
        cmu.phonemize("hello", on_unknown="drop")
    with pytest.raises(VoiceflowError, match="unknown G2P backend"):
        make_g2p("festival")
    with pytest.raises(VoiceflowError, match="en-us"):
        make_g2p("cmudict", language="fr-fr")


# -- ARPAbet mapping ----------------------------------------------------------------------


def test_espeak_every_phone_maps_to_arpabet(espeak):
    words = sorted(set(demo_vocabulary()) | set(COMMON))
    ph = espeak.phonemize(" ".join(words))
    assert ph.unknown == []
    seen = {p for phones in ph.phones for p in phones}
    assert len(seen) > 40
    for p in seen:
        arpa = espeak.to_arpabet(p)
        assert arpa and set(arpa) <= ARPABET, (p, arpa)
    # every entry of the table, not only those this word list reaches
    for p in espeak.arpabet_table:
        assert set(espeak.to_arpabet(p)) <= ARPABET, p


def test_to_arpabet_examples(espeak, cmu):
    assert espeak.to_arpabet("sil") == ["SIL"]
    assert espeak.to_arpabet("spn") == ["+SPN+"]
    assert espeak.to_arpabet("aɪ") == ["AY"]
    assert espeak.to_arpabet("tʃ_B") == ["CH"]
    assert espeak.to_arpabet("ɝ") == espeak.to_arpabet("ɚ") == espeak.to_arpabet("ɜː") == ["ER"]
    assert espeak.to_arpabet("ɾ") == ["T"]
    assert espeak.to_arpabet("n̩") == ["AH", "N"]
    assert espeak.to_arpabet("iː") == ["IY"]
    assert cmu.to_arpabet("AY1") == ["AY"]
    assert cmu.to_arpabet("AH0_E") == ["AH"]
    with pytest.raises(VoiceflowError, match="no ARPAbet"):
        espeak.to_arpabet("Q")
    with pytest.raises(VoiceflowError, match="no ARPAbet"):
        cmu.to_arpabet("XX1")


def test_cmudict_every_phone_maps(cmu):
    ph = cmu.phonemize(" ".join(COMMON[:150]), on_unknown="spn")
    for phones in ph.phones:
        for p in phones:
            assert set(cmu.to_arpabet(p)) <= ARPA_OK


# -- flite: the demo corpus -----------------------------------------------------------------


@needs_t2p
def test_flite_matches_demo_corpus(flite):
    sys.path.insert(0, str(DEMO_LOCAL))
    try:
        import make_corpus
    finally:
        sys.path.remove(str(DEMO_LOCAL))
    t2p = shutil.which("t2p")
    vocab = demo_vocabulary()
    assert len(vocab) > 500
    for w in vocab:
        assert flite.word_phones(w) == list(make_corpus.word_phones(t2p, w)), w
    for phones in (flite.word_phones(w) for w in vocab):
        for p in phones:
            assert set(flite.to_arpabet(p)) <= ARPABET
    assert flite.to_arpabet("ax") == ["AH"] and flite.to_arpabet("pau") == ["SIL"]


def test_flite_missing_t2p_is_a_clear_error():
    from voiceflow.text.g2p import FliteG2P

    with pytest.raises(VoiceflowError, match="t2p not found.*flite"):
        FliteG2P(t2p="/nonexistent/t2p")


@needs_t2p
def test_flite_postlexical_rules_match_its_synthesis(flite):
    """In a sentence flite says "a" as "ax" and "the" before a vowel as "dh iy" (demo corpus)."""
    res = flite.phonemize("The apple and a dog saw the cat.")
    assert res.phones[0] == ["dh", "iy"] and res.phones[3] == ["ax"]
    assert res.phones[6] == ["dh", "ax"]  # before a consonant: unchanged
    assert flite.word_phones("a") == ["ey"]  # the isolated word, as t2p says it
