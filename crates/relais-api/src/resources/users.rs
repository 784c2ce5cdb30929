//! `/api/v3/users`: employees, with the personnel-file fields the key may read.

use super::answer::{base_url, v3_item, with_employee_records};
use super::body::{date, id as int, required, text};
use super::extract::{JsonBody, Keyed, Pairs, V3List};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::names::{FieldSections, Named, Names};
use crate::need::{Need, Routes};
use crate::query::{FieldTree, FilterOp, V3Query};
use crate::written;
use crate::AppState;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use relais_core::access::{Permission, Role};
use relais_core::audit::Author;
use relais_core::employee::{
    Contract, Csp, Email, Employee, EmployeeData, EmployeeNumber, PersonalDetails,
};
use relais_core::fields::{self, Resource};
use relais_core::ids::{DepartmentId, EmployeeId, EstablishmentId};
use relais_core::org::{Name, TimeZone};
use relais_core::DomainError;
use relais_store::{Cond, Condition, ListQuery, SharedStore, SqlValue};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/api/v3/users",
            Need::Grant(Permission::PersonnelFile),
            list,
        )
        .post(
            "/api/v3/users",
            Need::Grant(Permission::WriteEmployees),
            create,
        )
        .get(
            "/api/v3/users/{id}",
            Need::Grant(Permission::PersonnelFile),
            one,
        )
        .put(
            "/api/v3/users/{id}",
            Need::Grant(Permission::WriteEmployees),
            update,
        )
}

/// Fields of the standard section of the personnel file, as the API names
/// them (the catalogue, with their types, grants and labels, is
/// [`relais_core::fields::users`]).
pub static STANDARD_FIELDS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(relais_core::fields::standard_names);

/// What serialising employees needs beyond the employees themselves.
pub struct UserContext {
    role: Role,
    base_url: String,
    departments: Names,
    establishments: Names,
    managers: HashMap<EmployeeId, String>,
    /// Every manager is visible (to a key that sees everyone) and no name
    /// is shown: `managers` is not looked up.
    every_manager_visible: bool,
    /// Custom field code → section code.
    field_sections: FieldSections,
}

impl UserContext {
    /// Loads the names the answer may need for these employees.
    pub async fn load(
        state: &AppState,
        caller: &Caller,
        headers: &HeaderMap,
        employees: impl IntoIterator<Item = &Employee>,
        tree: &FieldTree,
    ) -> Result<Self, ApiError> {
        Self::load_knowing(state, caller, headers, employees, tree, None).await
    }

    /// As [`load`](Self::load), the employees' managers that the key may
    /// see given when they are already read (`Some`, exactly those among
    /// the employees' managers that [`visible_among`] would find): they are
    /// not read again.
    async fn load_knowing(
        state: &AppState,
        caller: &Caller,
        headers: &HeaderMap,
        employees: impl IntoIterator<Item = &Employee>,
        tree: &FieldTree,
        known_managers: Option<&[Employee]>,
    ) -> Result<Self, ApiError> {
        let (store, base, role) = (&state.store, caller.base(), caller.role());
        let mut manager_ids: Vec<EmployeeId> = employees
            .into_iter()
            .filter_map(|e| e.data.manager_id)
            .collect();
        let names = |field, what| async move {
            if !tree.has(field) {
                return Ok::<Names, ApiError>(Names::default());
            }
            state
                .names
                .get(store, base, caller.structure_version, what)
                .await
        };
        let departments = names("department", Named::Departments).await?;
        let establishments = names("legalEntity", Named::Establishments).await?;
        // Only whether each manager is visible: to a key that sees
        // everyone, every manager is (a manager is an employee of the base,
        // which the database keeps true), and no name is shown.
        let every_manager_visible = !Self::reads_page(tree, role);
        let managers = if every_manager_visible {
            HashMap::new()
        } else if tree.has("manager") || tree.has("managerId") {
            let named = |seen: &[Employee]| seen.iter().map(|m| (m.id, m.display_name())).collect();
            match known_managers {
                Some(seen) => named(seen),
                None => {
                    manager_ids.sort();
                    manager_ids.dedup();
                    named(&visible_among(store, caller, &manager_ids).await?)
                }
            }
        } else {
            HashMap::new()
        };
        let field_sections = if tree.has("extendedData") {
            state
                .names
                .field_sections(store, base, caller.structure_version)
                .await?
        } else {
            FieldSections::default()
        };
        Ok(Self {
            role: role.clone(),
            base_url: base_url(headers),
            departments,
            establishments,
            managers,
            every_manager_visible,
            field_sections,
        })
    }

