"""The pages' Jinja2 environment prints what a Django template prints (core/jinja.py)."""

import datetime
import decimal
import logging

import jinja2
import pytest
from django import forms
from django.template import engines
from django.urls import set_script_prefix
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from conventions.models import Offre
from core import jinja
from core.formfields import ModelChoiceField
from core.jinja import is_plain_select
from tests.jinja_port import normalise

AT = datetime.datetime(2026, 3, 10, 22, 50, tzinfo=datetime.UTC)  # 23:50 in Paris
VALUES = {
    "at": AT,
    "day": datetime.date(2026, 3, 10),
    "hour": datetime.time(9, 5),
    "ratio": 2.5,
    "amount": decimal.Decimal("12.30"),
    "nothing": None,
    "lazy": gettext_lazy("Bienvenue"),
    "unsafe": "<b>l'a & b</b>",
    "safe": mark_safe("<b>gras</b>"),
    "count": 1234,
}


@pytest.mark.parametrize("name", VALUES)
def test_a_value_prints_as_in_a_django_template(name):
    django = engines["django"].from_string(f"{{{{ {name} }}}}").render(VALUES)
    jinja2_page = engines["jinja2"].from_string(f"{{{{ {name} }}}}").render(VALUES)

    assert jinja2_page.replace("&#39;", "&#x27;") == django


@pytest.mark.parametrize(
    ("django", "jinja"),
    [
        ('{{ at|date:"j F Y H:i" }}', '{{ at|date("j F Y H:i") }}'),
        ('{{ at|time:"H:i" }}', '{{ at|time("H:i") }}'),
        ("{{ nothing|default:'—' }}", "{{ nothing|default('—') }}"),
        ("{{ unsafe|linebreaks }}", "{{ unsafe|linebreaks }}"),
        ("{{ 123456|filesizeformat }}", "{{ 123456|filesizeformat }}"),
        ('{% translate "Page 100 %" %}', '{{ _("Page 100 %%") }}'),
        (
            "{% blocktranslate with name=unsafe %}Bonjour {{ name }}{% endblocktranslate %}",
            "{% trans name=unsafe %}Bonjour {{ name }}{% endtrans %}",
        ),
        (
            "{% blocktranslate count n=count %}{{ n }} demande{% plural %}{{ n }} demandes"
            "{% endblocktranslate %}",
            "{% trans n=count %}{{ n }} demande{% pluralize n %}{{ n }} demandes{% endtrans %}",
        ),
    ],
)
def test_filters_and_translations_print_as_django_s(django, jinja):
    before = engines["django"].from_string("{% load i18n %}" + django).render(VALUES)
    after = engines["jinja2"].from_string(jinja).render(VALUES)

    assert after.replace("&#39;", "&#x27;") == before
    assert "23:50" in engines["jinja2"].from_string("{{ at }}").render(VALUES)
    assert timezone.get_current_timezone_name() == "Europe/Paris"


def test_in_the_tests_printing_an_undefined_name_fails_but_an_if_on_it_is_false():
    page = engines["jinja2"]

    with pytest.raises(jinja2.UndefinedError):
        page.from_string("<p>{{ missing }}</p>").render({})
    with pytest.raises(jinja2.UndefinedError):
        page.from_string("{% for x in missing %}{% endfor %}").render({})
    assert page.from_string("{% if missing.deeper %}oui{% else %}non{% endif %}").render({}) == (
        "non"
    )


def test_in_production_an_undefined_name_prints_nothing_and_logs_its_name_only(caplog, settings):
    settings.TEMPLATES_STRICT = False
    production = jinja.environment(loader=jinja2.DictLoader({}))
    template = production.from_string("<p>{{ missing }}{{ user.missing_too }}</p>")

    with caplog.at_level(logging.WARNING, logger="core.jinja"):
        html = template.render(user=object(), secret="1 85 05 78 006 084")

    assert html == "<p></p>"
    assert [record.getMessage() for record in caplog.records] == [
        "Variable de gabarit indéfinie : missing",
        "Variable de gabarit indéfinie : missing_too",
    ]
    assert "085" not in caplog.text


def test_the_pages_are_always_escaped():
    production = jinja.environment(loader=jinja2.DictLoader({}), autoescape=False)

    assert production.from_string("{{ v }}").render(v="<script>") == "&lt;script&gt;"


def test_a_url_is_remembered_only_within_its_script_prefix_and_urlconf(settings):
    page = engines["jinja2"].from_string("{{ url('demandes:detail', 7) }}")
    assert page.render({}) == "/demandes/7/"

    set_script_prefix("/portail/")
    try:
        assert page.render({}) == "/portail/demandes/7/"
    finally:
        set_script_prefix("/")
    settings.ROOT_URLCONF = "bench.urls"  # the same names, under the floors' URLconf
    assert page.render({}) == "/demandes/7/"


