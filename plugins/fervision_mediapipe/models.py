"""Finding the MediaPipe face-detection model file, downloading it once when needed.

Lookup order for a variant (``short`` or ``full``):

1. an explicit path (``model=``, the CLI's ``--detector-model``): must exist;
2. the environment variable ``FERVISION_MEDIAPIPE_MODEL`` (a path, used for any variant);
3. the user cache: ``$FERVISION_CACHE/models/<file>`` (default ``~/.cache/fervision``);
4. a download from the variant's URL (or ``FERVISION_MODEL_URL``) into that cache.

A download goes to a temporary file in the cache folder and is renamed into place
only after every check passes, so a cut or corrupt transfer never leaves a file
under the final name. Checks: the byte count equals ``Content-Length``, the size is
at least the variant's minimum, the file is a TFLite flatbuffer (``TFL3`` at bytes
4..8), and its sha256 is one of the variant's known digests. The digests are pinned
because the files are small and fixed: for ``short``, Google's Tasks-API file
(``blaze_face_short_range.tflite``, float16 version 1, 229,746 bytes, b4578f35...)
and the file the ``mediapipe==0.10.21`` wheel ships (bbff11ce...); for ``full``, the
wheel's ``face_detection_full_range_sparse.tflite`` (2c3728e6...) and the other
revision MediaPipe's Bazel build pins (671dd2f9...). The short-range URL names
version 1 rather than ``latest`` so that the pinned digest cannot go stale.
Google publishes no Tasks-API full-range model, so ``full`` comes from MediaPipe's
asset bucket (the legacy-solution file); the Tasks ``FaceDetector`` of mediapipe 1.2
runs it (192x192 input, 2304 anchors) and its boxes agree with short range. A file
found through a path, the environment or the cache is checked for the TFLite header
only (it may be a newer revision that no digest here knows).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from fervision.errors import FervisionError

MODEL_ENV = "FERVISION_MEDIAPIPE_MODEL"
URL_ENV = "FERVISION_MODEL_URL"
CACHE_ENV = "FERVISION_CACHE"
TFLITE_IDENTIFIER = b"TFL3"
DOWNLOAD_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ModelSpec:
    """A model variant we know how to fetch and verify."""

    variant: str
    description: str
    filename: str  # name in the cache folder
    url: str
    sha256: tuple[str, ...]  # accepted digests of a download; empty: not checked
    min_size: int  # bytes; anything smaller is not this model


MODELS: dict[str, ModelSpec] = {
    "short": ModelSpec(
        variant="short",
        description="BlazeFace short range (faces within about 2 m)",
        filename="blaze_face_short_range.tflite",
        url=(
            "https://storage.googleapis.com/mediapipe-models/face_detector/"
            "blaze_face_short_range/float16/1/blaze_face_short_range.tflite"
        ),
        sha256=(
            "b4578f35940bf5a1a655214a1cce5cab13eba73c1297cd78e1a04c2380b0152f",
            "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        ),
        min_size=200_000,
    ),
    "full": ModelSpec(
        variant="full",
        description="BlazeFace full range, sparse (faces within about 5 m)",
        filename="face_detection_full_range_sparse.tflite",
        url=(
            "https://storage.googleapis.com/mediapipe-assets/"
            "face_detection_full_range_sparse.tflite?generation=1674261618323821"
        ),
        sha256=(
            "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
            "671dd2f9ed11a78436fc21cc42357a803dfc6f73e9fb86541be942d5716c2dce",
        ),
        min_size=500_000,
    ),
}
DEFAULT_VARIANT = "short"


def cache_dir() -> Path:
    """Where downloaded models go: ``$FERVISION_CACHE/models`` (``~/.cache/fervision/models``)."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "fervision"
    return Path(root).expanduser() / "models"


def get_spec(variant: str | None) -> ModelSpec:
    """The spec of a variant name (``None`` or ``""``: the default, short range)."""
    name = (variant or DEFAULT_VARIANT).strip().lower()
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise FervisionError(
            f"unknown MediaPipe face model variant {variant!r}; known: {known} "
            f"(or pass model=PATH / --detector-model PATH)"
        ) from None


