"""The zoo's definitions, filed by :mod:`jaxseq.zoo.registry` in the chapter's order.

============================  =================================================================
module                        what it holds
============================  =================================================================
:mod:`jaxseq.zoo.registry`    :class:`Dims`, :func:`register`, the entries by name
:mod:`jaxseq.zoo.blocks`      ``EncoderDecoder`` and ``VectorToSequence`` (not plain stacks)
:mod:`jaxseq.zoo.chapter`     the chapter's table, ``linear`` ... ``gated_wavenet``
:mod:`jaxseq.zoo.beyond`      the seed's other modes and cell forms
============================  =================================================================

Use the zoo through :mod:`jaxseq.models` (``models.get``, ``models.names``).
"""

from jaxseq.zoo import beyond, blocks, chapter, registry  # beyond imports chapter first
from jaxseq.zoo.registry import MODES, Dims, register

__all__ = ["MODES", "Dims", "beyond", "blocks", "chapter", "register", "registry"]