    /// Whether the answer needs the page's employees to be known first
    /// (their managers' names or visibility); otherwise each batch of the
    /// page can be written as soon as it is read.
    pub fn reads_page(tree: &FieldTree, role: &Role) -> bool {
        tree.has("manager") || (tree.has("managerId") && !sees_everyone(role))
    }

    /// A batch of employees as the items of a list, comma-separated.
    pub fn encode(&self, employees: &[Employee], tree: &FieldTree) -> Vec<u8> {
        let plan = self.plan(tree);
        // Room for the batch at once (a user with fifteen fields is about
        // 360 bytes), rather than growing and copying it as it is written.
        let mut out = Vec::with_capacity(employees.len() * (64 + 32 * plan.len()));
        for (i, e) in employees.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(
                &mut out,
                &UserView {
                    ctx: self,
                    e,
                    plan: &plan,
                },
            )
            .expect("a user serialises");
        }
        out
    }

    /// The selected fields this role may read, in order, with their
    /// sub-selections: decided once per answer, not per employee.
    pub fn plan<'t>(&self, tree: &'t FieldTree) -> Vec<(&'t str, &'t FieldTree)> {
        let readable_custom = self
            .field_sections
            .iter()
            .any(|(code, section)| self.role.may_read_field(section, code));
        // Names are matched whatever their case; answers keep Lucca's spelling.
        let mut seen = std::collections::HashSet::new();
        tree.names()
            .filter_map(|asked| {
                let (name, readable) = match Resource::Users.field(asked) {
                    Some(field) => (field.name, self.role.may_read(field)),
                    // The object appears only to keys that may read some custom field.
                    None if asked.eq_ignore_ascii_case("extendedData") => {
                        ("extendedData", readable_custom)
                    }
                    None => return None,
                };
                (readable && seen.insert(name)).then(|| (name, tree.get(asked).expect("selected")))
            })
            .collect()
    }

    /// One employee as JSON, with the selected fields the role may read.
    pub fn user(&self, e: &Employee, tree: &FieldTree) -> Value {
        let plan = self.plan(tree);
        serde_json::to_value(UserView {
            ctx: self,
            e,
            plan: &plan,
        })
        .expect("a user serialises")
    }
}

/// One employee as the API shows it, written straight to the serializer.
pub struct UserView<'a> {
    /// Names and lookups.
    pub ctx: &'a UserContext,
    /// The employee.
    pub e: &'a Employee,
    /// From [`UserContext::plan`].
    pub plan: &'a [(&'a str, &'a FieldTree)],
}

/// `{id, name, url}` of a linked record (`{id, name}` of one without an
/// address), limited to a sub-selection.
struct Link<'a> {
    id: i64,
    name: Option<&'a str>,
    url: Option<String>,
    sub: &'a FieldTree,
}

impl Serialize for Link<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let all = self.sub.is_empty();
        if all || self.sub.has("id") {
            m.serialize_entry("id", &self.id)?;
        }
        if all || self.sub.has("name") {
            m.serialize_entry("name", &self.name)?;
        }
        if let Some(url) = self.url.as_ref().filter(|_| all || self.sub.has("url")) {
            m.serialize_entry("url", url)?;
        }
        m.end()
    }
}

/// An employee's custom fields that the key reads, limited to a
/// sub-selection, written as they are kept (in the order of their codes).
struct Extended<'a> {
    ctx: &'a UserContext,
    e: &'a Employee,
    sub: &'a FieldTree,
}

