//! One paging model for every paginated list method.
//!
//! Generated code implements [`Paginated`] for each request the spec marks as paged:
//! how to read and set the page number, the page base, and where the items and the total
//! sit in the response. The client turns that into [`Page`] views and streams.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::Stream;

use crate::error::Result;
use crate::request::Request;
use crate::Client;

/// A request whose method returns one page of a list.
pub trait Paginated: Request + Clone {
    /// One element of the list.
    type Item;
    /// The number of the first page: `0` or `1`, per method.
    const PAGE_BASE: i64;
    /// The largest page size the platform accepts, when the spec knows it.
    const MAX_PAGE_SIZE: Option<i64> = None;
    /// The page number this request asks for (`None` when unset: the base is meant).
    fn page_number(&self) -> Option<i64>;
    /// Asks for another page.
    fn set_page_number(&mut self, page: i64);
    /// The page size this request asks for, when set.
    fn page_size(&self) -> Option<i64>;
    /// Splits a response into its items and the total count (when the platform sends one).
    fn into_items(response: Self::Response) -> (Vec<Self::Item>, Option<i64>);
}

/// Reads and writes a page-number or page-size field whatever its wire type
/// (the platform uses integers in most methods and strings in a few).
pub trait PageNumber {
    /// The value as a number, if set and numeric.
    fn get(&self) -> Option<i64>;
    /// Sets the value.
    fn set(&mut self, value: i64);
}

impl PageNumber for i64 {
    fn get(&self) -> Option<i64> {
        Some(*self)
    }
    fn set(&mut self, value: i64) {
        *self = value;
    }
}

impl PageNumber for i32 {
    fn get(&self) -> Option<i64> {
        Some(i64::from(*self))
    }
    fn set(&mut self, value: i64) {
        *self = i32::try_from(value).unwrap_or(i32::MAX);
    }
}

impl PageNumber for String {
    fn get(&self) -> Option<i64> {
        self.trim().parse().ok()
    }
    fn set(&mut self, value: i64) {
        *self = value.to_string();
    }
}

impl<T: PageNumber + Default> PageNumber for Option<T> {
    fn get(&self) -> Option<i64> {
        self.as_ref().and_then(PageNumber::get)
    }
    fn set(&mut self, value: i64) {
        self.get_or_insert_with(T::default).set(value);
    }
}

/// One page of a list, whatever the method calls its list field.
///
/// ```
/// use doudian_sdk::Page;
///
/// // Page 0 of 20 items out of 45 (a method whose pages start at 0): more follow.
/// let page = Page::new(vec![0u32; 20], Some(45), 0, 0, Some(20));
/// assert!(page.has_more);
/// // Page 2 holds the last 5.
/// assert!(!Page::new(vec![0u32; 5], Some(45), 2, 0, Some(20)).has_more);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The total number of items across all pages, when the platform reports it.
    pub total: Option<i64>,
    /// This page's number, in the method's own numbering (see [`Paginated::PAGE_BASE`]).
    pub page: i64,
    /// The page size that was asked for.
    pub size: Option<i64>,
    /// Whether another page may follow.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page view; `has_more` is derived from the total when known, otherwise
    /// from whether this page came back full.
    pub fn new(items: Vec<T>, total: Option<i64>, page: i64, page_base: i64, size: Option<i64>) -> Self {
        let has_more = match (total, size) {
            _ if items.is_empty() => false,
            (Some(total), Some(size)) if size > 0 => (page - page_base + 1).saturating_mul(size) < total,
            (Some(total), None) => (items.len() as i64) < total && page == page_base,
            (None, Some(size)) => items.len() as i64 >= size,
            _ => false,
        };
        Page { items, total, page, size, has_more }
    }
}

/// What fetching one page gives: the page and the request for the next one, if any.
type Fetched<R> = (Page<<R as Paginated>::Item>, Option<R>);

/// Every page of a paginated request, fetched one at a time (memory stays bounded): from
/// [`Client::pages`]. Call [`next`](Self::next) in a loop, or
/// [`try_collect`](Self::try_collect) every page ([`items`](Self::items) for the items
/// alone); it is also a `futures` `Stream` of pages.
///
/// ```no_run
/// # #[cfg(feature = "order")]
/// # async fn demo(client: doudian_sdk::Client) -> doudian_sdk::Result<()> {
/// use doudian_sdk::api::order::OrderSearchListRequest;
///
/// let mut pages = client.pages(OrderSearchListRequest::first_page(50));
/// while let Some(page) = pages.next().await {
///     let page = page?;
///     println!("page {}: {} orders", page.page, page.items.len());
/// }
/// # Ok(()) }
/// ```
#[must_use = "pages are fetched only when asked for"]
pub struct Pages<R: Paginated> {
    client: Client,
    next: Option<R>,
    in_flight: Option<BoxFuture<'static, Result<Fetched<R>>>>,
}

