"""Geometry of the gateway's inline SVG charts, computed on the server (no JavaScript): the
templates only place the rectangles and lines. Every chart has its figures in a table too."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ansinh.gateway.selectors import Bucket, DayVolume, ProvinceAdoption, percent

WIDTH = 760
LEFT = 46
RIGHT = 14
TOP = 12
BOTTOM = 26


def nice_max(value: int) -> int:
    """The smallest 'round' axis maximum ≥ value divisible by 4 (1, 2, 5 × 10^k steps)."""
    if value <= 4:
        return 4
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step * 4 >= value:
                return m * step * 4
        step *= 10


def volume_chart(days: Sequence[DayVolume], height: int = 230) -> dict[str, Any] | None:
    """Per day a stacked bar: accepted (dark) under refused (red). None when nothing came."""
    if not days or not any(d.submissions for d in days):
        return None
    top = nice_max(max(d.submissions for d in days))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = height - TOP - BOTTOM
    base = TOP + plot_h
    slot = plot_w / len(days)
    bar = max(min(slot * 0.7, 24), 1)
    every = max(1, math.ceil(len(days) / 12))
    bars = []
    for i, d in enumerate(days):
        x = LEFT + slot * i + (slot - bar) / 2
        acc_h = plot_h * d.accepted / top
        ref_h = plot_h * d.refused / top
        bars.append(
            {
                "day": d,
                "x": round(x, 1),
                "w": round(bar, 1),
                "acc_y": round(base - acc_h, 1),
                "acc_h": round(acc_h, 1),
                "ref_y": round(base - acc_h - ref_h, 1),
                "ref_h": round(ref_h, 1),
                "label": f"{d.day:%d/%m}" if i % every == 0 else "",
                "cx": round(LEFT + slot * i + slot / 2, 1),
            }
        )
    ticks = [{"y": round(base - plot_h * k / 4, 1), "value": top * k // 4} for k in range(5)]
    return {
        "width": WIDTH,
        "height": height,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "base": base,
        "bars": bars,
        "ticks": ticks,
    }


def distribution_chart(
    buckets: Sequence[Bucket], labels: Sequence[str], row: int = 26
) -> dict[str, Any] | None:
    """Horizontal bars, one per signing→receipt bucket: green within the 2-hour rule, red
    beyond it. None when no time was measured."""
    if not buckets or not any(b.count for b in buckets):
        return None
    label_w = 110
    plot_w = WIDTH - label_w - 70
    top = max(b.count for b in buckets)
    rows = []
    for i, (b, label) in enumerate(zip(buckets, labels, strict=True)):
        w = plot_w * b.count / top
        rows.append(
            {
                "bucket": b,
                "label": label,
                "y": TOP + i * row,
                "ty": TOP + i * row + row / 2,
                "w": round(w, 1),
                "end": round(label_w + w + 6, 1),
                "within": b.within_limit,
            }
        )
    return {
        "width": WIDTH,
        "height": TOP * 2 + row * len(buckets),
        "label_w": label_w,
        "bar_h": row - 8,
        "rows": rows,
    }


def adoption_chart(
    rows: Sequence[ProvinceAdoption], target: Decimal, height: int = 250
) -> dict[str, Any] | None:
    """Per province a bar of the share of employers transacting electronically (0–100 %),
    red below the target, green at or above it, and the target as a dashed line. None when no
    province has employers."""
    shown = [r for r in rows if r.employers and r.code]
    if not shown:
        return None
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = height - TOP - BOTTOM
    base = TOP + plot_h
    slot = plot_w / len(shown)
    bar = max(min(slot * 0.7, 28), 2)
    bars = []
    for i, r in enumerate(shown):
        share = float(r.share or 0)
        h = plot_h * share
        bars.append(
            {
                "row": r,
                "x": round(LEFT + slot * i + (slot - bar) / 2, 1),
                "cx": round(LEFT + slot * i + slot / 2, 1),
                "w": round(bar, 1),
                "y": round(base - h, 1),
                "h": round(h, 1),
                "pct": percent(r.share),
                "below": r.below_target,
            }
        )
    ticks = [{"y": round(base - plot_h * k / 4, 1), "pct": 25 * k} for k in range(5)]
    return {
        "width": WIDTH,
        "height": height,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "base": base,
        "bars": bars,
        "ticks": ticks,
        "target_y": round(base - plot_h * float(target), 1),
        "target_pct": round(float(target) * 100, 1),
    }