impl Serialize for Extended<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ctx = self.ctx;
        s.collect_map(
            self.e
                .data
                .extended_data
                .iter()
                .filter(|(code, _)| self.sub.is_empty() || self.sub.has(code))
                .filter(|(code, _)| {
                    ctx.role.may_read_field(
                        ctx.field_sections.get(*code).map_or("", String::as_str),
                        code,
                    )
                }),
        )
    }
}

impl UserView<'_> {
    fn link<'b>(
        &'b self,
        kind: &str,
        id: i64,
        name: Option<&'b String>,
        sub: &'b FieldTree,
    ) -> Link<'b> {
        Link {
            id,
            name: name.map(String::as_str),
            url: Some(format!("{}/api/v3/{kind}/{id}", self.ctx.base_url)),
            sub,
        }
    }
}

impl Serialize for UserView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (ctx, e) = (self.ctx, self.e);
        let d = &e.data;
        let mut m = s.serialize_map(Some(self.plan.len()))?;
        for &(name, sub) in self.plan {
            match name {
                "id" => m.serialize_entry(name, &e.id.0)?,
                "name" | "displayName" => m.serialize_entry(
                    name,
                    &written::FullName(d.first_name.as_str(), d.last_name.as_str()),
                )?,
                "url" => {
                    m.serialize_entry(name, &format!("{}/api/v3/users/{}", ctx.base_url, e.id))?
                }
                "modifiedAt" => m.serialize_entry(name, &written::Instant(e.modified_at))?,
                "lastName" => m.serialize_entry(name, d.last_name.as_str())?,
                "firstName" => m.serialize_entry(name, d.first_name.as_str())?,
                "login" => m.serialize_entry(name, &d.login)?,
                "mail" => m.serialize_entry(name, d.mail.as_str())?,
                "dtContractStart" | "seniorityDate" => {
                    m.serialize_entry(name, &written::Date(d.contract.start))?
                }
                "dtContractEnd" => m.serialize_entry(name, &written::date(d.contract.end))?,
                "birthDate" => m.serialize_entry(name, &written::date(d.birth_date))?,
                "employeeNumber" => m.serialize_entry(name, d.employee_number.as_str())?,
                "jobTitle" => m.serialize_entry(name, &d.job_title)?,
                "profession" => m.serialize_entry(name, &d.profession)?,
                "csp" => m.serialize_entry(
                    name,
                    &d.csp.map(|c| Link {
                        id: c.id(),
                        name: Some(c.label()),
                        url: None,
                        sub,
                    }),
                )?,
                "cspId" => m.serialize_entry(name, &d.csp.map(Csp::id))?,
                "culture" => m.serialize_entry(
                    name,
                    &Link {
                        id: 1036,
                        name: Some("fr-FR"),
                        url: Some(format!("{}/api/v3/cultures/1036", ctx.base_url)),
                        sub,
                    },
                )?,
                personal if PersonalDetails::FIELDS.contains(&personal) => {
                    m.serialize_entry(name, &d.personal.field(personal))?
                }
                "legalEntityId" => m.serialize_entry(name, &d.establishment_id.0)?,
                "legalEntity" => m.serialize_entry(
                    name,
                    &self.link(
                        "legalentities",
                        d.establishment_id.0,
                        ctx.establishments.get(&d.establishment_id.0),
                        sub,
                    ),
                )?,
                "departmentId" => m.serialize_entry(name, &d.department_id.map(|x| x.0))?,
                "department" => m.serialize_entry(
                    name,
                    &d.department_id
                        .map(|id| self.link("departments", id.0, ctx.departments.get(&id.0), sub)),
                )?,
                // A manager outside the key's scope reads as no manager at all.
                "managerId" => m.serialize_entry(
                    name,
                    &d.manager_id
                        .filter(|id| ctx.every_manager_visible || ctx.managers.contains_key(id))
                        .map(|x| x.0),
                )?,
                "manager" => m.serialize_entry(
                    name,
                    &d.manager_id.and_then(|id| {
                        ctx.managers
                            .get(&id)
                            .map(|n| self.link("users", id.0, Some(n), sub))
                    }),
                )?,
                "userWorkCycles" | "userAxisValues" => m.serialize_entry(name, &[(); 0])?,
                "applicationData" => m.serialize_entry(name, &Map::new())?,
                "extendedData" => m.serialize_entry(name, &Extended { ctx, e, sub })?,
                // externalId, picture, calendar: not kept by relais.
                _ => m.serialize_entry(name, &())?,
            }
        }
        m.end()
    }
}

