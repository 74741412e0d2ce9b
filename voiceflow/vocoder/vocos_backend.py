"""The vocos vocoder (Siuzdak, 2023) behind the :class:`~voiceflow.vocoder.base.Vocoder` contract.

A vocos model is a folder (or a Hugging Face hub repo) holding two files, the layout of
``charactr/vocos-mel-24khz``::

    config.yaml         feature_extractor / backbone / head, as read by Vocos.from_hparams
    pytorch_model.bin   the model's state_dict (torch.save)

Loading checks that the model's mel feature extractor computes exactly the features of the
given :class:`MelConfig` (sample rate, FFT, hop, window, bands, band edges, HTK scale, no
filter norm, magnitude, ``center=True``, log floor): a vocos trained on other features
would turn our mels into noise without any error, so a mismatch is refused up front.

Output length of ``Vocos.decode`` on T frames (B, M, T): with ``ISTFTHead(padding="center")``
(the public mel-24khz model) it is ``(T - 1) * hop``, already aligned with the analysis; with
``padding="same"`` it is ``T * hop`` and frame t is centred on sample ``t * hop + hop // 2``,
so the first ``hop // 2`` samples are dropped. In both cases the vocoder returns exactly
``(T - 1) * hop`` samples.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import yaml

from voiceflow.config import MelConfig
from voiceflow.errors import VoiceflowError
from voiceflow.vocoder.base import Vocoder

CONFIG_NAME = "config.yaml"
WEIGHTS_NAME = "pytorch_model.bin"
MEL_FEATURES = "vocos.feature_extractors.MelSpectrogramFeatures"
VOCOS_LOG_FLOOR = 1e-7  # vocos.modules.safe_log clips at 1e-7


class HubFetchError(VoiceflowError):
    """A hub repo's files could neither be downloaded nor found in the local HF cache."""


def _first_line(error: BaseException, limit: int = 160) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else ""
    line = line if len(line) <= limit else line[: limit - 3] + "..."
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


def _mel_mismatches(model, mel_cfg: MelConfig) -> list[str]:
    """Differences between a vocos model's mel features and ``mel_cfg``, as 'key X vs Y'."""
    fe = model.feature_extractor
    spec = fe.mel_spec
    fb = spec.mel_scale
    sr = mel_cfg.sample_rate
    want = {
        "sample_rate": sr,
        "n_fft": mel_cfg.n_fft,
        "hop_length": mel_cfg.hop_length,
        "win_length": mel_cfg.win_length,
        "n_mels": mel_cfg.n_mels,
        "f_min": float(mel_cfg.f_min),
        "f_max": float(mel_cfg.f_max or sr / 2),
        "power": 1.0,
        "padding": "center",
        "mel_scale": "htk",
        "norm": None,
        "log_floor": float(mel_cfg.log_floor),
    }
    have = {
        "sample_rate": spec.sample_rate,
        "n_fft": spec.n_fft,
        "hop_length": spec.hop_length,
        "win_length": spec.win_length,
        "n_mels": spec.n_mels,
        "f_min": float(spec.f_min),
        "f_max": float(spec.f_max if spec.f_max is not None else spec.sample_rate / 2),
        "power": float(spec.power) if spec.power is not None else None,
        "padding": fe.padding,
        "mel_scale": fb.mel_scale,
        "norm": fb.norm,
        "log_floor": VOCOS_LOG_FLOOR,
    }
    head_hop = getattr(getattr(model.head, "istft", None), "hop_length", None)
    if head_hop is not None:
        want["head hop_length"], have["head hop_length"] = mel_cfg.hop_length, head_hop
    out = []
    for key, value in want.items():
        got = have[key]
        if isinstance(value, float) and isinstance(got, (int, float)):
            same = math.isclose(got, value, rel_tol=1e-6)
        else:
            same = got == value
        if not same:
            out.append(f"{key} {got} (vocos) vs {value} (config)")
    return out


