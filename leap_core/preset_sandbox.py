"""Rendering a user's preset with bounded time, memory, output and recursion, in this process.

Jinja2's sandbox stops attribute tricks and unsafe callables, not work: nested loops, `|center(500000000)`
or a recursive macro ran for seconds, ate memory or raised a raw RecursionError. This sandbox keeps the
escape protection (it extends `ImmutableSandboxedEnvironment`, so lists cannot be grown in place) and adds
a per-render `Budget`:

- every `{% for %}` iterates through a counter (the template is compiled with a code generator that wraps
  each loop's iterable), and every call, filter, operator and loop step checks the thread's CPU time;
- no value may grow past `MAX_VALUE` characters or items: each operation that can multiply its input
  (repetition, `+`, `~`, `join`, `replace`, `indent`, `center`/`ljust`…, `%`/`format` widths, powers and
  big products) is checked *before* it allocates, and every other result right after;
- call depth (macros, recursive loops) is capped well below Python's own recursion limit;
- output is streamed and cut off at `MAX_OUTPUT`.

A refusal is a `PresetLimitError` naming the limit. Why in-process rather than a subprocess with rlimits:
docs/adr/0016-bounded-presets-in-process.md (with the measurements).
"""

from __future__ import annotations

import contextvars
import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, EvalContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from leap_core.errors import ValidationError

MAX_SECONDS = 0.9
"""CPU seconds of the rendering thread (a machine's load cannot make an honest preset look hostile), checked
between operations: 0.9 leaves the margin that keeps every render under 1 s."""
MAX_OUTPUT = 20_000
"""Characters a rendered preset may have: YouTube's longest field (description) is 5,000 bytes."""
MAX_VALUE = 20_000
"""Characters or items any intermediate value may have; with ints capped too, a render allocates well
under 10 MB."""
MAX_INT_BITS = 1_024
MAX_LOOP_STEPS = 100_000
"""Iterations of all loops of one render together."""
MAX_RANGE = 10_000
MAX_DEPTH = 40
"""Nested calls (macro in macro, recursive loop): far more than any preset needs, far below Python's 1,000."""
REFUSED_GLOBALS = ("lipsum",)
"""`lipsum(n)` makes n paragraphs of text: nothing a preset needs, an easy way to allocate."""
REFUSED_METHODS = frozenset({"translate", "maketrans", "format_map", "encode"})
_BIG_NUMBER = re.compile(r"\d{6,}|\*")


class PresetLimitError(ValidationError):
    """A preset needed more time, memory, output or nesting than a render may have; `limit` says which."""

    def __init__(self, limit: str, message: str) -> None:
        self.limit = limit
        super().__init__(message)


@dataclass
class Budget:
    """What one render has left; one per render, found through a context variable."""

    deadline: float = field(default_factory=lambda: time.thread_time() + MAX_SECONDS)
    steps: int = 0
    depth: int = 0

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise PresetLimitError("time", f"takes longer than {MAX_SECONDS:g} s to render")

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_LOOP_STEPS:
            raise PresetLimitError("loops", f"loops more than {MAX_LOOP_STEPS:,} times in all")
        if self.steps % 256 == 0:
            self.tick()


_BUDGET: contextvars.ContextVar[Budget] = contextvars.ContextVar("leap_preset_budget")


def _budget() -> Budget:
    budget = _BUDGET.get(None)
    if budget is None:  # a template compiled here but rendered some other way still gets limits
        budget = Budget()
        _BUDGET.set(budget)
    return budget


def _too_big(what: str) -> PresetLimitError:
    return PresetLimitError("size", f"{what} would exceed {MAX_VALUE:,} characters or items")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict | set | frozenset) else 0


def _check_value(value: Any, what: str = "a value") -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise PresetLimitError("size", f"{what} is a number larger than {MAX_INT_BITS} bits")
    if _size(value) > MAX_VALUE:
        raise _too_big(what)
    return value