/// Whether the key sees every employee of its base, whatever their
/// establishment or contract.
fn sees_everyone(role: &Role) -> bool {
    role.establishments.is_none()
        && role.has(Permission::FutureEmployees)
        && role.has(Permission::FormerEmployees)
}

/// The employees among `ids` that the key may see (former ones too when it
/// may read them): references to anyone else read as references to nobody.
/// What the callers need of them is who they are and their names, so the
/// records are read light: personal details, custom fields, CSP and
/// profession read as empty (see `relais_store::query::LIGHT_COLUMNS`).
pub async fn visible_among(
    store: &SharedStore,
    caller: &Caller,
    ids: &[EmployeeId],
) -> Result<Vec<Employee>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = ListQuery {
        scope: caller.scope_with_former(),
        conditions: vec![Condition::new(
            &fields::users::ID,
            Cond::In(ids.iter().map(|i| SqlValue::Int(i.0)).collect()),
        )],
        limit: u32::try_from(ids.len()).unwrap_or(u32::MAX),
        without: relais_store::fields::unread_employee_columns(|_| false),
        ..ListQuery::default()
    };
    let read = store.query_employees(caller.base(), &query);
    // A handful (a written employee's manager) is read on this thread; a
    // page's managers through the reading connection's own.
    let found = if ids.len() <= FEW_MANAGERS {
        relais_store::read_few(read).await?
    } else {
        read.await?
    };
    Ok(found.items)
}

/// Up to how many employees [`visible_among`] reads on the calling thread
/// (see [`relais_store::read_few`]).
const FEW_MANAGERS: usize = 8;

/// Keeps a key from learning, through `managerId=…`, who reports to someone
/// it cannot see: identifiers of people outside its scope match nobody.
async fn scope_manager_filters(
    store: &SharedStore,
    caller: &Caller,
    q: &mut V3Query,
) -> Result<(), ApiError> {
    if sees_everyone(caller.role()) {
        return Ok(());
    }
    for (name, op) in &mut q.filters {
        if !name.eq_ignore_ascii_case("managerId") {
            continue;
        }
        let values: Vec<&String> = match &*op {
            FilterOp::Eq(v) => vec![v],
            FilterOp::In(vs) => vs.iter().collect(),
            FilterOp::NotEqual(v) => vec![v],
            _ => continue,
        };
        let ids: Vec<EmployeeId> = values
            .iter()
            .filter_map(|v| v.parse().ok().map(EmployeeId))
            .collect();
        let seen: std::collections::HashSet<i64> = visible_among(store, caller, &ids)
            .await?
            .iter()
            .map(|e| e.id.0)
            .collect();
        // `0` is no one's identifier: it stands for an invisible manager.
        let keep = |v: &String| {
            if v.parse().is_ok_and(|id| seen.contains(&id)) {
                v.clone()
            } else if v.parse::<i64>().is_ok() {
                "0".to_owned()
            } else {
                v.clone()
            }
        };
        *op = match &*op {
            FilterOp::Eq(v) => FilterOp::Eq(keep(v)),
            FilterOp::In(vs) => FilterOp::In(vs.iter().map(keep).collect()),
            FilterOp::NotEqual(v) => FilterOp::NotEqual(keep(v)),
            other => other.clone(),
        };
    }
    Ok(())
}

