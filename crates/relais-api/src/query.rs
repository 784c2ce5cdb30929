//! The query conventions of the API, parsed once for every endpoint.
//!
//! v3 (`/api/v3/...`): `fields` (nested as `a[b,c]` or dotted `a.b`, plus
//! `collection.count`), `paging=offset,limit`, `orderBy=field,asc|desc` and
//! filters `field=<value>` with the operators of [`FilterOp`]. v4
//! (`/organization/...`, `/directory/...`): `page`, `limit`, `fields.root=count`.
//!
//! Filters are first parsed as text, then typed against the fields the
//! endpoint's resource filters on (the catalogue, [`relais_core::fields`])
//! and turned into storage conditions on those fields.

use crate::error::ApiError;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use relais_core::fields::{Field, FieldType, Resource};
use relais_store::{Cond, Condition, Direction, ListQuery, Scope, SqlValue};
use std::collections::BTreeMap;

/// The most records one page may hold.
pub const MAX_LIMIT: u32 = 1000;

/// Bounds on what a request may ask, so that no query string can make relais
/// work without end, exhaust its stack or send the database a query it cannot
/// plan. Each is answered with a 400 that names the parameter and the limit.
pub mod limits {
    /// Characters of the `fields` parameter.
    pub const FIELDS_LENGTH: usize = 4096;
    /// Nesting of `fields`, brackets and dots together (`a.b[c]` is 3 deep).
    pub const FIELDS_DEPTH: usize = 8;
    /// Field names in one `fields` parameter.
    pub const FIELDS_COUNT: usize = 256;
    /// Filter parameters in one request.
    pub const FILTERS: usize = 50;
    /// Sort terms of `orderBy`.
    pub const ORDER_TERMS: usize = 8;
    /// Characters of one filter's value.
    pub const FILTER_VALUE_LENGTH: usize = 4096;
    /// Values of one list filter (`id=1,2,3`).
    pub const FILTER_VALUES: usize = 500;
    /// Characters of a `like` pattern.
    pub const LIKE_LENGTH: usize = 200;
    /// Query parameters in one request.
    pub const PARAMETERS: usize = 100;
}

/// A selection of fields, each possibly with a selection of its own sub-fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldTree(BTreeMap<String, FieldTree>);

impl FieldTree {
    /// Parses `a,b[c,d[e]],f.g`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        if raw.chars().count() > limits::FIELDS_LENGTH {
            return Err(ApiError::bad(
                "fields",
                format!("fields is longer than {} characters", limits::FIELDS_LENGTH),
            ));
        }
        let mut tree = FieldTree::default();
        let chars: Vec<char> = raw.chars().collect();
        let mut pos = 0;
        let mut names = 0;
        parse_list(&chars, &mut pos, &mut tree, 0, &mut names)?;
        if pos != chars.len() {
            return Err(ApiError::bad(
                "fields",
                format!("unexpected '{}' at position {}", chars[pos], pos + 1),
            ));
        }
        Ok(tree)
    }

    /// A tree of plain field names.
    pub fn of(names: &[&str]) -> Self {
        FieldTree(
            names
                .iter()
                .map(|n| ((*n).to_owned(), FieldTree::default()))
                .collect(),
        )
    }

    /// This selection and `name`.
    pub fn with(mut self, name: &str) -> Self {
        self.0.entry(name.to_owned()).or_default();
        self
    }

    /// The sub-selection of `name`, if it is selected: names match whatever
    /// their case (`extendeddata` selects `extendedData`), as on Lucca.
    pub fn get(&self, name: &str) -> Option<&FieldTree> {
        self.0.get(name).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// Whether `name` is selected, whatever its case.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The selected names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    fn insert_path(&mut self, path: &[String]) -> &mut FieldTree {
        let mut node = self;
        for part in path {
            node = node.0.entry(part.clone()).or_default();
        }
        node
    }
}

fn too_deep() -> ApiError {
    ApiError::bad(
        "fields",
        format!(
            "fields are nested more than {} levels deep",
            limits::FIELDS_DEPTH
        ),
    )
}

