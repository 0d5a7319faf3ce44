"""Unit tests for ledger.capture.log_scalars: metrics read from what a run printed."""

from __future__ import annotations

import math
import zlib

import pytest

from ledger.capture.log_scalars import MAX_KEYS, read_log_scalars, read_stored_log
from ledger.capture.log_tee import compress_log
from ledger.core.log_patterns import compile_patterns


def series(text: str, **kwargs: object) -> dict[str, list[tuple[int, float]]]:
    found, problems = read_log_scalars(text, **kwargs)  # type: ignore[arg-type]
    assert problems == []
    return {k: list(zip(p.steps, p.values, strict=True)) for k, p in found.items()}


# real-looking output


def test_epoch_lines_give_a_series_per_key_stepped_by_epoch() -> None:
    log = (
        "Epoch 1/3 - loss: 0.512345 - val_acc: 0.7012\n"
        "Epoch 2/3 - loss: 0.391234 - val_acc: 0.7512\n"
        "Epoch 3/3 - loss: 0.191234 - val_acc: 0.8123\n"
    )

    assert series(log) == {
        "loss": [(1, 0.512345), (2, 0.391234), (3, 0.191234)],
        "val_acc": [(1, 0.7012), (2, 0.7512), (3, 0.8123)],
    }


def test_keras_output_in_a_pipe() -> None:
    # Keras prints no progress bar when stdout is not a terminal, as under `ledger run`.
    log = (
        "Epoch 1/2\n"
        "1875/1875 - 3s - 1ms/step - accuracy: 0.8750 - loss: 0.4432 - val_loss: 0.3900\n"
        "Epoch 2/2\n"
        "1875/1875 - 2s - 1ms/step - accuracy: 0.9120 - loss: 0.2950 - val_loss: 0.3100\n"
    )

    assert series(log) == {
        "accuracy": [(1, 0.875), (2, 0.912)],
        "loss": [(1, 0.4432), (2, 0.295)],
        "val_loss": [(1, 0.39), (2, 0.31)],
    }


def test_pytorch_quickstart_output() -> None:
    log = (
        "Epoch 1\n-------------------------------\n"
        "loss: 2.303517  [   64/60000]\n"
        "loss: 2.158196  [57664/60000]\n"
        "Test Error: \n Accuracy: 45.3%, Avg loss: 2.150125 \n\n"
        "Epoch 2\n-------------------------------\n"
        "loss: 1.888322  [   64/60000]\n"
        "Test Error: \n Accuracy: 58.1%, Avg loss: 1.850000 \n\n"
        "Done!\n"
    )

    found = series(log)

    assert found["Accuracy"] == [(1, 45.3), (2, 58.1)]
    # The training loss only: `Avg loss: 2.15` ends a phrase, and the test set's loss is
    # not the training `loss` (within an epoch the last value printed is kept).
    assert [s for s, _ in found["loss"]] == [1, 1, 2]


def test_guild_style_step_lines_set_the_step_of_the_lines_after() -> None:
    log = "step: 1\nloss: 2.345\naccuracy: 0.123\n\nstep: 2\nloss: 1.234\naccuracy: 0.456\n"

    assert series(log) == {"loss": [(1, 2.345), (2, 1.234)], "accuracy": [(1, 0.123), (2, 0.456)]}


def test_a_step_key_on_the_line_beats_an_epoch_and_applies_to_the_whole_line() -> None:
    log = "loss=0.5 epoch=1 step=100\nloss=0.4 epoch=1 global_step=200\n"

    assert series(log) == {"loss": [(100, 0.5), (200, 0.4)]}


def test_values_without_any_step_are_numbered_by_occurrence() -> None:
    log = "train_loss=0.9\nsomething else\ntrain_loss=0.7\ntrain_loss=0.6 acc=0.5\n"

    assert series(log) == {"train_loss": [(0, 0.9), (1, 0.7), (2, 0.6)], "acc": [(0, 0.5)]}


def test_logging_lines_keep_their_metrics_but_not_their_timestamps() -> None:
    log = (
        "2024-05-01 12:03:04,123 - INFO - step=10 loss=0.25 lr=1e-3\n"
        "[2024-05-01T12:03:05Z] INFO: eval: acc: 0.91\n"
        "INFO:root:val/loss: 0.3\n"
    )

    assert series(log) == {
        "loss": [(10, 0.25)],
        "lr": [(10, 0.001)],
        "acc": [(10, 0.91)],
        "val/loss": [(10, 0.3)],
    }


