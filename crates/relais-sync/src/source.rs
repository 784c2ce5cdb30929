//! The source of an integration: a Lucca-compatible base, read through its
//! API with the installation's key — relais's own base or any other.

use crate::error::SyncError;
use crate::http::{self, RetryPolicy};
use crate::lucca::{self, Department, User};
use crate::Side;
use chrono::{DateTime, SecondsFormat, Utc};
use relais_core::fields::Field;
use serde_json::Value;
use std::time::Duration;

/// A base URL and the key that opens it.
#[derive(Clone)]
pub struct LuccaSource {
    base_url: String,
    key: String,
    http: reqwest::Client,
    policy: RetryPolicy,
}

impl std::fmt::Debug for LuccaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret: never printed.
        f.debug_struct("LuccaSource")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl LuccaSource {
    /// A source at `base_url` opened by `key`.
    pub fn new(base_url: &str, key: &str) -> Self {
        Self::with_client(base_url, key, http::client(Duration::from_secs(30)))
    }

    /// A source at `base_url` opened by `key`, read with `http` (its
    /// timeouts and trusted authorities).
    pub fn with_client(base_url: &str, key: &str, http: reqwest::Client) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            http,
            policy: RetryPolicy::default(),
        }
    }

    /// `GET path` (with its query) on the source, as JSON.
    pub async fn get(&self, path_and_query: &str) -> Result<Value, SyncError> {
        self.get_for(path_and_query, None).await
    }

    /// [`LuccaSource::get`] for a reader of `lang` (`en`, `fr`): the base
    /// answers its labels in that language (`Accept-Language`).
    pub async fn get_in(&self, path_and_query: &str, lang: &str) -> Result<Value, SyncError> {
        self.get_for(path_and_query, Some(lang)).await
    }

    async fn get_for(&self, path_and_query: &str, lang: Option<&str>) -> Result<Value, SyncError> {
        let url = format!("{}{path_and_query}", self.base_url);
        let auth = format!("lucca application={}", self.key);
        let (_, body) = http::call(&self.policy, Side::Source, || {
            let request = self.http.get(&url).header("Authorization", &auth);
            match lang {
                Some(lang) => request.header("Accept-Language", lang),
                None => request,
            }
        })
        .await?;
        Ok(body)
    }

    /// `POST path` on the source with a JSON body (an inbound stream's write
    /// into the base, bounded by the key's grants): the status and answer.
    pub async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), SyncError> {
        let url = format!("{}{path}", self.base_url);
        let auth = format!("lucca application={}", self.key);
        http::call(&self.policy, Side::Source, || {
            self.http
                .post(&url)
                .header("Authorization", &auth)
                .json(body)
        })
        .await
    }

    /// Every item of a v3 list, walked page by page.
    pub async fn all(&self, path: &str, query: &str) -> Result<Vec<Value>, SyncError> {
        let mut out = Vec::new();
        self.each_page(path, query, |items| {
            out.extend(items);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Hands each page of a v3 list to `take`, one at a time, so that only
    /// one page of the source's answer is held at once.
    pub async fn each_page<F>(&self, path: &str, query: &str, mut take: F) -> Result<(), SyncError>
    where
        F: FnMut(Vec<Value>) -> Result<(), SyncError>,
    {
        let mut pages = self.pages(path, query);
        while let Some(items) = pages.next().await? {
            take(items)?;
        }
        Ok(())
    }

    /// Every department of the base, with its parent.
    pub async fn departments(&self) -> Result<Vec<Department>, SyncError> {
        let query = format!("fields={}", lucca::DEPARTMENT_FIELDS);
        lucca::typed("department", self.all("/api/v3/departments", &query).await?)
    }

    /// The pages of a v3 list, read one at a time as they are asked for.
    pub fn pages(&self, path: &str, query: &str) -> Pager {
        self.pages_of_each(path, [query.to_owned()])
    }

    /// The pages of several reads of one v3 list, one read after the
    /// other, each page by page.
    pub fn pages_of_each(&self, path: &str, queries: impl IntoIterator<Item = String>) -> Pager {
        Pager {
            source: self.clone(),
            path: path.to_owned(),
            queries: queries.into_iter().collect(),
            offset: 0,
        }
    }

    /// One page of users (ordered by id) with `fields`, modified since `since` when given.
    pub async fn users_page(
        &self,
        fields: &str,
        since: Option<DateTime<Utc>>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Value>, SyncError> {
        let mut url = format!(
            "{}/api/v3/users?fields={fields}&paging={offset},{limit}&orderBy=id,asc",
            self.base_url
        );
        if let Some(t) = since {
            url.push_str(&format!(
                "&modifiedAt=since,{}",
                t.to_rfc3339_opts(SecondsFormat::Micros, true)
            ));
        }
        let body = self.get(&url[self.base_url.len()..]).await?;
        body["data"]["items"]
            .as_array()
            .cloned()
            .ok_or_else(|| SyncError::Malformed {
                what: Side::Source,
                reason: "no data.items in the users answer".into(),
            })
    }
}

/// The pages of users (in identifier order) an outbound stream of
/// employees reads: all of them, or those modified since the stream's
/// checkpoint; each user checked to carry every field asked for.
#[derive(Debug)]
pub struct UserPages {
    source: LuccaSource,
    /// The `fields=` value, from the catalogue's declarations.
    fields: String,
    limit: u32,
    offset: u64,
    done: bool,
}

impl UserPages {
    /// Pages of `limit` users with `fields` from `source`.
    pub fn new(source: LuccaSource, fields: &[Field], limit: u32) -> Self {
        Self {
            source,
            fields: crate::lucca::fields_param(fields),
            limit,
            offset: 0,
            done: false,
        }
    }

    /// The next page (modified since `since`, an RFC 3339 cursor, when
    /// given) and the newest modification in it; `None` after the last.
    pub async fn next(
        &mut self,
        since: Option<&str>,
    ) -> Result<Option<(Vec<User>, Option<String>)>, SyncError> {
        if self.done {
            return Ok(None);
        }
        let since = since
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .map(|t| t.with_timezone(&Utc));
        let users = self
            .source
            .users_page(&self.fields, since, self.offset, self.limit)
            .await?;
        if users.is_empty() {
            self.done = true;
            return Ok(None);
        }
        self.offset += users.len() as u64;
        for u in &users {
            require_fields(u, &self.fields)?;
        }
        let users: Vec<User> = crate::lucca::typed("user", users)?;
        let newest = users
            .iter()
            .filter_map(|u| u.modified_at.as_deref())
            .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .max()
            .map(|t| t.to_rfc3339());
        Ok(Some((users, newest)))
    }
}

/// Checks that an item of the source carries every field asked for: a
/// field the key may not read is left out of the answer, and sending it on
/// as empty would blank the partner's copy.
pub fn require_fields(item: &Value, fields: &str) -> Result<(), SyncError> {
    for name in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        if item.get(name).is_none() {
            return Err(SyncError::SourceRefused {
                status: 403,
                message: format!("the key cannot read the field {name}"),
            });
        }
    }
    Ok(())
}

/// Reads a v3 list page by page (1,000 items each), for each of its
/// queries in turn.
#[derive(Debug)]
pub struct Pager {
    source: LuccaSource,
    path: String,
    /// The query being read first, then those still to read.
    queries: std::collections::VecDeque<String>,
    /// Items of the first query read so far.
    offset: u64,
}

impl Pager {
    /// The next page, or `None` after the last of the last query.
    pub async fn next(&mut self) -> Result<Option<Vec<Value>>, SyncError> {
        while let Some(query) = self.queries.front() {
            let mut body = self
                .source
                .get(&format!(
                    "{}?{query}&paging={},1000",
                    self.path, self.offset
                ))
                .await?;
            let Value::Array(items) = body["data"]["items"].take() else {
                return Err(SyncError::Malformed {
                    what: Side::Source,
                    reason: format!("no data.items in {}", self.path),
                });
            };
            self.offset += items.len() as u64;
            if items.len() < 1000 {
                self.queries.pop_front();
                self.offset = 0;
            }
            if !items.is_empty() {
                return Ok(Some(items));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::LuccaSource;
    use axum::extract::Query;
    use serde_json::{json, Value};
    use std::collections::HashMap;

    /// A v3 list whose query `n=N` holds the items `N * 10_000 + 1 ..=
    /// N * 10_000 + N`, paged by `paging=offset,limit`.
    async fn list(Query(q): Query<HashMap<String, String>>) -> axum::Json<Value> {
        let n: u64 = q["n"].parse().unwrap();
        let (offset, limit) = q["paging"].split_once(',').unwrap();
        let (offset, limit): (u64, u64) = (offset.parse().unwrap(), limit.parse().unwrap());
        let items: Vec<Value> = (offset..n.min(offset + limit))
            .map(|i| json!({ "id": n * 10_000 + i + 1 }))
            .collect();
        axum::Json(json!({ "data": { "items": items } }))
    }

    /// Several reads of one list give every page of each, in turn: a read
    /// of several pages, one of exactly a page (whose next page is empty),
    /// an empty one, and a short one.
    #[tokio::test]
    async fn the_pages_of_each_read_come_one_read_after_the_other() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/api/v3/users", axum::routing::get(list));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let source = LuccaSource::new(&at, "key");
        let counts = [2_500u64, 1_000, 0, 3];
        let mut pager =
            source.pages_of_each("/api/v3/users", counts.iter().map(|n| format!("n={n}")));
        let (mut sizes, mut ids) = (Vec::new(), Vec::new());
        while let Some(items) = pager.next().await.unwrap() {
            sizes.push(items.len());
            ids.extend(items.iter().map(|i| i["id"].as_u64().unwrap()));
        }
        assert_eq!(sizes, [1_000, 1_000, 500, 1_000, 3]);
        let expected: Vec<u64> = counts
            .iter()
            .flat_map(|n| (1..=*n).map(move |i| n * 10_000 + i))
            .collect();
        assert_eq!(ids, expected);
        assert!(pager.next().await.unwrap().is_none(), "done stays done");
    }
}
