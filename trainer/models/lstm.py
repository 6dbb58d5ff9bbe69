"""A next-word LSTM for LEAF Reddit (FLTK's reddit_lstm.py with LEAF's sizes)."""

from __future__ import annotations

import torch
from torch import nn


class RedditLSTM(nn.Module):
    """Embedding, a stacked LSTM and a dense decoder over the vocabulary.

    Input (N, seq_len) token ids; output (N, vocab, seq_len) logits, the layout
    nn.CrossEntropyLoss expects for (N, seq_len) targets. Dropout 0.5 on the embedding, between
    LSTM layers and on the LSTM output follows the seed (and PyTorch's word_language_model)."""

    def __init__(
        self,
        vocab_size: int = 10_000,
        embedding_dim: int = 200,
        hidden_size: int = 256,
        num_layers: int = 2,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(
            embedding_dim, hidden_size, num_layers, batch_first=True, dropout=dropout
        )
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.lstm(self.drop(self.embedding(tokens)))
        logits: torch.Tensor = self.decoder(self.drop(hidden)).transpose(1, 2)
        return logits
