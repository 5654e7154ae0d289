"""A small table of named scores, printable as reStructuredText (no pandas)."""

import math
import numbers


def _same_name(a, b):
    """Equal, and both integers or both not (so that ``1`` and ``1.0`` differ)."""
    return a == b and isinstance(a, numbers.Integral) == isinstance(b, numbers.Integral)


def _format(value, float_format):
    if value is None:
        return ""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return "nan" if math.isnan(value) else format(value, float_format)
    return str(value)


class ScoreTable:
    """Rows of scores keyed by their first column.

    ``table[name]`` is the row named ``name`` (an int name and a float name
    differ, so that the few-shot settings ``1`` and ``1.0`` stay apart).

    Parameters
    ----------
    rows : list of dict
        One dict per row; missing columns are ``None`` (printed empty), keys
        beyond ``columns`` (e.g. raw per-episode scores) are kept, not printed.
    columns : list of str
        The printed columns; the first one names each row.

    Examples
    --------
    >>> from sklav.evaluation import ScoreTable
    >>> table = ScoreTable([{"metric": "tau", "val": 0.91234}], ["metric", "val"])
    >>> table["tau"]["val"]
    0.91234
    >>> print(table.to_rst())
    ======  ======
    metric  val
    ======  ======
    tau     0.9123
    ======  ======
    """

    def __init__(self, rows, columns):
        self.columns = list(columns)
        self.rows = [{**dict.fromkeys(self.columns), **row} for row in rows]

    @property
    def key(self):
        """The column naming each row."""
        return self.columns[0]

    def __getitem__(self, name):
        for row in self.rows:
            if _same_name(row[self.key], name):
                return row
        raise KeyError(f"no row with {self.key} == {name!r}; rows: {self.names()}.")

    def names(self):
        """The row names, in order."""
        return [row[self.key] for row in self.rows]

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def to_dict(self):
        """``{row name: {column: value}}`` for the printed columns."""
        return {
            row[self.key]: {column: row[column] for column in self.columns[1:]} for row in self.rows
        }

    def to_rst(self, float_format=".4f"):
        """The table as a reStructuredText simple table."""
        cells = [self.columns] + [
            [str(row[self.key])]
            + [_format(row[column], float_format) for column in self.columns[1:]]
            for row in self.rows
        ]
        widths = [max(len(line[c]) for line in cells) for c in range(len(self.columns))]
        rule = "  ".join("=" * w for w in widths)

        def line(values):
            return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

        body = [line(values) for values in cells[1:]]
        return "\n".join([rule, line(cells[0]), rule, *body, rule])

    def __str__(self):
        return self.to_rst()

    def __repr__(self):
        return f"ScoreTable(names={self.names()!r}, columns={self.columns!r})"
