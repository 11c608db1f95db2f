"""`jitgrad train --data FILE` and `jitgrad predict --data FILE` on small tables the tests
write: CSV variants, string labels, categorical columns, missing cells, arrays, every bad file
the command refuses, and predictions that come back as the file's own labels."""
import csv
import json
import os
import sys

import numpy as np
import pytest

import jitgrad
from jitgrad import serialization
from jitgrad.apps import tabular
from tests.helpers.command import run_main as run
from tests.helpers.compiled import keep_compiled_steps, replayed, without_timings

FAST = ["--epochs", "40", "--patience", "5"]


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def people(rows=120, seed=0):
    """Rows of (age, income, colour, label): 'yes' when age + income > 0 or colour is red,
    so a model must use the categorical column to learn it."""
    rng = np.random.default_rng(seed)
    table = []
    for _ in range(rows):
        age, income = rng.normal(size=2)
        colour = rng.choice(["red", "green", "blue"])
        label = "yes" if age + income > 0 or colour == "red" else "no"
        table.append([f"{age:.4f}", f"{income:.4f}", colour, label])
    return ["age", "income", "colour", "label"], table


def house_prices(rows=150, seed=0):
    """(rooms, area, price): price = 50 * rooms + 2 * area + 100 and a little noise."""
    rng = np.random.default_rng(seed)
    rooms, area = rng.integers(1, 6, rows), rng.uniform(30, 150, rows)
    price = 50 * rooms + 2 * area + 100 + rng.normal(0, 5, rows)
    return rooms, area, price


def summary(out):
    return next(line for line in out.splitlines() if line.startswith("done:"))


def test_train_help_lists_the_table_options(capsys):
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0
    for option in ("--data", "--target", "--task", "--categorical", "--impute", "--test-size",
                   "--patience"):
        assert option in out


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_csv_with_string_labels_and_a_categorical_column(tmp_path, capsys, delimiter):
    header, rows = people()
    if delimiter == ";":  # such files often write decimal commas: 0,1234
        rows = [[age.replace(".", ","), income.replace(".", ","), *rest]
                for age, income, *rest in rows]
    path = write_csv(tmp_path / "people.csv", header, rows, delimiter=delimiter)
    status, out, err = run(capsys, "train", "--data", path, "--target", "label", *FAST)
    assert status == 0, err
    assert "target 'label': it holds text, so classification, 2 classes (no, yes)" in out
    assert "2 numeric, 1 categorical ('colour') -> 5 inputs" in out  # 2 + 3 colours
    assert "86 train, 10 validation, 24 test rows" in out  # 120 rows: 20% test, 10% of the rest
    first_epoch = next(line for line in out.splitlines() if line.startswith("epoch "))
    assert all(word in first_epoch for word in ("loss", "acc", "F1", "val loss", "samples/s"))
    accuracy = float(summary(out).split("test accuracy ")[1].split("%")[0])
    assert accuracy >= 80 and "macro-F1" in summary(out)


@pytest.mark.parametrize("task", ["classify", "regress"])
def test_compiled_by_default_trains_the_same_model_on_a_table(tmp_path, capsys, monkeypatch, task):
    """Early stopping on the validation slice, and its restored weights, included."""
    made = keep_compiled_steps(monkeypatch, jitgrad.fitting)
    if task == "classify":
        path = write_csv(tmp_path / "people.csv", *people())
    else:
        rooms, area, price = house_prices()
        path = write_csv(tmp_path / "houses.csv", ["rooms", "area", "price"],
                         zip(rooms, area, price))
    outputs = [run(capsys, "train", "--data", path, *FAST, *flag) for flag in (["--eager"], [])]
    (eager_status, eager, _), (status, compiled, err) = outputs
    assert eager_status == status == 0, err
    assert without_timings(compiled) == without_timings(eager)
    assert len(made) == 1 and replayed(made[0])


