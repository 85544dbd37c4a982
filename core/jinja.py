"""The Jinja2 environment of the portal's pages (issue 20, item 2; the admin and the e-mails stay
Django templates).

The pages print the same HTML as the Django templates they replace, so this environment gives
Jinja2 what a Django template has built in:

- Django's translation functions through Jinja2's i18n extension ("newstyle": `_()` of a literal
  is not escaped, the values of a `{% trans %}` are), and the same msgids;
- every printed value localised and in the current time zone, as Django does for `{{ value }}`
  (`finalize`), and the `date`/`time` filters taking their value in the current time zone;
- Django's filters where Jinja2 has none or one that prints otherwise (`default`, `filesizeformat`);
- `url()`, `static()`, `querystring()` for the tags of those names; `csrf_input` and `csp_nonce`
  come from the backend and the context processors, as `{% csrf_token %}` and `csp_nonce` do.

An undefined variable is an error where settings.TEMPLATES_STRICT is true (the tests), else it
prints nothing and is logged with its name only (never the context: it may hold a NIR).
"""

import datetime
import decimal
import functools
import logging

import jinja2
import markupsafe
from django import forms
from django.conf import settings
from django.template import defaultfilters, defaulttags
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import formats, timezone, translation
from django.utils.dates import MONTHS

logger = logging.getLogger(__name__)

_LOCALISED = (datetime.date, datetime.time, float, decimal.Decimal)


def _finalize(value):
    """Django's render_value_in_context, for the values it changes (a date, a time, a float,
    a Decimal); everything else is printed as it is, escaped by Jinja2's autoescape."""
    if isinstance(value, _LOCALISED):
        return formats.localize(timezone.template_localtime(value))
    return value


def url(name, *args, **kwargs):
    """`{% url %}`: reverse(), remembered by its arguments within the URLconf and script prefix
    in force (a list page reverses the same few names for each of its rows)."""
    try:
        return _reverse(
            settings.ROOT_URLCONF,
            get_urlconf(),
            get_script_prefix(),
            name,
            args,
            tuple(kwargs.items()),
        )
    except TypeError:  # an argument that cannot be a key (a list): not remembered
        return reverse(name, args=args or None, kwargs=kwargs or None)


@functools.lru_cache(maxsize=8192)
def _reverse(root_urlconf, urlconf, prefix, name, args, kwargs):
    return reverse(name, urlconf=urlconf, args=args or None, kwargs=dict(kwargs) or None)


class _RequestHolder:
    """What Django's querystring tag reads of its context."""

    __slots__ = ("request",)

    def __init__(self, request):
        self.request = request


@jinja2.pass_context
def querystring(context, *mappings, **changes):
    return defaulttags.querystring(_RequestHolder(context["request"]), *mappings, **changes)


def _day(value) -> str:
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def _long_day(value) -> str:
    return f"{value.day} {MONTHS[value.month]} {value.year:04d}"


def _hour(value) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


# The pages' formats, written directly: Django's date filter reads its format letter by letter
# at every call (40 dates on a page of the history). The same text (tests/core/test_jinja.py).
_DATE_FORMATS = {"d/m/Y": _day, "j F Y": _long_day}
_DATETIME_FORMATS = {
    **_DATE_FORMATS,
    "d/m/Y H:i": lambda value: f"{_day(value)} {_hour(value)}",
    "j F Y H:i": lambda value: f"{_long_day(value)} {_hour(value)}",
    "j F Y à H:i": lambda value: f"{_long_day(value)} à {_hour(value)}",
}


def _date(value, arg=None):
    if isinstance(value, datetime.datetime):
        value = timezone.template_localtime(value)
        written = _DATETIME_FORMATS.get(arg)
    else:
        written = _DATE_FORMATS.get(arg) if isinstance(value, datetime.date) else None
    return written(value) if written else defaultfilters.date(value, arg)


def _time(value, arg=None):
    return defaultfilters.time(timezone.template_localtime(value), arg)


def _default(value, arg):
    """Django's `default`: any false value, not only an undefined one."""
    return value or arg


@jinja2.pass_eval_context
def _linebreaks(eval_ctx, value):
    return defaultfilters.linebreaks_filter(value, autoescape=eval_ctx.autoescape)


