"""Tables for ``jitgrad train --data`` and ``jitgrad predict --data``.

- ``read_table``: a CSV with a header (comma, semicolon or tab), ``.npy``, ``.npz`` (``X`` and
  ``y``) or Parquet (with pyarrow) as a ``Table`` of named columns.
- ``choose_task``: classification or regression, from the target's values.
- ``Preparation``: what turns a table's rows into the model's inputs (imputation,
  standardisation, one-hot encoding, fitted by scikit-learn on the training rows only) and its
  outputs back into predictions (class labels as in the file, regression targets in their
  units). It is saved with the model as JSON, so ``predict`` prepares new rows the same way.

Every problem with a file raises ``TableError`` (a ``ValueError``) naming the file and where.
"""
import csv
import io
import math
import os
import re
from dataclasses import asdict, dataclass, fields

import numpy as np

from jitgrad.optim import AdamW
from jitgrad.utils import metrics
from jitgrad.backend import file_checks

#: cells that count as missing (compared lower-case, stripped)
MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
#: a numeric target with at most this many distinct integer values is taken for classes
MAX_AUTO_CLASSES = 20
PARQUET_SUFFIXES = (".parquet", ".pq")
VALIDATION_FRACTION = 0.1  # of the training rows, held out for early stopping
_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+([eE][-+]?\d+)?")


class TableError(ValueError):
    """A file that cannot be trained on or predicted from; the message says what and where."""


@dataclass
class Table:
    """A file's columns by name, in the file's order: float64 arrays (NaN where a cell is
    missing) or object arrays of str (None where missing). CSV cells are all str until
    ``convert`` turns the numeric columns into numbers. ``lines``: each row's line in the
    file (CSV), else None."""

    source: str
    columns: dict
    lines: np.ndarray = None

    @property
    def names(self):
        return list(self.columns)

    @property
    def rows(self):
        return len(next(iter(self.columns.values())))

    def where(self, row):
        """'line 7' (CSV) or 'row 6' (arrays, counted from 0) for row ``row``."""
        return f"row {row}" if self.lines is None else f"line {self.lines[row]}"

    def numbers(self, name):
        """Column ``name`` as float64 (NaN: missing); TableError at its first cell that is not
        a finite number."""
        column = self.columns[name]
        if column.dtype != object:
            return column
        values, bad = np.full(len(column), np.nan), []
        for row, cell in enumerate(column):
            if cell is not None:
                number = _number(cell)
                if number is None:
                    bad.append(row)
                else:
                    values[row] = number
        if bad:
            more = f" (and {len(bad) - 1} more such cells)" if len(bad) > 1 else ""
            raise TableError(f"{self.source}: {self.where(bad[0])}, column {name!r}: "
                             f"{column[bad[0]]!r} is not a number{more}")
        return values

    def convert(self, names):
        """Turn the columns ``names`` into numbers, in place (see ``numbers``)."""
        for name in names:
            self.columns[name] = self.numbers(name)

    def texts(self, name):
        """Column ``name`` as an object array of str (None: missing)."""
        column = self.columns[name]
        if column.dtype == object:
            return column
        return np.array([None if np.isnan(v) else format_number(v) for v in column], dtype=object)

    def subset(self, rows):
        """The table of the rows ``rows`` (indices or a boolean mask)."""
        return Table(self.source, {name: column[rows] for name, column in self.columns.items()},
                     None if self.lines is None else self.lines[rows])

    def missing(self, names):
        """(row, column name) of every missing cell in columns ``names``, row by row."""
        mask = np.column_stack([_missing_mask(self.columns[name]) for name in names])
        return [(row, names[col]) for row, col in zip(*np.nonzero(mask))]

    def check_magnitudes(self, names, dtype):
        """TableError at the first cell of the numeric columns ``names`` that is infinite or
        whose square overflows ``dtype`` (so that a mean, a variance or a loss of it would be
        inf or NaN), naming its row and column."""
        limit = math.sqrt(np.finfo(dtype).max)
        for name in names:
            values = self.columns[name]
            too_large = np.flatnonzero(np.abs(np.nan_to_num(values, nan=0.0)) > limit)
            if len(too_large):
                row = too_large[0]
                raise TableError(f"{self.source}: {self.where(row)}, column {name!r}: "
                                 f"{values[row]:g} is too large to train on in {np.dtype(dtype)}"
                                 f" (the limit is ±{limit:.3g}, whose square still fits); "
                                 "rescale the column")

    def check_complete(self, names, advice):
        """TableError counting the missing cells in ``names`` and naming the first few."""
        cells = self.missing(names)
        if cells:
            first = ", ".join(f"{self.where(row)} column {name!r}" for row, name in cells[:3])
            raise TableError(f"{self.source}: {len(cells)} missing "
                             f"cell{'s' if len(cells) > 1 else ''} ({first}"
                             f"{', ...' if len(cells) > 3 else ''}); {advice}")


