"""Fixtures for the evaluation tests: synthetic tones, flite speech, tiny transformers stand-ins.

Nothing here downloads anything. Speech comes from Debian's flite (two voices, slt and rms);
tests that need it skip when flite is missing. The transformers stand-ins are randomly
initialised and tiny: their outputs are garbage, but loading and inference are the real code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_audio import SENTENCES, flite


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> dict:
    """{(voice, id): wav path} for the SENTENCES in the slt and rms voices (16 kHz)."""
    root = tmp_path_factory.mktemp("flite")
    return {(v, k): flite(t, v, root / v / f"{k}.wav") for v in ("slt", "rms") for k, t in SENTENCES.items()}


@pytest.fixture(scope="session")
def tiny_ctc(tmp_path_factory) -> Path:
    """A tiny random Wav2Vec2ForCTC with a character tokenizer, saved with save_pretrained."""
    import torch
    from transformers import (Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC,
                              Wav2Vec2Processor)

    d = tmp_path_factory.mktemp("tiny_ctc")
    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate("abcdefghijklmnopqrstuvwxyz'")}}
    (d / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = Wav2Vec2CTCTokenizer(str(d / "vocab.json"), unk_token="<unk>", pad_token="<pad>",
                                     word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                         return_attention_mask=False)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(d)
    config = Wav2Vec2Config(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=32, conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4),
                            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, pad_token_id=0)
    torch.manual_seed(0)
    Wav2Vec2ForCTC(config).save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def tiny_wavlm(tmp_path_factory) -> Path:
    """A tiny random WavLMForXVector with its feature extractor, saved with save_pretrained."""
    import torch
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    d = tmp_path_factory.mktemp("tiny_wavlm")
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                             return_attention_mask=True).save_pretrained(d)
    config = WavLMConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                         conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=2, num_buckets=16, max_bucket_distance=32,
                         tdnn_dim=(16, 16), tdnn_kernel=(3, 1), tdnn_dilation=(1, 1), xvector_output_dim=8)
    torch.manual_seed(0)
    WavLMForXVector(config).save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory) -> Path:
    """A tiny random WhisperForConditionalGeneration with a byte-level character vocabulary."""
    import torch
    from transformers import (WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration,
                              WhisperProcessor, WhisperTokenizer)
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    d = tmp_path_factory.mktemp("tiny_whisper")
    byte_char = bytes_to_unicode()
    vocab = {byte_char[ord(c)]: i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz ")}
    for special in ("<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"):
        vocab[special] = len(vocab)
    (d / "vocab.json").write_text(json.dumps(vocab))
    (d / "merges.txt").write_text("#version: 0.2\n")
    eot = "<|endoftext|>"
    tokenizer = WhisperTokenizer(str(d / "vocab.json"), str(d / "merges.txt"), unk_token=eot, bos_token=eot,
                                 eos_token=eot, pad_token=eot)
    WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer).save_pretrained(d)
    config = WhisperConfig(vocab_size=len(vocab), num_mel_bins=80, d_model=16, encoder_layers=1, decoder_layers=1,
                           encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                           decoder_ffn_dim=32, max_source_positions=1500, max_target_positions=32,
                           pad_token_id=vocab[eot], bos_token_id=vocab[eot], eos_token_id=vocab[eot],
                           decoder_start_token_id=vocab["<|startoftranscript|>"])
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    model.generation_config.max_new_tokens = 8
    model.save_pretrained(d)
    return d
