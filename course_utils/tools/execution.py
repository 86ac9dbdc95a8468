"""Executing one notebook so that it always ends and says how: the course's papermill engine.

Used by ``python -m course_utils run`` and ``build``. Compared with papermill's default engine:

- every cell has a time limit (``CELL_TIMEOUTS`` per profile, passed to papermill as
  ``execution_timeout``); a cell over it stops the notebook with :class:`CellStopped`;
- a dead kernel, a timeout or an interrupt is recorded in the executed notebook truthfully: the
  cell that was running gets status ``failed`` (or ``interrupted``) and an error output saying
  why, the cells after it stay ``pending`` (papermill would mark them all ``completed``);
- the kernel is shut down (immediately on an abnormal end) and its connection file removed;
- the executed notebook is written atomically (temporary file + rename), so a full disk never
  leaves a truncated notebook behind; :class:`DiskFullError` says how much space was needed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
import psutil
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.utils import merge_kwargs, remove_args

from ..validation import ParameterError

ENGINE = "course"
# A cell is stopped as hung after this many seconds without progress (None: never): no output
# and the kernel (with its child processes) using under STALL_CPU_SHARE of one core. A slow but
# working cell keeps printing or computing, so it is never stopped, whatever the machine's speed.
CELL_TIMEOUTS: dict[str, int | None] = {"smoke": 120, "cpu": 300, "gpu": 600}
STALL_CPU_SHARE = 0.05
# After a cell's reply, how long to wait for its last outputs (papermill's 4 s is short under load).
IOPUB_TIMEOUT = 30


TIMEOUT_ENV = "COURSE_CELL_TIMEOUT"


def cell_timeout_for(profile: str, override: int | None = None) -> int | None:
    """Seconds without progress after which a cell counts as hung (None: never): ``override`` when
    given (0 means none), else ``$COURSE_CELL_TIMEOUT`` when set, else the profile's."""
    if override is None and os.environ.get(TIMEOUT_ENV, "").strip():
        raw = os.environ[TIMEOUT_ENV].strip()
        if not raw.isdigit():
            raise ParameterError(
                f"environment variable {TIMEOUT_ENV} is {raw!r}; allowed: whole seconds >= 0 "
                "(0: no limit)"
            )
        override = int(raw)
    if override is not None:
        return override or None
    return CELL_TIMEOUTS[profile]


# ---------------------------------------------------------------- atomic writes
class DiskFullError(OSError):
    """No space left to write a file; the message says how much was needed and how much is free."""

    def __init__(self, path: Path, needed: int) -> None:
        try:
            free = shutil.disk_usage(path.parent).free
        except OSError:
            free = 0
        message = (
            f"no space left on the device to write {path} ({_size(needed)} needed, "
            f"{_size(free)} free there); free some space or choose an --out folder on another disk"
        )
        super().__init__(errno.ENOSPC, message)
        self.path, self.needed, self.free = path, needed, free

    def __str__(self) -> str:
        return self.strerror or ""


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``.

    Readers see the old file or the complete new one, never a truncated one. A full disk raises
    :class:`DiskFullError` and leaves no temporary file behind.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise DiskFullError(path, len(payload)) from exc
        raise
    return path


def write_notebook(nb: nbformat.NotebookNode, path: str | os.PathLike) -> Path:
    """``nbformat.write`` made atomic: the exact bytes Jupyter itself would save.

    Indent 1, sorted keys, non-ASCII kept, and a trailing newline (``nbformat.write`` adds it,
    ``nbformat.writes`` does not), so opening a stored notebook does not mark it modified.
    """
    return atomic_write(path, nbformat.writes(nb) + "\n")


