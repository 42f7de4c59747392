"""The email bodies, plain text and HTML, rendered with Jinja2 (HTML autoescaped).

Kept in code rather than as package files so an installed wheel always has them.
"""

from __future__ import annotations

from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

from leap_core.notifications.delivery import Letter

_TEXT = """{{ title }}

{{ body }}
{% if details %}
{% for name, value in details %}{{ name }}: {{ value }}
{% endfor %}{% endif %}
--
Sent by LEAP ({{ type }}, {{ created_at }}). Change what you receive with `leap notifications prefs`.
"""

_HTML = """<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>{{ title }}</h2>
{% for line in body.splitlines() %}<p>{{ line }}</p>
{% endfor %}{% if details %}<table>
{% for name, value in details %}<tr><th align="left">{{ name }}</th><td>
{%- if value is string and value.startswith(("https://", "http://")) %}<a href="{{ value }}">{{ value }}</a>
{%- else %}{{ value }}{% endif %}</td></tr>
{% endfor %}</table>{% endif %}
<p style="color: #777">Sent by LEAP ({{ type }}, {{ created_at }}). Change what you receive with
<code>leap notifications prefs</code>.</p>
</body></html>
"""

_ENV = Environment(
    loader=DictLoader({"email.txt": _TEXT, "email.html": _HTML}),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _context(letter: Letter) -> dict[str, Any]:
    details = [(name.replace("_", " "), value) for name, value in letter.data.items()
               if isinstance(value, str | int | float) and not isinstance(value, bool)]
    return {"title": letter.title, "body": letter.body, "details": details, "type": letter.type,
            "created_at": letter.created_at.strftime("%Y-%m-%d %H:%M UTC")}


def render_text(letter: Letter) -> str:
    return _ENV.get_template("email.txt").render(_context(letter))


def render_html(letter: Letter) -> str:
    return _ENV.get_template("email.html").render(_context(letter))
