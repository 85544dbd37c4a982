"""The fund's side of the demandes (SPEC §5, §7): agents de caisse read their organisme's
demandes, process them through the services, and read the indicators of a convention.

- changelist.py: DemandeAdmin, its list, filters and scoping, the read-only detail page (with the
  timeline and the attachments), and get_urls, the one list of the admin's own pages;
- processing.py: the processing steps, their forms and views (prendre en charge, demander un
  complément, clôturer, joindre des documents);
- indicators.py: the indicators' period rule and form, their page and the CSV export.
"""

from .changelist import DemandeAdmin

__all__ = ["DemandeAdmin"]
