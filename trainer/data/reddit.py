"""LEAF Reddit (Caldas et al. 2018) next-word sequences from LEAF's JSON files.

Layout: data_dir/reddit/{train,test}/*.json, each {"users", "num_samples", "user_data": {user:
{"x": [comment, ...], "y": [{"target_tokens": [...], ...}, ...]}}} where a comment is a list of
token lists (LEAF cuts comments into sequences of 10). One sample is one such sequence.

Vocabulary: data_dir/reddit/vocab.json (a JSON list of tokens; a token's id is its position)
when present, so that a curated or LEAF-derived vocabulary can be pinned; otherwise built from
the training files alone: <PAD>, <UNK>, <BOS>, <EOS>, then the most frequent input tokens
(ties in token order) up to 10,000 ids. Both are deterministic and identical for the train and
test splits; LEAF's own reddit_vocab.pck is a pickle, which this loader does not unpickle.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from trainer.data.common import IGNORE_INDEX, INPUT_SHAPES, NUM_CLASSES, DataError, Labelled

PAD, UNK = "<PAD>", "<UNK>"
SPECIALS = (PAD, UNK, "<BOS>", "<EOS>")  # PAD is id 0 as in LEAF
SEQ_LEN = INPUT_SHAPES["reddit"][0]
VOCAB_SIZE = NUM_CLASSES["reddit"]
VOCAB_FILE = "vocab.json"

Sample = tuple[str, list[str], list[str]]  # user, input tokens, target tokens


def _files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DataError(
            f"dataset reddit: no LEAF JSON files in {folder}; run LEAF's reddit preprocessing "
            "and copy its data/reddit/{train,test}/*.json there (reddit is never downloaded)"
        )
    return files


def _samples(folder: Path) -> Iterator[Sample]:
    for path in _files(folder):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            for user in data["users"]:
                record = data["user_data"][user]
                for comment, label in zip(record["x"], record["y"], strict=True):
                    targets = label["target_tokens"] if isinstance(label, dict) else label
                    for seq, target in zip(comment, targets, strict=True):
                        yield user, list(seq), list(target)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise DataError(
                f"dataset reddit: {path} is not LEAF reddit JSON ({type(err).__name__}: {err}); "
                "regenerate it with LEAF's preprocessing"
            ) from None


def vocabulary(root: Path) -> dict[str, int]:
    """Token -> id, read from root/vocab.json or built from root/train (see the module doc)."""
    pinned = root / VOCAB_FILE
    if pinned.is_file():
        tokens = json.loads(pinned.read_text(encoding="utf-8"))
        if not isinstance(tokens, list) or not set(SPECIALS[:2]) <= set(tokens):
            raise DataError(f"dataset reddit: {pinned} must be a JSON list holding {PAD} and {UNK}")
        if len(tokens) > VOCAB_SIZE:
            raise DataError(
                f"dataset reddit: {pinned} has {len(tokens)} tokens; keep <= {VOCAB_SIZE}"
            )
        return {token: i for i, token in enumerate(tokens)}
    counts = Counter(tok for _, seq, _ in _samples(root / "train") for tok in seq)
    for special in SPECIALS:
        counts.pop(special, None)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    words = [token for token, _ in ranked[: VOCAB_SIZE - len(SPECIALS)]]
    return {token: i for i, token in enumerate([*SPECIALS, *words])}


def _ids(tokens: list[str], vocab: Mapping[str, int], pad: int) -> list[int]:
    padded = (tokens + [PAD] * SEQ_LEN)[:SEQ_LEN]
    return [pad if tok == PAD else vocab.get(tok, vocab[UNK]) for tok in padded]


def reddit_dataset(cfg: Mapping[str, Any], data_dir: Path, train: bool, seed: int) -> Labelled:
    """Items (input_ids[10], target_ids[10]); padded targets are IGNORE_INDEX. `targets` is
    each sequence's first target id (for partition statistics), `users` its LEAF user."""
    root = data_dir / "reddit"
    vocab = vocabulary(root)
    users, inputs, outputs = [], [], []
    for user, seq, target in _samples(root / ("train" if train else "test")):
        users.append(user)
        inputs.append(_ids(seq, vocab, vocab[PAD]))
        outputs.append(_ids(target, vocab, IGNORE_INDEX))
    x = torch.tensor(inputs, dtype=torch.long).reshape(-1, SEQ_LEN)
    y = torch.tensor(outputs, dtype=torch.long).reshape(-1, SEQ_LEN)
    first = y[:, 0].clamp(min=vocab[PAD])  # an all-padding sequence counts as label <PAD>
    return Labelled(TensorDataset(x, y), first, users=users)
