"""Stage options: read from factory signatures and docstrings, converted, checked, and carried
by one picklable PipelineSpec into real stages."""

from __future__ import annotations

import inspect
import os
import pickle
import subprocess
import sys
import types

import pytest

from fakes import BoxDetector
from fervision import Pipeline, hookimpl, register_plugin, unregister_plugin
from fervision.errors import FervisionError, PluginError
from fervision.lazy import LazyFactory, describe
from fervision.options import OptionError, StageOption, param_help
from fervision.plugins import get_registry
from fervision.spec import PipelineSpec


def test_help_is_the_first_sentence_of_each_documented_parameter():
    doc = """Summary.

    Args:
        scale: image pyramid step; smaller finds
            more faces. Slower too.
        width, height: frame size (e.g. 640x480).
        mode (str): ``a`` or ``b``.

    Example:
        not: a parameter.

    :param extra: from Sphinx style. More.
    """
    assert param_help(inspect.cleandoc(doc)) == {
        "scale": "image pyramid step; smaller finds more faces.",
        "width": "frame size (e.g. 640x480).",
        "height": "frame size (e.g. 640x480).",
        "mode": "``a`` or ``b``.",
        "extra": "from Sphinx style.",
    }


@pytest.mark.parametrize(
    "annotation, default, text, value",
    [
        ("int", 5, "7", 7),
        ("float", 0.4, "0.25", 0.25),
        ("bool", False, "yes", True),
        ("bool", True, "off", False),
        ("int | None", None, "none", None),
        ("int | str | None", None, "720", 720),
        ("int | str | None", None, "auto", "auto"),
        ("Optional[float]", None, "2", 2.0),
        ("str | os.PathLike | None", None, "~/m.keras", os.path.expanduser("~/m.keras")),
        ("str | os.PathLike | None", None, "m.keras", os.path.abspath("m.keras")),
        ("", 3, "4", 4),  # no annotation: the default's type
        ("", None, "x.png", "x.png"),  # neither: the text as it is
        ("int", 5, 6.0, 6),  # a value: checked against a plain annotation
        ("float", 0.5, 1, 1.0),
        ("tuple[int, int]", None, [3, 4], [3, 4]),  # an annotation not checked: as it is
        ("list[str]", (), "happy, sad", ["happy", "sad"]),  # a list: comma-separated
        ("list[str]", (), "", []),
        ("list[float] | None", None, "[0.5, 1]", [0.5, 1.0]),
        ("Sequence[int]", (), "3", [3]),
        ("tuple[int, ...]", (), "1,2,3", (1, 2, 3)),
    ],
)
def test_text_converts_to_the_annotated_type(annotation, default, text, value):
    assert StageOption("o", annotation, default).convert(text) == value


@pytest.mark.parametrize("annotation, text", [("int", "many"), ("bool", "maybe"), ("float", "")])
def test_text_that_fits_no_type_is_an_error(annotation, text):
    with pytest.raises(ValueError, match=f"is not {annotation}"):
        StageOption("o", annotation).convert(text)


def test_lazy_stages_are_described_from_source_exactly_as_imported():
    lazy = [e for e in get_registry().entries() if isinstance(e.factory, LazyFactory)]
    assert len(lazy) >= 20
    for entry in lazy:
        read, doc = entry.factory.describe()
        imported, imported_doc = describe(entry.factory.target())
        assert list(read.parameters) == list(imported.parameters), entry.name
        for name, param in read.parameters.items():
            real = imported.parameters[name]
            assert (param.kind, param.annotation) == (real.kind, real.annotation), name
            assert param.default == real.default, (entry.name, name)
        assert doc.split() == imported_doc.split(), entry.name


def test_listing_every_option_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from fervision.plugins import get_registry\n"
        "n = sum(len(e.options().options) for e in get_registry().entries())\n"
        "heavy = ('cv2', 'scipy', 'tensorflow', 'ai_edge_litert')\n"
        "print(n, [m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    count, heavy = out.stdout.split(" ", 1)
    assert int(count) > 60 and heavy.strip() == "[]", out.stderr


def test_build_converts_text_and_keeps_a_preset_unless_overridden():
    registry = get_registry()
    haar = registry.build("detector", "haar", min_size="60", min_neighbors="3", equalize="yes")
    assert (haar.min_size, haar.min_neighbors, haar.equalize) == ((60, 60), 3, True)
    assert registry.build("detector", "haar-fast").full_every == 6
    assert registry.build("detector", "haar-fast", full_every="3").full_every == 3


def test_unknown_options_and_bad_values_are_one_line_errors_listing_what_is_accepted():
    registry = get_registry()
    with pytest.raises(OptionError) as unknown:
        registry.build("detector", "haar", nosuch=1)
    message = str(unknown.value)
    assert message.startswith("detector 'haar' has no option 'nosuch'; it accepts: model: ")
    assert "min_neighbors: int = 5" in message and "\n" not in message
    with pytest.raises(OptionError, match=r"option min_neighbors: 'many' is not int; it accepts"):
        registry.build("detector", "haar", min_neighbors="many")
    with pytest.raises(OptionError, match="smoother 'none' has no option 'tau'; it accepts no"):
        registry.build("smoother", "none", tau="1")


