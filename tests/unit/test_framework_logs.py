"""The framework log readers on files in the frameworks' exact formats."""

from __future__ import annotations

import json
import struct
import time
from array import array
from typing import TYPE_CHECKING, Any

import pytest

from ledger.capture.framework_logs import COPIED_FILES, copy_row_logs, read_framework_logs
from ledger.capture.framework_logs.crc32c import START, all_match, crc32c, ends_at_zero, masked_crc32c
from ledger.capture.framework_logs.rows import Row, own_rows, parse_csv_rows, step_series
from ledger.capture.framework_logs.tfevents import read_event_scalars
from ledger.capture.outputs import scan_outputs

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.core.chunks import Points


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _event(step: int, tag: str, value: float, *, wall_time: float = 1e9) -> bytes:
    """An Event with one simple_value, encoded from the protobuf spec (no library)."""
    value_msg = _field(1, tag.encode()) + _varint(2 << 3 | 5) + struct.pack("<f", value)
    summary = _field(1, value_msg)
    return (
        (_varint(1 << 3 | 1) + struct.pack("<d", wall_time))
        + _varint(2 << 3)
        + _varint(step)
        + _field(5, summary)
    )


def _record(data: bytes) -> bytes:
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", masked_crc32c(head)) + data + struct.pack("<I", masked_crc32c(data))


def test_crc32c_matches_the_standard_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720, B.4: 32 bytes of zeroes


def test_start_takes_the_register_from_zero_to_the_crcs_initial_value() -> None:
    """From zero, START then data then the data's complemented CRC is zero again."""
    crc = crc32c(b"123456789") ^ 0xFFFFFFFF

    assert ends_at_zero(START + b"123456789" + struct.pack("<I", crc))
    assert not ends_at_zero(START + b"123456780" + struct.pack("<I", crc))


@pytest.mark.parametrize("wrong", [0, 1, 511, 999], ids=["first", "second", "middle", "last"])
def test_checked_together_one_wrong_crc_among_many_is_found(wrong: int) -> None:
    records = [bytes(range(n % 200)) + struct.pack("<I", n) for n in range(1000)]
    masked = array("I", map(masked_crc32c, records))
    assert all_match(records, masked)

    masked[wrong] ^= 1 << (wrong % 32)

    assert not all_match(records, masked)


def test_event_records_built_from_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(b"".join(_record(_event(s, "loss", 1 / (abs(s) + 1))) for s in (0, 1, -1)))

    found, problems = read_event_scalars(path)

    assert problems == []
    assert list(found["loss"].steps) == [0, 1, -1]
    assert list(found["loss"].values) == [1.0, 0.5, 0.5]
    assert list(found["loss"].times_ms) == [10**12] * 3


def test_damage_keeps_what_was_read_before_it(tmp_path: Path) -> None:
    good = [_record(_event(s, "loss", float(s))) for s in range(3)]
    flipped = bytearray(_record(_event(3, "loss", 3.0)))
    flipped[-6] ^= 0x01  # in the float: the data's CRC no longer matches
    broken_header = bytearray(_record(_event(4, "loss", 4.0)))
    broken_header[0] ^= 0x01
    path = tmp_path / "events.out.tfevents.2.host"
    path.write_bytes(b"".join(good) + bytes(flipped) + bytes(broken_header) + good[0])

    found, problems = read_event_scalars(path)

    assert list(found["loss"].steps) == [0, 1, 2]
    assert problems == [
        f"corrupt record header at byte {sum(map(len, good)) + len(flipped)}; the rest is unreadable",
        "1 damaged record(s) skipped",
    ]


def test_a_torn_last_record_is_reported_as_truncated(tmp_path: Path) -> None:
    records = [_record(_event(s, "loss", float(s))) for s in range(2)]
    path = tmp_path / "events.out.tfevents.3.host"
    path.write_bytes(records[0] + records[1][:-5])

    found, problems = read_event_scalars(path)

    assert list(found["loss"].steps) == [0]
    assert problems == [f"truncated after {len(records[0])} bytes"]


def test_events_before_since_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.4.host"
    path.write_bytes(
        _record(_event(0, "a", 1.0, wall_time=100.0)) + _record(_event(1, "a", 2.0, wall_time=200.0))
    )

    found, _ = read_event_scalars(path, since=150.0)

    assert list(found["a"].steps) == [1]


