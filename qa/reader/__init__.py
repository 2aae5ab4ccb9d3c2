"""The trained reader: span scores and a no-answer option over the encoder's token states.

``data`` turns SQuAD-format sets into chunk-level examples, ``features`` caches their token
states, ``model`` is the head, ``decode`` turns its scores into snapped spans, ``train`` fits
it, and ``reader`` applies it to retrieved chunks at question time.
"""