/// Refuses a filter or a sort key on a field the key may not read: the
/// answer would disclose it.
fn check_readable(role: &Role, q: &V3Query) -> Result<(), ApiError> {
    for asked in q
        .filters
        .iter()
        .map(|(n, _)| n)
        .chain(q.order.iter().map(|(n, _)| n))
    {
        // Unknown names are refused with the list of filters afterwards.
        let Some(field) = Resource::Users.field(asked) else {
            continue;
        };
        if !role.may_read(field) {
            return Err(ApiError::ForbiddenBecause(format!(
                "this key may not read the field '{}', so it cannot filter or sort on it",
                field.name
            )));
        }
    }
    Ok(())
}

fn former_option(role: &Role, q: &V3Query) -> Result<bool, ApiError> {
    match q.options.get("formerEmployees").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => {
            role.require(Permission::FormerEmployees)?;
            Ok(true)
        }
        Some(other) => Err(ApiError::BadRequest {
            parameter: "formerEmployees".into(),
            message: format!("'{other}' is not true or false"),
        }),
    }
}

const DEFAULT_FIELDS: &[&str] = &["id", "name", "url"];

async fn list(list: V3List) -> Result<Response, ApiError> {
    let mut q = list.query(&["formerEmployees"])?;
    let (state, caller, headers) = list.into_parts();
    let role = caller.role();
    check_readable(role, &q)?;
    let former = former_option(role, &q)?;
    scope_manager_filters(&state.store, &caller, &mut q).await?;
    let scope = if former {
        caller.scope_with_former()
    } else {
        caller.scope.clone()
    };
    let mut query = q.list_query(&scope, Resource::Users)?;
    let tree = q.fields_or(DEFAULT_FIELDS);
    query.without = relais_store::fields::unread_employee_columns(|name| tree.has(name));
    let (store, base) = (&state.store, caller.base());
    if !UserContext::reads_page(&tree, role) {
        // Each batch of the page is written while the next one is read.
        let ctx =
            std::sync::Arc::new(UserContext::load(&state, &caller, &headers, &[], &tree).await?);
        let tree = std::sync::Arc::new(tree);
        let encode: relais_store::Encoder<Employee> =
            std::sync::Arc::new(move |employees| ctx.encode(employees, &tree));
        let page = state
            .counts
            .page(&caller, "users", query, |query| async move {
                store.encode_employees(base, &query, encode).await
            })
            .await?;
        let records = page.items.iter().map(|b| b.records).sum();
        return Ok(with_employee_records(
            super::answer::v3_list_encoded(&page.items, page.count),
            records,
        ));
    }
    let page = state
        .counts
        .page(&caller, "users", query, |query| async move {
            store.query_employees(base, &query).await
        })
        .await?;
    let ctx = UserContext::load(&state, &caller, &headers, &page.items, &tree).await?;
    let plan = ctx.plan(&tree);
    let views: Vec<UserView> = page
        .items
        .iter()
        .map(|e| UserView {
            ctx: &ctx,
            e,
            plan: &plan,
        })
        .collect();
    Ok(with_employee_records(
        super::answer::v3_list_of(&views, page.count),
        views.len(),
    ))
}

/// Finds an employee the key may see, or 404.
pub async fn visible_employee(
    store: &SharedStore,
    caller: &Caller,
    id: i64,
    include_former: bool,
) -> Result<Employee, ApiError> {
    let query = ListQuery::one(
        if include_former {
            caller.scope_with_former()
        } else {
            caller.scope.clone()
        },
        &fields::users::ID,
        id,
    );
    let page = relais_store::read_few(store.query_employees(caller.base(), &query)).await?;
    page.first()
        .ok_or_else(|| ApiError::NotFound(format!("no user {id} visible to this key")))
}

fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::BadRequest {
        parameter: "id".into(),
        message: format!("'{raw}' is not a user identifier"),
    })
}