def test_tensorflow2_style_tensor_scalars_from_tensorboards_writer(tmp_path: Path) -> None:
    """TF2 `tf.summary.scalar` writes a scalar-shaped tensor; histograms and text are tensors too."""
    pytest.importorskip("tensorboard")
    np = pytest.importorskip("numpy")
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    writer = EventFileWriter(str(tmp_path))
    values = {
        "f32": np.float32(0.5),
        "f64": np.float64(-2.25),
        "i64": np.int64(-7),
        "histogram": np.array([[0.0, 1.0, 3.0]], dtype=np.float64),
        "text": np.array(b"hello", dtype=object),
    }
    for step in range(2):
        summary = summary_pb2.Summary(
            value=[
                summary_pb2.Summary.Value(tag=t, tensor=tensor_util.make_tensor_proto(v))
                for t, v in values.items()
            ]
        )
        writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
    writer.close()
    path = next(tmp_path.glob("events.out.tfevents.*"))

    found, problems = read_event_scalars(path)

    assert problems == []
    assert {k: list(p.values) for k, p in found.items()} == {
        "f32": [0.5, 0.5],
        "f64": [-2.25, -2.25],
        "i64": [-7.0, -7.0],
    }


def test_lightning_csv_rows_mix_columns_with_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"epoch,step,train_loss,val_loss\r\n0,0,0.5,\r\n0,1,0.4,\r\n0,1,,0.45\r\n")

    series = step_series(parse_csv_rows(path.read_bytes()))

    assert {k: (list(p.steps), list(p.values)) for k, p in series.items()} == {
        "train_loss": ([0, 1], [0.5, 0.4]),
        "val_loss": ([1], [0.45]),
    }


def test_a_table_without_step_or_epoch_is_no_log(tmp_path: Path) -> None:
    path = tmp_path / "training.log"
    path.write_text("2024-05-01 INFO starting, lr=0.1\nloss 0.5\n")

    assert parse_csv_rows(path.read_bytes()) == []


def test_rows_an_earlier_run_left_at_the_top_are_not_this_runs() -> None:
    old: list[Row] = [{"epoch": "0", "loss": "0.5"}, {"epoch": "1", "loss": "0.4"}]
    now: list[Row] = [*old, {"epoch": "2", "loss": "0.3"}]

    assert own_rows(now, [old]) == [{"epoch": "2", "loss": "0.3"}]
    assert own_rows(old, [old]) == old  # written again, same rows: all its own
    other: list[Row] = [{"epoch": "0", "loss": "9"}]
    assert own_rows(now, [other]) == now


def _trainer_files(root: Path, folder: str, lr: float) -> list[str]:
    history: list[dict[str, float]] = []
    names = []
    for step in (1, 2, 3, 4):
        history.append({"epoch": step / 2, "loss": 1 - lr * step, "step": step})
        if step % 2 == 0:
            name = f"{folder}/checkpoint-{step}/trainer_state.json"
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(json.dumps({"log_history": history}))
            names.append(name)
    for name, data in (
        ("trainer_state.json", {"log_history": history}),
        ("all_results.json", {"epoch": 2.0, "eval_loss": 0.5}),
        ("eval_results.json", {"epoch": 2.0, "eval_loss": 0.5}),
    ):
        (root / folder / name).write_text(json.dumps(data))
        names.append(f"{folder}/{name}")
    return names


def test_the_trainers_newest_state_and_all_results_only(tmp_path: Path) -> None:
    written = _trainer_files(tmp_path, "out", 0.1)

    found = read_framework_logs(tmp_path, written, since=0.0, copies={})

    assert list(found.series) == ["out/trainer_state.json"]
    assert list(found.series["out/trainer_state.json"]["loss"].steps) == [1, 2, 3, 4]
    assert found.values == {"out/all_results.json": {"epoch": 2.0, "eval_loss": 0.5}}
    assert found.same == {"out/trainer_state.json": "out/all_results.json"}


def test_a_checkpoint_state_when_the_trainer_saved_no_final_one(tmp_path: Path) -> None:
    written = [n for n in _trainer_files(tmp_path, "out", 0.1) if "checkpoint-" in n]

    found = read_framework_logs(tmp_path, written, since=0.0, copies={})

    assert list(found.series) == ["out/checkpoint-4/trainer_state.json"]


