"""Render the HTML report: jinja2 with autoescape on, everything inline."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from reports.cases import OUTSIDE
from reports.compare import COMPARED_STATS, Comparison
from reports.configkeys import NOT_APPLICABLE
from reports.context import ReportContext
from reports.text import shown


def case_anchor(case: str) -> str:
    return "case-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in str(case))


def css_string(text: object) -> Markup:
    """A quoted CSS string for a <style> block: everything but letters, digits and
    `.-_:` as a 6-digit escape, so station text can neither end the string nor the element."""
    safe = "".join(c if (c.isalnum() and c.isascii()) or c in ".-_:" else f"\\{ord(c):06x}"
                   for c in str(text))
    return Markup(f'"{safe}"')


def finalize(value: object) -> object:
    """Every value a template prints: strings made visible (reports.text.shown), then escaped
    by autoescape; markup the reports built themselves (SVG, CSS strings) as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return shown(value)
    return value


_BREAKS = re.compile(r"(?<=[._:/,])|(?<=[a-z])(?=[A-Z])")


def breakable(name: object) -> Markup:
    """A name that may wrap after its dots, underscores, colons, slashes and commas and between
    the words of CamelCase (`ocpp.response_time.RemoteStartTransaction`,
    `StopTransactionOnInvalidId`): a narrow column (A4) breaks it where people read a break."""
    return Markup("<wbr>".join(str(escape(part))
                               for part in _BREAKS.split(shown(str(name)))))


def environment() -> Environment:
    # autoescape also for .j2 names: station text (vendor strings, idTags, raw frames) is data;
    # finalize makes its invisible characters visible wherever a template prints it
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "css"),
                                     default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=finalize,
    )
    env.filters["case_anchor"] = case_anchor
    env.filters["css_string"] = css_string
    env.filters["breakable"] = breakable
    return env


def render_report(ctx: ReportContext) -> str:
    return environment().get_template("report.html.j2").render(ctx=ctx, outside=OUTSIDE,
                                                                na=NOT_APPLICABLE)


def write_report(ctx: ReportContext, run_dir: Path) -> Path:
    target = Path(run_dir) / "report.html"
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(render_report(ctx), "utf-8")
    tmp.replace(target)
    return target


def write_comparison(cmp: Comparison, target: Path) -> Path:
    html = environment().get_template("compare.html.j2").render(cmp=cmp, stats=COMPARED_STATS)
    target = Path(target)
    target.write_text(html, "utf-8")
    return target