# --- reading ----------------------------------------------------------------------------------
def read_table(path):
    """The ``Table`` in the file at ``path``, by its suffix (CSV otherwise)."""
    suffix = os.path.splitext(path)[1].lower()
    try:
        file_checks.check_regular(path)
        if os.path.getsize(path) == 0:
            raise TableError(f"{path} is empty")
        if suffix == ".npy":
            return _array_table(path, file_checks.load_npy(path), target=None)
        if suffix == ".npz":
            return _read_npz(path)
        if suffix in PARQUET_SUFFIXES:
            return _read_parquet(path)
        return _read_csv(path)
    except file_checks.FileCheckError as error:
        raise TableError(str(error)) from None


def _read_csv(path):
    """A CSV file with a header row; the delimiter (comma, semicolon, tab) is sniffed."""
    text = file_checks.read_text(path)
    if not text.strip():
        raise TableError(f"{path} is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t")
    except csv.Error:  # a single column has no delimiter to find
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)  # "": \r alone ends lines too
    try:
        header = [name.strip() for name in next(reader)]
        _check_header(path, header)
        records, lines = [], []
        for record in reader:
            if _is_blank_line(record, header):
                continue
            _check_record(path, reader.line_num, record, header)
            lines.append(reader.line_num)
            records.append([_cell(cell, decimal_comma=dialect.delimiter != ",")
                            for cell in record])
    except csv.Error as error:
        raise TableError(f"{path}: line {reader.line_num}: {error}") from None
    if not records:
        raise TableError(f"{path} has a header but no rows")
    cells = np.array(records, dtype=object)
    return Table(path, {name: cells[:, col] for col, name in enumerate(header)}, np.array(lines))


def _is_blank_line(record, header):
    """A line with nothing on it (not even delimiters) is no row; ',,' is a row of missing
    cells, so that every row of the file has its place in the predictions."""
    return not record or (len(header) > 1 and len(record) == 1 and not record[0].strip())


def _check_record(path, line, record, header):
    if len(record) != len(header):
        raise TableError(f"{path}: line {line} has {len(record)} cells but the "
                         f"header has {len(header)} columns")


def _cell(text, decimal_comma):
    """A CSV cell stripped, None if missing; '3,14' as '3.14' where commas do not delimit
    (files separated by semicolons or tabs often write decimals so)."""
    text = text.strip()
    if text.lower() in MISSING:
        return None
    if decimal_comma and _DECIMAL_COMMA.fullmatch(text):
        return text.replace(",", ".")
    return text


def _check_header(path, header):
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise TableError(f"{path}: the header names {', '.join(map(repr, duplicates))} twice")
    if "" in header:
        raise TableError(f"{path}: column {header.index('') + 1} of the header has no name")


def _read_npz(path):
    archive = file_checks.load_npz(path)
    if "X" not in archive:
        raise TableError(f"{path} holds {', '.join(archive) or 'no arrays'}; an "
                         ".npz needs X (rows of features) and, to train, y (targets)")
    return _array_table(path, archive["X"], archive.get("y"))