fn parse_list(
    chars: &[char],
    pos: &mut usize,
    tree: &mut FieldTree,
    depth: usize,
    names: &mut usize,
) -> Result<(), ApiError> {
    if depth >= limits::FIELDS_DEPTH {
        return Err(too_deep());
    }
    loop {
        let start = *pos;
        while *pos < chars.len()
            && (chars[*pos].is_alphanumeric() || matches!(chars[*pos], '_' | '.'))
        {
            *pos += 1;
        }
        let name: String = chars[start..*pos].iter().collect();
        if name.is_empty() || name.starts_with('.') || name.ends_with('.') || name.contains("..") {
            let at = chars
                .get(*pos)
                .map_or("the end".to_owned(), |c| format!("'{c}'"));
            return Err(ApiError::bad(
                "fields",
                format!(
                    "a field name is expected at position {} (found {at})",
                    start + 1
                ),
            ));
        }
        let path: Vec<String> = name.split('.').map(str::to_owned).collect();
        if depth + path.len() > limits::FIELDS_DEPTH {
            return Err(too_deep());
        }
        *names += 1;
        if *names > limits::FIELDS_COUNT {
            return Err(ApiError::bad(
                "fields",
                format!("fields names more than {} fields", limits::FIELDS_COUNT),
            ));
        }
        let node = tree.insert_path(&path);
        if chars.get(*pos) == Some(&'[') {
            *pos += 1;
            parse_list(chars, pos, node, depth + path.len(), names)?;
            if chars.get(*pos) != Some(&']') {
                return Err(ApiError::bad(
                    "fields",
                    format!("']' is missing at position {}", *pos + 1),
                ));
            }
            *pos += 1;
        }
        match chars.get(*pos) {
            Some(',') => *pos += 1,
            _ => return Ok(()),
        }
    }
}

/// A filter operator, with its operands still as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterOp {
    /// `v`
    Eq(String),
    /// `v1,v2,…`
    In(Vec<String>),
    /// `null`
    Null,
    /// `notequal,null`
    NotNull,
    /// `notequal,v`
    NotEqual(String),
    /// `since,v` (inclusive)
    Since(String),
    /// `until,v` (inclusive)
    Until(String),
    /// `between,a,b` (inclusive)
    Between(String, String),
    /// `greaterthan,v`
    GreaterThan(String),
    /// `greaterthanorequal,v`
    GreaterThanOrEqual(String),
    /// `lessthan,v`
    LessThan(String),
    /// `lessthanorequal,v`
    LessThanOrEqual(String),
    /// `like,text` (contains, ignoring case)
    Like(String),
}

const OPERATORS: &[&str] = &[
    "notequal",
    "since",
    "until",
    "between",
    "greaterthan",
    "greaterthanorequal",
    "lessthan",
    "lessthanorequal",
    "like",
];

impl FilterOp {
    /// Parses the value of a filter parameter.
    pub fn parse(parameter: &str, raw: &str) -> Result<Self, ApiError> {
        if raw.chars().count() > limits::FILTER_VALUE_LENGTH {
            return Err(ApiError::bad(
                parameter,
                format!(
                    "the filter's value is longer than {} characters",
                    limits::FILTER_VALUE_LENGTH
                ),
            ));
        }
        if raw == "null" {
            return Ok(FilterOp::Null);
        }
        let parts: Vec<&str> = raw.split(',').collect();
        let one = |name: &str| -> Result<String, ApiError> {
            match parts.as_slice() {
                [_, v] if !v.is_empty() => Ok((*v).to_owned()),
                _ => Err(ApiError::bad(
                    parameter,
                    format!("'{name}' takes one value: {parameter}={name},<value>"),
                )),
            }
        };
        Ok(match parts[0] {
            "notequal" if parts.get(1) == Some(&"null") && parts.len() == 2 => FilterOp::NotNull,
            "notequal" => FilterOp::NotEqual(one("notequal")?),
            "since" => FilterOp::Since(one("since")?),
            "until" => FilterOp::Until(one("until")?),
            "greaterthan" => FilterOp::GreaterThan(one("greaterthan")?),
            "greaterthanorequal" => FilterOp::GreaterThanOrEqual(one("greaterthanorequal")?),
            "lessthan" => FilterOp::LessThan(one("lessthan")?),
            "lessthanorequal" => FilterOp::LessThanOrEqual(one("lessthanorequal")?),
            "like" => {
                let pattern = parts[1..].join(",");
                if pattern.chars().count() > limits::LIKE_LENGTH {
                    return Err(ApiError::bad(
                        parameter,
                        format!(
                            "a 'like' pattern may hold at most {} characters",
                            limits::LIKE_LENGTH
                        ),
                    ));
                }
                FilterOp::Like(pattern)
            }
            "between" => match parts.as_slice() {
                [_, a, b] if !a.is_empty() && !b.is_empty() => {
                    FilterOp::Between((*a).to_owned(), (*b).to_owned())
                }
                _ => {
                    return Err(ApiError::bad(
                        parameter,
                        format!("'between' takes two values: {parameter}=between,<from>,<to>"),
                    ))
                }
            },
            _ if parts.len() > 1 => {
                if parts.len() > limits::FILTER_VALUES {
                    return Err(ApiError::bad(
                        parameter,
                        format!(
                            "a list filter may hold at most {} values",
                            limits::FILTER_VALUES
                        ),
                    ));
                }
                if parts.iter().any(|p| p.is_empty()) {
                    return Err(ApiError::bad(
                        parameter,
                        format!("'{raw}' has an empty value in its list"),
                    ));
                }
                FilterOp::In(parts.iter().map(|p| (*p).to_owned()).collect())
            }
            _ if raw.is_empty() => return Err(ApiError::bad(parameter, "the filter has no value")),
            _ => FilterOp::Eq(raw.to_owned()),
        })
    }
}