class VocosVocoder(Vocoder):
    """A ``vocos.Vocos`` model vocoding log-mels of the mel contract.

    Args:
        model: a built ``vocos.Vocos`` with a ``MelSpectrogramFeatures`` feature extractor.
        mel_cfg: the mel features the caller produces; must match the model's.
        source: where the model came from, for messages.

    Call with a log-mel (B, M, T) or (M, T); returns (B, (T - 1) * hop) or ((T - 1) * hop,).
    """

    name = "vocos"

    def __init__(self, model, mel_cfg: MelConfig | None = None, source: str = "vocos"):
        mel_cfg = mel_cfg or MelConfig()
        super().__init__(mel_cfg)
        from vocos.feature_extractors import MelSpectrogramFeatures

        if not isinstance(model.feature_extractor, MelSpectrogramFeatures):
            raise VoiceflowError(
                f"{source}: vocos model uses {type(model.feature_extractor).__name__}, not mel features"
            )
        diffs = _mel_mismatches(model, mel_cfg)
        if diffs:
            raise VoiceflowError(
                f"{source}: vocos was trained on other mel features than the config: {'; '.join(diffs)} "
                "(use vocos weights trained on the config's features, or change the mel config)"
            )
        self.source = source
        self.model = model.eval().requires_grad_(False)

    def decode(self, mel: torch.Tensor) -> torch.Tensor:
        """log-mel (B, M, T) -> waveform (B, N'), sample 0 at the centre of frame 0."""
        wav = self.model.decode(mel)
        extra = wav.shape[-1] - self.num_samples(mel.shape[-1])
        # "same" padding yields T * hop samples centred half a hop late: drop hop // 2 in front.
        return wav[..., extra // 2 :] if extra > 0 else wav

    # ----------------------------------------------------------------- construction

    @classmethod
    def from_files(
        cls,
        config_path: str | Path,
        weights_path: str | Path,
        mel_cfg: MelConfig | None = None,
        source: str = "",
    ) -> "VocosVocoder":
        """Build from a vocos ``config.yaml`` and a ``pytorch_model.bin`` state_dict."""
        from vocos import Vocos

        config_path, weights_path = Path(config_path), Path(weights_path)
        source = source or str(config_path.parent)
        try:
            hparams = yaml.safe_load(config_path.read_text(encoding="utf-8"))
            extractor = hparams["feature_extractor"]["class_path"]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
            raise VoiceflowError(f"{config_path}: not a readable vocos config ({_first_line(e)})") from e
        if extractor != MEL_FEATURES:
            # Checked before building: EncodecFeatures would try to download encodec weights.
            raise VoiceflowError(
                f"{config_path}: vocos feature extractor is {extractor}, expected {MEL_FEATURES}"
            )
        try:
            model = Vocos.from_hparams(str(config_path))
        except Exception as e:  # bad class paths or init args surface as many error types
            reason = _first_line(e)
            raise VoiceflowError(f"{config_path}: cannot build vocos from this config ({reason})") from e
        vocoder = cls(model, mel_cfg, source=source)  # checks the features before the weights
        try:
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
        except Exception as e:  # missing, truncated, or a pickle that needs arbitrary code
            raise VoiceflowError(f"{weights_path}: cannot read vocos weights ({_first_line(e)})") from e
        if not isinstance(state, dict):
            raise VoiceflowError(f"{weights_path}: expected a state_dict, found {type(state).__name__}")
        try:
            result = model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # shape mismatches
            reason = _first_line(e)
            raise VoiceflowError(f"{weights_path}: weights do not fit {config_path.name} ({reason})") from e
        if result.missing_keys or result.unexpected_keys:
            raise VoiceflowError(
                f"{weights_path}: weights do not fit {config_path.name} "
                f"(missing {result.missing_keys[:3]}, unexpected {result.unexpected_keys[:3]})"
            )
        return vocoder

    @classmethod
    def from_local(cls, folder: str | Path, mel_cfg: MelConfig | None = None) -> "VocosVocoder":
        """Load from a folder holding ``config.yaml`` and ``pytorch_model.bin``."""
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise VoiceflowError(f"{folder}: vocos folder not found")
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (folder / name).is_file():
                raise VoiceflowError(
                    f"{folder}: no {name} (a vocos folder holds {CONFIG_NAME} and {WEIGHTS_NAME})"
                )
        return cls.from_files(folder / CONFIG_NAME, folder / WEIGHTS_NAME, mel_cfg, source=str(folder))

    @classmethod
    def from_hub(
        cls,
        repo_id: str,
        mel_cfg: MelConfig | None = None,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
    ) -> "VocosVocoder":
        """Load from a Hugging Face hub repo, e.g. ``charactr/vocos-mel-24khz``.

        Uses ``huggingface_hub.hf_hub_download``, so a repo already in the HF cache loads
        without network (also with ``HF_HUB_OFFLINE=1``). Any fetch failure becomes a
        :class:`VoiceflowError` that suggests passing a local folder instead.
        """
        from huggingface_hub import hf_hub_download

        paths = []
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            try:
                paths.append(hf_hub_download(repo_id, name, revision=revision, cache_dir=cache_dir))
            except Exception as e:  # offline, no such repo/file/revision, bad id, HTTP errors
                at = f"@{revision}" if revision else ""
                raise HubFetchError(
                    f"could not fetch {name} of vocos repo {repo_id}{at} from the Hugging Face hub "
                    f"({_first_line(e, 100)}); download {CONFIG_NAME} and {WEIGHTS_NAME} into a folder "
                    "and pass that folder instead"
                ) from e
        return cls.from_files(paths[0], paths[1], mel_cfg, source=f"hub:{repo_id}")