def _array_table(path, x, target):
    """A table of the 2-D array ``x``'s columns, named by index ('0', '1', ...), and the
    target ``y`` (n,) when given."""
    if x.ndim != 2 or x.dtype.kind not in "biuf":
        raise TableError(f"{path}: need a 2-D array of numbers (rows, columns), got "
                         f"{x.dtype} {list(x.shape)}")
    if len(x) == 0:
        raise TableError(f"{path} has no rows")
    columns = {str(col): x[:, col].astype(np.float64) for col in range(x.shape[1])}
    _check_not_infinite(path, columns)
    if target is not None:
        if target.ndim == 2 and target.shape[1] == 1:
            target = target[:, 0]
        if len(target) != len(x) or target.ndim != 1:
            raise TableError(f"{path}: y must hold one target per row of X ({len(x)}), got "
                             f"{target.dtype} {list(target.shape)}")
        columns["y"] = (target.astype(np.float64) if target.dtype.kind in "biuf"
                        else np.array([str(v) for v in target], dtype=object))
        _check_not_infinite(path, {"y": columns["y"]})
    return Table(path, columns)


def _check_not_infinite(path, columns):
    """TableError at the first infinite value of an array's ``columns`` (NaN is missing)."""
    for name, values in columns.items():
        if values.dtype != object and np.isinf(values).any():
            row = np.flatnonzero(np.isinf(values))[0]
            raise TableError(f"{path}: row {row}, column {name!r}: {values[row]} is not a "
                             "finite number")


def _read_parquet(path):
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise ImportError('reading Parquet needs pyarrow; install it with: '
                          'pip install "jitgrad[parquet]"') from None
    try:
        table = parquet.read_table(path)
    except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid, ArrowIOError
        raise TableError(f"{path} is not a readable Parquet file ({error})") from None
    if table.num_rows == 0:
        raise TableError(f"{path} has no rows")
    columns = {}
    for name, column in zip(table.column_names, table.columns):
        values = column.to_pylist()
        numeric = all(v is None or isinstance(v, (int, float)) for v in values)
        columns[name] = (np.array([np.nan if v is None else v for v in values], np.float64)
                         if numeric else
                         np.array([None if v is None else str(v) for v in values], object))
    _check_not_infinite(path, columns)
    return Table(path, columns)


# --- choosing target, features and task -------------------------------------------------------
def find_target(table, target):
    """The name of the target column: ``target`` (a name, or an index like '-1' for arrays),
    else the last column (``y`` for an .npz)."""
    names = table.names
    if target is None:
        return names[-1]
    if target in names:
        return target
    if table.lines is None and _is_int(target) and -len(names) <= int(target) < len(names):
        return names[int(target)]
    raise TableError(f"{table.source} has no column {target!r}; its columns are "
                     f"{', '.join(map(repr, names))}")


def find_categorical(table, features, given=None):
    """The categorical ones among ``features``: those named in ``given`` (a list, which
    overrides the detection), else the text columns, where at most half of the cells that are
    present read as numbers."""
    if given is not None:
        unknown = [name for name in given if name not in features]
        if unknown:
            raise TableError(f"--categorical names {', '.join(map(repr, unknown))}, not among "
                             f"the feature columns of {table.source}: "
                             f"{', '.join(map(repr, features))}")
        return [name for name in features if name in given]
    return [name for name in features if _is_text(table.columns[name])]


def choose_task(table, target, override=None):
    """('classify' or 'regress', why): ``override`` if given, else classification for text
    or at most MAX_AUTO_CLASSES distinct integers, else regression."""
    column = table.columns[target]
    text = _is_text(column)
    if override == "regress" and text:
        raise TableError(f"{table.source}: the target {target!r} holds text "
                         f"({column[column != None][0]!r}); it cannot be regressed")  # noqa: E711
    if override:
        return override, f"--task {override}"
    if text:
        return "classify", "it holds text"
    values = table.numbers(target)
    distinct = np.unique(values[~np.isnan(values)])
    if np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_AUTO_CLASSES:
        return "classify", f"it holds {len(distinct)} distinct integers"
    return "regress", f"it holds numbers, {len(distinct)} distinct"


