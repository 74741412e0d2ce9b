"""The Voicebox tasks on one recording: zero-shot TTS, editing, continuation and denoising.

Each task aligns the user's recording with the built-in aligner, lays out the phone tokens
of the result (:mod:`voiceflow.infer.tokens`), lets the duration model predict the new
tokens' frame counts (conditioned on the kept ones), lets the audio model fill the new
frames with the kept mel as context, vocodes, and splices the result into the recording
(:mod:`voiceflow.infer.splice`). They are reached through :class:`voiceflow.Synthesizer`::

    synth = Synthesizer("exp/demo")
    wav, info = synth.tts("prompt.wav", "Prompt transcript.", "New words to say.")
    wav, info = synth.edit("in.wav", "I saw the cat.", "I saw the big dog.")
    wav, info = synth.continue_("in.wav", "The whole sentence the recording begins.")
    wav, info = synth.denoise("in.wav", "Its transcript.", start=1.2, end=2.0)

``info`` describes what was done (changed words, frames, seconds generated). All sampling
options of :meth:`Synthesizer.infill_items` apply (``nfe``, ``solver``, ``guidance``,
``seed``, ``schedule``, ``sway``, ``noise_scale``), plus ``rate`` (speaking rate of the
new speech: 1.25 is 25 % faster).

The sampling noise of a request depends on the seed and the request's content (task, the
recording's samples, the texts, the span), never on where the files lie or what else was
asked: the same request gives the same wav from any directory or batch.
"""

from __future__ import annotations

import zlib

import torch

from voiceflow.audio import log_mel
from voiceflow.audio.stats import normalise
from voiceflow.errors import VoiceflowError
from voiceflow.infer.frontend import Recording
from voiceflow.infer.loading import experiment_dir_of
from voiceflow.infer.spans import snap_span
from voiceflow.infer.splice import runs_from_tokens, splice
from voiceflow.infer.tokens import Slots, Token, add_margin, edit_slots, flatten, new_gap, new_word, \
    slots_from_alignment, word_diff

MAX_SECONDS = 60.0  # one generated utterance; longer requests are refused
TTS_LEAD_S = 0.1    # zero-shot TTS output starts at most this long before the first new word
SAMPLING_KEYS = ("nfe", "solver", "guidance", "seed", "schedule", "sway", "noise_scale")


