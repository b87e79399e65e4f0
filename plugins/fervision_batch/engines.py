"""Where videos are processed: a local process pool, or Ray actors (local or a cluster).

Both engines keep one :class:`~fervision_batch.worker.VideoWorker` per worker process,
so models load once per worker, and have the same small interface, used by the
batch runner:

- ``workers``: how many videos may be in flight at once;
- ``submit(job, ship=False)``: start a video on an idle worker (``ship`` sends the
  file's bytes along, for a worker on a machine without the file);
- ``poll(timeout)``: the results that arrived within ``timeout`` seconds;
- ``frames_done()``: frames processed so far, all workers together;
- ``cancel()``: ask every worker to stop its current video at the next frame;
- ``close(force=False)``: stop the workers (``force``: without waiting).
"""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing.context
import os
import signal
import socket
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from multiprocessing import resource_tracker
from pathlib import Path

from fervision.errors import FervisionError, one_line
from fervision.native import quiet_native_output
from fervision.spec import PipelineSpec

from .worker import CANCELLED, FAILED, LOST, Job, Result, VideoWorker

RAY_MISSING = 'the ray engine needs Ray: pip install "fervision[ray]"'
#: A video whose worker process died is tried this many times in all.
ATTEMPTS = 2
#: How long a stopping worker may take before it is terminated.
STOP_GRACE_S = 3.0


def _retry_or_give_up(engine, job: Job, cancelled: bool, worker: str, results: list) -> None:
    """After a worker died on ``job``: submit it again, or report it cancelled or lost."""
    deaths = engine.deaths[job.source] = engine.deaths.get(job.source, 0) + 1
    if cancelled:
        results.append(Result(job, CANCELLED, reason="interrupted", worker_deaths=deaths))
    elif engine._attempts.get(job.source, 0) >= ATTEMPTS:
        reason = (
            f"the {worker} died (crashed or killed) on each of {deaths} tries at this video; "
            f"the next run tries it again"
        )
        results.append(Result(job, LOST, reason=reason, worker_deaths=deaths))
    else:
        engine.submit(job)


def _counted(engine, result: Result) -> Result:
    """``result`` with the times a worker died on its video before."""
    result.worker_deaths = engine.deaths.get(result.job.source, 0)
    return result


@contextmanager
def _blocked(signals):
    """Block ``signals`` in this thread while it starts processes, which inherit the block.

    This process still gets them: another of its threads takes them, or this one does when
    the block ends (a blocked signal waits).
    """
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


# -- local: a process pool ------------------------------------------------------------------

_worker: VideoWorker | None = None
#: The signals a worker leaves to the batch's main process.
_HELD = {signal.SIGINT, signal.SIGTERM}


def _init_local(spec: PipelineSpec, threads: int, counter, cancel, log_path: str | None):
    """Process-pool initializer: quiet the worker, then build its stages once."""
    global _worker
    # Ctrl-C, and SIGTERM to the whole group (systemd, `timeout`), are the main process's to
    # handle: it cancels the workers cleanly, and kills them if they do not stop. Blocked
    # since this process started (_WorkerProcess), they are ignored (which drops any that
    # came meanwhile), then unblocked.
    for signum in _HELD:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
    if log_path:
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    with suppress(AttributeError, ValueError, OSError):  # `kill -USR1`: every thread's stack
        faulthandler.register(signal.SIGUSR1, all_threads=True)

    def on_frame():
        with counter.get_lock():
            counter.value += 1

    _worker = VideoWorker(spec, threads, on_frame=on_frame, cancelled=lambda: bool(cancel.value))