def test_categorical_option_overrides_the_detection(tmp_path, capsys):
    header, rows = people()
    rows = [[age, income, {"red": "1", "green": "2", "blue": "3"}[colour], label]
            for age, income, colour, label in rows]  # colour codes look like numbers
    path = write_csv(tmp_path / "coded.csv", header, rows)
    _, detected, _ = run(capsys, "train", "--data", path, *FAST)
    status, out, err = run(capsys, "train", "--data", path, "--categorical", "colour", *FAST)
    assert "3 numeric, 0 categorical -> 3 inputs" in detected
    assert status == 0 and "2 numeric, 1 categorical ('colour') -> 5 inputs" in out, err


def test_a_numeric_target_with_many_values_is_regressed_in_its_units(tmp_path, capsys):
    rooms, area, price = house_prices()
    path = write_csv(tmp_path / "houses.csv", ["rooms", "area", "price"],
                     zip(rooms, [f"{a:.2f}" for a in area], [f"{p:.2f}" for p in price]))
    status, out, err = run(capsys, "train", "--data", path, "--epochs", "200", "--patience", "20",
                           "--save", tmp_path / "model.npz")
    assert status == 0, err
    assert "target 'price': it holds numbers" in out and "so regression" in out
    line = summary(out)
    r2 = float(line.split("R² ")[1].split(",")[0])
    rmse = float(line.split("RMSE ")[1].split(",")[0])
    assert r2 > 0.9 and rmse < 0.3 * price.std()  # RMSE in the price's own units
    status, predicted, err = run(capsys, "predict", "--load", tmp_path / "model.npz",
                                 "--data", path)
    lines = predicted.splitlines()
    assert status == 0 and lines[0] == "price" and len(lines) == 1 + len(price), err
    values = np.array([float(value) for value in lines[1:]])
    assert np.corrcoef(values, price)[0, 1] > 0.95


def test_task_option_overrides_the_detection(tmp_path, capsys):
    path = write_csv(tmp_path / "people.csv", *people())
    status, _, err = run(capsys, "train", "--data", path, "--task", "regress", *FAST)
    assert status == 1 and "the target 'label' holds text" in err and "cannot be regressed" in err
    rooms, area, _ = house_prices()
    path = write_csv(tmp_path / "rooms.csv", ["area", "rooms"], zip(area, rooms))
    _, detected, _ = run(capsys, "train", "--data", path, *FAST)
    status, out, err = run(capsys, "train", "--data", path, "--task", "regress", *FAST)
    assert "it holds 5 distinct integers, so classification, 5 classes (1, 2, 3, 4, 5)" in detected
    assert status == 0 and "--task regress, so regression" in out, err


def test_missing_cells_are_imputed_or_dropped_when_asked(tmp_path, capsys):
    header, rows = people()
    rows[3][0], rows[10][2], rows[20][3] = "", "NA", "?"  # age, colour and a label missing
    path = write_csv(tmp_path / "gaps.csv", header, rows)
    status, out, err = run(capsys, "train", "--data", path, "--impute", "median", *FAST,
                           "--save", tmp_path / "model.npz")
    assert status == 0, err
    assert "--impute median: dropped 1 of 120 rows for missing targets" in out
    status, out, err = run(capsys, "train", "--data", path, "--impute", "drop", *FAST)
    assert status == 0 and "--impute drop: dropped 3 of 120 rows for missing cells" in out, err
    # the model fills a new row's gaps with the training rows' median and commonest colour
    new = write_csv(tmp_path / "new.csv", header[:3], [["", "0.5", "red"], ["1", "1", ""]])
    status, out, err = run(capsys, "predict", "--load", tmp_path / "model.npz", "--data", new)
    assert status == 0 and len(out.splitlines()) == 3, err


@pytest.fixture
def trained_people(tmp_path, capsys):
    """A model trained with --save on people.csv: (csv path, model path, rows)."""
    header, rows = people()
    path = write_csv(tmp_path / "people.csv", header, rows)
    status, _, err = run(capsys, "train", "--data", path, *FAST, "--save", tmp_path / "m.npz")
    assert status == 0, err
    return path, tmp_path / "m.npz", rows