class SpeechTasks:
    """Bound to a :class:`~voiceflow.infer.synthesizer.Synthesizer` (audio model, vocoder)."""

    def __init__(self, synth, durations, front, margin: int = 1, crossfade_s: float = 0.01):
        self.synth, self.durations, self.front = synth, durations, front
        self.margin, self.crossfade_s = margin, crossfade_s
        mel = synth.cfg.mel
        self.sr, self.hop = mel.sample_rate, mel.hop_length

    # ------------------------------------------------------------------ shared steps
    def _slots(self, rec: Recording) -> tuple[Slots, torch.Tensor]:
        mel = normalise(log_mel(rec.wav, self.synth.cfg.mel).T, self.synth.loaded.stats)  # (T, M)
        slots = slots_from_alignment(rec.alignment, mel.shape[0], self.sr, self.hop, rec.words)
        return slots, mel

    def _durations(self, tokens: list[Token], rate: float, seed: int) -> list[int]:
        context = [t.frames for t in tokens]
        if all(c is not None for c in context):
            return [int(c) for c in context]
        if self.durations is None:
            exp = experiment_dir_of(self.synth.loaded.checkpoint)
            raise VoiceflowError(f"no duration model in {exp / 'duration'}: train one there (a config with "
                                 f"task: duration), or give its directory with --duration")
        durations = self.durations.predict([t.phone for t in tokens], context, rate=rate, seed=seed)
        if sum(durations) * self.hop / self.sr > MAX_SECONDS:
            raise VoiceflowError(f"the result would last {sum(durations) * self.hop / self.sr:.0f} s "
                                 f"(at most {MAX_SECONDS:.0f} s per request)")
        return durations

    def _generate(self, name: str, tokens: list[Token], mel: torch.Tensor | None, rate: float,
                  sampling: dict) -> tuple[torch.Tensor, list[int], torch.Tensor]:
        """Normalised mel (T', M) of the token sequence, their durations, and its mask (T',)."""
        from voiceflow.infer.synthesizer import InfillItem

        durations = self._durations(tokens, rate, sampling.get("seed", 0))
        total, M = sum(durations), self.synth.cfg.mel.n_mels
        x = torch.zeros(total, M)
        mask = torch.zeros(total, dtype=torch.bool)
        ids = torch.tensor(self.synth.loaded.inventory.ids(t.phone for t in tokens), dtype=torch.long)
        phones = torch.repeat_interleave(ids, torch.tensor(durations, dtype=torch.long))
        f = 0
        for tok, n in zip(tokens, durations):
            if tok.source is not None:
                x[f:f + n] = mel[tok.source:tok.source + n]
            mask[f:f + n] = not tok.kept
            f += n
        if not mask.any():
            return x, durations, mask
        item = InfillItem(name, x, phones, mask)
        out = self.synth.infill_items([item], **_sampling(sampling))[0]
        return out, durations, mask

    def _splice(self, rec: Recording, tokens: list[Token], out: torch.Tensor, durations: list[int],
                orig_frames: int) -> torch.Tensor:
        generated = self.synth.to_wave(out)
        runs = runs_from_tokens(tokens, durations)
        return splice(rec.wav, generated, runs, self.hop, orig_frames, round(self.crossfade_s * self.sr))

    def _info(self, task: str, durations: list[int], mask: torch.Tensor, **extra) -> dict:
        hop_s = self.hop / self.sr
        return {"task": task, "frames": sum(durations), "generated_s": round(int(mask.sum()) * hop_s, 3), **extra}

    @staticmethod
    def _request_key(task: str, rec: Recording, *texts: str) -> str:
        """The name that seeds a request's noise: task, a checksum of the recording's samples
        (not its path) and the request's texts."""
        return f"{task}:{zlib.crc32(rec.wav.numpy().tobytes()):08x}:" + "|".join(texts)

    # ------------------------------------------------------------------ tasks
    def edit(self, wav: str, text: str, new_text: str, rate: float = 1.0, task: str = "edit",
             alignment=None, **sampling) -> tuple[torch.Tensor, dict]:
        """Regenerate the words that differ between ``text`` (what ``wav`` says) and ``new_text``.

        When the words are the same, the recording is returned as loaded (at the model's rate).
        ``alignment`` (every task): the recording's own alignment (TextGrid or JSON file, or
        the list) instead of the built-in aligner.
        """
        old_words, _ = self.front.phonemize(text, what=f"{wav}: text")
        new_words, new_phones = self.front.phonemize(new_text, what="new text")
        if not [op for op in word_diff(old_words, new_words) if op[0] != "equal"]:
            return self.front.load(wav, self.sr), {"task": task, "changes": []}
        rec = self.front.recording(wav, text, self.sr, alignment)
        slots, mel = self._slots(rec)
        new_slots, changes = edit_slots(slots, rec.words, new_words, new_phones)
        tokens = add_margin(flatten(new_slots), self.margin)
        key = self._request_key(task, rec, text, new_text)
        out, durations, mask = self._generate(key, tokens, mel, rate, sampling)
        wav_out = self._splice(rec, tokens, out, durations, mel.shape[0])
        described = [{"op": tag, "old": " ".join(rec.words[i0:i1]), "new": " ".join(new_words[j0:j1])}
                     for tag, i0, i1, j0, j1 in changes]
        return wav_out, self._info(task, durations, mask, changes=described)

    def continue_(self, wav: str, text: str, prompt_text: str | None = None, rate: float = 1.0,
                  alignment=None, **sampling) -> tuple[torch.Tensor, dict]:
        """Speak the rest of ``text``; the recording says its first words (``prompt_text``; or,
        when not given, as many words as ``alignment`` holds, or the prefix of ``text`` that
        the aligner fits best)."""
        words, _ = self.front.phonemize(text, what="text")
        if prompt_text is None and alignment is not None:
            from voiceflow.align import count_words, load_alignment
            from voiceflow.audio import audio_duration

            alignment, name = load_alignment(alignment, audio_duration(wav), f"{wav}: alignment")
            n = count_words(alignment)
            if n > len(words):
                raise VoiceflowError(f"{name}: {n} words aligned, but the text has only {len(words)}")
            prefix = words[:n]
        elif prompt_text is None:
            prefix = self._spoken_prefix(wav, words)
        else:
            prefix, _ = self.front.phonemize(prompt_text, what="prompt text")
            if [w.lower() for w in words[:len(prefix)]] != [w.lower() for w in prefix]:
                raise VoiceflowError(f"{wav}: the prompt text {' '.join(prefix)!r} does not begin the text")
        wav_out, info = self.edit(wav, " ".join(prefix), " ".join(words), rate, task="continue",
                                  alignment=alignment, **sampling)
        return wav_out, {**info, "prompt_words": len(prefix)}

    def _spoken_prefix(self, wav: str, words: list[str]) -> list[str]:
        """The prefix of ``words`` whose forced alignment fits the recording best (the lowest
        mismatch score of the aligner; prefixes it refuses as mismatched are skipped)."""
        from voiceflow.align.aligner import align_words

        audio = self.front.load(wav, self.sr)
        _, phones = self.front.phonemize(" ".join(words), what="text")
        best, best_k = None, None
        for k in range(1, len(words) + 1):
            try:
                score = align_words(audio, self.sr, list(zip(words[:k], phones[:k])), self.front.g2p.to_arpabet,
                                    name=str(wav)).score
            except VoiceflowError:
                continue
            if best is None or score < best:
                best, best_k = score, k
        if best_k is None:
            raise VoiceflowError(f"{wav}: no beginning of the text matches the recording")
        return words[:best_k]

    def denoise(self, wav: str, text: str, start: float, end: float, alignment=None,
                **sampling) -> tuple[torch.Tensor, dict]:
        """Regenerate [start, end] (widened to the phone boundaries around it, so that no noisy
        sample stays) with the transcript's phones."""
        rec = self.front.recording(wav, text, self.sr, alignment)
        slots, mel = self._slots(rec)
        try:
            f0, f1 = snap_span(rec.alignment, start, end, mel.shape[0], self.sr, self.hop, outward=True)
        except VoiceflowError as e:
            raise VoiceflowError(f"{wav}: {e}") from None
        tokens, f, regenerated = [], 0, []
        for tok in flatten(slots):
            n = tok.frames
            overlaps = n > 0 and f < f1 and f + n > f0
            tokens.append(Token(tok.phone, n, tok.source, regenerate=overlaps))
            if overlaps:
                regenerated += [f, f + n]
            f += n
        if not regenerated:
            raise VoiceflowError(f"{wav}: span {start:.3f}-{end:.3f} s holds no phone frames")
        key = self._request_key("denoise", rec, text, f"{f0}-{f1}")
        out, durations, mask = self._generate(key, tokens, mel, 1.0, sampling)
        wav_out = self._splice(rec, tokens, out, durations, mel.shape[0])
        hop_s = self.hop / self.sr
        # the frames of the regenerated phones (a phone of the slots may reach past the snapped span)
        r0, r1 = min(regenerated), max(regenerated)
        return wav_out, self._info("denoise", durations, mask, span=[round(r0 * hop_s, 4), round(r1 * hop_s, 4)])

    def tts(self, prompt_wav: str, prompt_text: str, text: str, rate: float = 1.0, keep_prompt: bool = False,
            alignment=None, **sampling) -> tuple[torch.Tensor, dict]:
        """Say ``text`` in the voice of the prompt (``alignment``: the prompt's own); by default
        only the new speech is returned."""
        words, phones = self.front.phonemize(text, what="text")
        rec = self.front.recording(prompt_wav, prompt_text, self.sr, alignment)
        prompt, mel = self._slots(rec)
        n_prompt = len(prompt.words)
        slots = Slots(prompt.gaps[:-1] + [new_gap() for _ in range(len(words) + 1)],
                      prompt.words + [new_word(p) for p in phones], prompt.texts + words)
        tokens = flatten(slots)
        key = self._request_key("tts", rec, prompt_text, text)
        out, durations, mask = self._generate(key, tokens, mel, rate, sampling)
        first_new = 1 + sum(len(w) + 1 for w in prompt.words)  # index of the first new word's first token
        joint_gap = first_new - 1
        if keep_prompt:
            wav_out = self._splice(rec, tokens, out, durations, mel.shape[0])
        else:
            start = sum(durations[:first_new]) - min(durations[joint_gap], round(TTS_LEAD_S * self.sr / self.hop))
            wav_out = self.synth.to_wave(out[start:])
        info = self._info("tts", durations, mask, prompt_words=n_prompt, words=len(words))
        if not keep_prompt:  # the output is new speech only: the generated frames before it are cut
            info["generated_s"] = round(wav_out.numel() / self.sr, 3)
        return wav_out, info


def _sampling(options: dict) -> dict:
    """The options of :meth:`Synthesizer.infill_items` among ``options``; unknown keys are errors."""
    unknown = set(options) - set(SAMPLING_KEYS)
    if unknown:
        raise TypeError(f"unknown sampling options: {', '.join(sorted(unknown))}")
    return dict(options)