def test_special_values_and_forms_of_numbers() -> None:
    log = "a: nan\nb: -inf\nc=+1.5e-05\nd: .5\ne: 7\nf: NaN\ng: 91.2%\nh: 0.3,\n"

    found = series(log)

    assert math.isnan(found["a"][0][1])
    assert math.isnan(found["f"][0][1])
    assert {k: v[0][1] for k, v in found.items() if k not in "af"} == {
        "b": -math.inf,
        "c": 1.5e-05,
        "d": 0.5,
        "e": 7.0,
        "g": 91.2,
        "h": 0.3,
    }


def test_windows_line_endings_are_lines_not_progress_bars() -> None:
    assert series("Epoch 1/2 - loss: 0.5\r\nEpoch 2/2 - loss: 0.4\r\n") == {"loss": [(1, 0.5), (2, 0.4)]}


# what must not become a metric


@pytest.mark.parametrize(
    "line",
    [
        "2024-05-01 12:03:04,123 - INFO - saved the model to models/model.pt",
        "time: 12:03:04",
        "elapsed: 00:01:02",
        "date=2024-05-01",
        "Batch 1/5",
        "progress: 1/5",
        "version: 2.1.0",
        "torch: 2.1.0+cpu",
        "python=3.11.4",
        "host=10.0.0.1",
        "server: 192.168.1.20:8080",
        "path: /data/processed/0.pt",
        "output=./runs/3",
        "took: 3ms",
        "memory: 12GB",
        "hash: 0x1f",
        "samples: 60,000",
        "seed: 42",
        "port=8080",
        "pid: 1234",
        "Namespace(batch_size=64, epochs=5, lr=0.01)",
        "TrainingConfig(lr=0.01, epochs=3)",
        "{'loss': 0.5, 'epoch': 1.0}",
        '{"loss": 0.5}',
        "running: python train.py --lr=0.1 --epochs=3",
        "loss : 0.5",
        "loss = 0.5",
        "loss:0.5",
        " 40%|████      | 2/5 [00:02<00:03,  1.01s/it, loss=0.4]",
        "\r 20%|██  | 1/5 [00:01<00:04, loss=0.5]\r 40%|████ | 2/5 [00:02<00:03, loss=0.4]",
        "1/5 loss=0.5\r2/5 loss=0.4\r3/5 loss=0.3",
        "lossy: 0.5x",
        "data: 3 files found in data/processed",
        "Train samples: 60000 images",
        "time: 12.3 s",
    ],
)
def test_what_is_not_a_metric(line: str) -> None:
    assert series(line + "\n") == {}


def test_a_tqdm_bar_between_epoch_lines_adds_nothing() -> None:
    bar = "".join(
        f"\r{i * 20:3d}%|{'#' * i}| {i}/5 [00:00<00:00, 9.9it/s, loss={1 / (i + 1):.3f}]" for i in range(6)
    )
    log = f"{bar}\nEpoch 1/1 - loss: 0.2\n"

    assert series(log) == {"loss": [(1, 0.2)]}


RICH_BAR = "Epoch 0/0  " + "\u2501" * 17 + " 32/32 0:00:00 \u2022 0:00:00 45.22it/s v_num: 0.000     "
"""Lightning's Rich bar as it ends in a file or pipe: its metrics column wraps below it."""
UNDER_THE_COLUMN = " " * RICH_BAR.index("v_num")


def test_the_wrapped_rest_of_a_rich_bar_is_no_metric() -> None:
    log = f"{RICH_BAR}\n{UNDER_THE_COLUMN}val/loss: 0.181  \n{UNDER_THE_COLUMN}val/acc: 0.944   \n"

    assert series(log) == {}


@pytest.mark.parametrize(
    "after",
    ["val/loss: 0.18", "    val/loss: 0.18", "", f"{UNDER_THE_COLUMN}x\nval/loss: 0.18"],
    ids=["unindented", "indented-elsewhere", "blank-line-between", "after-the-bar-ended"],
)
def test_the_scripts_own_lines_after_a_bar_are_metrics(after: str) -> None:
    log = f"{RICH_BAR}\n{after}\nval/loss: 0.18\n" if after == "" else f"{RICH_BAR}\n{after}\n"

    assert series(log) == {"val/loss": [(0, 0.18)]}


