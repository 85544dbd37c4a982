"""Pagination shared by the portal's lists and histories."""

from django.core.paginator import Paginator
from django.db.models import Count, Window

# Every history (an account's, a structure's) shows this many events a page.
HISTORY_PAGE_SIZE = 20


class KeysFirstPaginator(Paginator):
    """Pages through the primary keys, then reads the page's rows by those keys.

    The count and the OFFSET of a deep page (page 1,000 of a big structure's history) run on the
    history index alone, not on tens of thousands of table rows; then only the page's 20 rows,
    with their offer and author, are read from the table, their keys a subquery
    (`pk IN (SELECT pk … LIMIT 20 OFFSET …)`). Two queries, whatever the page.

    With `one_pass`, for a costly filter (a search by name), the page's keys come with the total
    (`COUNT(*) OVER ()`), so that the filter is evaluated once, not once for the count and again
    for the page; measured slower than a plain count on an index, so not the default.
    """

    def __init__(self, object_list, per_page, one_pass: bool = False):
        self.rows = object_list
        self.one_pass = one_pass
        super().__init__(object_list.values_list("pk", flat=True), per_page)

    def get_page(self, number):
        """As Paginator.get_page: the first page for a wrong number, the last out of range."""
        if not self.one_pass:
            return super().get_page(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            number = 1
        keys_and_total = list(self.keys_with_total(number)) if number >= 1 else []
        if not keys_and_total and number != 1:
            return super().get_page(number)  # out of range: counted, then the last page
        self.count = keys_and_total[0][1] if keys_and_total else 0
        keys = [key for key, _total in keys_and_total]
        by_key = self.rows.order_by().in_bulk(keys)
        return self._get_page([by_key[key] for key in keys], number, self)

    def keys_with_total(self, number: int):
        """(pk, total) of the page's rows: the total repeated on each, none past the end."""
        start = (number - 1) * self.per_page
        return self.rows.annotate(total=Window(Count("pk"))).values_list("pk", "total")[
            start : start + self.per_page
        ]

    def page(self, number):
        page = super().page(number)
        page.object_list = list(self.rows.filter(pk__in=page.object_list))
        return page
