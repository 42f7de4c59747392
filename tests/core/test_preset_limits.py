"""Bounded presets: every way found to make a render hang, exhaust memory or blow the stack is refused with a
typed reason — at save and at render — and the sandbox escapes stay refused.

Time is never measured here: each case asserts the refusal and which limit refused it; the bound on time is
the budget's own (CPU time of the rendering thread), and memory is measured with tracemalloc.
"""

from __future__ import annotations

import tracemalloc

import pytest
from sqlalchemy import update

from leap_core import templates
from leap_core.api import UserAPI
from leap_core.db.models import Template
from leap_core.errors import ValidationError
from leap_core.preset_sandbox import PresetLimitError
from leap_core.templates import SAMPLE_CONTEXT, render_preset, render_presets

TEN_MB = 10 * 1024 * 1024

BOUNDED = {
    "nested range(99999) loops": "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "nested loops within the range cap": "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
    "loops over repeated strings": "{% for a in 'x' * 9999 %}{% for b in 'y' * 9999 %}{% endfor %}{% endfor %}",
    "|center(500000000)": "{{ title|center(500000000) }}",
    "|indent(300000000)": "{{ title|indent(300000000) }}",
    "|indent of many lines": "{{ ('\\n' * 9999)|indent(9999) }}",
    "recursive macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "recursive loop": "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "doubling by ~": "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                     "{% endfor %}{{ ns.s|length }}",
    "doubling by +": "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
                     "{% endfor %}{{ ns.s|length }}",
    "squaring a number": "{% set ns = namespace(x=3) %}{% for i in range(64) %}{% set ns.x = ns.x * ns.x %}"
                         "{% endfor %}{{ ns.x > 0 }}",
    "power of a power": "{{ ((10 ** 64) ** 64) ** 64 }}",
    "|replace amplifying": "{{ ('x' * 9999)|replace('x', 'y' * 9999) }}",
    ".replace amplifying": "{{ ('x' * 9999).replace('x', 'y' * 9999) }}",
    "|join of a repeated big string": "{% set big = ['x' * 9999] * 9999 %}{{ big|join|length }}",
    "str.join of a repeated big string": "{% set big = ['x' * 9999] * 9999 %}{{ ''.join(big)|length }}",
    "|sum of lists": "{{ ([[1] * 9999] * 9999)|sum(start=[])|length }}",
    "% width": "{{ '%0999999999d' % 1 }}",
    "% star width": "{{ '%*d' % (999999999, 1) }}",
    "|format width": "{{ '%999999999s'|format('x') }}",
    "str.format width": "{{ '{:>999999999}'.format(1) }}",
    ".ljust": "{{ 'x'.ljust(500000000) }}",
    ".expandtabs": "{{ ('\\t' * 9999).expandtabs(9999) }}",
    ".translate": "{{ 'x'.translate({120: 'y' * 9999}) }}",
    "output too long": "{% for i in range(9999) %}{{ 'x' * 9999 }}{% endfor %}",
    "slow but within every size": "{% for i in range(9999) %}{% for j in range(10) %}"
                                  "{% set s = ('x' * 9999)|replace('x', 'yz') %}{% endfor %}{% endfor %}",
}

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ title.__class__.__init__.__globals__ }}",
    "{{ recorded_at.__class__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__['os'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ topics.append.__self__.__class__ }}",
    "{{ (title|attr('__class__')).__mro__ }}",
    "{{ '{0.__class__.__mro__}'.format(title) }}",
    "{{ dict.mro()[1].__subclasses__() }}",
    "{{ range.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{% set x = topics.append('planted') %}{{ topics }}",
]


@pytest.mark.parametrize("case", list(BOUNDED))
def test_each_bounded_case_is_refused_with_its_limit_and_allocates_under_10_mb(case: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(PresetLimitError) as refused:
            render_preset(BOUNDED[case], SAMPLE_CONTEXT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.limit in {"time", "loops", "size", "output", "recursion"}
    assert str(refused.value).startswith("refused: ") and "\n" not in str(refused.value)
    assert peak < TEN_MB


@pytest.mark.parametrize("escape", ESCAPES)
def test_known_sandbox_escapes_stay_refused(escape: str) -> None:
    with pytest.raises(ValidationError):
        render_preset(escape, SAMPLE_CONTEXT)
    assert SAMPLE_CONTEXT["topics"] == ["eigenvalues", "diagonalisation"]


@pytest.mark.parametrize("case", ["nested range(99999) loops", "|center(500000000)", "recursive macro"])
def test_a_bounded_case_is_refused_at_save_naming_the_field(alice: UserAPI, case: str) -> None:
    with pytest.raises(PresetLimitError, match=r"^preset youtube\.description: refused: "):
        alice.add_template("t", targets=["youtube"], presets={"youtube": {"description": BOUNDED[case]}})
    assert alice.templates() == []


def test_a_preset_stored_before_the_limits_is_refused_at_render(alice: UserAPI) -> None:
    alice.add_template("t", targets=["youtube"], presets={"youtube": {"title": "{{ title }}"}})
    with alice.leap.db.session() as session:  # as if saved by an older LEAP, before these limits existed
        session.execute(update(Template).values(presets={"youtube": {"title": BOUNDED["|indent(300000000)"]}}))
    [stored] = alice.templates()
    with pytest.raises(PresetLimitError, match="refused: "):
        render_presets(stored["presets"], SAMPLE_CONTEXT)


def test_an_honest_preset_with_loops_macros_and_filters_still_renders() -> None:
    text = ("{% macro line(c) %}{{ c.timestamp }} {{ c.title|title }}{% endmacro %}"
            "{{ title|upper|center(40) }}\n{% for c in chapters * 50 %}{{ line(c) }}\n{% endfor %}"
            "{{ topics|join(', ')|replace('diag', 'Diag') }} {{ '%05d'|format(duration_min) }} "
            "{{ '{:>8}'.format(date) }} {{ (summary ~ ' ') * 3 }}{{ range(1, 4)|sum }}")
    rendered = templates.render_preset(text, SAMPLE_CONTEXT)
    assert rendered.startswith("LINEAR ALGEBRA, LECTURE 3")
    assert rendered.count("0:00 Introduction") == 50
    assert "eigenvalues, Diagonalisation 00088" in rendered
    assert rendered.endswith("diagonalised. 6")