# ---------------------------------------------------------------- stopping
class RunStopped(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while notebooks ran (raised once, in the main thread)."""

    def __init__(self, signame: str) -> None:
        super().__init__(signame)
        self.signame = signame


class CellStopped(Exception):
    """A cell did not finish: ``kind`` is ``"timeout"`` or ``"dead kernel"``."""

    def __init__(self, kind: str, cell_index: int, execution_count: int | None, message: str):
        super().__init__(message)
        self.kind, self.cell_index, self.execution_count = kind, cell_index, execution_count


@contextmanager
def stop_on_signals() -> Iterator[dict[str, str | None]]:
    """SIGINT, SIGTERM and SIGHUP raise :class:`RunStopped` once; later ones are only recorded.

    So the first signal stops the run, and the clean-up (kernel shut-down, report, markers) is
    not cut short by a second one. Yields a dict whose ``"signal"`` names the signal received.
    """
    state: dict[str, str | None] = {"signal": None}

    def handler(signum: int, frame: Any) -> None:
        if state["signal"] is None:
            state["signal"] = signal.Signals(signum).name
            raise RunStopped(state["signal"])

    names = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    old = {}
    try:
        for s in names:
            old[s] = signal.signal(s, handler)
    except ValueError:  # not the main thread: leave signals alone
        old = {}
    try:
        yield state
    finally:
        if state["signal"] is None:
            state["signal"] = "(finished)"  # a late signal during clean-up raises nothing
        for s, h in old.items():
            signal.signal(s, h)


# ---------------------------------------------------------------- the engine
class CourseExecutionManager(NotebookExecutionManager):
    """Papermill's bookkeeping, with atomic saves and cell statuses that tell the truth."""

    INTERRUPTED = "interrupted"

    def save(self, **kwargs: Any) -> None:
        if kwargs.get("nb") is not None:
            self.nb = kwargs["nb"]
        if self.output_path:
            write_notebook(self.nb, self.output_path)
        self.last_save_time = self.now()

    def cell_stopped(self, cell: Any, exc: BaseException, ename: str, evalue: str) -> None:
        """The cell did not finish: mark it failed/interrupted, with an error output saying why."""
        status = self.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else self.FAILED
        cell.metadata.papermill["status"] = status
        cell.metadata.papermill["exception"] = True
        cell.metadata.papermill["end_time"] = self.now().isoformat()
        self.nb.metadata.papermill["exception"] = True
        if cell.cell_type == "code":
            cell.outputs.append(
                nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])
            )
        with suppress(OSError):
            self.save()

    def notebook_complete(self, **kwargs: Any) -> None:
        # Unlike papermill, cells that never ran stay "pending".
        self.end_time = self.now()
        self.nb.metadata.papermill["end_time"] = self.end_time.isoformat()
        if self.nb.metadata.papermill.get("start_time"):
            duration = self.end_time - self.start_time
            self.nb.metadata.papermill["duration"] = duration.total_seconds()
        self.cleanup_pbar()
        self.save()


def _first_line(source: str) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


class CourseNotebookClient(PapermillNotebookClient):
    """Runs the cells one by one; any abnormal end is written into the notebook, then raised.

    The timeout is a stall limit: when it expires, the cell is given another window if it sent
    output or kept the kernel computing in the last one, and is stopped as hung otherwise.
    """

    kernel_log: Any = None  # an open file for the kernel's own stdout/stderr (None: inherit)
    _window: tuple[float, float | None] = (0.0, None)  # (start, kernel CPU seconds at start)
    _last_output = 0.0

    def _kernel_cpu_seconds(self) -> float | None:
        """CPU seconds used so far by the kernel and its children; None when it cannot be read."""
        try:
            kernel = psutil.Process(self.km.provisioner.pid)
            procs = [kernel, *kernel.children(recursive=True)]
            return sum(sum(p.cpu_times()[:2]) for p in procs)
        except (AttributeError, TypeError, psutil.Error):
            return None

    _watcher: asyncio.Future | None = None  # our kernel-alive poll after an extended window

    def _stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    def _start_window(self) -> None:
        self._window = (time.monotonic(), self._kernel_cpu_seconds())

    def made_progress(self) -> bool:
        """Since the window began: any output, or kernel CPU of at least STALL_CPU_SHARE of a core.
        Starts the next window."""
        (start, cpu_then), now = self._window, time.monotonic()
        cpu_now = self._kernel_cpu_seconds()
        self._start_window()
        if self._last_output > start:
            return True
        busy = None if cpu_now is None or cpu_then is None else cpu_now - cpu_then
        return busy is not None and busy >= STALL_CPU_SHARE * (now - start)

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        if msg.get("msg_type") in (
            "stream",
            "display_data",
            "update_display_data",
            "execute_result",
        ):
            self._last_output = time.monotonic()
        return super().process_message(msg, cell, cell_index)

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Any:
        if self.made_progress():
            # nbclient stopped watching the kernel when the window expired: watch it again
            self._stop_watching()
            self._watcher = asyncio.ensure_future(self._async_poll_kernel_alive())
            return None  # still working: wait another window
        return await super()._async_handle_timeout(timeout, cell)

    def execute(self, **kwargs: Any) -> Any:
        self.reset_execution_trackers()
        if self.kernel_log is not None:
            kwargs.setdefault("stdout", self.kernel_log)
            kwargs.setdefault("stderr", self.kernel_log)
        try:
            with self.setup_kernel(**kwargs):
                try:
                    self.papermill_execute_cells()
                    info_msg = self.wait_for_reply(self.kc.kernel_info())
                    self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                    self.set_widgets_metadata()
                except BaseException:
                    self._abandon()
                    raise
        except BaseException:
            if self.km is not None:  # stopped while the kernel was starting
                with suppress(Exception):
                    self._cleanup_kernel()
            raise
        return self.nb

    def _abandon(self) -> None:
        """Before the kernel is cleaned up after an abnormal end: kill it, drop pending polls."""
        self.shutdown_kernel = "immediate"
        with suppress(Exception):
            loop = asyncio.get_event_loop()
            if loop.is_running():
                return
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in tasks:
                task.cancel()
            # collect their outcomes, so that no "exception was never retrieved" is printed
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    def papermill_execute_cells(self) -> None:
        for index in range(len(self.nb.cells)):
            self.nb_man.cell_start(self.nb.cells[index], index)
            self._start_window()
            try:
                self.execute_cell(self.nb.cells[index], index)
            except CellExecutionError as ex:  # an exception inside the cell: papermill's way
                self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=ex)
                self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)
                break
            except BaseException as exc:
                self._stopped(index, exc)
            finally:
                self._stop_watching()
            self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)

    def _stopped(self, index: int, exc: BaseException) -> None:
        cell = self.nb.cells[index]
        count = self.code_cells_executed or None
        if cell.cell_type == "code" and count is not None:
            cell.execution_count = count
        where = f"cell {index}" + (f" (`{_first_line(cell.source)}`)" if cell.source else "")
        if isinstance(exc, CellTimeoutError):
            limit = self._get_timeout(cell)
            if "IOPub" in str(exc):
                message = f"{where} sent no output for {self.iopub_timeout} s after it finished"
            else:
                message = (
                    f"{where} made no progress for the cell timeout of {limit} s (no output, "
                    f"kernel CPU under {STALL_CPU_SHARE:.0%} of a core): it looks hung"
                )
            self.nb_man.cell_stopped(cell, exc, "CellTimeoutError", message)
            raise CellStopped("timeout", index, count, message) from None
        if isinstance(exc, DeadKernelError):
            message = f"the kernel died while running {where} (killed, or out of memory?)"
            self.nb_man.cell_stopped(cell, exc, "DeadKernelError", message)
            raise CellStopped("dead kernel", index, count, message) from None
        if isinstance(exc, KeyboardInterrupt):
            signame = getattr(exc, "signame", "SIGINT")
            self.nb_man.cell_stopped(cell, exc, "KeyboardInterrupt", f"run stopped by {signame}")
        else:
            evalue = f"the course runner stopped here: {type(exc).__name__}: {exc}"
            self.nb_man.cell_stopped(cell, exc, type(exc).__name__, evalue)
        with suppress(AttributeError, TypeError):
            exc.course_cell = (index, count)  # type: ignore[union-attr]
        raise exc