def _check_width(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_VALUE:
        raise PresetLimitError("size", f"{what} {value:,} is larger than {MAX_VALUE:,}")


def _check_format_string(text: Any, what: str) -> None:
    """`%999999999d`, `{:>999999999}` and `%*d`: a width inside the format string allocates it."""
    if isinstance(text, str) and _BIG_NUMBER.search(text):
        raise PresetLimitError("size", f"{what} asks for a width or precision that is too large (or given by *)")


def _joined_length(items: Iterable[Any], separator: str = "") -> int:
    """Length of the join, stopping as soon as it is too long (never builds the whole string)."""
    total = 0
    for item in items:
        total += len(str(item)) + len(separator)
        if total > MAX_VALUE:
            raise _too_big("a join")
    return total


def _replace_length(text: str, old: str, new: str, count: int = -1) -> int:
    hits = text.count(old) if old else len(text) + 1
    if count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def _precheck_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Filters whose output can dwarf their input, checked from their arguments before they run."""
    for arg in (*args, *kwargs.values()):
        _check_width(arg, f"argument of |{name}")
    if name == "indent" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 4)
        pad = len(width) if isinstance(width, str) else int(width or 0)
        if len(value) + pad * (value.count("\n") + 1) > MAX_VALUE:
            raise _too_big("|indent")
    elif name == "replace" and isinstance(value, str) and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count")
        if _replace_length(value, str(args[0]), str(args[1]), -1 if count is None else int(count)) > MAX_VALUE:
            raise _too_big("|replace")
    elif name == "join" and isinstance(value, Iterable) and not isinstance(value, str):
        _joined_length(value, str(args[0]) if args else str(kwargs.get("d", "")))
    elif name == "format":
        _check_format_string(value, "|format")
    elif name == "sum" and any(not isinstance(v, int | float) for v in (*args, *kwargs.values())):
        raise PresetLimitError("size", "|sum adds numbers only")


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps Jinja's pass_context/pass_environment marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        plain = args[1:] if args and isinstance(args[0], Context | EvalContext | ImmutableSandboxedEnvironment) \
            else args
        if plain:
            _precheck_filter(name, plain[0], tuple(plain[1:]), kwargs)
        return _check_value(func(*args, **kwargs), f"the result of |{name}")

    return guarded


def _precheck_method(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Python's own str/list methods reached from a preset, by how much they can multiply their input."""
    name = getattr(obj, "__name__", "")
    owner = getattr(obj, "__self__", getattr(getattr(obj, "__wrapped__", None), "__self__", None))  # sandbox's format
    if not isinstance(owner, str):
        return
    if name in REFUSED_METHODS:
        raise PresetLimitError("size", f"str.{name} is not available in presets")
    for arg in (*args, *kwargs.values()):
        _check_width(arg, f"argument of .{name}()")
    if name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if len(owner) + owner.count("\t") * int(size) > MAX_VALUE:
            raise _too_big(".expandtabs()")
    elif name == "replace" and len(args) >= 2:
        if _replace_length(owner, str(args[0]), str(args[1]), int(args[2]) if len(args) > 2 else -1) > MAX_VALUE:
            raise _too_big(".replace()")
    elif name == "join" and args:
        _joined_length(args[0], owner)
    elif name == "format":
        _check_format_string(owner, ".format()")


def _is_counted(node: nodes.Node) -> bool:
    return (isinstance(node, nodes.Call) and isinstance(node.node, nodes.EnvironmentAttribute)
            and node.node.name == "counted")


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator with two hooks: loops iterate through the budget, and `~` is size-checked."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if not _is_counted(node.iter):  # `for x in environment.counted(<iterable>)`
            node.iter = nodes.Call(nodes.EnvironmentAttribute("counted"), [node.iter], [], None, None,
                                   lineno=node.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox presets render in: Jinja's protection against escapes, plus the budget."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.filters = {name: _guard_filter(name, func) for name, func in self.filters.items()}
        for name in REFUSED_GLOBALS:
            self.globals.pop(name, None)
        self.globals["range"] = bounded_range

    def counted(self, iterable: Any) -> Iterator[Any]:
        budget = _budget()
        for item in iterable:
            budget.step()
            yield item

    def bounded_concat(self, values: tuple[Any, ...]) -> str:
        _budget().tick()
        _joined_length(values)
        return "".join(str(v) for v in values)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _budget().tick()
        _precheck_binop(operator, left, right)
        return _check_value(super().call_binop(context, operator, left, right), f"the result of {operator!r}")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        _precheck_method(__obj, args, kwargs)
        budget.depth += 1
        try:
            if budget.depth > MAX_DEPTH:
                what = "macros call each other" if isinstance(__obj, Macro) else "calls nest"
                raise PresetLimitError("recursion", f"{what} more than {MAX_DEPTH} deep")
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        return _check_value(result, "the result of a call")


def _precheck_binop(operator: str, left: Any, right: Any) -> None:
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right))
    if operator == "**" and isinstance(right, int | float):
        base_bits = left.bit_length() if isinstance(left, int) else 64
        if abs(right) > 64 or (ints and base_bits * abs(right) > MAX_INT_BITS):
            raise PresetLimitError("size", "a power in the preset is too large")
    elif operator == "*" and ints:
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise PresetLimitError("size", "a product in the preset is too large")
    elif operator == "*":
        for sized, count in ((left, right), (right, left)):
            if _size(sized) and isinstance(count, int) and count * _size(sized) > MAX_VALUE:
                raise _too_big("a repetition")
    elif operator == "+" and _size(left) + _size(right) > MAX_VALUE:
        raise _too_big("a '+'")
    elif operator == "%" and isinstance(left, str):
        _check_format_string(left, "'%' formatting")


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise PresetLimitError("loops", f"range() of more than {MAX_RANGE:,} numbers")
    return numbers


ENVIRONMENT = BoundedSandbox()


def render(template_text: str, context: Mapping[str, Any]) -> str:
    """Stream the render under a fresh budget; SecurityError and the other Jinja errors pass to the caller."""
    template = ENVIRONMENT.from_string(template_text)
    token = _BUDGET.set(Budget())
    try:
        parts: list[str] = []
        length = 0
        for chunk in template.generate(dict(context)):
            length += len(chunk)
            if length > MAX_OUTPUT:
                raise PresetLimitError("output", f"renders to more than {MAX_OUTPUT:,} characters")
            parts.append(chunk)
        return "".join(parts)
    except RecursionError:
        raise PresetLimitError("recursion", "nests too deeply to render") from None
    finally:
        _BUDGET.reset(token)


__all__ = ["ENVIRONMENT", "BoundedSandbox", "PresetLimitError", "SecurityError", "render"]