# --- splitting --------------------------------------------------------------------------------
def split_rows(table, labels, test_size, validation, seed):
    """Row indices (train, validation, test): ``test_size`` of the rows held out for testing
    and, when ``validation``, a tenth of the rest for early stopping, stratified by
    ``labels`` (None for regression) and drawn with ``seed``. TableError when there are too
    few rows (or too few of a class) to give every part some."""
    from sklearn.model_selection import train_test_split

    parts = 3 if validation else 2
    counts = {} if labels is None else {str(label): int(count) for label, count in zip(
        *np.unique(labels, return_counts=True))}
    rare = [label for label, count in counts.items() if count < parts]
    if rare:
        raise TableError(f"{table.source}: the class {rare[0]!r} has only {counts[rare[0]]} "
                         f"row{'s' if counts[rare[0]] > 1 else ''}; each class needs at least "
                         f"{parts} (train, {'validation, ' if validation else ''}test)")
    needed = rows_needed(len(counts), test_size, validation)
    if table.rows < needed:
        raise TableError(f"{table.source}: {table.rows} rows are too few to hold out "
                         f"{test_size:.0%} for testing{' and a validation slice' * validation}"
                         f"{f' for {len(counts)} classes' if counts else ''}; it takes at least "
                         f"{needed}")
    rows = np.arange(table.rows)
    train, test = train_test_split(rows, test_size=test_size, random_state=seed,
                                   stratify=labels)
    if not validation:
        return train, None, test
    train, val = train_test_split(train, test_size=VALIDATION_FRACTION, random_state=seed,
                                  stratify=None if labels is None else labels[train])
    return train, val, test


def rows_needed(classes, test_size, validation):
    """The fewest rows that give the test split, the validation slice (if any) and the
    training rows at least one row each, or one of each class when stratified."""
    least = max(classes, 1)
    for rows in range(2, 10 ** 6):
        test = math.ceil(rows * test_size)
        train = rows - test
        val = math.ceil(train * VALIDATION_FRACTION) if validation else least
        if min(test, val, train - (val if validation else 0)) >= least:
            return rows
    return math.inf