class CourseEngine(NBClientEngine):
    """Papermill engine ``"course"``: :class:`CourseExecutionManager` + :class:`CourseNotebookClient`."""

    last_manager: CourseExecutionManager | None = None

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        # papermill's own writes (the final one, the error banner) are not atomic: it gets no
        # output path, and the manager saves to ``course_output`` instead.
        output_path = kwargs.pop("course_output", output_path)
        if output_path:
            nb.metadata.papermill["output_path"] = str(output_path)
        nb_man = CourseExecutionManager(
            nb,
            output_path=output_path,
            progress_bar=False,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        cls.last_manager = nb_man
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        except BaseException:
            with suppress(OSError):
                nb_man.notebook_complete()
            raise
        nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logging.getLogger("papermill"),
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        final_kwargs.setdefault("iopub_timeout", IOPUB_TIMEOUT)
        kernel_log = final_kwargs.pop("kernel_log", None)
        client = CourseNotebookClient(nb_man, **final_kwargs)
        client.kernel_log = kernel_log
        return client.execute()


papermill_engines.register(ENGINE, CourseEngine)


def execute_notebook(
    source: str | os.PathLike,
    output: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    *,
    cwd: str | os.PathLike | None = None,
    kernel: str = "python3",
    cell_timeout: int | None = None,
    kernel_log: str | os.PathLike | None = None,
) -> Any:
    """Run ``source`` into ``output`` with papermill and the course engine; returns the notebook.

    ``kernel_log``: a file that receives the kernel process's own stdout/stderr (its start-up
    warnings, a crash message), instead of the terminal.

    Raises papermill's ``PapermillExecutionError`` when a cell raised, :class:`CellStopped` for a
    timeout or a dead kernel, :class:`RunStopped` for SIGINT/SIGTERM, :class:`DiskFullError`.
    """
    # Parameters are checked by the course CLI; papermill's inspector cannot read annotations
    # like ``float | None`` and would warn, and nbclient logs timeouts we report ourselves.
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    CourseEngine.last_manager = None
    log = open(kernel_log, "ab") if kernel_log is not None else None  # noqa: SIM115
    try:
        return pm.execute_notebook(
            str(source),
            None,
            parameters=parameters or {},
            engine_name=ENGINE,
            cwd=str(cwd) if cwd is not None else None,
            kernel_name=kernel,
            progress_bar=False,
            log_output=False,
            execution_timeout=cell_timeout,
            course_output=str(output),
            kernel_log=log,
        )
    except pm.PapermillExecutionError:
        # papermill added its "the exception is here" banner cells to the notebook object
        manager = CourseEngine.last_manager
        if manager is not None:
            with suppress(OSError):
                write_notebook(manager.nb, output)
        raise
    finally:
        if log is not None:
            log.close()