def test_one_metric_two_loggers_wrote_is_kept_once(tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "metrics.csv").write_text("step,loss,acc\n0,0.1,0.5\n1,0.2,0.6\n")
    events = "tb/events.out.tfevents.1.host"
    (tmp_path / "tb").mkdir()
    (tmp_path / events).write_bytes(
        b"".join(
            _record(_event(s, k, v)) for s, k, v in ((0, "loss", 0.1), (1, "loss", 0.2), (1, "acc", 0.7))
        )
    )

    found = read_framework_logs(tmp_path, ["csv/metrics.csv", events], since=0.0, copies={})

    assert {n: sorted(s) for n, s in found.series.items()} == {
        "csv/metrics.csv": ["acc", "loss"],
        events: ["acc"],
    }


def test_log_files_and_copies_come_from_the_outputs_walk(tmp_path: Path) -> None:
    (tmp_path / "lightning_logs" / "version_0").mkdir(parents=True)
    (tmp_path / "lightning_logs" / "version_0" / "metrics.csv").write_text("epoch,step,loss\n0,0,0.5\n")
    (tmp_path / "data.csv").write_text("step,x\n0,1\n")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "events.out.tfevents.1.host").write_bytes(b"")

    scan = scan_outputs(tmp_path, (), float("inf"), logs=("metrics.csv", "events.out.tfevents.*"))
    copies = copy_row_logs(tmp_path, scan.logs)

    assert sorted(scan.logs) == ["lightning_logs/version_0/metrics.csv", "runs/events.out.tfevents.1.host"]
    assert copies == {"lightning_logs/version_0/metrics.csv": b"epoch,step,loss\n0,0,0.5\n"}


def test_only_the_newest_row_logs_are_copied_at_the_start(tmp_path: Path) -> None:
    found = {}
    for n in range(COPIED_FILES + 1):
        name = f"lightning_logs/version_{n}/metrics.csv"
        (tmp_path / name).parent.mkdir(parents=True)
        (tmp_path / name).write_text("epoch,step,loss\n0,0,0.5\n")
        found[name] = 1000.0 + n

    copies = copy_row_logs(tmp_path, found)

    assert len(copies) == COPIED_FILES
    assert "lightning_logs/version_0/metrics.csv" not in copies


def test_rows_lightning_kept_when_it_rewrote_the_header_are_still_the_earlier_runs(tmp_path: Path) -> None:
    """Resumed into the same version, Lightning rewrites `metrics.csv` with the new run's
    (sorted) columns, the old rows first, then appends."""
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"epoch,step,train_loss\r\n0,0,0.5\r\n0,1,0.4\r\n")
    before = path.read_bytes()
    path.write_bytes(b"epoch,lr,step,train_loss\r\n0,,0,0.5\r\n0,,1,0.4\r\n1,0.1,2,0.3\r\n")

    rows = own_rows(parse_csv_rows(path.read_bytes()), [parse_csv_rows(before)])

    assert rows == [{"epoch": "1", "lr": "0.1", "step": "2", "train_loss": "0.3"}]


def _tensorboard_scalars(folder: Path, steps: int) -> Path:
    """An event file of `add_scalar` events from TensorBoard's own writer."""
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(folder))
    for step in range(steps):
        for tag in ("train/loss", "lr"):
            value = summary_pb2.Summary.Value(tag=tag, simple_value=1.0 / (step + 1))
            summary = summary_pb2.Summary(value=[value])
            writer.add_event(event_pb2.Event(wall_time=1e9 + step, step=step, summary=summary))
    writer.close()
    return next(folder.glob("events.out.tfevents.*"))


def _record_starts(raw: bytes) -> list[int]:
    starts, pos = [], 0
    while pos < len(raw):
        starts.append(pos)
        pos += 16 + struct.unpack_from("<Q", raw, pos)[0]
    return starts


def test_a_flipped_bit_in_any_record_header_is_a_problem_naming_the_file(tmp_path: Path) -> None:
    """Every bit of the length and of its CRC, in a record whose header repeats the one
    of the records before it (a header already checked must be checked again)."""
    path = _tensorboard_scalars(tmp_path, 6)
    name = path.relative_to(tmp_path).as_posix()
    pristine = path.read_bytes()
    starts = _record_starts(pristine)
    at = starts[10]  # step 4's `lr` (the first record is the file version): as long as step 3's
    assert pristine[at : at + 12] == pristine[starts[8] : starts[8] + 12]
    intact = read_framework_logs(tmp_path, [name], since=0.0, copies={}).series[name]

    for byte in range(12):
        for bit in range(8):
            raw = bytearray(pristine)
            raw[at + byte] ^= 1 << bit
            path.write_bytes(bytes(raw))

            found = read_framework_logs(tmp_path, [name], since=0.0, copies={})

            assert found.problems == [
                f"{name}: corrupt record header at byte {at}; the rest is unreadable"
            ], (byte, bit)
            series = found.series[name]
            assert list(series["train/loss"].steps) == [0, 1, 2, 3, 4], (byte, bit)
            assert list(series["lr"].steps) == [0, 1, 2, 3], (byte, bit)
            assert list(series["lr"].values) == list(intact["lr"].values)[:4]