/// Reads a filter's value as the field's type. `in_operator_place`: the
/// value stands where an operator could (`id=greater,5`, `id=abc`), so a
/// word that is not of the type is said to be neither; a value after an
/// operator (`modifiedAt=since,garbage`) is only said not to be of the type.
fn typed(
    parameter: &str,
    ty: FieldType,
    raw: &str,
    in_operator_place: bool,
) -> Result<SqlValue, ApiError> {
    let unknown_op = || {
        let what = match ty {
            FieldType::Int => "a whole number",
            FieldType::Date => "a date YYYY-MM-DD",
            FieldType::DateTime => "a date-time such as 2026-03-01T08:00:00",
            FieldType::Bool => "true or false",
            _ => "a text",
        };
        let looks_like_operator = in_operator_place
            && raw.chars().all(|c| c.is_ascii_alphabetic())
            && ty != FieldType::Text
            && ty != FieldType::Bool;
        if looks_like_operator {
            ApiError::bad(
                parameter,
                format!(
                    "'{raw}' is neither {what} nor an operator: use null or one of {}",
                    OPERATORS.join(", ")
                ),
            )
        } else {
            ApiError::bad(parameter, format!("'{raw}' is not {what}"))
        }
    };
    Ok(match ty {
        FieldType::Int => SqlValue::Int(raw.parse().map_err(|_| unknown_op())?),
        FieldType::Date => SqlValue::Date(parse_date(raw).ok_or_else(unknown_op)?),
        FieldType::DateTime => SqlValue::Time(parse_datetime(raw).ok_or_else(unknown_op)?),
        FieldType::Bool => SqlValue::Bool(match raw {
            "true" => true,
            "false" => false,
            _ => return Err(unknown_op()),
        }),
        // The catalogue lets only comparable fields filter (its tests).
        FieldType::Text | FieldType::Link | FieldType::Object | FieldType::List => {
            SqlValue::Text(raw.to_owned())
        }
    })
}

/// Parses `YYYY-MM-DD` (a date-time's date part is accepted too).
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().or_else(|| {
        raw.get(..10)
            .filter(|_| raw.len() > 10 && raw.as_bytes()[10] == b'T')
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    })
}

/// Parses an ISO 8601 date-time; without an offset it is Paris time. A bare
/// date means its midnight.
pub fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    chrono_tz::Europe::Paris
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Turns one filter into storage conditions.
pub fn condition(
    field: &'static Field,
    parameter: &str,
    op: &FilterOp,
) -> Result<Vec<Condition>, ApiError> {
    let v = |raw: &str| typed(parameter, field.ty, raw, false);
    let c = |cond| Condition::new(field, cond);
    let conds = match op {
        FilterOp::Eq(x) => vec![c(Cond::Eq(typed(parameter, field.ty, x, true)?))],
        FilterOp::In(xs) => vec![c(Cond::In(
            xs.iter()
                .enumerate()
                .map(|(i, x)| typed(parameter, field.ty, x, i == 0))
                .collect::<Result<_, _>>()?,
        ))],
        FilterOp::Null => vec![c(Cond::IsNull)],
        FilterOp::NotNull => vec![c(Cond::IsNotNull)],
        FilterOp::NotEqual(x) => vec![c(Cond::NotEq(v(x)?))],
        FilterOp::Since(x) | FilterOp::GreaterThanOrEqual(x) => vec![c(Cond::Gte(v(x)?))],
        FilterOp::Until(x) | FilterOp::LessThanOrEqual(x) => vec![c(Cond::Lte(v(x)?))],
        FilterOp::GreaterThan(x) => vec![c(Cond::Gt(v(x)?))],
        FilterOp::LessThan(x) => vec![c(Cond::Lt(v(x)?))],
        FilterOp::Between(a, b) => vec![c(Cond::Gte(v(a)?)), c(Cond::Lte(v(b)?))],
        FilterOp::Like(text) => {
            if field.ty != FieldType::Text {
                return Err(ApiError::bad(
                    parameter,
                    "'like' applies to text fields only",
                ));
            }
            vec![c(Cond::Like(text.clone()))]
        }
    };
    Ok(conds)
}

/// A parsed v3 query string.
#[derive(Debug, Clone, PartialEq)]
pub struct V3Query {
    /// `fields`, without `collection.count`; `None` when absent.
    pub fields: Option<FieldTree>,
    /// Whether `collection.count` was asked.
    pub count: bool,
    /// `paging` offset.
    pub offset: u64,
    /// `paging` limit.
    pub limit: u32,
    /// `orderBy` keys.
    pub order: Vec<(String, Direction)>,
    /// Filters, in the order given.
    pub filters: Vec<(String, FilterOp)>,
    /// Endpoint-specific parameters (e.g. `formerEmployees`), by name.
    pub options: BTreeMap<String, String>,
}