DATES = [
    datetime.datetime(2026, 1, 5, 7, 3, tzinfo=datetime.UTC),  # 08:03 in Paris, winter
    datetime.datetime(2026, 8, 31, 22, 30, tzinfo=datetime.UTC),  # the next day in Paris
    datetime.datetime(2026, 12, 1, 9, 0),  # naive
    datetime.date(1950, 3, 12),
    datetime.date(999, 10, 1),
    None,
    "",
]
FORMATS = ["d/m/Y", "j F Y", "d/m/Y H:i", "j F Y H:i", "j F Y à H:i", "F Y", "l j F"]


# A date with an hour in its format is an error of Django's filter (and of the page) alike.
@pytest.mark.parametrize(
    ("value", "written"),
    [
        (value, written)
        for value in DATES
        for written in FORMATS
        if isinstance(value, datetime.datetime) or "H" not in written
    ],
)
def test_the_date_formats_written_directly_print_as_django_s_date_filter(value, written):
    django = engines["django"].from_string("{{ value|date:'" + written + "' }}")
    page = engines["jinja2"].from_string("{{ value|date('" + written + "') }}")

    assert page.render({"value": value}) == django.render({"value": value})


class _Choices(forms.Form):
    use_required_attribute = True
    sans_vide = forms.ChoiceField(choices=[("a", "A"), ("b", "B <b>")])
    avec_vide = forms.ChoiceField(choices=[("", "Sélectionner"), ("a", "A")], help_text="Aide")
    facultatif = forms.ChoiceField(choices=[("", "—"), ("1", "Un")], required=False)
    attributs = forms.ChoiceField(
        choices=[("x", "X")],
        widget=forms.Select(attrs={"class": "large", "data-ok": True, "data-no": False}),
    )
    inactif = forms.ChoiceField(choices=[("x", "X")], disabled=True)
    groupes = forms.ChoiceField(choices=[("Groupe", [("g", "G")])])
    offre = ModelChoiceField(queryset=Offre.objects.order_by("ordre"), to_field_name="code")
    texte = forms.CharField(max_length=5, required=False)
    jour = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data", [None, {"sans_vide": "b", "avec_vide": "zz", "offre": "document", "texte": "abcdefgh"}]
)
def test_a_select_or_input_written_out_is_the_widget_s_html(data):
    form = _Choices(data)
    widgets = engines["jinja2"].env.get_template("_widgets.html").module

    for name in ("sans_vide", "avec_vide", "facultatif", "attributs", "inactif", "offre"):
        assert form[name] in (field for field in form if is_plain_select(field))
        assert normalise(widgets.select(form[name])) == normalise(str(form[name])), name
    for name in ("texte", "jour"):
        assert normalise(widgets.input(form[name])) == normalise(str(form[name])), name
    assert not is_plain_select(form["groupes"])


GETTEXT_CASES = [
    '{{ _("Mes demandes") }}',
    '{{ _("Page 100 %%") }}',
    '{{ _("Bonjour %(name)s", name=unsafe) }}',
    '{{ gettext("Les demandes de %(structure)s", structure="<b>") }}',
    "{% trans %}Aucune demande pour l'instant.{% endtrans %}",
    "{% trans name=unsafe %}Bonjour {{ name }}{% endtrans %}",
    "{% trans n=count %}{{ n }} demande{% pluralize n %}{{ n }} demandes{% endtrans %}",
    '{{ ngettext("%(num)d non lu", "%(num)d non lus", 1) }}',
    '{{ ngettext("%(num)d lu par %(name)s", "%(num)d lus par %(name)s", count, name=unsafe) }}',
    '{{ pgettext("mois", "mai") }} {{ pgettext("ctx", "%(context)s %%") }}',
    '{{ npgettext("ctx", "%(num)d %(context)s", "%(num)d %(context)ss", count) }}',
    '{{ _("") }}',
]


@pytest.mark.parametrize("source", GETTEXT_CASES)
def test_the_direct_translation_callables_print_as_jinja2_s_own(source):
    """core.jinja's gettext callables skip Jinja2's two context lookups; the text is the same
    as through Jinja2's newstyle callables (escaping, formatting, "%%", plural, context)."""
    ours = engines["jinja2"].env
    stock = jinja2.Environment(
        autoescape=True, extensions=["jinja2.ext.i18n"], finalize=ours.finalize
    )
    stock.install_gettext_callables(
        gettext=translation.gettext,
        ngettext=translation.ngettext,
        pgettext=translation.pgettext,
        npgettext=translation.npgettext,
        newstyle=True,
    )
    assert stock.globals["_"] is not ours.globals["_"]
    values = {**VALUES, "count": 3}

    assert ours.from_string(source).render(values) == stock.from_string(source).render(values)


def test_a_missing_value_of_a_translation_fails_as_in_jinja2():
    with pytest.raises(KeyError):
        engines["jinja2"].from_string('{{ _("Bonjour %(name)s") }}').render({})