async fn one(
    keyed: Keyed,
    Path(id): Path<String>,
    Pairs(pairs): Pairs,
) -> Result<Response, ApiError> {
    let (state, caller, headers) = keyed.into_parts();
    let q = V3Query::parse(&pairs, &["formerEmployees"])?;
    check_readable(caller.role(), &q)?;
    let include_former = caller.role().has(Permission::FormerEmployees);
    let e = visible_employee(&state.store, &caller, parse_id(&id)?, include_former).await?;
    let tree = q
        .fields
        .clone()
        .unwrap_or_else(|| FieldTree::of(&STANDARD_FIELDS).with("extendedData"));
    let ctx = UserContext::load(&state, &caller, &headers, std::slice::from_ref(&e), &tree).await?;
    Ok(with_employee_records(v3_item(ctx.user(&e, &tree)), 1))
}

/// The members an employee's body takes: its writable fields, its personal
/// details, and its `id` (ignored); the OpenAPI document lists them from
/// here.
pub const BODY_MEMBERS: &[&[&str]] = &[WRITABLE, &PersonalDetails::FIELDS, &["id"]];

const WRITABLE: &[&str] = &[
    "firstName",
    "lastName",
    "mail",
    "login",
    "employeeNumber",
    "birthDate",
    "legalEntityId",
    "departmentId",
    "managerId",
    "jobTitle",
    "cspId",
    "profession",
    "dtContractStart",
    "dtContractEnd",
    "extendedData",
];