impl V3Query {
    /// The fields asked (`fields=…`), or `default` when none were.
    pub fn fields_or(&self, default: &[&str]) -> FieldTree {
        self.fields
            .clone()
            .unwrap_or_else(|| FieldTree::of(default))
    }

    /// Parses query pairs; `options` names the endpoint's own parameters, which
    /// are kept aside instead of being read as filters.
    pub fn parse(pairs: &[(String, String)], options: &[&str]) -> Result<Self, ApiError> {
        let mut q = V3Query {
            fields: None,
            count: false,
            offset: 0,
            limit: MAX_LIMIT,
            order: Vec::new(),
            filters: Vec::new(),
            options: BTreeMap::new(),
        };
        check_parameter_count(pairs)?;
        let mut once = Once::default();
        for (key, value) in pairs {
            // Parameter names match whatever their case, as on Lucca.
            let known = ["fields", "paging", "orderBy"]
                .into_iter()
                .chain(options.iter().copied())
                .find(|k| k.eq_ignore_ascii_case(key));
            if let Some(name) = known.filter(|k| *k != "orderBy") {
                once.note(name)?;
            }
            match known.unwrap_or(key.as_str()) {
                "fields" => {
                    let mut tree = FieldTree::parse(value)?;
                    let collection = tree
                        .0
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case("collection"))
                        .cloned();
                    if let Some(collection) = collection.and_then(|k| tree.0.remove(&k)) {
                        if !collection.has("count") || collection.0.len() > 1 {
                            return Err(ApiError::bad(
                                "fields",
                                "only collection.count can be asked of the collection",
                            ));
                        }
                        q.count = true;
                    }
                    q.fields = Some(tree);
                }
                "paging" => {
                    let (offset, limit) = value
                        .split_once(',')
                        .and_then(|(o, l)| {
                            Some((o.trim().parse::<u64>().ok()?, l.trim().parse::<u32>().ok()?))
                        })
                        .ok_or_else(|| {
                            ApiError::bad(
                                "paging",
                                format!("'{value}' is not offset,limit (e.g. paging=0,100)"),
                            )
                        })?;
                    if limit == 0 || limit > MAX_LIMIT {
                        return Err(ApiError::bad(
                            "paging",
                            format!("the limit must be between 1 and {MAX_LIMIT}, got {limit}"),
                        ));
                    }
                    q.offset = offset;
                    q.limit = limit;
                }
                "orderBy" => {
                    let parts: Vec<&str> = value.split(',').collect();
                    if !parts.len().is_multiple_of(2) {
                        return Err(ApiError::bad(
                            "orderBy",
                            format!("'{value}' is not field,asc|desc"),
                        ));
                    }
                    if q.order.len() + parts.len() / 2 > limits::ORDER_TERMS {
                        return Err(ApiError::bad(
                            "orderBy",
                            format!("orderBy may hold at most {} terms", limits::ORDER_TERMS),
                        ));
                    }
                    for pair in parts.chunks(2) {
                        let dir = match pair[1].to_ascii_lowercase().as_str() {
                            "asc" => Direction::Asc,
                            "desc" => Direction::Desc,
                            other => {
                                return Err(ApiError::bad(
                                    "orderBy",
                                    format!("'{other}' is not a direction: use asc or desc"),
                                ))
                            }
                        };
                        q.order.push((pair[0].to_owned(), dir));
                    }
                }
                k if options.contains(&k) => {
                    q.options.insert(k.to_owned(), value.clone());
                }
                k => push_filter(&mut q.filters, k, value)?,
            }
        }
        Ok(q)
    }

    /// The filters as storage conditions, checked against the fields
    /// `resource` filters on.
    pub fn conditions(&self, resource: Resource) -> Result<Vec<Condition>, ApiError> {
        let mut out = Vec::new();
        for (name, op) in &self.filters {
            out.extend(condition(filter_field(resource, name)?, name, op)?);
        }
        Ok(out)
    }

    /// The storage query: within `scope` (what the key may see, which the
    /// store applies), the filters, order, page and count asked, checked
    /// against the fields of `resource`.
    pub fn list_query(&self, scope: &Scope, resource: Resource) -> Result<ListQuery, ApiError> {
        Ok(ListQuery {
            scope: scope.clone(),
            conditions: self.conditions(resource)?,
            order: self.order(resource)?,
            offset: self.offset,
            limit: self.limit,
            count: self.count,
            without: Vec::new(),
        })
    }

    /// The sort keys, checked against the fields `resource` sorts on.
    pub fn order(&self, resource: Resource) -> Result<Vec<(&'static Field, Direction)>, ApiError> {
        self.order
            .iter()
            .map(|(name, dir)| {
                let field = resource
                    .sort_keys()
                    .find(|f| f.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        ApiError::bad(
                            "orderBy",
                            format!(
                                "cannot sort on '{name}': use one of {}",
                                names(resource.sort_keys())
                            ),
                        )
                    })?;
                Ok((field, *dir))
            })
            .collect()
    }
}

