"""Listening tests: a static web page from directories of wavs, and the analysis of its results.

``voiceflow listen build`` (:mod:`voiceflow.listen.build`) turns systems given as
``NAME=DIR`` into a page folder for a MOS, SMOS, CMOS, A/B or MUSHRA test plus a key file
beside it; listeners download (or post) a results JSON file; ``voiceflow listen analyze``
(:mod:`voiceflow.listen.analyze`) reads results and the key. The two formats are described
in :mod:`voiceflow.listen.build`; their tags are defined here, once.

Submodules are imported on use (``from voiceflow.listen.build import build_test``), so that
the analysis does not load the page builder and its audio dependencies, and vice versa.
"""

TESTS = ("mos", "smos", "cmos", "ab", "mushra")
RESULT_FORMAT = "voiceflow-listening-result/1"  # one listener's results file
KEY_FORMAT = "voiceflow-listening-key/1"  # the experimenter's key beside the page
