"""Docs that cannot go stale: README.md and docs/*.md checked against the code.

Every option of every command is on its command's page, every hook and stage kind on the
plugin page, every `fervision ...` command shown parses, every relative link and image
exists, and each task page opens with its purpose and a runnable example.
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from fervision import hookspecs
from fervision.cli import _add_plugin_commands, cli
from fervision.registry import KINDS
from fervision.stages import PROTOCOLS, required

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

# The task pages, each opening with its purpose and an example (docs/speed_history.md is
# an archive of earlier measurements, linked from speed.md).
PAGES = [
    "run",
    "outputs",
    "python",
    "batch",
    "options",
    "plugins",
    "training",
    "faults",
    "speed",
    "research",
    "coders",
    "real_videos",
]

# Where each command's options are documented, one line each.
COMMAND_PAGES = {
    "run": "run.md",
    "batch": "batch.md",
    "report": "outputs.md",
    "train": "training.md",
    "evaluate": "training.md",
    "calibrate": "training.md",
    "average": "training.md",
    "ensemble": "training.md",
    "agree": "coders.md",
    "plugins": "plugins.md",
}

PURPOSE = "What this page is for:"


def commands() -> dict[str, click.Command]:
    _add_plugin_commands()  # the plugins' commands, as `fervision` adds them
    return dict(cli.commands)


def markdown_files() -> list[Path]:
    return [README, ROOT / "MODEL_CARD.md", *sorted(DOCS.glob("*.md"))]


def without_fences(text: str) -> str:
    """The text with fenced code blocks blanked (their lines kept, for line numbers)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            out.append("")
        else:
            out.append("" if fenced else line)
    return "\n".join(out)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Each fenced block as (language, body)."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.M | re.S)


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", without_fences(text))


def mentions(spans: list[str], option: str) -> bool:
    pattern = re.compile(rf"(?<![\w-]){re.escape(option)}(?![\w-])")
    return any(pattern.search(span) for span in spans)


def test_every_command_has_a_page():
    missing = sorted(set(commands()) - set(COMMAND_PAGES))
    assert not missing, f"commands without a page: {missing}: add them to COMMAND_PAGES"


@pytest.mark.parametrize("name", sorted(COMMAND_PAGES))
def test_every_option_of_a_command_is_on_its_page(name):
    command = commands()[name]
    page = DOCS / COMMAND_PAGES[name]
    spans = code_spans(page.read_text())
    undocumented = [
        option
        for param in command.params
        if isinstance(param, click.Option)
        for option in param.opts + param.secondary_opts
        if option not in ("-h", "--help") and not mentions(spans, option)
    ]
    assert not undocumented, (
        f"fervision {name}: {', '.join(undocumented)} not documented in docs/{page.name} "
        "(a line naming it in backticks)"
    )


def hook_names() -> list[str]:
    return [
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, "fervision_spec")
    ]


def test_the_hooks_are_found():
    assert {"register_stages", "register_commands", "frame_processed"} <= set(hook_names())


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_is_documented(hook):
    text = (DOCS / "plugins.md").read_text()
    assert re.search(rf"^\| `{hook}\(", text, re.M), (
        f"hook {hook} (fervision/hookspecs.py) has no row in docs/plugins.md's table of hooks"
    )


@pytest.mark.parametrize("kind", list(PROTOCOLS))
def test_every_stage_kind_is_documented_with_what_it_must_have(kind):
    text = (DOCS / "plugins.md").read_text()
    row = re.search(rf"^\| {kind} \|(.*)$", text, re.M)
    assert row, f"stage kind {kind} (fervision/stages.py) has no row in docs/plugins.md"
    missing = [name for name in required(kind) if f"`{name}" not in row.group(1)]
    assert not missing, f"docs/plugins.md: a {kind} must have {missing}, its row does not say"


def test_the_stage_kinds_are_the_registrys():
    assert set(PROTOCOLS) == set(KINDS)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in without_fences(path.read_text()).splitlines():
        match = re.match(r"#{1,6} (.*)", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(path: Path) -> list[str]:
    return re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", without_fences(path.read_text()))


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.name)
def test_every_relative_link_and_image_exists(path):
    broken = []
    for target in links(path):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        where = (path.parent / file).resolve() if file else path
        if not where.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and where.suffix == ".md" and anchor not in anchors(where):
            broken.append(f"{target} (no heading #{anchor} in {where.name})")
    assert not broken, f"{path.relative_to(ROOT)}: broken links: {broken}"


