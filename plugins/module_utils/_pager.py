# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One pager for the two paging styles our providers use; every item comes out exactly once.

- Token paging (Alibaba `NextToken`): fetch_page(token) -> (items, next_token) until the
  token is empty. A token the service already gave is a loop, and an error.
- Page-number paging (OceanBase Cloud `pageNumber`/`pageSize`): fetch_page(number, size) ->
  (items, total or None). A server may return fewer items than asked or clamp the page size
  (OceanBase Cloud silently uses 20 above 100), so the pager never stops on a short page: it
  stops on an empty page, on a page with nothing new, or once `total` distinct items are seen.
  Items are told apart by item_id(item), so an overlap between pages yields nothing twice.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from ._errors import ProviderError

MAX_PAGES = 1000  # a guard against a server that never stops; 1000 pages is far beyond any key list
# The listing's bytes are bounded too, by the transport (_transport.LISTING_MAX_BYTES, 16 MiB in all).


def _too_many_pages(max_pages, provider):
    return ProviderError("the listing is over its budget of %s pages (every page of one call); stopping"
                         % format(max_pages, ","), provider=provider)


def token_pages(fetch_page, provider=None, max_pages=MAX_PAGES):
    seen_tokens = set()
    token = None
    for _page in range(max_pages):
        items, token = fetch_page(token)
        yield from items or ()
        if not token:
            return
        if token in seen_tokens:
            raise ProviderError("the service returned the same page token twice; stopping", provider=provider)
        seen_tokens.add(token)
    raise _too_many_pages(max_pages, provider)


def number_pages(fetch_page, page_size, item_id, provider=None, first_page=1, max_pages=MAX_PAGES):
    seen = set()
    for number in range(first_page, first_page + max_pages):
        items, total = fetch_page(number, page_size)
        new = 0
        for item in items or ():
            ident = item_id(item)
            if ident in seen:
                continue
            seen.add(ident)
            new += 1
            yield item
        if not items or not new or (total is not None and len(seen) >= total):
            return
    raise _too_many_pages(max_pages, provider)