FILTERS = {
    "add": defaultfilters.add,
    "capfirst": defaultfilters.capfirst,
    "date": _date,
    "default": _default,
    "filesizeformat": defaultfilters.filesizeformat,
    "linebreaks": _linebreaks,
    "time": _time,
    "yesno": defaultfilters.yesno,
}


def is_plain_select(field) -> bool:
    """A bound field whose widget is Django's Select itself with flat choices: _widgets.html
    writes it out (a subclass may add attributes to its options, a group needs its own tag)."""
    if type(field.field.widget) is not forms.Select:
        return False
    if isinstance(field.field, forms.ModelChoiceField):
        return True
    return not any(isinstance(label, (list, tuple)) for _value, label in field.field.choices)


class LoggingUndefined(jinja2.ChainableUndefined):
    """What a Django template does with a name it does not find: nothing printed, false in an
    `if`, an empty loop, an attribute of it undefined too; and the name (never the context) is
    logged."""

    __slots__ = ()

    def _log(self):
        logger.warning("Variable de gabarit indéfinie : %s", self._undefined_name)

    def __str__(self):
        self._log()
        return ""

    def __iter__(self):
        self._log()
        return iter(())

    def __bool__(self):
        return False


class FailingUndefined(jinja2.ChainableUndefined):
    """The tests' (TEMPLATES_STRICT): printing or looping over an undefined name fails the test,
    as pytest-django's FAIL_INVALID_TEMPLATE_VARS does for a Django template; in an `if` it is
    false, as there."""

    __slots__ = ()
    __str__ = __iter__ = __len__ = __html__ = jinja2.Undefined._fail_with_undefined_error

    def __bool__(self):
        return False


# Jinja2's newstyle callables (jinja2.ext._make_new_gettext and its siblings) look the function up
# in the template's context twice per call (`_` is an alias of `gettext`) to learn whether the
# context escapes: some 4 µs a call, against Django's own 1.3 µs, and a page of the history calls
# them more than 200 times. Here the environment always escapes, so these do what those do for an
# escaping context, directly: the translation marked safe, then formatted with the values (each
# escaped by Markup's %), the formatting skipped only where it would change nothing (no value and
# no "%" in the text). tests/core/test_jinja.py compares them with Jinja2's on every kind of text.


def _formatted(text: str, variables: dict) -> markupsafe.Markup:
    text = markupsafe.Markup(text)  # noqa: S704 (the catalogue's text, as Jinja2 marks it)
    if variables or "%" in text:
        return text % variables
    return text


def _gettext(string: str, /, **variables) -> markupsafe.Markup:
    return _formatted(translation.gettext(string), variables)


def _ngettext(singular: str, plural: str, num: int, /, **variables) -> markupsafe.Markup:
    variables.setdefault("num", num)
    return _formatted(translation.ngettext(singular, plural, num), variables)


def _pgettext(context: str, string: str, /, **variables) -> markupsafe.Markup:
    variables.setdefault("context", context)
    return _formatted(translation.pgettext(context, string), variables)


def _npgettext(context: str, singular: str, plural: str, num: int, /, **variables):
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    return _formatted(translation.npgettext(context, singular, plural, num), variables)


GETTEXT = {
    "_": _gettext,
    "gettext": _gettext,
    "ngettext": _ngettext,
    "pgettext": _pgettext,
    "npgettext": _npgettext,
}


def environment(**options):
    options.setdefault("extensions", []).append("jinja2.ext.i18n")
    # A Django template keeps the newline that ends its file; an include's HTML is the same.
    options.setdefault("keep_trailing_newline", True)
    strict = getattr(settings, "TEMPLATES_STRICT", False)
    options["undefined"] = FailingUndefined if strict else LoggingUndefined
    options["finalize"] = _finalize
    options.pop("autoescape", None)  # always on: the pages' HTML is escaped as Django's
    env = jinja2.Environment(autoescape=True, **options)
    env.install_gettext_callables(
        gettext=translation.gettext,
        ngettext=translation.ngettext,
        pgettext=translation.pgettext,
        npgettext=translation.npgettext,
        newstyle=True,
    )
    env.globals.update(GETTEXT)
    env.globals.update(url=url, static=static, querystring=querystring)
    env.filters.update(FILTERS)
    env.tests["plain_select"] = is_plain_select
    return env
