"""Pagination shared by the portal's lists and histories."""

# Every history (an account's, a structure's) shows this many events a page.
HISTORY_PAGE_SIZE = 20