def test_the_links_are_checked():
    assert "docs/outputs.md" in links(README)
    assert "outputs.md#the-emotion-csv---csv" in links(DOCS / "batch.md")


def test_readme_is_short_and_links_every_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 150, "README.md is for the first five minutes: ≤ 150 lines"
    targets = {target.partition("#")[0] for target in links(README)}
    unlinked = [page for page in PAGES if f"docs/{page}.md" not in targets]
    assert not unlinked, f"README.md does not link {unlinked}"


def test_readme_keeps_the_quick_start_ci_runs():
    """.ci/run runs README's two quick-start commands; they must stay as they are."""
    text = README.read_text()
    ci = (ROOT / ".ci/run").read_text()
    for command in (
        "pip install . && fervision run --source sample --csv emotions.csv --output annotated.mp4",
        'pip install ".[train,dev]" ./examples/fervision-jsonl "ray[default]" && '
        "python -m pytest -q",
    ):
        assert command in text and command.replace("pip install", "pip install -q") in ci


@pytest.mark.parametrize("page", PAGES)
def test_a_page_opens_with_its_purpose_and_an_example(page):
    path = DOCS / f"{page}.md"
    assert path.exists(), f"docs/{page}.md is missing"
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# "), f"docs/{page}.md: the first line is its title"
    first = next(line for line in lines[1:] if line.strip())
    assert first.startswith(PURPOSE), f"docs/{page}.md: after the title, '{PURPOSE} ...'"
    blocks = fenced_blocks(path.read_text())
    assert blocks and blocks[0][0] in ("bash", "python"), (
        f"docs/{page}.md: the first fenced block is the example, ```bash or ```python"
    )


def shown_commands(text: str) -> list[tuple[list[str], bool]]:
    """Every `fervision ...` command of the bash and console blocks, as arguments, and
    whether the page shows it failing as a usage error (its line's comment says so)."""
    out = []
    for language, body in fenced_blocks(text):
        if language not in ("bash", "console"):
            continue
        body = body.replace("\\\n", " ")
        for line in body.splitlines():
            line = line.strip()
            if language == "console":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            usage_error = "usage error" in line.partition(" #")[2]
            if "fervision " not in line:
                continue
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            command: list[str] = []
            for token in [*lexer, ";"]:
                if token.strip(";&|"):
                    command.append(token)
                    continue
                if command[:1] == ["fervision"]:
                    out.append((command[1:], usage_error))
                command = []
    return out


def all_shown_commands() -> list[tuple[str, list[str], bool]]:
    return [
        (f"{path.name}: fervision {shlex.join(args)}", args, usage_error)
        for path in markdown_files()
        for args, usage_error in shown_commands(path.read_text())
    ]


def test_the_shown_commands_are_found():
    shown = [args[0] for _, args, _ in all_shown_commands()]
    assert {"run", "batch", "report", "agree", "train", "plugins"} <= set(shown)
    assert any(usage_error for *_, usage_error in all_shown_commands())


@pytest.mark.parametrize(
    "args, usage_error",
    [(args, usage_error) for _, args, usage_error in all_shown_commands()],
    ids=[shown for shown, *_ in all_shown_commands()],
)
def test_every_shown_command_parses(args, usage_error):
    """Each command on the pages names a command and options that exist, with values of
    the right form (files it names need not exist here); one shown as a usage error is."""
    name, rest = args[0], args[1:]
    command = commands().get(name)
    assert command is not None, f"no command {name!r}"
    try:
        with command.make_context(name, rest):
            pass
    except click.BadParameter as exc:
        if usage_error or "does not exist" in exc.format_message():
            return
        raise AssertionError(f"fervision {shlex.join(args)}: {exc.format_message()}") from None
    except click.UsageError as exc:
        if usage_error:
            return
        raise AssertionError(f"fervision {shlex.join(args)}: {exc.format_message()}") from None
    assert not usage_error, f"fervision {shlex.join(args)} is shown as a usage error; it parses"


def python_example(path: Path) -> str:
    return next(body for language, body in fenced_blocks(path.read_text()) if language == "python")


@pytest.mark.parametrize("path", [README, DOCS / "python.md"], ids=lambda p: p.name)
def test_the_python_example_runs(path, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", python_example(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "neutral" in result.stdout
