"""The prize wheel: which prizes are on it, their odds, and a verifiable draw.

Everything here is pure (no database, no Slack) so that a spin can be replayed
and checked by anyone who has the seed, the published commitment and the list
of segments that were on the wheel.

Fairness scheme (commit-reveal):

1. Before the spin the bot picks a random ``seed`` (:func:`new_seed`) and
   publishes ``commitment(seed)`` = SHA-256 of the seed.
2. The winner is ``draw(segments, seed, context)``; HMAC-SHA256 keyed by the
   seed over a per-winner ``context`` gives a 256-bit number that picks a
   point on the wheel.
3. After the spin the seed is revealed; :func:`verify` (``pipeday spin
   verify``) recomputes everything.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

SEED_BYTES = 32
_HMAC_BITS = 256


class NoPrizesError(ValueError):
    """The wheel has no segment left: every prize is out of stock or has no weight."""


class CommitmentMismatch(ValueError):
    """The revealed seed does not hash to the commitment published before the spin."""


@dataclass(frozen=True)
class WheelPrize:
    """One prize as the wheel sees it; ``stock`` None means unlimited."""

    prize_id: int
    name: str
    weight: float
    stock: int | None


def _is_on_wheel(prize: WheelPrize) -> bool:
    in_stock = prize.stock is None or prize.stock > 0
    # A non-finite weight would make the odds meaningless, so it is treated like
    # a zero weight rather than crashing the spin.
    has_weight = math.isfinite(prize.weight) and prize.weight > 0
    return in_stock and has_weight


def wheel_segments(prizes: Iterable[WheelPrize]) -> list[WheelPrize]:
    """Prizes that can be won, ordered by ``prize_id``.

    Out-of-stock prizes (stock 0) and prizes with weight <= 0 leave the wheel;
    the odds of the others are renormalised (see :func:`odds`). Sorting by id
    makes the wheel layout, and therefore every draw, reproducible.
    """
    return sorted((p for p in prizes if _is_on_wheel(p)), key=lambda p: p.prize_id)


def odds(segments: Sequence[WheelPrize]) -> list[float]:
    """Probability of each segment: weight / sum of weights (empty wheel -> [])."""
    total = sum(_exact_weight(s) for s in segments)
    return [float(_exact_weight(s) / total) for s in segments]


def new_seed() -> str:
    """A fresh secret seed: 32 random bytes as 64 hex characters."""
    return secrets.token_hex(SEED_BYTES)


# Where closing a day gets its secret seed: `new_seed` in production; the demo injects a
# seeded source so `pipeday demo --seed N` replays the same spins.
SeedSource = Callable[[], str]


def commitment(seed: str) -> str:
    """SHA-256 (hex) of the seed's UTF-8 bytes; published before the spin."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def draw_number(seed: str, context: str) -> int:
    """HMAC-SHA256(key=seed, msg=context) read as a big-endian 256-bit integer."""
    digest = hmac.new(seed.encode("utf-8"), context.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest, "big")


def draw(segments: Sequence[WheelPrize], seed: str, context: str) -> int:
    """Index of the winning segment for this seed and context.

    ``context`` identifies the spin, e.g. ``"T123:42:U999"`` (team, competition
    day id, winner), so one seed yields independent draws for each winner.

    The 256-bit HMAC number ``n`` is read as the fraction ``n / 2**256`` of the
    wheel; the point ``n / 2**256 * total_weight`` is located on the cumulative
    weights with exact rational arithmetic. Every segment's probability is
    therefore its weight share to within 2**-256 (no modulo bias).
    """
    if not segments:
        raise NoPrizesError("no prize left on the wheel (all out of stock or weight 0)")
    weights = [_exact_weight(s) for s in segments]
    if any(w <= 0 for w in weights):
        raise ValueError("segments must have positive weights; build them with wheel_segments()")
    return _segment_at(weights, _draw_point(weights, seed, context))


def landing_jitter(segments: Sequence[WheelPrize], seed: str, context: str) -> float:
    """How far (0 to 1) into the winning segment the draw point falls.

    Passing this as the GIF's ``jitter`` makes the animation stop where the
    verifiable number says, rather than at an arbitrary spot in the segment.
    """
    index = draw(segments, seed, context)
    weights = [_exact_weight(s) for s in segments]
    segment_start = sum(weights[:index], Fraction(0))
    return float((_draw_point(weights, seed, context) - segment_start) / weights[index])


def verify(seed: str, published_hash: str, segments: Sequence[WheelPrize], context: str) -> int:
    """Check a revealed seed against its commitment and replay the draw.

    Raises :class:`CommitmentMismatch` if ``sha256(seed) != published_hash``,
    otherwise returns the winning segment index (same as :func:`draw`).

    To recompute by hand, without trusting this code (any language will do):

    1. Commitment: the SHA-256 of the seed's UTF-8 bytes, in lowercase hex,
       must equal the hash published before the spin::

           printf '%s' "$SEED" | sha256sum

    2. Random number: HMAC-SHA256 with the seed's UTF-8 bytes as the key and
       the context (e.g. ``T123:42:U999``) as the message; read the 32-byte
       digest as one big-endian unsigned integer ``n``::

           printf '%s' "$CONTEXT" | openssl dgst -sha256 -hmac "$SEED"

    3. Wheel: list the segments that were on the wheel (in stock, weight > 0)
       in ascending prize id order, with their weights ``w0, w1, ...`` written
       as decimals, and ``W = w0 + w1 + ...``.
    4. Winner: the first segment ``i`` with
       ``n * W < (w0 + ... + wi) * 2**256``, i.e. the fraction
       ``n / 2**256`` of the way round the wheel. In Python::

           import hmac, hashlib
           n = int(hmac.new(seed.encode(), context.encode(), hashlib.sha256).hexdigest(), 16)
           point = n * W / 2**256   # use exact fractions/decimals, not floats, near a boundary

    The segment index maps back to a prize through the ordered list from step 3.
    """
    if not hmac.compare_digest(commitment(seed), published_hash.strip().lower()):
        raise CommitmentMismatch("sha256(seed) does not match the published commitment")
    return draw(segments, seed, context)


def _exact_weight(segment: WheelPrize) -> Fraction:
    # str() gives the shortest decimal that round-trips (0.1 -> "0.1"), which is
    # the value a person verifying by hand would write down.
    return Fraction(str(segment.weight))


def _draw_point(weights: Sequence[Fraction], seed: str, context: str) -> Fraction:
    return Fraction(draw_number(seed, context), 2**_HMAC_BITS) * sum(weights, Fraction(0))


def _segment_at(weights: Sequence[Fraction], point: Fraction) -> int:
    cumulative = Fraction(0)
    for index, weight in enumerate(weights):
        cumulative += weight
        if point < cumulative:
            return index
    # Unreachable because point < total; kept as a guard rather than an assert.
    raise ValueError("draw point fell outside the wheel")
