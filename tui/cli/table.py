"""The aligned text table of ``imshare list``, fitted to the terminal as openstackclient does.

python-openstackclient (cliff's table formatter, ``--max-width``) leaves a column alone when it
is no wider than an equal share of the terminal and shrinks the wider ones to share what is
left, none below 8 characters; the table runs past the edge rather than make a column
narrower than that. Here the same rule is applied until it settles (a column that fits its
share gives the rest back to the wider ones), so only the widest columns lose text. A cut
cell ends in ``…``; every image stays on one line, where cliff would wrap it over several.
Widths are terminal cells, so CJK names count double.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui.formatting import cell_width, fit_cells, pad_cells

#: Columns are never cut narrower than this (cliff's minimum for list tables)...
MIN_WIDTH = 8
#: ...and are separated by this.
GAP = "  "


def fit_widths(natural: Sequence[int], max_width: int) -> list[int]:
    """Column widths that fit ``max_width`` cells (gaps included) where the minimum allows.

    The widest columns are cut to one common width; narrower ones keep theirs. With
    ``max_width`` 0 or less, or a table that fits, the widths stay as they are.
    """
    widths = list(natural)
    if max_width <= 0 or not widths:
        return widths
    budget = max_width - len(GAP) * (len(widths) - 1)
    if sum(widths) <= budget:
        return widths
    wide = set(range(len(widths)))
    while True:
        share = budget // len(wide)
        fitting = {i for i in wide if widths[i] <= share}
        if not fitting:
            break
        budget -= sum(widths[i] for i in fitting)
        wide -= fitting
    share, extra = divmod(budget, len(wide))
    for rank, index in enumerate(sorted(wide)):
        # The first `extra` wide columns take one cell more, so no cell of the budget is lost.
        widths[index] = min(widths[index], max(MIN_WIDTH, share + (rank < extra)))
    return widths


def render(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[bool],
    max_width: int = 0,
) -> str:
    """Header and rows (already safe, one-line text) as aligned lines, cut to ``max_width``."""
    count = len(header)
    natural = [max(cell_width(line[i]) for line in (header, *rows)) for i in range(count)]
    widths = fit_widths(natural, max_width)
    lines = []
    for line in (header, *rows):
        cells = []
        for i, cell in enumerate(line):
            if widths[i] < natural[i]:
                cells.append(fit_cells(cell, widths[i], right=right[i]))
            else:
                cells.append(pad_cells(cell, widths[i], right=right[i]))
        lines.append(GAP.join(cells).rstrip())
    return "\n".join(lines)