def test_a_stage_without_its_verb_is_an_error_naming_plugin_stage_and_method():
    class NoDetect:
        def find(self, frame):
            return []

    plugin = types.ModuleType("forgetful")
    plugin.register_stages = hookimpl(lambda registry: registry.add("detector", "lazy", NoDetect))
    register_plugin(plugin, name="forgetful")
    try:
        with pytest.raises(PluginError) as error:
            get_registry().build("detector", "lazy")
    finally:
        unregister_plugin("forgetful")
    assert str(error.value) == (
        "plugin 'forgetful' detector 'lazy' has no method 'detect': a detector must have detect"
    )
    with pytest.raises(PluginError, match="classifier NoDetect has no method 'classify'"):
        Pipeline("sample", classifier=NoDetect(), detector=None)


def test_pipeline_options_reach_real_stages(photo):
    def faces(**options):
        pipeline = Pipeline(str(photo), detector="haar", smoother="vote", **options)
        return pipeline.run().faces

    assert faces() == 2
    assert faces(options={"detector": {"min_size": 900}}) == 0
    assert faces(options={"detector": {"min_size": "900"}, "smoother": {"window": 3}}) == 0


def test_pipeline_options_need_a_named_stage_of_a_known_kind():
    with pytest.raises(OptionError, match="no options for 'sink'"):
        Pipeline("sample", options={"sink": {"path": "x"}})
    with pytest.raises(OptionError, match="detector options .min_size. given, but there is no"):
        Pipeline("sample", detector=None, options={"detector": {"min_size": 9}})
    with pytest.raises(OptionError, match="detector options .min_size. need a detector given by"):
        Pipeline("sample", detector=BoxDetector(), options={"detector": {"min_size": 9}})


def test_spec_is_picklable_checked_and_built_in_one_place(photo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = PipelineSpec(
        detector="haar",
        tracker="none",
        options={"detector": {"min_size": "900", "model": "c.xml"}, "smoother": {"tau": "1"}},
    )
    checked = spec.checked()
    assert checked.options == {
        "detector": {"min_size": 900, "model": str(tmp_path / "c.xml")},
        "smoother": {"tau": 1.0},
    }
    assert pickle.loads(pickle.dumps(checked)) == checked
    assert spec.with_options(detector={"min_size": 5, "equalize": True}).options["detector"] == {
        "equalize": True,
        "min_size": "900",  # its own option wins
        "model": "c.xml",
    }
    working = spec.with_options().checked()
    working.options["detector"].pop("model")
    assert Pipeline.from_spec(working, str(photo)).run().faces == 0
    assert Pipeline.from_spec(PipelineSpec(detector="haar"), str(photo)).run().faces == 2
    assert working.settings()["detector"] == "haar (min_size=900)"
    with pytest.raises(OptionError, match="annotator options .bars. given, but there is no"):
        PipelineSpec(options={"annotator": {"bars": "1"}}).checked()
    with pytest.raises(OptionError, match="tracker 'none' has no option 'min_iou'"):
        PipelineSpec(tracker="none", options={"tracker": {"min_iou": "0.1"}}).checked()


@pytest.mark.parametrize(
    "option",
    ["smoother.tau=-1", "smoother.dwell=nan", "tracker.buffer=-0.5", "classifier.rate=inf"],
)
def test_a_negative_or_infinite_stage_option_is_one_line(option, tmp_path):
    from fervision import FervisionError, PipelineSpec

    kind, _, setting = option.partition(".")
    name, _, value = setting.partition("=")
    spec = PipelineSpec(options={kind: {name: value}}).checked()
    with pytest.raises(FervisionError, match=f"{kind} {name} must be a finite number, 0 or more"):
        spec.stage(kind)


@pytest.mark.parametrize(
    "stages, option, limits",
    [
        ({"smoother": "vote"}, "smoother.window=0", "1 or more"),
        ({}, "tracker.high_score=5", "from 0 to 1"),
        ({}, "tracker.min_iou=2", "from 0 to 1"),
        ({}, "tracker.low_iou=nan", "from 0 to 1"),
        ({}, "tracker.min_hits=-2", "1 or more"),
        ({}, "tracker.cut_threshold=-1", "from 0 to 2"),
        ({"tracker": "iou"}, "tracker.max_age=-1", "0 or more"),
        ({"tracker": "iou"}, "tracker.min_iou=1.5", "from 0 to 1"),
        ({"detector": "haar"}, "detector.full_every=0", "1 or more"),
        ({"detector": "haar"}, "detector.memory=-1", "1 or more"),
        ({}, "classifier.lift=inf", "from -1 to 1"),
    ],
)
def test_a_stage_option_out_of_its_range_is_one_line(stages, option, limits):
    """Values that used to be taken silently (or crash mid-run) are refused when built."""
    from fervision import FervisionError, PipelineSpec

    kind, _, setting = option.partition(".")
    name, _, value = setting.partition("=")
    spec = PipelineSpec(**stages, options={kind: {name: value}}).checked()
    with pytest.raises(FervisionError, match=f"{kind} {name} must be a finite number, {limits},"):
        spec.stage(kind)


def test_a_haar_model_that_is_not_xml_is_one_line(tmp_path):
    from fervision import FervisionError, PipelineSpec

    junk = tmp_path / "junk.xml"
    junk.write_bytes(os.urandom(2000))
    spec = PipelineSpec(detector="haar", options={"detector": {"model": str(junk)}}).checked()
    with pytest.raises(FervisionError, match="not a cascade XML file"):
        spec.stage("detector")


@pytest.mark.parametrize(
    "text, value",
    [("30", 30), ("30,40", (30, 40)), ("(30, 40)", (30, 40)), ("30x40", (30, 40)), ("none", None)],
)
def test_a_tuple_option_is_written_as_values_with_commas(text, value):
    option = StageOption("min_size", "int | tuple[int, int] | None")
    assert option.convert(text) == value


def test_a_tuple_option_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="is not int | tuple"):
        StageOption("min_size", "int | tuple[int, int] | None").convert("1,2,3")
    assert StageOption("names", "tuple[str, str]").convert("a x, b") == ("a x", "b")


