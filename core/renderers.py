"""The form renderer: Django's Jinja2 copies of its widget templates, else Django templates.

Django ships every built-in widget and form template twice, for its own engine and for Jinja2,
with the same HTML; Jinja2 renders them several times faster (a select of the 101 départements
costs 20 ms of CPU with the Django engine, docs/performance.md). The admin's widgets and those of
other apps (altcha) exist only as Django templates: they are rendered as before.
"""

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist
from django.utils.functional import cached_property


class FormRenderer(Jinja2):
    @cached_property
    def django_templates(self) -> DjangoTemplates:
        return DjangoTemplates()

    def get_template(self, template_name):
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self.django_templates.get_template(template_name)
