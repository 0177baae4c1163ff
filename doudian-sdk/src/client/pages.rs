//! The paging driver: every page (or item) of a paginated request, fetched one page at a
//! time through a [`Client`]. It lives beside the client because it owns one; the paging
//! model it drives ([`Paginated`], [`Page`]) is the core's, in [`crate::page`].

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::Stream;

use super::Client;
use crate::error::{Error, Result};
use crate::page::{Page, Paginated};

impl Client {
    /// The first page of a paginated request, as a [`Page`].
    pub async fn page<R>(&self, request: &R) -> Result<Page<R::Item>>
    where
        R: Paginated,
    {
        check_page_size(request)?;
        let page = request.page_number().unwrap_or(R::PAGE_BASE);
        let reply = self.execute(request).await?.into_data();
        let (items, total) = R::into_items(reply);
        Ok(Page::new(items, total, page, R::PAGE_BASE, request.page_size()))
    }

    /// Every page from the request's page on, one request at a time (bounded memory):
    /// [`Pages::next`] in a loop, or [`Pages::try_collect`] for every page.
    pub fn pages<R>(&self, request: R) -> Pages<R>
    where
        R: Paginated + Send + Sync + 'static,
        R::Item: Send,
        R::Response: Send,
    {
        Pages::new(self.clone(), request)
    }

    /// Every item of every page from the request's page on, one page at a time.
    pub fn items<R>(&self, request: R) -> Items<R>
    where
        R: Paginated + Send + Sync + 'static,
        R::Item: Send,
        R::Response: Send,
    {
        self.pages(request).items()
    }
}

fn check_page_size<R: Paginated>(request: &R) -> Result<()> {
    match (request.page_size(), R::MAX_PAGE_SIZE) {
        (Some(size), Some(max)) if size > max => {
            Err(Error::invalid_request(format!("{}: page size {size} is above the method's limit of {max}", R::METHOD)))
        }
        (Some(size), _) if size <= 0 => {
            Err(Error::invalid_request(format!("{}: page size must be positive", R::METHOD)))
        }
        _ => Ok(()),
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
    fn new(client: Client, first: R) -> Self {
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