def resolve_model(variant: str | None = None, model: str | os.PathLike | None = None) -> Path:
    """The model file to use, following the lookup order above; downloads when needed."""
    spec = get_spec(variant)
    if model:
        return check_model_file(model, origin="model file")
    env = os.environ.get(MODEL_ENV)
    if env:
        return check_model_file(env, origin=f"model file from {MODEL_ENV}")
    cached = cache_dir() / spec.filename
    if cached.is_file():
        return check_model_file(cached, origin="cached model")
    return download(spec, cached)


def check_model_file(path: str | os.PathLike, origin: str = "model file") -> Path:
    """``path`` as a Path if it is a readable TFLite model; a one-line error otherwise."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FervisionError(f"MediaPipe {origin} not found: {path}")
    if not path.is_file():
        raise FervisionError(f"MediaPipe {origin} is not a file: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise FervisionError(f"cannot read MediaPipe {origin} {path}: {exc.strerror}") from None
    if head[4:8] != TFLITE_IDENTIFIER:
        raise FervisionError(
            f"MediaPipe {origin} {path} is not a TFLite model (no TFL3 identifier); "
            f"expected a face-detection .tflite such as {MODELS[DEFAULT_VARIANT].filename}"
        )
    return path


def how_to_fix(url: str, target: Path) -> str:
    """The one-line remedy when no model can be found or fetched."""
    return (
        f"pass --detector-model PATH (model=PATH), set {MODEL_ENV}=PATH, "
        f"or download {url} into {target}"
    )


def download(spec: ModelSpec, target: Path) -> Path:
    """Fetch ``spec`` into ``target`` atomically and verified; return ``target``."""
    url = os.environ.get(URL_ENV) or spec.url
    fix = how_to_fix(url, target)
    print(f"fervision: downloading the MediaPipe face model from {url}", file=sys.stderr)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{spec.filename}.", suffix=".part", dir=target.parent
        )
    except OSError as exc:
        raise FervisionError(
            f"cannot write to the model cache {target.parent} ({exc.strerror}); {fix}"
        ) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size, digest = _fetch(url, out, fix)
        problem = _verify(spec, tmp, size, digest)
        if problem:
            raise FervisionError(f"downloaded MediaPipe model from {url} {problem}; {fix}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _fetch(url: str, out, fix: str) -> tuple[int, str]:
    """Stream ``url`` into ``out``; the byte count and sha256 of what arrived."""
    sha = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            expected = response.headers.get("Content-Length")
            while chunk := response.read(1 << 16):
                out.write(chunk)
                sha.update(chunk)
                size += len(chunk)
    except urllib.error.HTTPError as exc:
        raise FervisionError(
            f"no MediaPipe face model: HTTP {exc.code} from {url}; {fix}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FervisionError(
            f"no MediaPipe face model and the download from {url} failed ({reason}); {fix}"
        ) from None
    except Exception as exc:  # http.client.IncompleteRead and other protocol errors
        raise FervisionError(
            f"download of the MediaPipe face model from {url} was cut short "
            f"({type(exc).__name__}); {fix}"
        ) from None
    if expected is not None and expected.isdigit() and int(expected) != size:
        raise FervisionError(
            f"download of the MediaPipe face model from {url} was cut short "
            f"({size} of {expected} bytes); {fix}"
        )
    return size, sha.hexdigest()


def _verify(spec: ModelSpec, path: Path, size: int, digest: str) -> str | None:
    """Why a downloaded file is not ``spec``'s model, or None when it is."""
    if size < spec.min_size:
        return f"is too small ({size} bytes, expected at least {spec.min_size})"
    with open(path, "rb") as f:
        if f.read(8)[4:8] != TFLITE_IDENTIFIER:
            return "is not a TFLite model (no TFL3 identifier)"
    if spec.sha256 and digest not in spec.sha256:
        return f"has an unknown sha256 {digest} (corrupt or not the {spec.variant}-range model)"
    return None
