"""The reader head: reads a question's and a passage's token states, scores spans and "no answer".

The encoder is frozen and shared with retrieval, so passages and questions are encoded apart
(the index keeps passage states; the question's embedding pass gives the question's). The
head joins them: each passage token attends over the question tokens, a token-id match flag
marks words the question repeats, and two small layers read the result in context (with
``cross``, the shipped setting, each layer also attends over the question again). Answers
are pointed at *characters*, not tokens: the encoder's pieces often cross
word boundaries (``日在`` is one piece), so each character gets its token's state plus boundary
features (first/last character of its piece, start/end of a jieba word, punctuation), and the
start and end scorers learn where answers begin and end. About 0.9 M parameters. The layers that
attend over the question (:class:`Decoder`) are ``nn.TransformerDecoder``'s computation with its
parameter names, written with free shapes so the head exports to ONNX for any batch and length
(the app reads through ONNX Runtime, :mod:`qa.reader.onnx_head`).

With ``joint`` (an experiment, not the shipped setting: see the README), the encoder's top
layers run once more over the question and the passage *together*: layer 9's states of both
(cached apart, as above) are joined into one sequence and passed through copies of layers 10-12,
fine-tuned, so every passage token can attend to the question inside the encoder itself (the
"decomposed transformer" idea: lower layers apart, upper layers joint). Their output is a fourth
block of input features. Costs about 5 M more parameters and about 7 ms a passage; measured +0.9
F1 on the CMRC trial set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .chars import CHAR_FEATURES, OVERLAP_FEATURES

NO_MATCH_IDS = (0, 1, 2, 3, 6)  # <s> <pad> </s> <unk> and the lone word marker "▁": no match flag


class BertBlock(nn.Module):
    """One post-norm BERT encoder layer, numerically the same as ``transformers``' BertLayer."""

    def __init__(self, hidden: int = 384, heads: int = 12, inner: int = 1536, dropout: float = 0.1,
                 eps: float = 1e-12):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm1 = nn.LayerNorm(hidden, eps=eps)
        self.up = nn.Linear(hidden, inner)
        self.down = nn.Linear(inner, hidden)
        self.norm2 = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``mask`` (batch, tokens) is True on real tokens."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        drop = self.dropout if self.training else 0.0
        # no dropout on attention weights: it forces the slow attention kernel (5x on CPU)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        x = self.norm1(x + F.dropout(self.out(a.transpose(1, 2).reshape(b, t, d)), drop, self.training))
        return self.norm2(x + F.dropout(self.down(F.gelu(self.up(x))), drop, self.training))

    @torch.no_grad()
    def copy_bert(self, layer) -> BertBlock:
        """Take the weights of a ``transformers`` BertLayer."""
        att = layer.attention
        self.qkv.weight.copy_(torch.cat([att.self.query.weight, att.self.key.weight, att.self.value.weight]))
        self.qkv.bias.copy_(torch.cat([att.self.query.bias, att.self.key.bias, att.self.value.bias]))
        for mine, theirs in ((self.out, att.output.dense), (self.norm1, att.output.LayerNorm),
                             (self.up, layer.intermediate.dense), (self.down, layer.output.dense),
                             (self.norm2, layer.output.LayerNorm)):
            mine.load_state_dict(theirs.state_dict())
        return self