def _process_local(job: Job) -> Result:
    return _worker.process(job)


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned worker that never sees Ctrl-C (or SIGTERM): a terminal's Ctrl-C reaches
    the whole process group, and one arriving while a worker still imports would print its
    traceback.

    The worker starts with them blocked (a new process inherits the mask of the thread that
    starts it) and ignores them before unblocking them (:func:`_init_local`). This process
    only blocks them in the starting thread, never ignores them: ignoring Ctrl-C here, even
    for a moment, loses one that another thread of this process takes in that moment.
    """

    def start(self) -> None:
        resource_tracker.ensure_running()  # started later, it would unblock Ctrl-C itself
        with _blocked(_HELD):
            super().start()


class _WorkerContext(multiprocessing.context.SpawnContext):
    Process = _WorkerProcess


class LocalEngine:
    """A ``ProcessPoolExecutor`` with 'spawn' workers (TensorFlow does not survive fork)."""

    def __init__(self, spec: PipelineSpec, workers: int, log_path: Path | None = None):
        self.workers = max(1, int(workers))
        self._ctx = _WorkerContext()
        # A worker killed mid-frame may hold a lock it shares with the others for good: the
        # cancel flag has none, and each pool gets a new counter (read without its lock).
        self._cancel = self._ctx.RawValue("b", 0)
        self._spec, self._threads = spec, threads_per_worker(self.workers)
        self._log_path = str(log_path) if log_path else None
        self._counter = None
        self._frames_base = 0  # frames counted by pools that broke
        self._futures: dict = {}
        self._attempts: dict[str, int] = {}
        self.deaths: dict[str, int] = {}  # video -> times its worker died
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        if self._counter is not None:
            self._frames_base += self._counter.get_obj().value
        self._counter = self._ctx.Value("q", 0)
        initargs = (self._spec, self._threads, self._counter, self._cancel, self._log_path)
        return ProcessPoolExecutor(
            self.workers, mp_context=self._ctx, initializer=_init_local, initargs=initargs
        )

    def submit(self, job: Job, ship: bool = False) -> None:
        self._attempts[job.source] = self._attempts.get(job.source, 0) + 1
        self._futures[self._executor.submit(_process_local, job)] = job

    def poll(self, timeout: float) -> list[Result]:
        if not self._futures:
            return []
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        results, retry = [], []
        for future in done:
            job = self._futures.pop(future)
            try:
                results.append(_counted(self, future.result()))
            except BrokenProcessPool:
                retry.append(job)
            except Exception as exc:  # noqa: BLE001 - e.g. a result that would not pickle
                results.append(Result(job, FAILED, reason=one_line(exc)))
        if retry:  # a worker died: every video in flight fails with the same error
            retry += list(self._futures.values())
            self._futures.clear()
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start()
            for job in retry:
                _retry_or_give_up(self, job, bool(self._cancel.value), "worker process", results)
        return results

    def in_flight(self) -> int:
        return len(self._futures)

    def frames_done(self) -> int:
        return self._frames_base + self._counter.get_obj().value

    def cancel(self) -> None:
        self._cancel.value = 1

    def close(self, force: bool = False) -> None:
        """Stop the workers; ``force``: give them a moment to stop, then terminate them."""
        executor = self._executor
        if not force:
            executor.shutdown(wait=True)
            return
        # Python < 3.14 has no public way to stop busy workers: join, then terminate.
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.kill()  # workers leave SIGTERM to this process
                process.join(1.0)


# -- ray: one actor per worker --------------------------------------------------------------


def _import_ray():
    try:
        import ray
    except ImportError:
        raise FervisionError(RAY_MISSING) from None
    return ray


#: Seconds to wait for a Ray cluster's port to answer before saying it does not.
REACH_TIMEOUT_S = 5.0


def _check_reachable(address: str) -> None:
    """Fail at once, in one line, when nothing listens at a ``HOST:PORT`` (or
    ``ray://HOST:PORT``) address: Ray itself retries such an address for good."""
    hostport = address.removeprefix("ray://").rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise FervisionError(
            f"cannot connect to the Ray cluster at {address}: nothing answers there "
            f"({reason}); is the head node up (ray start --head) and the port right?"
        ) from None


class RayEngine:
    """One Ray actor per worker, on a local Ray instance or the cluster at ``address``.

    Actors run their calls in two threads, so ``progress`` and ``cancel`` reach a worker
    while it processes a video.
    """

    def __init__(
        self, spec: PipelineSpec, workers: int | None, videos: int, address: str | None = None
    ):
        ray = self._ray = _import_ray()
        self._owns = not ray.is_initialized()
        if self._owns:
            options = {"logging_level": logging.ERROR, "log_to_driver": False}
            if address:
                _check_reachable(address)
            try:
                if address:
                    with quiet_native_output():  # Ray's C++ client logs each failed try
                        ray.init(address=address, **options)
                else:
                    local = max(1, min(workers or os.cpu_count() or 1, videos))
                    # Ray's forked children run Python before they block Ctrl-C (Ray's
                    # preexec_fn): one then would print a child's traceback
                    with _blocked({signal.SIGINT}):
                        ray.init(
                            address="local", num_cpus=local, include_dashboard=False, **options
                        )
            except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, ...
                if not address:
                    raise FervisionError(f"cannot start Ray: {one_line(exc)}") from None
                raise FervisionError(
                    f"cannot connect to the Ray cluster at {address}: {one_line(exc)} (is it "
                    f"up? a cluster with token authentication needs RAY_AUTH_MODE=token here, "
                    f"and its token in RAY_AUTH_TOKEN or ~/.ray/auth_token)"
                ) from None
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        # one actor per CPU at most: an actor that cannot be placed would wait forever
        self.workers = max(1, min(workers or cpus, videos, cpus))
        threads = threads_per_worker(self.workers) if not address else 1
        self._actor_class = ray.remote(num_cpus=1, max_concurrency=2)(VideoWorker)
        self._spec, self._threads = spec, threads
        self._idle = [self._new_actor() for _ in range(self.workers)]
        self._inflight: dict = {}  # ObjectRef -> (actor, job)
        self._attempts: dict[str, int] = {}
        self.deaths: dict[str, int] = {}  # video -> times its worker died
        self._frames: dict = {}  # actor -> frames it reported
        self._progress: dict = {}  # actor -> pending progress() ref
        self._frames_base = 0  # frames of actors that died
        self._cancelled = False

    def _new_actor(self):
        return self._actor_class.remote(self._spec, self._threads)

    def submit(self, job: Job, ship: bool = False) -> None:
        ray = self._ray
        actor = self._idle.pop()
        self._attempts[job.source] = self._attempts.get(job.source, 0) + 1
        data = ray.put(Path(job.source).read_bytes()) if ship else None
        self._inflight[actor.process.remote(job, data)] = (actor, job)

    def poll(self, timeout: float) -> list[Result]:
        ray = self._ray
        if not self._inflight:
            return []
        refs = list(self._inflight)
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        results = []
        for ref in ready:
            actor, job = self._inflight.pop(ref)
            try:
                results.append(_counted(self, ray.get(ref)))
                self._idle.append(actor)
            except ray.exceptions.RayActorError:
                self._replace(actor)
                _retry_or_give_up(self, job, self._cancelled, "Ray worker", results)
            except ray.exceptions.RayError as exc:
                self._idle.append(actor)
                results.append(Result(job, FAILED, reason=one_line(exc)))
        return results

    def _replace(self, actor) -> None:
        self._frames_base += self._frames.pop(actor, 0)
        self._progress.pop(actor, None)
        self._ray.kill(actor)
        self._idle.append(self._new_actor())

    def in_flight(self) -> int:
        return len(self._inflight)

    def _actors(self) -> list:
        return self._idle + [actor for actor, _ in self._inflight.values()]

    def frames_done(self) -> int:
        """Frames so far, from each actor's last answer (never waits for one)."""
        ray = self._ray
        pending = list(self._progress.values())
        if pending:
            ready, _ = ray.wait(pending, num_returns=len(pending), timeout=0)
            done = set(ready)
            for actor, ref in list(self._progress.items()):
                if ref in done:
                    try:
                        self._frames[actor] = ray.get(ref)
                    except ray.exceptions.RayError:
                        pass
                    del self._progress[actor]
        for actor in self._actors():
            if actor not in self._progress:
                self._progress[actor] = actor.progress.remote()
        return self._frames_base + sum(self._frames.values())

    def cancel(self) -> None:
        self._cancelled = True
        for actor in self._actors():
            actor.cancel.remote()

    def close(self, force: bool = False) -> None:
        ray = self._ray
        for actor in self._actors():
            ray.kill(actor)
        self._idle, self._inflight = [], {}
        if self._owns:
            ray.shutdown()
