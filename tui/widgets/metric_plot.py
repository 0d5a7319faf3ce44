"""A line plot of one or more series (textual-plotext), non-finite points left out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual_plotext import PlotextPlot

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True, slots=True)
class Line:
    """One curve: its legend label and its points."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]


class MetricPlot(PlotextPlot):
    """A titled plot; `show_lines` replaces what it draws."""

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.title = title
        self.lines: tuple[Line, ...] = ()
        self.x_label = "step"
        self.dropped = 0
        """Points left out because they were NaN or infinite."""

    def show_lines(self, lines: Sequence[Line], *, x_label: str) -> None:
        """Draw these curves (overlaid, each with its legend label)."""
        self.lines, self.x_label = tuple(lines), x_label
        self._draw()

    def on_mount(self) -> None:
        """Draw whatever was given before mounting."""
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        self.dropped = 0
        drawn = 0
        for line in self.lines:
            points = [(x, y) for x, y in zip(line.xs, line.ys, strict=False) if math.isfinite(y)]
            self.dropped += len(line.ys) - len(points)
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            label = line.label if len(self.lines) > 1 else None
            if len(points) == 1:
                plt.scatter(list(xs), list(ys), label=label)
            else:
                plt.plot(list(xs), list(ys), label=label)
            drawn += 1
        title = self.title
        if not drawn:
            title += ": no finite points to draw"
        elif self.dropped:
            title += f" ({self.dropped} NaN/inf points left out)"
        plt.title(title)
        plt.xlabel(self.x_label)
        self.refresh()