class Attention(nn.Module):
    """Multi-head attention with ``nn.MultiheadAttention``'s parameters (same names, same numbers),
    written with shapes left free so it exports to ONNX for any batch and length."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, memory_pad: torch.Tensor) -> torch.Tensor:
        """``x`` attends over ``memory``; ``memory_pad`` (batch, keys) is True on padding."""
        d = x.shape[-1]
        wq, wk, wv = self.in_proj_weight.chunk(3)
        bq, bk, bv = self.in_proj_bias.chunk(3)

        def split(t):  # (batch, tokens, dim) -> (batch, heads, tokens, dim / heads)
            return t.reshape(t.shape[0], -1, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(F.linear(x, wq, bq)), split(F.linear(memory, wk, bk)), split(F.linear(memory, wv, bv))
        drop = self.dropout if self.training else 0.0
        # an additive mask, not a boolean one: the same numbers, but the ONNX export of a boolean
        # mask guards the whole score matrix against NaN (two more passes over it, 15% of the head)
        mask = torch.zeros_like(memory_pad, dtype=q.dtype).masked_fill(memory_pad, float("-inf"))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :], dropout_p=drop)
        return self.out_proj(a.transpose(1, 2).reshape(x.shape[0], -1, d))


class DecoderLayer(nn.Module):
    """``nn.TransformerDecoderLayer(norm_first=True, batch_first=True)``, ReLU, the same parameters
    and numbers: self-attention over the passage, attention over the question, feed-forward."""

    def __init__(self, dim: int, heads: int, inner: int, dropout: float):
        super().__init__()
        self.self_attn = Attention(dim, heads, dropout)
        self.multihead_attn = Attention(dim, heads, dropout)
        self.linear1, self.linear2 = nn.Linear(dim, inner), nn.Linear(inner, dim)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.drop = dropout

    def forward(self, x, memory, x_pad, memory_pad):
        d = lambda t: F.dropout(t, self.drop, self.training)  # noqa: E731
        h = self.norm1(x)
        x = x + d(self.self_attn(h, h, x_pad))
        x = x + d(self.multihead_attn(self.norm2(x), memory, memory_pad))
        return x + d(self.linear2(d(F.relu(self.linear1(self.norm3(x))))))


class Decoder(nn.Module):
    def __init__(self, dim: int, heads: int, inner: int, dropout: float, layers: int):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(dim, heads, inner, dropout) for _ in range(layers))

    def forward(self, x, memory, tgt_key_padding_mask, memory_key_padding_mask):
        for layer in self.layers:
            x = layer(x, memory, tgt_key_padding_mask, memory_key_padding_mask)
        return x


class JointLayers(nn.Module):
    """The encoder's top layers over ``[question; passage]``, from both texts' lower-layer states."""

    def __init__(self, layers: int = 3, hidden: int = 384, heads: int = 12, inner: int = 1536):
        super().__init__()
        self.blocks = nn.ModuleList(BertBlock(hidden, heads, inner) for _ in range(layers))
        self.question_type = nn.Parameter(torch.zeros(hidden))  # marks question tokens

    def forward(self, q, q_mask, p, p_mask):
        x = torch.cat([q + self.question_type, p], dim=1)
        mask = torch.cat([q_mask, p_mask], dim=1)
        for block in self.blocks:
            x = block(x, mask)
        return x[:, :q.shape[1]], x[:, q.shape[1]:]


class ReaderHead(nn.Module):
    def __init__(self, in_dim: int = 1152, dim: int = 128, heads: int = 4, layers: int = 2,
                 dropout: float = 0.1, cross: bool = False, joint: int = 0, joint_from: int = 1,
                 hidden: int = 384, overlap: bool = False):
        super().__init__()
        self.config = dict(in_dim=in_dim, dim=dim, heads=heads, layers=layers, dropout=dropout, cross=cross,
                           joint=joint, joint_from=joint_from, hidden=hidden, overlap=overlap)
        # overlap: read the question-overlap features too (per character, and their maximum per
        # token beside the token-id match flag); heads trained without them ignore those columns
        self.overlap = overlap
        extra = OVERLAP_FEATURES if overlap else 0
        # joint: how many top encoder layers rerun jointly; joint_from: which block of the
        # input states (0, 1, 2 = layers 6, 9, 12) feeds them
        self.joint = JointLayers(joint, hidden) if joint else None
        self.joint_cols = slice(joint_from * hidden, (joint_from + 1) * hidden)
        width = in_dim + (hidden if joint else 0)
        self.p_proj = nn.Sequential(nn.Linear(width, dim), nn.GELU(), nn.LayerNorm(dim), nn.Dropout(dropout))
        self.q_proj = nn.Sequential(nn.Linear(width, dim), nn.GELU(), nn.LayerNorm(dim), nn.Dropout(dropout))
        self.att = nn.Linear(dim, dim, bias=False)
        self.fuse = nn.Sequential(nn.Linear(4 * dim + 1 + extra, dim), nn.GELU(), nn.LayerNorm(dim))
        self.cross = cross
        if cross:  # every layer also attends over the question again
            self.encoder = Decoder(dim, heads, 2 * dim, dropout, layers)
        else:
            layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.char_in = nn.Linear(dim + CHAR_FEATURES + extra, dim)
        self.start = nn.Sequential(nn.GELU(), nn.Linear(dim, 1))
        self.end = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU(), nn.Linear(dim, 1))
        self.null = nn.Sequential(nn.Linear(3 * dim, dim), nn.GELU(), nn.Linear(dim, 1))

    def forward(self, p_states, p_mask, p_ids, q_states, q_mask, q_ids, char_tok, char_feats, char_mask):
        """Start and end logits per character (batch, chars) and the no-answer logit (batch,).

        ``*_mask`` are True on real tokens/characters; ``char_tok`` (batch, chars) is the
        token each character belongs to. The caller masks characters that may not start or
        end an answer.
        """
        if self.joint is not None:
            c = self.joint_cols
            jq, jp = self.joint(q_states[..., c], q_mask, p_states[..., c], p_mask)
            p_states, q_states = torch.cat([p_states, jp], -1), torch.cat([q_states, jq], -1)
        p = self.p_proj(p_states)
        q = self.q_proj(q_states)
        scores = torch.einsum("bpd,bqd->bpq", self.att(p), q) / p.shape[-1] ** 0.5
        scores = scores.masked_fill(~q_mask[:, None, :], float("-inf"))
        q_aware = torch.softmax(scores, dim=-1) @ q
        match = (p_ids[:, :, None] == q_ids[:, None, :]) & q_mask[:, None, :]
        keep = torch.ones_like(p_mask)
        for i in NO_MATCH_IDS:
            keep = keep & (p_ids != i)  # not in place: exports to ONNX
        match = (match.any(-1) & keep).unsqueeze(-1).float()
        features = [p, q_aware, p * q_aware, p - q_aware, match]
        if self.overlap:
            features.append(_token_max(char_feats[..., CHAR_FEATURES:], char_tok, char_mask, p_mask))
        else:
            char_feats = char_feats[..., :CHAR_FEATURES]
        h = self.fuse(torch.cat(features, dim=-1))
        if self.cross:
            h = self.norm(self.encoder(h, q, ~p_mask, ~q_mask))
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


class Ensemble(nn.Module):
    """Several heads trained alike from different seeds, read as one: their logits averaged.

    A span's margin over "no answer" is ``start + end - 2 * null``, so averaging the raw logits
    averages the members' margins (each member's own normalisation cancels out). Measured on the
    CMRC train paragraphs held out for selection: three heads F1 69.1, the best one alone 67.5
    (README, third round of issue 9).
    """

    def __init__(self, heads: list[ReaderHead]):
        super().__init__()
        if not heads or any(h.joint is not None for h in heads):
            raise ValueError("an ensemble needs heads, none with joint encoder layers")
        if any(h.config != heads[0].config for h in heads):
            raise ValueError("an ensemble's heads must share one configuration (it is saved once)")
        self.members = nn.ModuleList(heads)
        self.config = {**heads[0].config, "members": len(heads)}

    def forward(self, *args, **kwargs):
        outs = [m(*args, **kwargs) for m in self.members]
        return tuple(torch.stack(parts).mean(0) for parts in zip(*outs))


def build_head(config: dict) -> nn.Module:
    """The head a weights file's ``config`` describes: one :class:`ReaderHead` or an :class:`Ensemble`."""
    cfg = dict(config)
    members = cfg.pop("members", 1)
    if members > 1:
        return Ensemble([ReaderHead(**cfg) for _ in range(members)])
    return ReaderHead(**cfg)


