"""The reader head: reads a question's and a passage's token states, scores spans and "no answer".

The encoder is frozen and shared with retrieval, so passages and questions are encoded apart
(the index keeps passage states; the question's embedding pass gives the question's). The
head joins them: each passage token attends over the question tokens, a token-id match flag
marks words the question repeats, and two small layers read the result in context (with
``cross``, the shipped setting, each layer also attends over the question again). Answers
are pointed at *characters*, not tokens: the encoder's pieces often cross
word boundaries (``日在`` is one piece), so each character gets its token's state plus boundary
features (first/last character of its piece, start/end of a jieba word, punctuation), and the
start and end scorers learn where answers begin and end. About 0.9 M parameters.
"""

from __future__ import annotations

import torch
from torch import nn

NO_MATCH_IDS = (0, 1, 2, 3, 6)  # <s> <pad> </s> <unk> and the lone word marker "▁": no match flag
CHAR_FEATURES = 6


class ReaderHead(nn.Module):
    def __init__(self, in_dim: int = 1152, dim: int = 128, heads: int = 4, layers: int = 2,
                 dropout: float = 0.1, cross: bool = False):
        super().__init__()
        self.config = dict(in_dim=in_dim, dim=dim, heads=heads, layers=layers, dropout=dropout, cross=cross)
        self.p_proj = nn.Sequential(nn.Linear(in_dim, dim), nn.GELU(), nn.LayerNorm(dim), nn.Dropout(dropout))
        self.q_proj = nn.Sequential(nn.Linear(in_dim, dim), nn.GELU(), nn.LayerNorm(dim), nn.Dropout(dropout))
        self.att = nn.Linear(dim, dim, bias=False)
        self.fuse = nn.Sequential(nn.Linear(4 * dim + 1, dim), nn.GELU(), nn.LayerNorm(dim))
        self.cross = cross
        if cross:  # every layer also attends over the question again
            layer = nn.TransformerDecoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerDecoder(layer, layers)
        else:
            layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.char_in = nn.Linear(dim + CHAR_FEATURES, dim)
        self.start = nn.Sequential(nn.GELU(), nn.Linear(dim, 1))
        self.end = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU(), nn.Linear(dim, 1))
        self.null = nn.Sequential(nn.Linear(3 * dim, dim), nn.GELU(), nn.Linear(dim, 1))

    def forward(self, p_states, p_mask, p_ids, q_states, q_mask, q_ids, char_tok, char_feats, char_mask):
        """Start and end logits per character (batch, chars) and the no-answer logit (batch,).

        ``*_mask`` are True on real tokens/characters; ``char_tok`` (batch, chars) is the
        token each character belongs to. The caller masks characters that may not start or
        end an answer.
        """
        p = self.p_proj(p_states)
        q = self.q_proj(q_states)
        scores = torch.einsum("bpd,bqd->bpq", self.att(p), q) / p.shape[-1] ** 0.5
        scores = scores.masked_fill(~q_mask[:, None, :], float("-inf"))
        q_aware = torch.softmax(scores, dim=-1) @ q
        match = (p_ids[:, :, None] == q_ids[:, None, :]) & q_mask[:, None, :]
        keep = torch.ones_like(p_mask)
        for i in NO_MATCH_IDS:
            keep &= p_ids != i
        match = (match.any(-1) & keep).unsqueeze(-1).float()
        h = self.fuse(torch.cat([p, q_aware, p * q_aware, p - q_aware, match], dim=-1))
        if self.cross:
            h = self.norm(self.encoder(h, q, tgt_key_padding_mask=~p_mask, memory_key_padding_mask=~q_mask))
        else:
            h = self.norm(self.encoder(h, src_key_padding_mask=~p_mask))
        hc = torch.gather(h, 1, char_tok[:, :, None].expand(-1, -1, h.shape[-1]))
        c = self.char_in(torch.cat([hc, char_feats], dim=-1))
        start = self.start(c).squeeze(-1)
        # the end scorer also sees a summary of where the answer starts, weighted by start scores
        w = torch.softmax(start.masked_fill(~char_mask, float("-inf")), dim=-1)
        start_summary = (w[:, :, None] * c).sum(1, keepdim=True).expand_as(c)
        end = self.end(torch.cat([c, start_summary], dim=-1)).squeeze(-1)
        m = p_mask[:, :, None].float()
        mean = (h * m).sum(1) / m.sum(1).clamp(min=1)
        maxed = h.masked_fill(~p_mask[:, :, None], -1e4).max(1).values
        qm = q_mask[:, :, None].float()
        q_mean = (q * qm).sum(1) / qm.sum(1).clamp(min=1)
        null = self.null(torch.cat([mean, maxed, q_mean], dim=-1)).squeeze(-1)
        return start, end, null


def span_loss(start, end, null, answer_mask, targets):
    """Cross-entropy over [no answer] + characters, for starts and ends.

    ``answer_mask`` (batch, chars) is True where an answer may start or end; ``targets``
    (batch, 2) holds the first and last character, or -1 for "no answer".
    """
    neg = -1e4
    s = torch.cat([null[:, None], start.masked_fill(~answer_mask, neg)], dim=1)
    e = torch.cat([null[:, None], end.masked_fill(~answer_mask, neg)], dim=1)
    ts, te = targets[:, 0] + 1, targets[:, 1] + 1  # -1 (no answer) -> 0
    ce = nn.functional.cross_entropy
    return (ce(s, ts) + ce(e, te)) / 2