# --- preparation ------------------------------------------------------------------------------
@dataclass
class Preparation:
    """How rows become the model's inputs and outputs become predictions; JSON-ready.

    ``numeric``: {column: [fill or None, mean, scale]}; ``categorical``: {column: [fill or
    None, categories]} (one input per category, in order; an unseen category gets zeros);
    ``classes``: the class labels as text (classification), ``target_scale``: [mean, scale] of
    the target (regression; the model learns it standardised).
    """

    features: list
    numeric: dict
    categorical: dict
    target: str
    task: str
    impute: str = None
    classes: list = None
    target_scale: list = None

    @classmethod
    def fit(cls, table, target, task, categorical, impute):
        """Fit on ``table`` (the training rows, numeric columns already numbers)."""
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        features = [name for name in table.names if name != target]
        numeric_names = [name for name in features if name not in categorical]
        numeric, categories = {}, {}
        if numeric_names:
            x = np.column_stack([table.numbers(name) for name in numeric_names])
            fills = [None] * len(numeric_names)
            if impute in ("mean", "median"):
                fills = SimpleImputer(strategy=impute, keep_empty_features=True).fit(x).statistics_
                x = np.where(np.isnan(x), fills, x)
            scaler = StandardScaler().fit(x)
            for name, mean, scale in zip(numeric_names, scaler.mean_, scaler.scale_):
                if not (np.isfinite(mean) and np.isfinite(scale)):
                    raise TableError(f"{table.source}: column {name!r} is too large to "
                                     "standardise (its mean or spread overflows); rescale it")
            numeric = {name: [None if fill is None else float(fill), float(mean), float(scale)]
                       for name, fill, mean, scale in zip(numeric_names, fills, scaler.mean_,
                                                          scaler.scale_)}
        for name in categorical:
            cells = table.texts(name)[:, None]
            fill = None
            if impute in ("mean", "median"):
                fill = str(SimpleImputer(strategy="most_frequent", missing_values=None).fit(
                    cells).statistics_[0])
            known = OneHotEncoder().fit(cells[cells[:, 0] != None]).categories_[0]  # noqa: E711
            categories[name] = [fill, [str(c) for c in known]]
        preparation = cls(features, numeric, categories, target, task, impute)
        if task == "classify":
            preparation.classes = class_labels(table.texts(target))
        else:
            y = table.numbers(target)
            preparation.target_scale = [float(y.mean()), float(y.std()) or 1.0]
            if not np.isfinite(preparation.target_scale).all():
                raise TableError(f"{table.source}: the target {target!r} is too large to "
                                 "standardise (its mean or spread overflows); rescale it")
        return preparation

    @classmethod
    def from_json(cls, saved, path):
        """The preparation saved in the model file ``path`` (``to_json``'s dict), checked
        field by field first: TableError naming what is wrong in a damaged or foreign file."""
        if not isinstance(saved, dict):
            raise _damaged(path, f"is a {type(saved).__name__}, not an object")
        known, required = {f.name for f in fields(cls)}, {
            "features", "numeric", "categorical", "target", "task"}
        if set(saved) - known or required - set(saved):
            raise _damaged(path, f"has the keys {sorted(saved)}; expected {sorted(required)} "
                                 "and some of impute, classes, target_scale")
        prep = cls(**saved)
        problems = [name for name, fine in (
            ("features", _is_list_of(prep.features, str)),
            ("numeric", isinstance(prep.numeric, dict) and all(
                isinstance(v, list) and len(v) == 3 and (v[0] is None or _is_finite(v[0]))
                and _is_finite(v[1]) and _is_finite(v[2]) and v[2] != 0
                for v in prep.numeric.values())),
            ("categorical", isinstance(prep.categorical, dict) and all(
                isinstance(v, list) and len(v) == 2 and (v[0] is None or isinstance(v[0], str))
                and _is_list_of(v[1], str) for v in prep.categorical.values())),
            ("target", isinstance(prep.target, str)),
            ("task", prep.task in ("classify", "regress")),
            ("impute", prep.impute in (None, "mean", "median", "drop")),
            ("classes", prep.task != "classify" or (_is_list_of(prep.classes, str)
                                                    and len(prep.classes) >= 2)),
            ("target_scale", prep.task != "regress" or (
                isinstance(prep.target_scale, list) and len(prep.target_scale) == 2
                and all(map(_is_finite, prep.target_scale)) and prep.target_scale[1] != 0)),
        ) if not fine]
        if problems:
            raise _damaged(path, f"has a malformed {', '.join(problems)}")
        if sorted(prep.features) != sorted([*prep.numeric, *prep.categorical]):
            raise _damaged(path, "names features that are neither numeric nor categorical")
        return prep

    @property
    def inputs(self):
        """How many inputs the model takes: one per numeric column, one per category."""
        return len(self.numeric) + sum(len(cats) for _, cats in self.categorical.values())

    @property
    def outputs(self):
        return len(self.classes) if self.task == "classify" else 1

    def check_columns(self, table, model_path):
        """TableError listing the differences between the table's columns and the model's
        features (the target column may be there or not)."""
        lacking = [name for name in self.features if name not in table.names]
        extra = [name for name in table.names if name not in self.features + [self.target]]
        if lacking or extra:
            parts = ([f"lacks {', '.join(map(repr, lacking))}"] if lacking else []) + (
                [f"has {', '.join(map(repr, extra))}, unknown to the model"] if extra else [])
            raise TableError(f"{model_path} was trained on the columns "
                             f"{', '.join(map(repr, self.features))}; {table.source} "
                             f"{' and '.join(parts)}")

    def inputs_of(self, table, dtype):
        """The model's inputs (rows, ``inputs``) for the table's rows, in ``dtype``."""
        from sklearn.preprocessing import OneHotEncoder

        blocks = []
        for name, (fill, mean, scale) in self.numeric.items():
            values = table.numbers(name)
            blocks.append(((values if fill is None else np.where(np.isnan(values), fill, values))
                           - mean) / scale)
        for name, (fill, categories) in self.categorical.items():
            cells = table.texts(name)
            cells = np.where(cells == None, fill, cells) if fill is not None else cells  # noqa
            encoder = OneHotEncoder(categories=[categories], handle_unknown="ignore",
                                    sparse_output=False)
            blocks.extend(encoder.fit_transform(cells[:, None].astype(str)).T)
        return np.column_stack(blocks).astype(dtype)

    def targets_of(self, table, dtype):
        """The model's targets: class indices (rows,) or the standardised target (rows, 1)."""
        if self.task == "classify":
            index = {label: number for number, label in enumerate(self.classes)}
            return np.array([index[label] for label in table.texts(self.target)])
        mean, scale = self.target_scale
        return ((table.numbers(self.target) - mean) / scale)[:, None].astype(dtype)

    def metrics(self):
        """``fit``'s metrics for this task, regression ones in the target's own units."""
        if self.task == "classify":
            return metrics.CLASSIFICATION
        return {name: self._in_units(metric) for name, metric in metrics.REGRESSION.items()}

    def _in_units(self, metric):
        def in_units(y, predicted):
            return metric(self.unscaled(y), self.unscaled(predicted))
        return in_units

    def unscaled(self, values):
        """Standardised regression values back in the target's units, as a flat array."""
        mean, scale = self.target_scale
        return np.ravel(values) * scale + mean

    def to_json(self):
        return asdict(self)


