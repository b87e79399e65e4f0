"""The ``agree`` command: a coder's file against a run's per-frame CSV."""

from __future__ import annotations

import click


@click.command()
@click.argument("coded", metavar="CODED", type=click.Path(dir_okay=False))
@click.argument("run_csv", metavar="RUN.csv", type=click.Path(dir_okay=False))
@click.option("--tier", metavar="NAME", help="The coder's tier in an ELAN .eaf file.")
@click.option(
    "--subject",
    metavar="NAME",
    help="The coder's subject in a BORIS project (or participant in a state log).",
)
@click.option(
    "--participant",
    metavar="NAME",
    help="The run's participant (or track, 'face N') to compare (default: the one named like "
    "the tier or subject, or the only one).",
)
@click.option(
    "--map",
    "mapping",
    metavar="CODER=MODEL,...",
    help="The coder's labels as the model's, e.g. \"joy=happy,anger=angry\".",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def agree(coded, run_csv, tier, subject, participant, mapping, as_json):
    """How well the machine agrees with a human coder, on the frames both cover.

    CODED is an ELAN .eaf (pick the tier with --tier), a BORIS .boris (--subject) or a
    state-log .csv (participant,label,onset,offset; --subject), as a coder corrected it;
    RUN.csv is the per-frame CSV of ``fervision run``. Each frame is compared at its middle.
    Prints Cohen's kappa, the share of frames that agree, per label the machine's precision
    and recall against the coder, the confusion matrix (rows: coder) and the seconds each
    side covers.
    """
    from fervision.errors import FervisionError

    from .agreement import agree as compute
    from .agreement import agreement_json, format_agreement

    try:
        result = compute(
            coded, run_csv, tier=tier, subject=subject, participant=participant, mapping=mapping
        )
    except FervisionError as exc:  # every problem here is with what was given: exit 2
        raise click.UsageError(str(exc)) from None
    click.echo(agreement_json(result) if as_json else format_agreement(result))
