"""Question answering over a corpus of Chinese news stories.

Data flows one way: corpus files -> stories -> chunks -> index -> retrieval -> answer.
"""

__version__ = "0.1.0"