def test_predict_gives_back_the_labels_as_written_and_each_class_probability(trained_people,
                                                                            capsys, tmp_path):
    path, model, rows = trained_people
    status, out, err = run(capsys, "predict", "--load", model, "--data", path,
                           "--output", tmp_path / "predictions.csv")
    assert status == 0 and out == f"wrote 120 predictions to {tmp_path / 'predictions.csv'}\n", err
    with open(tmp_path / "predictions.csv", newline="") as file:
        predictions = list(csv.DictReader(file))
    assert list(predictions[0]) == ["label", "p_no", "p_yes"] and len(predictions) == 120
    assert {p["label"] for p in predictions} <= {"yes", "no"}
    for p in predictions:
        probabilities = {label: float(p[f"p_{label}"]) for label in ("no", "yes")}
        assert sum(probabilities.values()) == pytest.approx(1, abs=2e-4)
        assert max(probabilities, key=probabilities.get) == p["label"]
    agree = np.mean([p["label"] == row[3] for p, row in zip(predictions, rows)])
    assert agree >= 0.8


def test_predict_rows_without_the_target_match_rows_with_it(trained_people, capsys, tmp_path):
    path, model, rows = trained_people
    bare = write_csv(tmp_path / "bare.csv", ["age", "income", "colour"], [r[:3] for r in rows])
    with_target = run(capsys, "predict", "--load", model, "--data", path)[1]
    without = run(capsys, "predict", "--load", model, "--data", bare)[1]
    assert with_target == without and len(without.splitlines()) == 121


def test_the_model_file_carries_the_preparation(trained_people):
    _, model, _ = trained_people
    _, metadata = serialization.read(model)
    preparation = tabular.Preparation(**metadata["preparation"])
    assert preparation.features == ["age", "income", "colour"]
    assert preparation.categorical["colour"][1] == ["blue", "green", "red"]
    assert preparation.classes == ["no", "yes"] and preparation.inputs == 5
    json.dumps(metadata)  # plain JSON, no pickles


def test_npy_npz_and_a_target_index(tmp_path, capsys):
    rooms, area, price = house_prices()
    np.save(tmp_path / "last.npy", np.column_stack([area, price, rooms]))
    np.savez(tmp_path / "xy.npz", X=np.column_stack([area, price]), y=rooms[:, None])  # a column
    np.save(tmp_path / "first.npy", np.column_stack([rooms, area, price]))
    outs = [run(capsys, "train", "--data", tmp_path / name, *target, *FAST)
            for name, target in (("last.npy", []), ("xy.npz", []), ("first.npy", ["--target", 0]))]
    assert [status for status, _, _ in outs] == [0, 0, 0], [err for _, _, err in outs]
    assert "target '2': it holds 5 distinct integers" in outs[0][1]
    assert "target 'y': it holds 5 distinct integers" in outs[1][1]
    assert "target '0': it holds 5 distinct integers" in outs[2][1]
    assert all("2 numeric, 0 categorical -> 2 inputs" in out for _, out, _ in outs)


def test_parquet_needs_pyarrow_or_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "table.parquet").write_bytes(b"PAR1")
    status, _, err = run(capsys, "train", "--data", tmp_path / "table.parquet")
    assert status == 1 and 'pip install "jitgrad[parquet]"' in err


def test_parquet_trains_like_the_csv(tmp_path, capsys):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as parquet
    header, rows = people()
    columns = list(zip(*rows))
    table = pyarrow.table({"age": [float(v) for v in columns[0]],
                           "income": [float(v) for v in columns[1]],
                           "colour": list(columns[2]), "label": list(columns[3])})
    parquet.write_table(table, tmp_path / "people.parquet")
    status, out, err = run(capsys, "train", "--data", tmp_path / "people.parquet", *FAST)
    assert status == 0 and "1 categorical ('colour') -> 5 inputs" in out, err