def test_values_given_from_python_must_fit_a_plain_annotation():

    bad = [
        ("smoother", {"tau": None}, "smoother 'ema' option tau: None is not float"),
        ("detector", {"min_neighbors": 3.7}, "detector 'haar' option min_neighbors: 3.7 is not"),
        ("detector", {"min_neighbors": True}, "option min_neighbors: True is not int"),
    ]
    for kind, options, message in bad:
        with pytest.raises(OptionError, match=message):
            Pipeline("sample", detector="haar", options={kind: options})
    pipeline = Pipeline(
        "sample", detector="haar", options={"detector": {"min_neighbors": 3.0, "scale_factor": 2}}
    )
    assert pipeline.detector.min_neighbors == 3 and pipeline.detector.scale_factor == 2.0


def test_the_argument_after_the_colon_takes_the_factorys_annotation():
    class Sized:
        def __init__(self, size: float = 0.5):
            self.size = size

        def detect(self, frame):
            return []

    def register_stages(registry):
        registry.add("detector", "sized", Sized)

    plugin = types.SimpleNamespace(register_stages=hookimpl(register_stages))
    register_plugin(plugin, name="sized")
    try:
        assert get_registry().build("detector", "sized:0.7").size == 0.7
        with pytest.raises(OptionError, match="detector 'sized' takes size: float = 0.5 after"):
            get_registry().build("detector", "sized:big")
    finally:
        unregister_plugin("sized")


def test_a_spec_given_wrong_kinds_of_values_is_one_line():
    with pytest.raises(FervisionError, match="detect_every must be 1 or more, not True"):
        PipelineSpec(detect_every=True).checked()
    with pytest.raises(FervisionError, match="detector is a name or None, not object"):
        PipelineSpec(detector=object()).checked()
    with pytest.raises(OptionError, match="options must be a dict by kind"):
        PipelineSpec(options=["detector"]).checked()
    assert PipelineSpec(options=None).checked().options == {}


def test_a_value_a_plugin_factory_refuses_is_a_usage_error_naming_its_stage():
    class Picky:
        def __init__(self, size: float = 1.0):
            if size <= 0:
                raise OptionError("size must be above 0")

        def update(self, frame):
            pass

    class Plugin:
        @hookimpl
        def register_stages(self, registry):
            registry.add("smoother", "picky", Picky)

    register_plugin(Plugin(), name="picky-plugin")
    try:
        with pytest.raises(OptionError, match="^smoother 'picky': size must be above 0$"):
            spec = PipelineSpec(smoother="picky", options={"smoother": {"size": -1}})
            Pipeline.from_spec(spec, "sample")
    finally:
        unregister_plugin("picky-plugin")


def test_a_literal_option_takes_only_its_values():
    from typing import Literal

    class Paced:
        def __init__(self, mode: Literal["fast", "slow"] = "fast", step: Literal[1, 2] = 1):
            self.mode, self.step = mode, step

        def update(self, frame):
            pass

    class Plugin:
        @hookimpl
        def register_stages(self, registry):
            registry.add("smoother", "paced", Paced)

    register_plugin(Plugin(), name="paced-plugin")
    try:
        entry = get_registry().get("smoother", "paced")
        built = entry.build(**entry.convert({"mode": "slow", "step": "2"}))
        assert (built.mode, built.step) == ("slow", 2)
        with pytest.raises(OptionError, match="option mode: 'turbo' is not one of 'fast', 'slow'"):
            entry.convert({"mode": "turbo"})
    finally:
        unregister_plugin("paced-plugin")