def test_keys_recorded_otherwise_are_skipped() -> None:
    log = "lr: 0.01\nEpoch 1/1 - loss: 0.2 - dice: 0.9\n"

    assert series(log, skip={"lr", "dice"}) == {"loss": [(1, 0.2)]}


def test_a_redacted_secret_is_not_a_number() -> None:
    text = compress_log(b"password: 12345678\ntoken=987654321\nEpoch 1/1 - loss: 0.2\n")

    found, problems = read_stored_log(text, patterns=(), skip=(), at_ms=5)

    assert problems == []
    assert set(found) == {"loss"}
    assert list(found["loss"].times_ms) == [5]


def test_too_many_keys_is_a_capture_problem_not_thousands_of_metrics() -> None:
    log = "".join(f"k{i}: {i}\n" for i in range(MAX_KEYS + 7))

    found, problems = read_log_scalars(log)

    assert len(found) == MAX_KEYS
    assert problems == [f"log: more than {MAX_KEYS} metric names printed; 7 not read as metrics"]


def test_an_unreadable_stored_log_is_a_problem_not_an_exception() -> None:
    found, problems = read_stored_log(b"not zlib", patterns=(), skip=(), at_ms=0)

    assert found == {}
    assert len(problems) == 1
    assert problems[0].startswith("log: metrics not read from the output (error:")


def test_read_stored_log_reads_the_compressed_log() -> None:
    found, _ = read_stored_log(zlib.compress(b"Epoch 2/2 - loss: 0.1\n"), patterns=(), skip=(), at_ms=0)

    assert list(found["loss"].steps) == [2]


# user patterns


def test_user_patterns_replace_the_built_in_ones() -> None:
    log = "Epoch 1/2 - loss: 0.5\nEpoch 2/2 - loss: 0.4\nTest accuracy 0.93\n"
    patterns = [r"^Epoch (?P<step>\d+)/\d+", r"Test accuracy (?P<test_acc>\S+)"]

    assert series(log, patterns=patterns) == {"test_acc": [(2, 0.93)]}


def test_user_patterns_with_key_and_value_groups() -> None:
    log = "[it 10] train.loss 0.5\n[it 20] train.loss 0.4 tqdm-ish\r[it 30] train.loss 0.3\n"
    patterns = [r"\[it (?P<step>\d+)\] (?P<key>\S+) (?P<value>\S+)"]

    # A `\r` ends a line for user patterns: each redraw is read.
    assert series(log, patterns=patterns) == {"train.loss": [(10, 0.5), (20, 0.4), (30, 0.3)]}


@pytest.mark.parametrize(
    "pattern",
    ["loss: (", r"loss: (\S+)", r"(?P<key>\w+): \S+", r"(?P<key>\w+): (?P<value>\S+) (?P<acc>\S+)"],
    ids=["not-a-regex", "no-named-group", "key-without-value", "key-and-metric-groups"],
)
def test_bad_user_patterns_are_refused_in_one_line(pattern: str) -> None:
    with pytest.raises(ValueError, match="log metric pattern") as caught:
        compile_patterns([pattern])

    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "line",
    [
        "tokens per iteration will be: 768",
        "num non-decayed parameter tensors: 5, with 320 parameters",
        "Modules in eval mode: 0",
        "Non-trainable params: 0",
        "Epoch 0/9 \u2501\u2501\u2501\u2501 2/2 0:00:00 \u2022 0:00:00 0.00it/s v_num: 0 val/loss: 0.029",
        "  3%|\u258e         | 1/30 [00:01<00:30, loss=0.5]",
    ],
)
def test_a_phrase_or_a_progress_bar_is_not_a_metric(line: str) -> None:
    assert series(line + "\n") == {}


def test_pairs_after_a_separator_or_a_previous_value_are_metrics() -> None:
    log = "train_loss: 0.5 val_loss: 0.6\n1875/1875 [=====] - 3s 1ms/step - loss: 0.2968 - acc: 0.9\n"

    assert series(log) == {
        "train_loss": [(0, 0.5)],
        "val_loss": [(0, 0.6)],
        "loss": [(0, 0.2968)],
        "acc": [(0, 0.9)],
    }