BAD_FILES = {  # name: (content, the message's key part)
    "no_target": ("a,b\n1,2\n", "has no column 'label'; its columns are 'a', 'b'"),
    "not_a_number": ("a,b,label\n1,2,x\n3,4,y\n5,six,x\n7,8,y\n",
                     "line 4, column 'b': 'six' is not a number"),
    "missing": ("a,b,label\n1,,x\n3,4,y\nNA,6,x\n7,8,y\n",
                "2 missing cells (line 2 column 'b', line 4 column 'a'); fill them, or pass "
                "--impute mean|median|drop"),
    "ragged": ("a,b,label\n1,2,x\n3,4\n", "line 3 has 2 cells but the header has 3 columns"),
    "empty": ("", "is empty"),
    "header_only": ("a,b,label\n", "has a header but no rows"),
    "single_class": ("a,b,label\n1,2,x\n3,4,x\n5,6,x\n", "the target 'label' holds a single class "
                     "('x'); there is nothing to tell apart"),
    "rare_class": ("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n",
                   "the class 'x' has only 2 rows; each class needs at least 3"),
    "too_few_rows": ("a,b,label\n" + "".join(f"{i},{i},{'xy'[i % 2]}\n" for i in range(8)),
                     "8 rows are too few to hold out 20% for testing and a validation slice for "
                     "2 classes; it takes at least 14"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_gets_one_line_status_1_and_nothing_written(tmp_path, capsys, name):
    content, message = BAD_FILES[name]
    (tmp_path / "data.csv").write_text(content)
    before = sorted(os.listdir(tmp_path))
    status, out, err = run(capsys, "train", "--data", tmp_path / "data.csv", "--target", "label",
                           "--save", tmp_path / "model.npz", "--plot", tmp_path / "curves.png")
    assert status == 1 and out == ""
    assert err.startswith(f"jitgrad train: error: {tmp_path / 'data.csv'}") and message in err
    assert err.count("\n") == 1 and err.endswith("\n")
    assert sorted(os.listdir(tmp_path)) == before


def test_predict_refuses_a_file_with_other_columns(trained_people, tmp_path, capsys):
    _, model, _ = trained_people
    other = write_csv(tmp_path / "other.csv", ["age", "height", "colour"], [["1", "2", "red"]])
    status, out, err = run(capsys, "predict", "--load", model, "--data", other,
                           "--output", tmp_path / "out.csv")
    assert status == 1 and out == "" and not (tmp_path / "out.csv").exists()
    assert err == (f"jitgrad predict: error: {model} was trained on the columns 'age', 'income', "
                   f"'colour'; {other} lacks 'income' and has 'height', unknown to the model\n")


def test_predict_refuses_a_non_number_where_the_model_had_numbers(trained_people, tmp_path,
                                                                   capsys):
    _, model, _ = trained_people
    bad = write_csv(tmp_path / "bad.csv", ["age", "income", "colour"], [["1", "lots", "red"]])
    status, _, err = run(capsys, "predict", "--load", model, "--data", bad)
    assert status == 1 and "line 2, column 'income': 'lots' is not a number" in err


def test_plot_draws_the_regression_curves(tmp_path, capsys):
    rooms, area, price = house_prices()
    path = write_csv(tmp_path / "houses.csv", ["rooms", "area", "price"], zip(rooms, area, price))
    status, out, err = run(capsys, "train", "--data", path, *FAST, "--plot", tmp_path / "c.png")
    assert status == 0 and f"wrote the learning curves to {tmp_path / 'c.png'}" in out, err
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_options_with_distributed_or_a_digits_model_are_refused(tmp_path, capsys):
    path = write_csv(tmp_path / "people.csv", *people())
    status, _, err = run(capsys, "train", "--data", path, "--distributed")
    assert status == 1 and "--distributed trains on --dataset digits or mnist" in err
    status, _, err = run(capsys, "train", "--hidden", "4", "--epochs", "1",
                         "--save", tmp_path / "digits.npz")
    assert status == 0, err
    status, _, err = run(capsys, "predict", "--load", tmp_path / "digits.npz", "--data", path)
    assert status == 1 and "--data and --output are for models trained on a table" in err
