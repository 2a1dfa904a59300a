"""Linkage quality (chất lượng đối sánh) on generated data with known truth.

A population is drawn with the synthetic generator's name tables and personal-ID rules; a
source system's copy of it is then made with controlled error rates — each error applied to a
record independently with probability ``rate``: a mistyped ID (one digit or two adjacent digits
swapped), a missing ID, diacritics dropped, name order changed (given name first), day and month
swapped, another commune. Some source records are persons the registry does not hold. Precision,
recall and F1 are counted per source record: a record is linked to its best candidate when the
probability reaches the threshold.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from ansinh.linkage.normalise import fold

ERRORS = ("id_typo", "id_missing", "no_accents", "name_order", "date_swap", "commune")


@dataclass(frozen=True)
class Person:
    uid: str
    personal_id: str | None
    full_name: str
    birth_date: dt.date
    sex: str
    commune: str

    def row(self) -> tuple:
        """The raw input row of the engine (``engine.RAW_COLUMNS``)."""
        return (self.uid, self.personal_id, self.full_name, self.birth_date, self.sex, self.commune)


@dataclass
class Sources:
    registry: list[Person]
    source: list[Person]
    truth: dict[str, str | None]  # source uid → registry uid (None: not in the registry)
    errors: dict[str, int] = field(default_factory=dict)


def _provinces() -> list[str]:
    from ansinh.places.codes import LEGACY_PROVINCE_CODES

    return sorted(LEGACY_PROVINCE_CODES)


def population(
    n: int, *, seed: int = 1, communes: int = 300, prefix: str = "p"
) -> Iterator[Person]:
    """``n`` distinct persons of one province: the generator's name tables, a personal ID
    consistent with birth date and sex (Decree 137/2015/NĐ-CP Art. 13), ~1% without one."""
    from ansinh.synth.names import vietnamese_name

    rng = random.Random(f"linkage-pop:{seed}:{prefix}")
    provinces = _provinces()
    taken: set[str] = set()
    commune_codes = [f"{10000 + i * 7:05d}" for i in range(communes)]
    for i in range(n):
        sex = "F" if rng.random() < 0.49 else "M"
        age = 16 + int(rng.betavariate(1.8, 2.4) * 70)
        dob = dt.date(2026 - age, 1, 1) + dt.timedelta(days=rng.randrange(365))
        name = vietnamese_name(rng, sex)
        pid: str | None = None
        if rng.random() >= 0.01:
            birth = "01" if rng.random() < 0.8 else rng.choice(provinces)
            century = {(1900, "M"): "0", (1900, "F"): "1", (2000, "M"): "2", (2000, "F"): "3"}
            head = f"0{birth}{century[(dob.year // 100 * 100, sex)]}{dob.year % 100:02d}"
            while True:
                pid = head + f"{rng.randrange(1_000_000):06d}"
                if pid not in taken:
                    taken.add(pid)
                    break
        yield Person(f"{prefix}{i}", pid, name, dob, sex, rng.choice(commune_codes))


def _typo(pid: str, rng: random.Random) -> str:
    digits = list(pid)
    i = rng.randrange(1, len(digits) - 1)
    if rng.random() < 0.5 and digits[i] != digits[i + 1]:
        digits[i], digits[i + 1] = digits[i + 1], digits[i]
    else:
        digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
    return "".join(digits)


def _title(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))


def corrupt(
    p: Person,
    uid: str,
    rate: float,
    rng: random.Random,
    communes: list[str],
    counts: dict[str, int],
    *,
    extra: bool = False,
) -> Person:
    """A source system's copy of ``p`` with each error applied with probability ``rate``.
    ``extra`` (training only) adds rarer errors so that every level of the model is seen: a
    letter changed in the name, a wrong birth year or date, the other sex."""
    pid, name, dob, sex, commune = p.personal_id, p.full_name, p.birth_date, p.sex, p.commune
    if extra:
        if rng.random() < rate:
            words = name.split(" ")
            i = rng.randrange(len(words))
            w = words[i]
            j = rng.randrange(len(w))
            words[i] = w[:j] + rng.choice("aeiounhgt") + w[j + 1 :]
            name = " ".join(words)
        roll = rng.random()
        if roll < rate / 3:
            dob = dob.replace(year=dob.year + rng.choice((-1, 1)), day=min(dob.day, 28))
        elif roll < 2 * rate / 3:
            dob = dob.replace(day=rng.choice([d for d in range(13, 29) if d != dob.day]))
        elif roll < rate:
            dob = dob + dt.timedelta(days=rng.randrange(400, 4000))
        if rng.random() < rate / 4:
            sex = "M" if sex == "F" else "F"
    if pid and rng.random() < rate:
        pid = _typo(pid, rng)
        counts["id_typo"] = counts.get("id_typo", 0) + 1
    if pid and rng.random() < rate:
        pid = None
        counts["id_missing"] = counts.get("id_missing", 0) + 1
    if rng.random() < rate:
        name = _title(fold(name))
        counts["no_accents"] = counts.get("no_accents", 0) + 1
    if rng.random() < rate:
        words = name.split(" ")
        name = " ".join([words[-1], *words[:-1]])
        counts["name_order"] = counts.get("name_order", 0) + 1
    if rng.random() < rate and dob.day <= 12 and dob.day != dob.month:
        dob = dob.replace(day=dob.month, month=dob.day)
        counts["date_swap"] = counts.get("date_swap", 0) + 1
    if rng.random() < rate:
        commune = rng.choice(communes)
        counts["commune"] = counts.get("commune", 0) + 1
    return Person(uid, pid, name, dob, sex, commune)


def make_sources(
    n: int,
    *,
    rate: float,
    seed: int = 1,
    coverage: float = 0.8,
    strangers: float = 0.1,
    extra: bool = False,
) -> Sources:
    """A registry of ``n`` persons and a source holding ``coverage`` of them (with errors at
    ``rate``) plus ``strangers`` × n persons the registry does not hold."""
    registry = list(population(n, seed=seed, prefix="r"))
    others = list(population(int(n * strangers), seed=seed + 7919, prefix="x"))
    communes = sorted({p.commune for p in registry})
    rng = random.Random(f"linkage-src:{seed}:{rate}")
    source: list[Person] = []
    truth: dict[str, str | None] = {}
    counts: dict[str, int] = {}
    for p in registry:
        if rng.random() < coverage:
            uid = f"s{len(source)}"
            source.append(corrupt(p, uid, rate, rng, communes, counts, extra=extra))
            truth[uid] = p.uid
    for p in others:
        uid = f"s{len(source)}"
        source.append(corrupt(p, uid, rate, rng, communes, counts, extra=extra))
        truth[uid] = None
    rng.shuffle(source)
    return Sources(registry, source, truth, counts)


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    def line(self) -> str:
        return (
            f"precision {self.precision:.4f} recall {self.recall:.4f} F1 {self.f1:.4f} "
            f"(tp {self.tp}, fp {self.fp}, fn {self.fn})"
        )


def score(predicted: dict[str, str | None], truth: dict[str, str | None]) -> Scores:
    """Per-record precision/recall/F1: ``predicted`` maps a source uid to the registry uid it
    was linked to (None or absent: not linked)."""
    tp = fp = 0
    for uid, got in predicted.items():
        if got is None:
            continue
        if truth.get(uid) == got:
            tp += 1
        else:
            fp += 1
    positives = sum(1 for v in truth.values() if v is not None)
    fn = positives - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, tp, fp, fn)


def best_links(scored: list, threshold: float) -> dict[str, str | None]:
    """Source uid → registry uid of its best pair at or above ``threshold``."""
    best: dict[str, tuple[float, str]] = {}
    for sc in scored:
        if sc.probability >= threshold and sc.probability > best.get(sc.left, (-1.0, ""))[0]:
            best[sc.left] = (sc.probability, sc.right)
    return {k: v[1] for k, v in best.items()}


def evaluate_link(n: int, rate: float, *, seed: int = 1, threshold: float = 0.9) -> Scores:
    """Generate, link with the committed model, score."""
    from ansinh.linkage import engine

    data = make_sources(n, rate=rate, seed=seed)
    scored = engine.predict_link([p.row() for p in data.source], [p.row() for p in data.registry])
    return score(best_links(scored, threshold), data.truth)


def training_rows(n: int = 100_000, *, rate: float = 0.1, seed: int = 11) -> list[tuple]:
    """Training data: a population plus a corrupted copy of most of it, as one table."""
    data = make_sources(n, rate=rate, seed=seed, extra=True)
    return [p.row() for p in data.registry] + [p.row() for p in data.source]


@dataclass
class DedupeSet:
    records: list[Person]
    truth: set[tuple[str, str]]  # (uid, uid) sorted: the same person twice


def make_dedupe(n: int, *, rate: float, seed: int = 1, duplicates: float = 0.05) -> DedupeSet:
    """``n`` records: a population with ``duplicates`` × n corrupted second copies among it."""
    copies_n = int(n * duplicates)
    people = list(population(n - copies_n, seed=seed, prefix="d"))
    communes = sorted({p.commune for p in people})
    rng = random.Random(f"linkage-dedupe:{seed}:{rate}")
    truth: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    copies = []
    for i, p in enumerate(rng.sample(people, copies_n)):
        uid = f"c{i}"
        copies.append(corrupt(p, uid, rate, rng, communes, counts))
        a, b = sorted((p.uid, uid))
        truth.add((a, b))
    records = people + copies
    rng.shuffle(records)
    return DedupeSet(records, truth)


def score_pairs(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> Scores:
    """Pair-level precision/recall/F1 of a deduplication (pairs as sorted uid tuples)."""
    tp = len(predicted & truth)
    fp = len(predicted - truth)
    fn = len(truth - predicted)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, tp, fp, fn)