def class_labels(texts):
    """The distinct labels of a target column as text, sorted as numbers when they all are."""
    present = sorted({str(t) for t in texts if t is not None})
    numbers = [_number(label) for label in present]
    if all(n is not None for n in numbers):
        present = [label for _, label in sorted(zip(numbers, present))]
    return present


#: the optimizer ``jitgrad train --data`` uses unless --optimizer says otherwise
OPTIMIZER_NAME, DEFAULT_LR = "adamw", 1e-3


def make_optimizer(parameters, lr=DEFAULT_LR):
    """The optimizer for a table's MLP: AdamW, PyTorch's defaults (weight decay 0.01)."""
    return AdamW(parameters, lr=lr)


def default_hidden(features, outputs):
    """Two hidden layers as wide as the power of two nearest above 2 x (inputs + outputs),
    kept within 16-256: wide enough for the table, not so wide that a few hundred rows
    are memorised in a few epochs."""
    width = 2 ** math.ceil(math.log2(2 * (features + outputs)))
    return [min(256, max(16, width))] * 2


def format_number(value):
    """3.0 -> '3', 2.5 -> '2.5': how a number from an array shows as a label."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _number(cell):
    """The finite float a cell holds, or None."""
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_text(column):
    """Whether at most half of the present cells of an object column read as numbers."""
    if column.dtype != object:
        return False
    present = [cell for cell in column if cell is not None]
    return sum(_number(cell) is not None for cell in present) * 2 <= len(present)


def _missing_mask(column):
    return column == None if column.dtype == object else np.isnan(column)  # noqa: E711


def _is_int(text):
    try:
        int(text)
    except ValueError:
        return False
    return True


def _damaged(path, what):
    return TableError(f"{path}: the preparation in its metadata {what}; the file is damaged or "
                      "was not written by `jitgrad train --data`")


def _is_list_of(value, kind):
    return isinstance(value, list) and all(isinstance(item, kind) for item in value)


def _is_finite(value):
    """Whether ``value`` is a finite int or float (not a bool)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))
