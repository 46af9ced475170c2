"""What several verbs share: naming a spec, printing to the terminal."""
from __future__ import annotations

import click

from ..spec.load import load_spec


class SpecParam(click.ParamType):
    """A spec file's path, or a bundled spec's short name (`pg-toy`)."""

    name = "SPEC"

    def convert(self, value, param, ctx):
        return value  # resolved by `load`, which reports errors with exit 2


SPEC = SpecParam()


def spec_argument(**kw):
    return click.argument("spec", type=SPEC, **kw)


def load(spec: str):
    return load_spec(spec)