/// Builds employee data from a body, over `base` (the current data) for an update.
fn employee_data(
    body: &Map<String, Value>,
    base: Option<&EmployeeData>,
) -> Result<EmployeeData, ApiError> {
    super::body::only(body, BODY_MEMBERS, "an employee")?;
    let has = |f: &str| body.contains_key(f);
    let pick_text = |f: &'static str, current: Option<&str>| -> Result<Option<String>, ApiError> {
        Ok(if has(f) {
            text(body, f)?.map(str::to_owned)
        } else {
            current.map(str::to_owned)
        })
    };
    let first_name = pick_text("firstName", base.map(|b| b.first_name.as_str()))?;
    let last_name = pick_text("lastName", base.map(|b| b.last_name.as_str()))?;
    let mail = pick_text("mail", base.map(|b| b.mail.as_str()))?;
    let number = pick_text("employeeNumber", base.map(|b| b.employee_number.as_str()))?;
    let mail = Email::parse(&required(mail, "mail")?)?;
    let login = pick_text("login", base.map(|b| b.login.as_str()))?.unwrap_or_else(|| {
        mail.as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let start = if has("dtContractStart") {
        date(body, "dtContractStart")?
    } else {
        base.map(|b| b.contract.start)
    };
    let end = if has("dtContractEnd") {
        date(body, "dtContractEnd")?
    } else {
        base.and_then(|b| b.contract.end)
    };
    let establishment = if has("legalEntityId") {
        int(body, "legalEntityId")?
    } else {
        base.map(|b| b.establishment_id.0)
    };
    let csp = if has("cspId") {
        int(body, "cspId")?.map(Csp::from_id).transpose()?
    } else {
        base.and_then(|b| b.csp)
    };
    let extended_data = match body.get("extendedData") {
        None => base.map(|b| b.extended_data.clone()).unwrap_or_default(),
        Some(Value::Object(m)) => {
            let mut merged = base.map(|b| b.extended_data.clone()).unwrap_or_default();
            for (k, v) in m {
                if v.is_null() {
                    merged.remove(k);
                } else {
                    merged.insert(k.clone(), v.clone());
                }
            }
            merged
        }
        Some(other) => {
            return Err(
                DomainError::new("extendedData", format!("{other} is not an object")).into(),
            )
        }
    };
    // Personal details: those given replace the current ones, null clears.
    let mut personal = base.map(|b| b.personal.to_json()).unwrap_or_default();
    for field in PersonalDetails::FIELDS {
        if let Some(v) = body.get(field) {
            personal.insert(field.to_owned(), v.clone());
        }
    }
    let personal = PersonalDetails::from_json(&personal)?;
    let data = EmployeeData {
        employee_number: EmployeeNumber::parse(&required(number, "employeeNumber")?)?,
        first_name: Name::parse("firstName", &required(first_name, "firstName")?)?,
        last_name: Name::parse("lastName", &required(last_name, "lastName")?)?,
        mail,
        login,
        birth_date: if has("birthDate") {
            date(body, "birthDate")?
        } else {
            base.and_then(|b| b.birth_date)
        },
        establishment_id: EstablishmentId(required(establishment, "legalEntityId")?),
        department_id: if has("departmentId") {
            int(body, "departmentId")?.map(DepartmentId)
        } else {
            base.and_then(|b| b.department_id)
        },
        manager_id: if has("managerId") {
            int(body, "managerId")?.map(EmployeeId)
        } else {
            base.and_then(|b| b.manager_id)
        },
        job_title: pick_text("jobTitle", base.and_then(|b| b.job_title.as_deref()))?,
        csp,
        profession: pick_text("profession", base.and_then(|b| b.profession.as_deref()))?,
        contract: Contract::new(required(start, "dtContractStart")?, end)?,
        extended_data,
        personal,
    };
    check_plausible(&data)?;
    Ok(data)
}

/// Refuses values a person could not mean, naming the field: an empty login,
/// texts over their length, a birth date in the future or outside 1900–2100,
/// a contract that starts before the birth date (the contract's own dates
/// are checked by [`Contract::new`]).
fn check_plausible(data: &EmployeeData) -> Result<(), ApiError> {
    use relais_core::employee::{check_birth_date, check_contract_after_birth, check_text};
    if data.login.trim().is_empty() {
        return Err(DomainError::new("login", "must not be empty").into());
    }
    check_text("login", &data.login)?;
    for (field, value) in [
        ("jobTitle", &data.job_title),
        ("profession", &data.profession),
    ] {
        if let Some(text) = value {
            check_text(field, text)?;
        }
    }
    if let Some(born) = data.birth_date {
        check_birth_date(born, TimeZone::PARIS.today())?;
        check_contract_after_birth(data.contract.start, born)?;
    }
    Ok(())
}

/// Every field of one employee that the key may read, as written answers
/// show it; its manager as `manager` read it, or read again when it was
/// not read or was read for another manager.
async fn full_user(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    e: &Employee,
    manager: Option<ManagerRead>,
) -> Result<Value, ApiError> {
    let tree = FieldTree::of(&STANDARD_FIELDS).with("extendedData");
    let known = manager
        .filter(|read| read.id == e.data.manager_id)
        .map(|read| read.seen.into_iter().collect::<Vec<_>>());
    let ctx = UserContext::load_knowing(
        state,
        caller,
        headers,
        std::slice::from_ref(e),
        &tree,
        known.as_deref(),
    )
    .await?;
    Ok(ctx.user(e, &tree))
}

/// A manager as a key may see them, read with what refers to them.
struct ManagerRead {
    /// The manager's identifier; `None`: no manager.
    id: Option<EmployeeId>,
    /// The manager, when the key may see them.
    seen: Option<Employee>,
}

impl ManagerRead {
    /// No manager.
    const NONE: Self = Self {
        id: None,
        seen: None,
    };
}

/// The employee `id` as [`visible_employee`] reads it (former ones
/// included), with its manager as the key may see them: one read.
async fn visible_with_manager(
    store: &SharedStore,
    caller: &Caller,
    id: i64,
) -> Result<(Employee, ManagerRead), ApiError> {
    let query = ListQuery {
        scope: caller.scope_with_former(),
        conditions: vec![Condition::employee_and_manager(id)],
        limit: 2,
        ..ListQuery::default()
    };
    let found = relais_store::read_few(store.query_employees(caller.base(), &query))
        .await?
        .items;
    let employee = found
        .iter()
        .find(|e| e.id.0 == id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no user {id} visible to this key")))?;
    let manager = ManagerRead {
        id: employee.data.manager_id,
        seen: (employee.data.manager_id).and_then(|m| found.into_iter().find(|e| e.id == m)),
    };
    Ok((employee, manager))
}

fn author(caller: &Caller) -> Author {
    Author {
        name: caller.key.name.to_string(),
        source: "api".into(),
    }
}

/// Refuses references to establishments and people outside the key's scope
/// with the very answer a missing one gets, so a write tells nothing a read
/// would not. The manager the body names (or clears), read to be checked,
/// is returned (`None` when the body does not name one).
async fn check_references(
    state: &AppState,
    caller: &Caller,
    data: &EmployeeData,
    body: &Map<String, Value>,
) -> Result<Option<ManagerRead>, ApiError> {
    if !caller.role().covers_establishment(data.establishment_id) {
        return Err(DomainError::new(
            "legalEntityId",
            format!("no establishment {} in this base", data.establishment_id),
        )
        .into());
    }
    if let (Some(manager), true) = (data.manager_id, body.contains_key("managerId")) {
        let seen = visible_among(&state.store, caller, &[manager]).await?;
        if seen.is_empty() {
            return Err(DomainError::new(
                "managerId",
                format!("no employee {manager} in this base"),
            )
            .into());
        }
        return Ok(Some(ManagerRead {
            id: Some(manager),
            seen: seen.into_iter().next(),
        }));
    }
    // `managerId: null` clears the manager: there is none to read.
    Ok(body.contains_key("managerId").then_some(ManagerRead::NONE))
}

async fn create(keyed: Keyed, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let (state, caller, headers) = keyed.into_parts();
    let data = employee_data(&body, None)?;
    let manager = check_references(&state, &caller, &data, &body).await?;
    let e = state
        .store
        .create_employee(caller.base(), &data, &author(&caller))
        .await?;
    // A new employee has the manager its body names, or none.
    let manager = manager.unwrap_or(ManagerRead::NONE);
    let json = full_user(&state, &caller, &headers, &e, Some(manager)).await?;
    Ok(with_employee_records(
        (StatusCode::CREATED, v3_item(json)).into_response(),
        1,
    ))
}

/// Times an update is applied again to an employee that changed while it
/// was applied, before the caller is told to send it again (409).
const UPDATE_TRIES: u32 = 10;

/// The longest wait before an update is applied again, in milliseconds.
const LONGEST_RETRY_WAIT_MS: u64 = 64;

async fn update(
    keyed: Keyed,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (state, caller, headers) = keyed.into_parts();
    let id = parse_id(&id)?;
    let record = (caller.base().0, id);
    // Read first, so that a key that may not see the employee is told so
    // at once, neither waiting behind its writers nor holding them up. The
    // employee's manager is read with it: the answer names them, unless
    // the body names another.
    let arrival = state.turns.arrive(record);
    let first_read = visible_with_manager(&state.store, &caller, id).await?;
    // Writers of one employee through this process take turns: each writes
    // it as the one before left it (the answer is built after), so one
    // that another's turn ended before reads it again.
    let turn = arrival.take().await;
    let mut read = (!turn.after_others()).then_some(first_read);
    // The change applies to the employee as it is when it is written: one
    // changed meanwhile (a writer elsewhere, a sync) is read again and the
    // change applied to that, never to the older reading.
    let mut tries = 0;
    let (e, manager) = loop {
        let (current, current_manager) = match read.take() {
            Some(fresh) => fresh,
            None => visible_with_manager(&state.store, &caller, id).await?,
        };
        let data = employee_data(&body, Some(&current.data))?;
        let named = check_references(&state, &caller, &data, &body).await?;
        match state
            .store
            .update_employee(&current, &data, &author(&caller))
            .await
        {
            Err(relais_store::StoreError::Changed { .. }) if tries < UPDATE_TRIES => {
                tries += 1;
                crate::metrics::write_applied_again("users");
                // Writers elsewhere that clashed with this one each wait a
                // random while, longer after each clash, before reading it
                // again, instead of all reading and clashing again at once.
                let longest = (1_u64 << tries.min(6)).min(LONGEST_RETRY_WAIT_MS);
                tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(0..=longest)))
                    .await;
            }
            done => break (done?, named.unwrap_or(current_manager)),
        }
    };
    drop(turn);
    let json = full_user(&state, &caller, &headers, &e, Some(manager)).await?;
    Ok(with_employee_records(v3_item(json), 1))
}