pub use relais_core::integration::percent_encode;

/// Percent-encodes a query-string component (lists keep their commas).
fn encode(raw: &str) -> String {
    percent_encode(raw, b",")
}

/// A `limit` parameter: records per page, from 1 to [`MAX_LIMIT`].
pub fn parse_limit(raw: &str) -> Result<u32, ApiError> {
    number_in("limit", raw, 1..=MAX_LIMIT)
}

/// A whole-number parameter `name` within `range`, or an error that names it
/// and quotes what was sent.
pub fn number_in<T>(
    name: &str,
    raw: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ApiError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    raw.parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            ApiError::bad(
                name,
                format!(
                    "{name} must be a whole number from {} to {}, not '{raw}'",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// The parameters of a request that take one value, as it gives them: a
/// second one is refused rather than one of the two being picked, since
/// which was meant is anyone's guess. Filters, which may repeat (a range is
/// `since` and `until` of one field), are not noted.
#[derive(Debug, Default)]
pub struct Once(Vec<String>);

impl Once {
    /// Notes `name` (whatever its case), or refuses it when it was given
    /// already.
    pub fn note(&mut self, name: &str) -> Result<(), ApiError> {
        let folded = name.to_ascii_lowercase();
        if self.0.contains(&folded) {
            return Err(Self::twice(name));
        }
        self.0.push(folded);
        Ok(())
    }

    /// The refusal of `name` given twice.
    pub fn twice(name: &str) -> ApiError {
        ApiError::bad(name, format!("'{name}' is given twice: it takes one value"))
    }
}

/// Refuses a query string with more parameters than [`limits::PARAMETERS`].
pub fn check_parameter_count(pairs: &[(String, String)]) -> Result<(), ApiError> {
    if pairs.len() > limits::PARAMETERS {
        return Err(ApiError::bad(
            "query",
            format!(
                "the query string holds {} parameters; at most {} are accepted",
                pairs.len(),
                limits::PARAMETERS
            ),
        ));
    }
    Ok(())
}

fn push_filter(
    filters: &mut Vec<(String, FilterOp)>,
    name: &str,
    value: &str,
) -> Result<(), ApiError> {
    if filters.len() >= limits::FILTERS {
        return Err(ApiError::bad(
            name,
            format!("a request may hold at most {} filters", limits::FILTERS),
        ));
    }
    filters.push((name.to_owned(), FilterOp::parse(name, value)?));
    Ok(())
}

fn names(fields: impl Iterator<Item = &'static Field>) -> String {
    fields.map(|f| f.name).collect::<Vec<_>>().join(", ")
}

/// The field a filter parameter names among those `resource` filters on,
/// or a 400 naming them.
pub fn filter_field(resource: Resource, name: &str) -> Result<&'static Field, ApiError> {
    resource
        .filters()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            ApiError::bad(
                name,
                format!(
                    "'{name}' is not a parameter of this endpoint; filters: {}",
                    names(resource.filters())
                ),
            )
        })
}

/// A parsed v4 query string.
#[derive(Debug, Clone, PartialEq)]
pub struct V4Query {
    /// Page number, from 1.
    pub page: u64,
    /// Records per page.
    pub limit: u32,
    /// Whether `fields.root` asked for `count`.
    pub count: bool,
    /// Whether `fields.root` asked for `prev` (the previous page's link).
    pub prev: bool,
    /// Whether `fields.root` asked for `next` (the next page's link).
    pub next: bool,
    /// Filters.
    pub filters: Vec<(String, FilterOp)>,
}