def test_a_flipped_bit_in_any_scalar_records_data_drops_that_record_alone(tmp_path: Path) -> None:
    """Checked together, the CRCs of the scalar records still find the one damaged record."""
    path = _tensorboard_scalars(tmp_path, 6)
    pristine = path.read_bytes()
    starts = _record_starts(pristine)
    at = starts[10]
    length = struct.unpack_from("<Q", pristine, at)[0]

    for byte in range(12, 16 + length):
        raw = bytearray(pristine)
        raw[at + byte] ^= 0x10
        path.write_bytes(bytes(raw))

        found, problems = read_event_scalars(path, since=1e9)

        assert problems == ["1 damaged record(s) skipped"], byte
        assert list(found["lr"].steps) == [0, 1, 2, 3, 5], byte
        assert list(found["train/loss"].steps) == list(range(6)), byte


def test_scalar_events_read_as_tensorboards_own_loader_reads_them(tmp_path: Path) -> None:
    """Steps of every varint length, long and non-ASCII tags, through the shortcut for
    torch's scalar events, against TensorBoard's reader of the same file."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(tmp_path))
    steps = (0, 1, 127, 128, 200, 16383, 16384, 2**21, 2**40, -5)
    tags = ("a", "train/loss", "é/" + "x" * 100, "y" * 130)
    for n, step in enumerate(steps):
        for tag in tags:
            value = summary_pb2.Summary.Value(tag=tag, simple_value=n / 7 - len(tag))
            summary = summary_pb2.Summary(value=[value])
            writer.add_event(event_pb2.Event(wall_time=1.7e9 + n / 3, step=step, summary=summary))
    writer.close()
    path = next(tmp_path.glob("events.out.tfevents.*"))
    expected: dict[str, list[tuple[int, int, float]]] = {}
    for event in EventFileLoader(str(path)).Load():
        for value in event.summary.value:
            number = value.simple_value if value.HasField("simple_value") else value.tensor.float_val[0]
            expected.setdefault(value.tag, []).append((event.step, int(event.wall_time * 1000), number))

    found, problems = read_event_scalars(path)

    assert problems == []
    assert {
        tag: list(zip(p.steps, p.times_ms, p.values, strict=True)) for tag, p in found.items()
    } == expected
    assert set(found) == set(tags)


def _loaders_scalars(path: Path) -> dict[str, list[tuple[int, int, float]]]:
    """(step, wall time in ms, value) of each scalar, by tag, as TensorBoard's reader reads them."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    expected: dict[str, list[tuple[int, int, float]]] = {}
    for event in EventFileLoader(str(path)).Load():
        for value in event.summary.value:
            if value.HasField("histo") or value.metadata.plugin_data.plugin_name == "histograms":
                continue
            number = value.simple_value if value.HasField("simple_value") else value.tensor.float_val[0]
            expected.setdefault(value.tag, []).append((event.step, int(event.wall_time * 1000), number))
    return expected


def _as_read(found: dict[str, Points]) -> dict[str, list[tuple[int, int, float]]]:
    return {tag: list(zip(p.steps, p.times_ms, p.values, strict=True)) for tag, p in found.items()}


def _scalar_rows(folder: Path, rows: list[tuple[int, list[str]]], *, histogram_at: int | None = None) -> Path:
    """`add_scalar` events from TensorBoard's own writer: each (step, tags) a row, in order."""
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2

    writer = _writer(folder)
    for n, (step, tags) in enumerate(rows):
        for i, tag in enumerate(tags):
            value = summary_pb2.Summary.Value(tag=tag, simple_value=n / 7 - i)
            summary = summary_pb2.Summary(value=[value])
            writer.add_event(event_pb2.Event(wall_time=1.7e9 + n / 3, step=step, summary=summary))
        if n == histogram_at:
            histo = summary_pb2.HistogramProto(
                min=0, max=9, num=3, bucket_limit=[1.0, 9.0], bucket=[1.0, 2.0]
            )
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="weights", histo=histo)])
            writer.add_event(event_pb2.Event(wall_time=1.7e9 + n / 3, step=step, summary=summary))
    writer.close()
    return next(folder.glob("events.out.tfevents.*"))