// The request and the items are never pinned (only the boxed future is polled): moving a
// `Pages` or an `Items` is always fine.
impl<R: Paginated> Unpin for Pages<R> {}
impl<R: Paginated> Unpin for Items<R> {}

impl<R> Pages<R>
where
    R: Paginated + Send + Sync + 'static,
    R::Item: Send,
    R::Response: Send,
{
    pub(crate) fn new(client: Client, first: R) -> Self {
        Pages { client, next: Some(first), in_flight: None }
    }

    /// The next page, or `None` after the last one (or after an error).
    pub async fn next(&mut self) -> Option<Result<Page<R::Item>>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Every remaining page, in order; the first error stops it.
    pub async fn try_collect(mut self) -> Result<Vec<Page<R::Item>>> {
        let mut pages = Vec::new();
        while let Some(page) = self.next().await {
            pages.push(page?);
        }
        Ok(pages)
    }

    /// The items of the pages one by one, instead of page by page.
    pub fn items(self) -> Items<R> {
        Items { pages: self, buffer: VecDeque::new() }
    }
}

impl<R> Stream for Pages<R>
where
    R: Paginated + Send + Sync + 'static,
    R::Item: Send,
    R::Response: Send,
{
    type Item = Result<Page<R::Item>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.in_flight.is_none() {
            let Some(request) = self.next.take() else { return Poll::Ready(None) };
            let client = self.client.clone();
            self.in_flight = Some(Box::pin(async move {
                let page = client.page(&request).await?;
                let following = page.has_more.then(|| {
                    let mut request = request;
                    request.set_page_number(page.page + 1);
                    request
                });
                Ok((page, following))
            }));
        }
        let Some(in_flight) = self.in_flight.as_mut() else { return Poll::Ready(None) };
        match in_flight.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(outcome) => {
                self.in_flight = None;
                Poll::Ready(Some(outcome.map(|(page, following)| {
                    self.next = following;
                    page
                })))
            }
        }
    }
}

/// Every item of a paginated request, across its pages: from [`Client::items`] (or
/// [`Pages::items`]). [`next`](Self::next) in a loop or [`try_collect`](Self::try_collect);
/// also a `futures` `Stream`.
#[must_use = "items are fetched only when asked for"]
pub struct Items<R: Paginated> {
    pages: Pages<R>,
    buffer: VecDeque<R::Item>,
}

impl<R> Items<R>
where
    R: Paginated + Send + Sync + 'static,
    R::Item: Send,
    R::Response: Send,
{
    /// The next item, or `None` after the last one (or after an error).
    pub async fn next(&mut self) -> Option<Result<R::Item>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Every remaining item, in order; the first error stops it.
    pub async fn try_collect(mut self) -> Result<Vec<R::Item>> {
        let mut items: Vec<R::Item> = self.buffer.drain(..).collect();
        while let Some(page) = self.pages.next().await {
            items.extend(page?.items);
        }
        Ok(items)
    }
}

impl<R> Stream for Items<R>
where
    R: Paginated + Send + Sync + 'static,
    R::Item: Send,
    R::Response: Send,
{
    type Item = Result<R::Item>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            match Pin::new(&mut self.pages).poll_next(cx) {
                Poll::Ready(Some(Ok(page))) => self.buffer.extend(page.items),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_more_from_total_and_size() {
        assert!(Page::new(vec![1; 20], Some(45), 0, 0, Some(20)).has_more);
        assert!(Page::new(vec![1; 20], Some(45), 1, 0, Some(20)).has_more);
        assert!(!Page::new(vec![1; 5], Some(45), 2, 0, Some(20)).has_more);
        assert!(!Page::new(vec![1; 20], Some(40), 2, 1, Some(20)).has_more);
        assert!(Page::new(vec![1; 20], None, 1, 1, Some(20)).has_more);
        assert!(!Page::new(vec![1; 19], None, 1, 1, Some(20)).has_more);
        assert!(!Page::<i32>::new(vec![], Some(100), 0, 0, Some(20)).has_more);
    }

    #[test]
    fn page_numbers_of_every_wire_type() {
        let mut s = String::from("3");
        assert_eq!(PageNumber::get(&s), Some(3));
        s.set(4);
        assert_eq!(s, "4");
        let mut o: Option<i64> = None;
        assert_eq!(o.get(), None);
        o.set(2);
        assert_eq!(o, Some(2));
    }
}