def _token_max(feats: torch.Tensor, char_tok: torch.Tensor, char_mask: torch.Tensor,
               p_mask: torch.Tensor) -> torch.Tensor:
    """(batch, tokens, k): each token's maximum of its characters' 0/1 features (0 for none).

    For 0/1 features the maximum is "any", so a count clipped at 1 gives it: one batched matrix
    product instead of a (batch, chars, tokens, k) product and maximum (3 ms of the head's 30)."""
    positions = torch.ones_like(p_mask[0], dtype=torch.long).cumsum(0) - 1  # 0..tokens-1, traced as such
    own = ((char_tok[:, :, None] == positions[None, None, :]) & char_mask[:, :, None]).float()
    return torch.bmm(own.transpose(1, 2), feats).clamp(max=1.0)


def with_joint(head: ReaderHead, bert_layers, joint_from: int = 1) -> ReaderHead:
    """``head`` extended with joint top layers copied from ``bert_layers``; it computes exactly
    what ``head`` did until training moves the new input columns away from zero."""
    cfg = {**head.config, "joint": len(bert_layers), "joint_from": joint_from}
    new = ReaderHead(**cfg)
    state = head.state_dict()
    with torch.no_grad():
        for name in ("p_proj.0.weight", "q_proj.0.weight"):
            w = torch.zeros_like(new.state_dict()[name])
            w[:, :state[name].shape[1]] = state[name]
            state[name] = w
    missing, unexpected = new.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("joint.") for k in missing), (missing, unexpected)
    for block, layer in zip(new.joint.blocks, bert_layers, strict=True):
        block.copy_bert(layer)
    return new


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
