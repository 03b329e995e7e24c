"""Where asset values live between steps: pickles whose polars frames are Arrow IPC files.

Dagster's ``FilesystemIOManager`` pickles a whole value; a polars frame inside it
is serialized row group by row group, and a value read by ten downstream steps
(the records at the cut) is deserialized ten times. Profiled on 100,000 subjects
that was 13 s of a 47 s run. Here each frame inside a value (at any depth: a
``TrialDrop``, a dict of tables) is written once as LZ4-compressed Arrow IPC
beside a small pickle of the rest, and a step in the same process as the step
that wrote the value (``trial-outcomes run``, the in-process executor) takes the
frames from memory instead of disk. Frames are immutable, so sharing them is
safe; every load unpickles fresh containers, so a step cannot change what the
next step sees.

Memory does not grow with what is kept: the values held for later steps share a
budget (``TRIAL_FRAME_MEMORY_MB``, 1,024 MB by default). A value that does not fit,
and the oldest ones when a new one needs room, leave memory, and their readers read
the frames' files instead, each step its own copy, gone with the step. At 100,000
subjects nearly everything fits; at a million, the records at the cut alone are 3.5 GB.

Each write goes to a new folder and the pickle that names it is swapped in
atomically; a run killed half-way leaves the previous value readable.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from upath import UPath

from trial_outcomes.assets.shared import OUTPUT_STORE
from trial_outcomes.io.outputs import ToPublish
from trial_outcomes.io.records import Frames, frame_bytes
from trial_outcomes.io.store import OutputStore

_FRAME = "polars-frame"
_FRAMES = "polars-frames-by-name"
#: environment variable: megabytes of frames kept in memory for later steps of the run
MEMORY_BUDGET_ENV = "TRIAL_FRAME_MEMORY_MB"
DEFAULT_MEMORY_BUDGET_MB = 1024
#: a value held in memory is at most this fraction of the budget
HELD_SHARE = 4
_SAFE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class _Opened:
    """A stored frame read when first asked for, from the file opened at load time: a later
    write of the same value removes the file's name, not the open file, so a step reads
    the value it loaded, whole or by a scan, however long it takes to ask. The file stays
    open while the frames that hold it do (a record type the step never read is closed
    with them)."""

    def __init__(self, path: Path):
        self.path = path
        self.handle: io.FileIO | None = io.FileIO(path, "r")

    def __call__(self) -> pl.DataFrame:
        return pl.read_ipc(self._source())

    def scan(self) -> pl.LazyFrame:
        """A lazy scan of the file: polars reads the columns (and batches) a query needs."""
        return pl.scan_ipc(self._source(), glob=False)

    def _source(self) -> str:
        """The opened file by a name that reaches it even once its own name is gone
        (Linux's ``/proc/self/fd``); elsewhere, its own name."""
        if self.handle is None:
            raise RuntimeError("a stored frame was read after its frames were closed")
        by_descriptor = Path(f"/proc/self/fd/{self.handle.fileno()}")
        return str(by_descriptor) if by_descriptor.exists() else str(self.path)

    def link(self, target: Path) -> None:
        """The opened file under a second name, ``target`` (a hard link: nothing is
        copied); copied where it cannot be linked (another file system, or a file whose
        names are all gone)."""
        source = self._source()
        try:
            # through /proc/self/fd: the opened file, not what its name is now. Python's
            # os.link follows that link (linkat's AT_SYMLINK_FOLLOW) only given a folder's fd
            folder = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.link(source, target.name, dst_dir_fd=folder, follow_symlinks=True)
            finally:
                os.close(folder)
        except OSError:
            shutil.copyfile(source, target)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def __del__(self) -> None:
        self.close()


class _Held:
    """A frame this store holds in memory for a later step, with the file it was written
    to: read, it is the frame; stored again, a link to that file (written again where the
    file is gone, the value having been written anew)."""

    def __init__(self, frame: pl.DataFrame, path: Path):
        self.frame, self.path = frame, path

    def __call__(self) -> pl.DataFrame:
        return self.frame

    def scan(self) -> pl.LazyFrame:
        return self.frame.lazy()

    def link(self, target: Path) -> None:
        try:
            os.link(self.path, target)
        except OSError:
            self.frame.write_ipc(target, compression="lz4")


#: what a value's frames are stored from: a frame, or the stored file a frame came from
Stored = pl.DataFrame | _Opened | _Held


class _FramePickler(pickle.Pickler):
    def __init__(self, file, frames: list[Stored]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.frames = frames
        self.seen: dict[int, int] = {}

    def persistent_id(self, obj):
        if type(obj) is Frames:  # by name, each frame stored on its own and loaded when read
            return (_FRAMES, tuple((name, self._index(_stored(obj, name))) for name in obj))
        if type(obj) is not pl.DataFrame:
            return None
        return (_FRAME, self._index(obj))

    def _index(self, frame: Stored) -> int:
        if id(frame) not in self.seen:  # a frame held twice is stored once
            self.seen[id(frame)] = len(self.frames)
            self.frames.append(frame)
        return self.seen[id(frame)]


def _stored(frames: Frames, name: str) -> Stored:
    """A frame read from a stored file is stored as that file, read or not (the records
    of a million subjects passed on unchanged were read and written again, 3.9 GB)."""
    source = frames.source(name)
    return source if isinstance(source, (_Opened, _Held)) else frames[name]


class _FrameUnpickler(pickle.Unpickler):
    def __init__(
        self,
        file,
        frame: Callable[[int], pl.DataFrame],
        later: Callable[[int], Callable[[], pl.DataFrame]] | None = None,
    ):
        super().__init__(file)
        self.frame = frame
        self.later = later or (lambda i: functools.partial(frame, i))

    def persistent_load(self, pid):
        kind, index = pid
        if kind == _FRAMES:
            return Frames({name: self.later(i) for name, i in index})
        if kind != _FRAME:
            raise pickle.UnpicklingError(f"unknown stored object {kind!r}")
        return self.frame(index)


def _local(path: UPath) -> Path:
    """The store is on the local file system: the path as a plain ``Path``."""
    return Path(path.path)


def _signature(path: UPath) -> tuple[int, int, int]:
    stat = os.stat(_local(path))
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


class FrameStore(dg.UPathIOManager):
    """Values as ``<key>/<partition>.pickle`` with frames in ``<key>/<partition>.<id>.frames/``.

    The one place a step's result is persisted: a value an asset returns as
    ``ToPublish`` has its tables and files written into the run's working folder of
    the output store (``io/outputs.py``, from their contracts) and its ``value``
    stored for the steps after it."""

    extension = ".pickle"

    def __init__(self, base_dir: str, store: OutputStore | None = None, memory_budget_mb: float | None = None):
        super().__init__(base_path=UPath(base_dir))
        self.store = store
        if memory_budget_mb is None:
            memory_budget_mb = float(os.environ.get(MEMORY_BUDGET_ENV) or DEFAULT_MEMORY_BUDGET_MB)
        self.memory_budget = int(memory_budget_mb * 2**20)
        # path -> (file signature, pickled skeleton, frames, their folder): what this process
        # last wrote and still holds, oldest first
        self._written: dict[str, tuple[tuple[int, int, int], bytes, list[pl.DataFrame], Path]] = {}
        # path -> the steps of this run still to read the value: at 0 its frames leave memory
        self._readers: dict[str, int] = {}

    def make_safe_partition_path(self, base_path: UPath, partition: str) -> UPath:
        """Partition keys are data cuts (a portfolio's: ``<cut>/<trial>``, one folder per
        dimension); anything that could leave ``base_path`` is refused."""
        parts = partition.replace("|", "/").split("/")  # "|": the multi-partition key of an older layout
        if not all(_SAFE_PART.fullmatch(part) for part in parts):
            raise dg.Failure(
                description=f"partition key {partition!r} is not a plain name (letters, digits, '.', '-', '_')"
            )
        return base_path.joinpath(*parts)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Store the value without telling the UI where: the pickle's path is storage
        detail, and the published files' absolute paths are what the assets show."""
        if isinstance(obj, ToPublish):
            obj = self._publish(context, obj)
        path = (
            next(iter(self._get_paths_for_partitions(context).values()))
            if context.has_asset_partitions
            else self._get_path(context)
        )
        self.make_directory(path.parent)
        self.dump_to_path(context=context, obj=obj, path=path)

    def _publish(self, context: dg.OutputContext, bundle: ToPublish) -> Any:
        """Write the bundle's files into the run's working folder; the value goes on."""
        if self.store is None:
            raise dg.Failure(description="an asset published files outside a run of a data cut", allow_retries=False)
        written = self.store.write(bundle)
        context.add_output_metadata({"files": dg.MetadataValue.text(", ".join(p.name for p in written))})
        return bundle.value

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        frames: list[Stored] = []
        buffer = io.BytesIO()
        _FramePickler(buffer, frames).dump(obj)
        skeleton = buffer.getvalue()
        target = _local(path)
        folder_name = f"{target.stem}.{uuid.uuid4().hex[:12]}.frames"
        folder = target.parent / folder_name
        folder.mkdir(parents=True)
        for i, frame in enumerate(frames):
            if isinstance(frame, (_Opened, _Held)):
                frame.link(folder / f"{i}.arrow")
            else:
                frame.write_ipc(folder / f"{i}.arrow", compression="lz4")
        tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.tmp"
        with open(tmp, "wb") as handle:
            pickle.dump((folder_name if frames else None, skeleton), handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        self._remove_stale(target, keep=folder_name)
        readers = _readers_in_run(context)
        if readers == 0:  # no step of this run reads it: keep nothing in memory
            self._written.pop(str(path), None)
            return
        if readers is not None:
            self._readers[str(path)] = readers
        self._keep(str(path), _signature(path), skeleton, frames, folder)

    def _keep(
        self, path: str, signature: tuple[int, int, int], skeleton: bytes, frames: list[Stored], folder: Path
    ) -> None:
        """Hold the value for the steps after it within the memory budget: the oldest
        values held leave memory to make room; one larger than a quarter of the budget is
        not held (at a million subjects a held ADaM dataset would sit under every later
        step's own peak; its readers read its file).

        What is held is the frames as read back from the files just written, not the
        step's own: a small frame filtered or sliced from a large one shares the large
        one's text buffers (the first 500 of 800,000 texts held all 250 MB of them; the
        report's 500 narratives are such a slice), which no size estimate counts and
        which the written file does not have. A value stored as links to the files of
        the value it came from stays in its files (the records, passed on unchanged)."""
        self._written.pop(path, None)
        if not all(isinstance(frame, pl.DataFrame) for frame in frames):
            return
        if _size(frames) > self.memory_budget / HELD_SHARE:  # type: ignore[arg-type]
            return
        compact = [pl.read_ipc(folder / f"{i}.arrow") for i in range(len(frames))]
        size = _size(compact)
        held = sum(_size(kept) for _, _, kept, _ in self._written.values())
        for oldest in list(self._written):
            if held + size <= self.memory_budget:
                break
            held -= _size(self._written.pop(oldest)[2])
        self._written[path] = (signature, skeleton, compact, folder)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> Any:
        """The stored value. An input that names its ``columns`` (``AssetIn`` metadata, the
        convention of Dagster's database IO managers) of a value that is one frame gets
        those of them the frame has, read from the file's columns alone: a summary of
        ADAE's grades at a million subjects reads nine of its columns, not 1.5 GB. A
        column the frame lacks is left to the step's own check of what it needs."""
        columns = _columns_wanted(context)
        lazy = _scan_wanted(context)
        coded = _categories_wanted(context)
        cached = self._written.get(str(path))
        if cached is not None and cached[0] == _signature(path):
            _, skeleton, frames, folder = cached
            value = _FrameUnpickler(
                io.BytesIO(skeleton), lambda i: frames[i], lambda i: _Held(frames[i], folder / f"{i}.arrow")
            ).load()
            self._read_once(str(path))
            if isinstance(value, pl.DataFrame):
                if columns is not None:
                    value = value.select(c for c in columns if c in value.columns)
                if coded:
                    value = value.with_columns(_as_categories(value.schema, coded))
            return value.lazy() if lazy and isinstance(value, pl.DataFrame) else value
        source = _local(path)
        with open(source, "rb") as handle:
            folder_name, skeleton = pickle.load(handle)
        folder = source.parent / (folder_name or "")
        self._read_once(str(path))
        if (columns is not None or lazy or coded) and _one_frame(skeleton):
            file = folder / "0.arrow"
            present = pl.read_ipc_schema(file)
            read = list(present) if columns is None else [c for c in columns if c in present]
            # by the file's name: the run holds its cut's lock, so no other run rewrites it
            scan = pl.scan_ipc(file, glob=False).select(read)
            if coded:  # cast batch by batch: the text columns are never held whole
                scan = scan.with_columns(_as_categories(present, coded))
                return scan if lazy else scan.collect(engine="streaming")
            return scan if lazy else pl.read_ipc(file, columns=read)
        return _FrameUnpickler(
            io.BytesIO(skeleton), lambda i: pl.read_ipc(folder / f"{i}.arrow"), lambda i: _Opened(folder / f"{i}.arrow")
        ).load()

    def _read_once(self, path: str) -> None:
        """One reader of the value has it: after the last, its frames are released (a
        value kept for the whole run held every table of a million subjects at once)."""
        left = self._readers.get(path)
        if left is None:
            return
        if left <= 1:
            self._readers.pop(path, None)
            self._written.pop(path, None)
        else:
            self._readers[path] = left - 1

    @staticmethod
    def _remove_stale(path: Path, keep: str) -> None:
        """Frame folders of earlier writes of this value (and of a write killed half-way)."""
        prefix = f"{path.stem}."
        for entry in path.parent.iterdir():
            if entry.name.startswith(prefix) and entry.name.endswith(".frames") and entry.name != keep:
                shutil.rmtree(entry, ignore_errors=True)


def _columns_wanted(context: dg.InputContext | None) -> list[str] | None:
    """The ``columns`` an input's definition names (``dg.AssetIn(metadata=...)``), if any."""
    metadata = getattr(context, "definition_metadata", None) if context is not None else None
    columns = (metadata or {}).get("columns")
    return [str(c) for c in columns] if columns is not None else None


def _categories_wanted(context: dg.InputContext | None) -> list[str]:
    """The text columns an input's definition asks for as categories (``reading``)."""
    metadata = getattr(context, "definition_metadata", None) if context is not None else None
    return [str(c) for c in (metadata or {}).get("categories") or ()]


def _as_categories(schema: Mapping[str, pl.DataType], coded: list[str]) -> list[pl.Expr]:
    """The casts of the ``coded`` columns that are text to categories (polars'
    ``Categorical``: compared, sorted and grouped by their text, as text is)."""
    return [pl.col(c).cast(pl.Categorical) for c in coded if schema.get(c) == pl.String]


def _scan_wanted(context: dg.InputContext | None) -> bool:
    """The input's definition asks for a lazy scan (``scanning``) instead of a frame."""
    metadata = getattr(context, "definition_metadata", None) if context is not None else None
    return bool((metadata or {}).get("scan"))


def _one_frame(skeleton: bytes) -> bool:
    """The stored value is a single frame (not a container of frames)."""
    marker: Any = object()
    return _FrameUnpickler(io.BytesIO(skeleton), lambda i: marker).load() is marker


def _size(frames: list[pl.DataFrame]) -> int:
    """Bytes of ``frames`` (``frame_bytes``); buffers two frames share count twice."""
    return sum(frame_bytes(frame) for frame in frames)


def _readers_in_run(context: dg.OutputContext) -> int | None:
    """How many inputs of the steps this run executes read the output being stored, or
    None where the run's plan cannot be seen (then the value stays in memory)."""
    try:
        plan = context.step_context.execution_plan
        output = (context.step_key, context.name)
        return sum(
            any((dep.step_key, dep.output_name) == output for dep in step_input.get_step_output_handle_dependencies())
            for step in plan.get_steps_to_execute_in_topo_order()
            for step_input in step.step_inputs
            # an ordering dependency (``deps=``, Dagster type Nothing) orders the steps but loads nothing
            if step_input.dagster_type_key != "Nothing"
        )
    except Exception:  # outside a run's execution (a test's build_output_context): keep the value
        return None


@dg.io_manager(
    config_schema={"base_dir": str, "in_run_output_folder": dg.Field(bool, is_required=False, default_value=False)},
    required_resource_keys={OUTPUT_STORE},
)
def frame_io_manager(context: dg.InitResourceContext) -> FrameStore:
    """The project's IO manager (``FrameStore``) under ``base_dir``, writing published
    files into the run's output store. With ``in_run_output_folder``, under the run's own
    output folder's ``.storage`` (a launchpad run naming another ``out_dir`` kept its
    values in the UI's folder, where a CLI run of the same cut, holding another folder's
    lock, could read or remove them)."""
    store = getattr(context.resources, OUTPUT_STORE)
    base = context.resource_config["base_dir"]
    if context.resource_config.get("in_run_output_folder") and isinstance(store, OutputStore):
        base = str(Path(store.spec.out_dir) / ".storage")
    return FrameStore(base, store)