def _writer(folder: Path) -> Any:
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    return EventFileWriter(str(folder))


LONG_RUNS = {
    "steps of 1, 2, 3, 6, 9 and 10 bytes": [
        (step, ["train/loss", "lr"])
        for start, stop in ((0, 300), (16300, 16500), (2**40, 2**40 + 100), (2**60, 2**60 + 100), (-100, 0))
        for step in range(start, stop)
    ],
    "a tag that comes only late": [
        (s, ["train/loss", "lr"] + (["val/loss"] if s >= 150 else [])) for s in range(300)
    ],
    "a tag logged at some steps only": [(s, ["loss"] + (["val"] if s % 40 == 0 else [])) for s in range(400)],
    "a tag holding byte 0x15": [(s, ["loss", "a\x15b"]) for s in range(200)],
    "a tag too long for the shortcut": [(s, ["loss", "x" * 130]) for s in range(200)],
    "one tag twice a step": [(s, ["loss", "loss"]) for s in range(200)],
    "a step going back": [(s % 90, ["loss", "lr"]) for s in range(200)],
}


@pytest.mark.parametrize("rows", LONG_RUNS.values(), ids=LONG_RUNS.keys())
def test_long_runs_of_scalar_events_read_as_tensorboards_own_loader_reads_them(
    tmp_path: Path, rows: list[tuple[int, list[str]]]
) -> None:
    """Long runs of torch's scalar events, where rows of them are read in bulk, and
    what must interrupt such a run, against TensorBoard's reader of the same file."""
    path = _scalar_rows(tmp_path, rows)

    found, problems = read_event_scalars(path)

    assert problems == []
    assert _as_read(found) == _loaders_scalars(path)


def test_a_histogram_inside_a_long_run_ends_it_and_the_run_goes_on_after(tmp_path: Path) -> None:
    path = _scalar_rows(tmp_path, [(s, ["train/loss", "lr"]) for s in range(300)], histogram_at=120)

    found, problems = read_event_scalars(path)

    assert problems == []
    assert _as_read(found) == _loaders_scalars(path)
    assert list(found["lr"].steps) == list(range(300))


def test_a_resumed_runs_own_rows_in_a_long_run_are_those_since_it_started(tmp_path: Path) -> None:
    rows = [(s, ["train/loss", "lr"]) for s in range(400)]
    path = _scalar_rows(tmp_path, rows)
    since = 1.7e9 + 250 / 3  # the 251st row's wall time

    found, problems = read_event_scalars(path, since=since)

    assert problems == []
    assert list(found["lr"].steps) == list(range(250, 400))
    assert _as_read(found) == {
        tag: [p for p in points if p[0] >= 250] for tag, points in _loaders_scalars(path).items()
    }


def test_a_flipped_bit_anywhere_in_a_record_deep_in_a_long_run(tmp_path: Path) -> None:
    """In the header: reading stops there, what came before is kept; in the data or
    its CRC: that record alone is dropped and reported, the run goes on."""
    path = _scalar_rows(tmp_path, [(s, ["train/loss", "lr"]) for s in range(600)])
    pristine = path.read_bytes()
    starts = _record_starts(pristine)
    at = starts[1 + 2 * 500 + 1]  # step 500's `lr` (the first record is the file version)
    length = struct.unpack_from("<Q", pristine, at)[0]
    intact = _loaders_scalars(path)

    for byte in range(16 + length):
        raw = bytearray(pristine)
        raw[at + byte] ^= 0x10
        path.write_bytes(bytes(raw))

        found, problems = read_event_scalars(path)

        if byte < 12:
            assert problems == [f"corrupt record header at byte {at}; the rest is unreadable"], byte
            assert list(found["lr"].steps) == list(range(500)), byte
            assert list(found["train/loss"].steps) == list(range(501)), byte
        else:
            assert problems == ["1 damaged record(s) skipped"], byte
            assert list(found["lr"].steps) == [s for s in range(600) if s != 500], byte
            assert _as_read(found)["train/loss"] == intact["train/loss"], byte


