"""Shared fixtures. The helpers live in ``synthetic_corpus`` (this folder is on sys.path)."""

import pytest
import torch

from synthetic_corpus import make_corpus

# keep the test machine's 2 cores from oversubscribing when torch and numpy both thread
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def corpus(tmp_path):
    return make_corpus(tmp_path / "corpus")