impl V4Query {
    /// Parses query pairs.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut q = V4Query {
            page: 1,
            limit: 100,
            count: false,
            prev: false,
            next: false,
            filters: Vec::new(),
        };
        check_parameter_count(pairs)?;
        let mut once = Once::default();
        for (key, value) in pairs {
            let known = ["page", "limit", "fields.root"]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(key));
            if let Some(name) = known {
                once.note(name)?;
            }
            match known.unwrap_or(key.as_str()) {
                "page" => {
                    q.page = value.parse().ok().filter(|p| *p >= 1).ok_or_else(|| {
                        ApiError::bad("page", format!("'{value}' is not a page number (from 1)"))
                    })?
                }
                "limit" => q.limit = parse_limit(value)?,
                "fields.root" => {
                    for part in value.split(',').map(str::trim) {
                        match part.to_ascii_lowercase().as_str() {
                            "count" => q.count = true,
                            "prev" => q.prev = true,
                            "next" => q.next = true,
                            _ => {
                                return Err(ApiError::bad(
                                    "fields.root",
                                    format!("'{part}' is not count, prev or next"),
                                ))
                            }
                        }
                    }
                }
                k => push_filter(&mut q.filters, k, value)?,
            }
        }
        Ok(q)
    }

    /// The links to the pages before and after this one, when asked for
    /// (`fields.root=prev,next`): `path_and_query` with its `page` changed,
    /// or `None` on the first page and after the last one. `returned` is the
    /// number of records of this page and `count` the total, when known.
    pub fn links(
        &self,
        base_url: &str,
        path: &str,
        pairs: &[(String, String)],
        returned: usize,
        count: Option<i64>,
    ) -> (Option<String>, Option<String>) {
        let link = |page: u64| {
            let mut query: Vec<String> = pairs
                .iter()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            query.push(format!("page={page}"));
            format!("{base_url}{path}?{}", query.join("&"))
        };
        let prev = (self.prev && self.page > 1).then(|| link(self.page - 1));
        let seen = self.offset().saturating_add(returned as u64);
        let more = returned == self.limit as usize
            && count.is_none_or(|c| seen < u64::try_from(c).unwrap_or(0));
        let next = (self.next && more).then(|| link(self.page + 1));
        (prev, next)
    }

    /// Records skipped before the page.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(u64::from(self.limit))
    }

    /// The storage query: within `scope` (applied by the store), the
    /// filters, page and count asked, checked against the fields of `resource`.
    pub fn list_query(&self, scope: &Scope, resource: Resource) -> Result<ListQuery, ApiError> {
        let mut conditions = Vec::new();
        for (name, op) in &self.filters {
            conditions.extend(condition(filter_field(resource, name)?, name, op)?);
        }
        Ok(ListQuery {
            scope: scope.clone(),
            conditions,
            order: Vec::new(),
            offset: self.offset(),
            limit: self.limit,
            count: self.count,
            without: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn a_parameter_of_one_value_given_twice_is_refused() {
        let refused = |e: ApiError, name: &str| {
            let text = e.to_string();
            assert!(text.contains(&format!("'{name}' is given twice")), "{text}");
        };
        refused(
            V3Query::parse(&pairs("fields=id&fields=name"), &[]).unwrap_err(),
            "fields",
        );
        refused(
            V3Query::parse(&pairs("paging=0,1&Paging=0,2"), &[]).unwrap_err(),
            "paging",
        );
        refused(
            V3Query::parse(&pairs("ownerId=1&ownerId=2"), &["ownerId"]).unwrap_err(),
            "ownerId",
        );
        refused(V4Query::parse(&pairs("page=1&page=2")).unwrap_err(), "page");
        refused(
            V4Query::parse(&pairs("limit=1&LIMIT=2")).unwrap_err(),
            "limit",
        );
        // Sort terms add up, and a filter may be given twice: a range.
        let q = V3Query::parse(&pairs("orderBy=id,asc&orderBy=name,desc"), &[]).unwrap();
        assert_eq!(q.order.len(), 2);
        let q = V3Query::parse(
            &pairs("dtContractStart=since,2020-01-01&dtContractStart=until,2021-01-01"),
            &[],
        )
        .unwrap();
        assert_eq!(q.filters.len(), 2);
    }

    fn message(e: ApiError) -> String {
        match e {
            ApiError::BadRequest { parameter, message } => format!("{parameter}: {message}"),
            other => panic!("not a 400: {other:?}"),
        }
    }

    #[test]
    fn fields_in_both_nested_forms() {
        let bracket = FieldTree::parse("id,department[id,name],leavePeriod[ownerId]").unwrap();
        let dotted =
            FieldTree::parse("id,department.id,department.name,leavePeriod.ownerId").unwrap();
        assert_eq!(bracket, dotted);
        assert!(bracket.get("department").unwrap().has("name"));
        let deep = FieldTree::parse("a[b[c,d],e]").unwrap();
        assert!(deep.get("a").unwrap().get("b").unwrap().has("d"));
        for bad_fields in ["", "a,,b", "a[b", "a]", "a.", ".a", "a[b]]", "a b"] {
            assert!(FieldTree::parse(bad_fields).is_err(), "{bad_fields}");
        }
    }

    #[test]
    fn collection_count_paging_and_order() {
        let q = V3Query::parse(
            &pairs("fields=id,name,collection.count&paging=200,50&orderBy=lastName,desc"),
            &[],
        )
        .unwrap();
        assert!(q.count);
        assert!(!q.fields.as_ref().unwrap().has("collection"));
        assert_eq!((q.offset, q.limit), (200, 50));
        assert_eq!(q.order, vec![("lastName".to_owned(), Direction::Desc)]);
        assert!(
            message(V3Query::parse(&pairs("paging=0,1001"), &[]).unwrap_err())
                .contains("between 1 and 1000")
        );
        assert!(
            message(V3Query::parse(&pairs("paging=ten"), &[]).unwrap_err()).starts_with("paging")
        );
        assert!(
            message(V3Query::parse(&pairs("orderBy=name,up"), &[]).unwrap_err()).contains("'up'")
        );
        assert!(V3Query::parse(&pairs("fields=collection.total"), &[]).is_err());
    }

    #[test]
    fn every_operator() {
        let cases = [
            ("5", FilterOp::Eq("5".into())),
            (
                "1,2,3",
                FilterOp::In(vec!["1".into(), "2".into(), "3".into()]),
            ),
            ("null", FilterOp::Null),
            ("notequal,null", FilterOp::NotNull),
            ("notequal,4", FilterOp::NotEqual("4".into())),
            ("since,2026-01-01", FilterOp::Since("2026-01-01".into())),
            ("until,2026-01-01", FilterOp::Until("2026-01-01".into())),
            (
                "between,2026-01-01,2026-01-31",
                FilterOp::Between("2026-01-01".into(), "2026-01-31".into()),
            ),
            ("greaterthan,3", FilterOp::GreaterThan("3".into())),
            (
                "greaterthanorequal,3",
                FilterOp::GreaterThanOrEqual("3".into()),
            ),
            ("lessthan,3", FilterOp::LessThan("3".into())),
            ("lessthanorequal,3", FilterOp::LessThanOrEqual("3".into())),
            ("like,mar", FilterOp::Like("mar".into())),
        ];
        for (raw, op) in cases {
            assert_eq!(FilterOp::parse("x", raw).unwrap(), op, "{raw}");
        }
        assert!(FilterOp::parse("x", "between,2026-01-01").is_err());
        assert!(FilterOp::parse("x", "since").is_err());
        assert!(FilterOp::parse("x", "1,,2").is_err());
    }

    #[test]
    fn filters_are_typed_against_the_endpoint() {
        let specs = Resource::Users;
        let q = V3Query::parse(&pairs("id=greater,5"), &[]).unwrap();
        assert!(message(q.conditions(specs).unwrap_err())
            .contains("'greater' is neither a whole number nor an operator: use null"));
        let q = V3Query::parse(&pairs("id=abc"), &[]).unwrap();
        assert!(message(q.conditions(specs).unwrap_err())
            .contains("'abc' is neither a whole number nor an operator"));
        // A value after an operator is only a value: it is not of the type.
        let q = V3Query::parse(&pairs("modifiedAt=since,garbage"), &[]).unwrap();
        assert_eq!(
            message(q.conditions(specs).unwrap_err()),
            "modifiedAt: 'garbage' is not a date-time such as 2026-03-01T08:00:00"
        );
        let q = V3Query::parse(&pairs("id=1,two"), &[]).unwrap();
        assert_eq!(
            message(q.conditions(specs).unwrap_err()),
            "id: 'two' is not a whole number"
        );
        let q = V3Query::parse(&pairs("dtContractEnd=since,2026-13-01"), &[]).unwrap();
        assert!(message(q.conditions(specs).unwrap_err()).contains("not a date"));
        let q = V3Query::parse(&pairs("shoeSize=42"), &[]).unwrap();
        assert!(message(q.conditions(specs).unwrap_err()).contains("'shoeSize' is not a parameter"));
        let q = V3Query::parse(&pairs("id=like,3"), &[]).unwrap();
        assert!(q.conditions(specs).is_err());
        let q = V3Query::parse(
            &pairs("dtContractEnd=between,2026-01-01,2026-12-31&mail=like,martin&id=1,2"),
            &[],
        )
        .unwrap();
        let conds = q.conditions(specs).unwrap();
        assert_eq!(conds.len(), 4);
        assert_eq!(
            conds[3].cond,
            Cond::In(vec![SqlValue::Int(1), SqlValue::Int(2)])
        );
        let q = V3Query::parse(&pairs("modifiedAt=since,2026-03-01T10:00:00"), &[]).unwrap();
        // Paris is UTC+1 in March.
        let expected = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        assert_eq!(
            q.conditions(specs).unwrap()[0].cond,
            Cond::Gte(SqlValue::Time(expected))
        );
    }

    #[test]
    fn options_are_kept_aside() {
        let q = V3Query::parse(&pairs("formerEmployees=true&id=3"), &["formerEmployees"]).unwrap();
        assert_eq!(q.options["formerEmployees"], "true");
        assert_eq!(q.filters.len(), 1);
    }

    #[test]
    fn v4_root_fields_and_links() {
        let asked = pairs("page=2&limit=10&fields.root=count,prev,next&name=a b");
        let q = V4Query::parse(&asked).unwrap();
        assert!(q.count && q.prev && q.next);
        let (prev, next) = q.links("http://h", "/x", &asked, 10, Some(35));
        assert_eq!(
            prev.as_deref(),
            Some("http://h/x?limit=10&fields.root=count,prev,next&name=a%20b&page=1")
        );
        assert!(next.unwrap().ends_with("&page=3"));
        // The last page has no next; the first none before it.
        let last = V4Query::parse(&pairs("page=4&limit=10&fields.root=next")).unwrap();
        assert_eq!(last.links("", "/x", &[], 5, Some(35)), (None, None));
        let full_last = V4Query::parse(&pairs("page=2&limit=10&fields.root=next,prev")).unwrap();
        assert_eq!(full_last.links("", "/x", &[], 10, Some(20)).1, None);
        let first = V4Query::parse(&pairs("fields.root=prev")).unwrap();
        assert_eq!(first.links("", "/x", &[], 100, None).0, None);
        assert!(V4Query::parse(&pairs("fields.root=total")).is_err());
        assert!(
            V4Query::parse(&pairs("fields.root=Count,NEXT"))
                .unwrap()
                .next
        );
    }

    #[test]
    fn v4_paging() {
        let q = V4Query::parse(&pairs("page=3&limit=20&fields.root=count")).unwrap();
        assert_eq!((q.offset(), q.limit, q.count), (40, 20, true));
        assert!(V4Query::parse(&pairs("page=0")).is_err());
        assert!(V4Query::parse(&pairs("limit=5000")).is_err());
    }

    /// Fuzzing with a fixed budget: whatever a query string holds, parsing
    /// answers (a query or a 400) without panicking, and anything accepted
    /// stays within the documented limits.
    #[test]
    fn random_query_strings_never_panic_and_stay_bounded() {
        const ALPHABET: &[&str] = &[
            "a",
            "id",
            "manager",
            ".",
            ",",
            "[",
            "]",
            "=",
            "like",
            "between",
            "null",
            "notequal",
            "since",
            "collection.count",
            "asc",
            "desc",
            "é",
            "%",
            " ",
            "0",
            "2026-01-01",
            "-1",
            "99999999999999999999",
        ];
        const KEYS: &[&str] = &[
            "fields",
            "orderBy",
            "paging",
            "id",
            "lastName",
            "fields.root",
            "page",
            "limit",
        ];
        let mut rng = fastrand::Rng::with_seed(18);
        let specs = Resource::Users;
        fn depth(t: &FieldTree) -> usize {
            t.0.values().map(|c| 1 + depth(c)).max().unwrap_or(0)
        }
        for _ in 0..20_000 {
            let pairs: Vec<(String, String)> = (0..rng.usize(0..6))
                .map(|_| {
                    let key = KEYS[rng.usize(..KEYS.len())].to_owned();
                    let value: String = (0..rng.usize(0..40))
                        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())])
                        .collect();
                    (key, value)
                })
                .collect();
            if let Ok(q) = V3Query::parse(&pairs, &[]) {
                if let Some(tree) = &q.fields {
                    assert!(depth(tree) <= limits::FIELDS_DEPTH, "{pairs:?}");
                }
                assert!(q.order.len() <= limits::ORDER_TERMS);
                assert!(q.filters.len() <= limits::FILTERS);
                let _ = q.list_query(&Scope::default(), specs);
            }
            let _ = V4Query::parse(&pairs).map(|q| q.list_query(&Scope::default(), specs));
        }
        // Deep and long inputs, built to the edge of each limit and past it.
        for n in [7, 8, 9, 100, 10_000] {
            let dotted = vec!["m"; n].join(".");
            assert_eq!(
                FieldTree::parse(&dotted).is_ok(),
                n <= limits::FIELDS_DEPTH,
                "{n}"
            );
            let bracketed = format!("{}x{}", "m[".repeat(n), "]".repeat(n));
            assert_eq!(
                FieldTree::parse(&bracketed).is_ok(),
                n < limits::FIELDS_DEPTH,
                "{n}"
            );
        }
    }

    /// Property: any tree printed in either form parses back to itself.
    #[test]
    fn random_field_trees_round_trip() {
        fn random_tree(rng: &mut fastrand::Rng, depth: u32) -> FieldTree {
            let mut t = FieldTree::default();
            for _ in 0..rng.usize(1..4) {
                let name: String = (0..rng.usize(1..6)).map(|_| rng.lowercase()).collect();
                let child = if depth < 3 && rng.bool() {
                    random_tree(rng, depth + 1)
                } else {
                    FieldTree::default()
                };
                t.0.insert(name, child);
            }
            t
        }
        fn bracket(t: &FieldTree) -> String {
            t.0.iter()
                .map(|(k, c)| {
                    if c.is_empty() {
                        k.clone()
                    } else {
                        format!("{k}[{}]", bracket(c))
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        }
        fn dotted(t: &FieldTree, prefix: &str, out: &mut Vec<String>) {
            for (k, c) in &t.0 {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if c.is_empty() {
                    out.push(name)
                } else {
                    dotted(c, &name, out)
                }
            }
        }
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..500 {
            let tree = random_tree(&mut rng, 0);
            assert_eq!(FieldTree::parse(&bracket(&tree)).unwrap(), tree);
            let mut parts = Vec::new();
            dotted(&tree, "", &mut parts);
            assert_eq!(FieldTree::parse(&parts.join(",")).unwrap(), tree);
        }
    }
}