def test_one_tag_at_two_steps_in_each_row_keeps_the_files_order(tmp_path: Path) -> None:
    """A row holding one tag twice (here with steps of one and two bytes) is read a
    record at a time: its points must stay in the file's order."""
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2

    writer = _writer(tmp_path)
    for n in range(200):
        for step in (n % 100, 1000 + n):
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="loss", simple_value=n)])
            writer.add_event(event_pb2.Event(wall_time=1.7e9 + n, step=step, summary=summary))
    writer.close()
    path = next(tmp_path.glob("events.out.tfevents.*"))

    found, problems = read_event_scalars(path)

    assert problems == []
    assert _as_read(found) == _loaders_scalars(path)


def test_a_long_run_torn_in_its_last_record_keeps_every_whole_one(tmp_path: Path) -> None:
    path = _scalar_rows(tmp_path, [(s, ["train/loss", "lr"]) for s in range(300)])
    raw = path.read_bytes()
    last = _record_starts(raw)[-1]
    path.write_bytes(raw[:-5])

    found, problems = read_event_scalars(path)

    assert problems == [f"truncated after {last} bytes"]
    assert list(found["train/loss"].steps) == list(range(300))
    assert list(found["lr"].steps) == list(range(299))


@pytest.mark.parametrize(
    "wall_time", [float("nan"), float("inf"), -1e16, 9e15], ids=["nan", "inf", "too-early", "the-bound"]
)
def test_a_wall_time_no_clock_gives_inside_a_long_run_is_damage(tmp_path: Path, wall_time: float) -> None:
    """Its CRC is right (written so): it is dropped and reported all the same."""
    path = tmp_path / "events.out.tfevents.5.host"
    events = [(s, tag, 1e9 + s) for s in range(200) for tag in ("loss", "lr")]
    events[301] = (150, "lr", wall_time)
    path.write_bytes(b"".join(_record(_event(s, tag, s / 2, wall_time=w)) for s, tag, w in events))

    found, problems = read_event_scalars(path)

    assert problems == ["1 damaged record(s) skipped"]
    assert list(found["lr"].steps) == [s for s in range(200) if s != 150]
    assert list(found["loss"].steps) == list(range(200))


def test_two_tags_whose_bytes_decode_alike_in_one_row_keep_the_files_order(tmp_path: Path) -> None:
    """Not UTF-8, both tags decode to one name: one series, its points in file order."""
    path = tmp_path / "events.out.tfevents.6.host"
    records = []
    for step in range(100):
        for n, tag in enumerate((b"\xff", b"\xfe")):
            value_msg = _field(1, tag) + _varint(2 << 3 | 5) + struct.pack("<f", n)
            event = _varint(1 << 3 | 1) + struct.pack("<d", 1e9 + step) + _varint(2 << 3) + _varint(step)
            records.append(_record(event + _field(5, _field(1, value_msg))))
    path.write_bytes(b"".join(records))

    found, problems = read_event_scalars(path)

    assert problems == []
    assert list(found) == ["\ufffd"]
    assert list(found["\ufffd"].steps) == [step for step in range(100) for _ in range(2)]
    assert list(found["\ufffd"].values) == [0.0, 1.0] * 100


@pytest.mark.parametrize("damaged", [None, 4000], ids=["intact", "damaged-late"])
def test_a_run_over_many_blocks_reads_every_row_once(tmp_path: Path, damaged: int | None) -> None:
    """A run longer than the first blocks it is checked in, intact, and with a value's
    bit flipped in a late block (that record alone is dropped)."""
    path = tmp_path / "events.out.tfevents.7.host"
    records = [
        _record(_event(s, tag, s / 4, wall_time=1e9 + s)) for s in range(6000) for tag in ("loss", "lr")
    ]
    if damaged is not None:
        flipped = bytearray(records[2 * damaged + 1])
        flipped[-6] ^= 0x01
        records[2 * damaged + 1] = bytes(flipped)
    path.write_bytes(b"".join(records))

    found, problems = read_event_scalars(path)

    assert problems == ([] if damaged is None else ["1 damaged record(s) skipped"])
    assert list(found["loss"].steps) == list(range(6000))
    assert list(found["lr"].steps) == [s for s in range(6000) if s != damaged]
    assert list(found["lr"].values) == [s / 4 for s in range(6000) if s != damaged]
    assert list(found["lr"].times_ms) == [(10**9 + s) * 1000 for s in range(6000) if s != damaged]
