"""Objective evaluation of directories of generated speech (``voiceflow eval``).

Modules:

- :mod:`.items`    discover items (meta.jsonl or plain wav dirs) and validate every file first;
- :mod:`.texts`    the one text normalisation, WER / CER by edit distance;
- :mod:`.asr`      ASR backends (pocketsphinx offline; transformers Whisper / CTC);
- :mod:`.speaker`  speaker embeddings for SIM-o / SIM-r (resemblyzer offline; WavLM x-vector);
- :mod:`.signal`   MCD and F0 error against references, on DTW-aligned frames;
- :mod:`.mos`      predicted MOS (distillmos offline; UTMOS);
- :mod:`.stats`    system values with 95 % intervals (t interval; bootstrap for corpus WER);
- :mod:`.runner`   :func:`evaluate`: all of the above into metrics.json and items.csv.

Heavy models are imported only when a metric needs them; a backend that cannot load falls
back to the offline one with one line saying so.
"""

from voiceflow.eval.runner import METRICS, evaluate, markdown_table

__all__ = ["METRICS", "evaluate", "markdown_table"]
