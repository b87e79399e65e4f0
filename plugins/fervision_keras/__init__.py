"""fervision's Keras emotion classifier and its commands (train, evaluate, calibrate, ...)."""

import os

from fervision import hookimpl

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out


@hookimpl
def register_stages(registry):
    registry.add(
        "classifier",
        "keras",
        f"{__name__}.classifier:EmotionClassifier",
        help="Keras CNN (the shipped default, or keras:PATH.keras)",
    )


@hookimpl
def register_commands(cli):
    from .commands import average, calibrate, ensemble, evaluate, train

    cli.add_command(train)
    cli.add_command(evaluate)
    cli.add_command(calibrate)
    cli.add_command(ensemble)
    cli.add_command(average)
