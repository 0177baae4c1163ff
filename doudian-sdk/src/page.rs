//! One paging model for every paginated list method.
//!
//! Generated code implements [`Paginated`] for each request the spec marks as paged:
//! how to read and set the page number, the page base, and where the items and the total
//! sit in the response. The client turns that into [`Page`] views, and its paging driver
//! ([`Pages`](crate::Pages), [`Items`](crate::Items)) into streams.

use crate::request::Request;

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
