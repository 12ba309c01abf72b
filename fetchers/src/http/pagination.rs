//! Walking a source's pages as `spec.pagination` says: none, a next link or a cursor token from
//! the JSON body, or numbered pages that stop on a short page.

use iocflow_schemas::spec::PaginationSpec;
use url::Url;

use crate::catalog::Integration;
use crate::error::FetchError;

/// Pages per run before the run fails as a runaway (a source that links to itself forever).
pub const MAX_PAGES: u64 = 10_000;

/// The page position of one fetch run.
#[derive(Debug)]
pub struct Pager<'a> {
    integration: &'a Integration,
    page: u64,
    pages: u64,
}

/// Replaces (or adds) query parameter `name`.
pub fn set_query_param(url: &mut Url, name: &str, value: &str) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(name, value);
}

impl<'a> Pager<'a> {
    /// A pager at the first page.
    pub fn new(integration: &'a Integration) -> Pager<'a> {
        let first = match &integration.spec.pagination {
            PaginationSpec::PageNumber { first, .. } => *first,
            _ => 0,
        };
        Pager {
            integration,
            page: first,
            pages: 1,
        }
    }

    fn error(&self, message: String) -> FetchError {
        FetchError::Pagination {
            source_id: self.integration.name().to_string(),
            message,
        }
    }

    /// The first page's URL: the spec URL, its extra query, the cursor, and page parameters.
    ///
    /// # Errors
    /// [`FetchError::Pagination`] when the spec URL does not parse.
    pub fn first_url(&self, cursor: Option<(&str, &str)>) -> Result<Url, FetchError> {
        let spec = &self.integration.spec;
        let mut url = Url::parse(&spec.request.url)
            .map_err(|e| self.error(format!("request.url does not parse: {e}")))?;
        for (k, v) in &spec.request.query {
            set_query_param(&mut url, k, v);
        }
        if let Some((param, value)) = cursor {
            set_query_param(&mut url, param, value);
        }
        if let PaginationSpec::PageNumber {
            param,
            size_param,
            page_size,
            ..
        } = &spec.pagination
        {
            set_query_param(&mut url, param, &self.page.to_string());
            set_query_param(&mut url, size_param, &page_size.to_string());
        }
        Ok(url)
    }

    /// The next page's URL, or `None` when `current` was the last page. `token` is the value
    /// the body held at the pagination pointer, `records` the number of items on the page.
    ///
    /// # Errors
    /// [`FetchError::Pagination`] for a next link that is not a URL, or past [`MAX_PAGES`].
    pub fn next_url(
        &mut self,
        current: &Url,
        token: Option<&str>,
        records: u64,
    ) -> Result<Option<Url>, FetchError> {
        let next = match &self.integration.spec.pagination {
            PaginationSpec::None => None,
            PaginationSpec::NextLink { .. } => match token {
                None => None,
                Some(link) => {
                    let joined = current
                        .join(link)
                        .map_err(|e| self.error(format!("next link is not a URL: {e}")))?;
                    let rewritten = self.integration.rewrite(joined.as_str());
                    let url = Url::parse(&rewritten)
                        .map_err(|e| self.error(format!("next link is not a URL: {e}")))?;
                    // A page linking to itself would loop forever.
                    (url != *current).then_some(url)
                }
            },
            PaginationSpec::Cursor { param, .. } => token.map(|t| {
                let mut url = current.clone();
                set_query_param(&mut url, param, t);
                url
            }),
            PaginationSpec::PageNumber {
                param, page_size, ..
            } => {
                if records < *page_size || records == 0 {
                    None
                } else {
                    self.page += 1;
                    let mut url = current.clone();
                    set_query_param(&mut url, param, &self.page.to_string());
                    Some(url)
                }
            }
        };
        if next.is_some() {
            self.pages += 1;
            if self.pages > MAX_PAGES {
                return Err(self.error(format!("more than {MAX_PAGES} pages in one run")));
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iocflow_schemas::spec::IntegrationSpec;
    use std::path::Path;

    fn integration(pagination: &str, base: Option<&str>) -> Integration {
        let text = format!(
            r##"
name = "p"
title = "p"
[request]
url = "https://api.example.org/v1/items?limit=5"
query = {{ since = "2024" }}
[pagination]
{pagination}
[framing]
kind = "json"
[mapping]
type = "url"
value = "url"
"##
        );
        Integration::new(IntegrationSpec::parse(&text, Path::new("p")).unwrap(), base).unwrap()
    }

    #[test]
    fn next_link_is_resolved_and_rewritten() {
        let i = integration(
            "kind = \"next_link\"\npointer = \"/next\"",
            Some("http://127.0.0.1:9/p"),
        );
        let mut pager = Pager::new(&i);
        let first = pager.first_url(None).unwrap();
        assert_eq!(
            first.as_str(),
            "http://127.0.0.1:9/p/v1/items?limit=5&since=2024"
        );
        let abs = pager
            .next_url(&first, Some("https://api.example.org/v1/items?page=2"), 5)
            .unwrap()
            .unwrap();
        assert_eq!(abs.as_str(), "http://127.0.0.1:9/p/v1/items?page=2");
        let rel = pager
            .next_url(&abs, Some("items?page=3"), 5)
            .unwrap()
            .unwrap();
        assert_eq!(rel.as_str(), "http://127.0.0.1:9/p/v1/items?page=3");
        assert_eq!(pager.next_url(&rel, None, 5).unwrap(), None);
        assert_eq!(pager.next_url(&rel, Some("items?page=3"), 5).unwrap(), None);
    }

    #[test]
    fn cursor_and_page_numbers() {
        let i = integration(
            "kind = \"cursor\"\npointer = \"/c\"\nparam = \"after\"",
            None,
        );
        let mut pager = Pager::new(&i);
        let first = pager.first_url(Some(("since", "2025"))).unwrap();
        assert_eq!(first.query(), Some("limit=5&since=2025"));
        let next = pager.next_url(&first, Some("tok"), 1).unwrap().unwrap();
        assert_eq!(next.query(), Some("limit=5&since=2025&after=tok"));

        let i = integration(
            "kind = \"page_number\"\nparam = \"page\"\nsize_param = \"limit\"\npage_size = 2",
            None,
        );
        let mut pager = Pager::new(&i);
        let first = pager.first_url(None).unwrap();
        assert_eq!(first.query(), Some("since=2024&page=1&limit=2"));
        let second = pager.next_url(&first, None, 2).unwrap().unwrap();
        assert_eq!(second.query(), Some("since=2024&limit=2&page=2"));
        assert_eq!(pager.next_url(&second, None, 1).unwrap(), None);
    }
}
