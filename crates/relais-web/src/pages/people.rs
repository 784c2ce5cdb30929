//! The HR data itself, read-only: the employee directory (search, filters by
//! establishment, department and contract status), an employee's page (the
//! sections the viewer may see, the history of changes, absences, and what
//! each app received of them), and a department's month calendar of absences.

use super::layout::{
    column_heads, column_heads_paris, error_page, page, paris_cell, stacked_label, OrPage,
    PageError, PagePath,
};
use crate::catalog::Catalog;
use crate::session::{Lang, Viewer};
use crate::sheets::{csv_file, csv_part, csv_rows, UTF8_MARK};
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use relais_api::AppState;
use relais_core::absence::{LeavePeriod, LeaveStatus};
use relais_core::calendar::{HalfDay, WorkCalendar};
use relais_core::employee::{ContractStatus, Employee, Gender};
use relais_core::fields::{leave_requests, userlogs, users};
use relais_core::ids::{BaseId, EmployeeId};
use relais_core::org::TimeZone;
use relais_core::report::Month;
use relais_store::fields::unread_employee_columns;
use relais_store::{Cond, Condition, Direction, ListQuery, SqlValue, StoreError};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Employees a directory page lists.
const PER_PAGE: u32 = 50;

/// Employees a calendar page shows at most (a bigger department pages on).
const CALENDAR_ROWS: u32 = 100;

/// Changes and app lines an employee's page shows, newest first.
const HISTORY: u32 = 50;

/// The text an employee is searched by: their names, number and e-mail.
/// Whether a list of people shows `field`: the directory and the calendar
/// show neither personal details nor custom fields, which are left unread.
fn shows_no_details(field: &str) -> bool {
    field != "extendedData" && !relais_core::employee::PersonalDetails::FIELDS.contains(&field)
}

/// Which employees by their contract, on today's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Under contract today.
    Current,
    /// Arriving: the contract starts after today.
    Future,
    /// Gone: the contract ended before today.
    Former,
    /// Everyone.
    All,
}

impl Status {
    const ALL: [Status; 4] = [Status::Current, Status::Future, Status::Former, Status::All];

    fn code(self) -> &'static str {
        match self {
            Status::Current => "current",
            Status::Future => "future",
            Status::Former => "former",
            Status::All => "all",
        }
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Status::Current => lang.t("En poste"),
            Status::Future => lang.t("À venir"),
            Status::Former => lang.t("Partis"),
            Status::All => lang.t("Tous"),
        }
    }

    /// Where one employee stands, in words.
    fn one(self, lang: Lang) -> &'static str {
        match self {
            Status::Former => lang.t("Parti(e)"),
            other => other.label(lang),
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == raw)
    }

    /// Where an employee stands on `today`.
    fn of(e: &Employee, today: NaiveDate) -> Self {
        match e.data.contract.status_on(today) {
            ContractStatus::Future => Status::Future,
            ContractStatus::Former => Status::Former,
            ContractStatus::Active => Status::Current,
        }
    }

    /// The store's conditions for this status on `today`.
    fn conditions(self, today: NaiveDate) -> Vec<Condition> {
        let on = SqlValue::Date(today);
        match self {
            Status::Current => vec![
                Condition::new(&users::CONTRACT_START, Cond::Lte(on.clone())),
                Condition::new(&users::CONTRACT_END, Cond::NullOrGte(on)),
            ],
            Status::Future => vec![Condition::new(&users::CONTRACT_START, Cond::Gt(on))],
            Status::Former => vec![Condition::new(&users::CONTRACT_END, Cond::Lt(on))],
            Status::All => Vec::new(),
        }
    }
}

/// A filter's identifier: blank means "any"; anything else must be a number.
fn id_filter(raw: Option<&str>, what: &str, lang: Lang) -> Result<Option<i64>, String> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            lang.tf(
                "Le filtre « %{what} » attend un choix de la liste, pas « %{text} ».",
                &[("what", &what), ("text", &text)],
            )
        }),
    }
}

/// The page asked for (blank: the first), or why it cannot be read.
fn page_number(raw: Option<&str>, lang: Lang) -> Result<u32, String> {
    match raw.filter(|p| !p.is_empty()).map(str::parse::<u32>) {
        None => Ok(1),
        Some(Ok(n)) if n >= 1 => Ok(n),
        Some(_) => Err(lang
            .t("La page demandée n'est pas un nombre à partir de 1.")
            .to_owned()),
    }
}

/// The names of the base's establishments and departments, by identifier.
struct Names {
    establishments: BTreeMap<i64, String>,
    departments: BTreeMap<i64, String>,
}

impl Names {
    async fn of(state: &AppState, base: BaseId) -> Result<Self, StoreError> {
        let establishments = state
            .store
            .list_establishments(base)
            .await?
            .into_iter()
            .map(|e| (e.id.0, e.name.to_string()))
            .collect();
        let departments = state
            .store
            .list_departments(base)
            .await?
            .into_iter()
            .map(|d| (d.id.0, d.name.to_string()))
            .collect();
        Ok(Self {
            establishments,
            departments,
        })
    }

    fn establishment(&self, id: i64) -> &str {
        self.establishments.get(&id).map_or("—", String::as_str)
    }

    fn department(&self, id: Option<i64>) -> &str {
        id.and_then(|d| self.departments.get(&d))
            .map_or("—", String::as_str)
    }
}

/// A date as people of `lang` write it.
fn day(d: NaiveDate, lang: Lang) -> String {
    relais_core::said::day(d, lang.code())
}

/// The contract's dates in words.
fn contract_text(e: &Employee, lang: Lang) -> String {
    let c = &e.data.contract;
    match c.end {
        None => lang.tf("depuis le %{start}", &[("start", &day(c.start, lang))]),
        Some(end) => lang.tf(
            "du %{start} au %{end}",
            &[("start", &day(c.start, lang)), ("end", &day(end, lang))],
        ),
    }
}

/// The directory's query.
#[derive(Debug, Default, Deserialize)]
pub struct DirectoryQuery {
    #[serde(default)]
    pub(crate) q: Option<String>,
    #[serde(default)]
    pub(crate) establishment: Option<String>,
    #[serde(default)]
    pub(crate) department: Option<String>,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) page: Option<String>,
}

/// The directory's filters, as its address gives them.
#[derive(Clone)]
struct Filter {
    /// Words of a name, an employee number or an e-mail.
    search: String,
    establishment: Option<i64>,
    department: Option<i64>,
    status: Status,
}

impl Filter {
    /// The filters of `q`, or what is wrong with one, in the reader's
    /// language.
    fn read(q: &DirectoryQuery, lang: Lang) -> Result<Self, String> {
        let establishment = id_filter(q.establishment.as_deref(), lang.t("Établissement"), lang)?;
        let department = id_filter(q.department.as_deref(), lang.t("Département"), lang)?;
        let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
            None => Status::Current,
            Some(raw) => Status::parse(raw).ok_or_else(|| {
                lang.tf(
                    "Le filtre « Statut » ne connaît pas « %{raw} » : current, future, former ou all.",
                    &[("raw", &raw)],
                )
            })?,
        };
        Ok(Self {
            search: q.q.clone().unwrap_or_default(),
            establishment,
            department,
            status,
        })
    }

    /// What the store keeps, on `today`.
    fn conditions(&self, today: NaiveDate) -> Vec<Condition> {
        let mut conditions = self.status.conditions(today);
        conditions.extend(
            self.establishment
                .map(|e| Condition::is(&users::ESTABLISHMENT_ID, e)),
        );
        conditions.extend(
            self.department
                .map(|d| Condition::is(&users::DEPARTMENT_ID, d)),
        );
        for word in self.search.split_whitespace().take(5) {
            conditions.push(Condition::employee_search(word));
        }
        conditions
    }

    /// The address parameters that give these filters back.
    fn address(&self) -> String {
        let encode = |v: &str| relais_core::integration::percent_encode(v, b"");
        format!(
            "q={}&establishment={}&department={}&status={}",
            encode(&self.search),
            self.establishment
                .map(|e| e.to_string())
                .unwrap_or_default(),
            self.department.map(|d| d.to_string()).unwrap_or_default(),
            self.status.code()
        )
    }
}

/// Employees the directory's file reads at once.
const FILE_PART: u32 = 500;

/// `GET /people.csv`: every employee the directory's filters keep, as a CSV
/// file, read by parts in the order of their identifiers (each part costs
/// what the first does) and written as they are read.
pub async fn directory_file(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<DirectoryQuery>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let filter =
        Filter::read(&q, lang).map_err(|m| PageError::refused(&v, StatusCode::BAD_REQUEST, &m))?;
    let names = std::sync::Arc::new(Names::of(&state, v.base.id).await.or_page(&v)?);
    let heads = [
        "Nom",
        "Prénom",
        "Matricule",
        "E-mail",
        "Fonction",
        "Établissement",
        "Département",
        "Début du contrat",
        "Fin du contrat",
        "Statut",
    ];
    let header = csv_rows(
        UTF8_MARK.to_vec(),
        std::iter::once(heads.map(|h| lang.t(h))),
    )
    .or_page(&v)?;
    let (base, today) = (v.base.id, TimeZone::PARIS.today());
    // (the header not yet sent, the identifier to read after; None: all read)
    let start = (Some(header), Some(0_i64));
    let stream = futures_util::stream::unfold(start, move |(header, after)| {
        let (state, filter, names) = (state.clone(), filter.clone(), names.clone());
        async move {
            if let Some(h) = header {
                return Some((Ok(axum::body::Bytes::from(h)), (None, after)));
            }
            let mut conditions = filter.conditions(today);
            conditions.push(Condition::after_id(after?));
            let query = ListQuery {
                scope: Default::default(),
                conditions,
                order: vec![(&users::ID, Direction::Asc)],
                limit: FILE_PART,
                without: unread_employee_columns(shows_no_details),
                ..ListQuery::default()
            };
            let found = match state.store.query_employees(base, &query).await {
                Ok(found) => found.items,
                Err(e) => return Some((Err(std::io::Error::other(e)), (None, None))),
            };
            let next = found
                .last()
                .filter(|_| found.len() == FILE_PART as usize)
                .map(|e| e.id.0);
            let rows = found.iter().map(|e| {
                let d = &e.data;
                [
                    d.last_name.to_string(),
                    d.first_name.to_string(),
                    d.employee_number.to_string(),
                    d.mail.to_string(),
                    d.job_title.clone().unwrap_or_default(),
                    names.establishment(d.establishment_id.0).to_owned(),
                    names.department(d.department_id.map(|d| d.0)).to_owned(),
                    day(d.contract.start, lang),
                    d.contract.end.map(|e| day(e, lang)).unwrap_or_default(),
                    Status::of(e, today).one(lang).to_owned(),
                ]
            });
            Some((csv_part(rows), (None, next)))
        }
    });
    let name = format!("{}-{}.csv", lang.t("collaborateurs"), v.base.name);
    Ok(csv_file(stream, &name))
}

/// `GET /people`: the employee directory.
pub async fn directory(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<DirectoryQuery>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let refuse = |message: String| error_page(Some(&v), lang, StatusCode::BAD_REQUEST, &message);
    let filter = match Filter::read(&q, lang) {
        Ok(f) => f,
        Err(m) => return Ok(refuse(m)),
    };
    let page_no = match page_number(q.page.as_deref(), lang) {
        Ok(n) => n,
        Err(m) => return Ok(refuse(m)),
    };
    let today = TimeZone::PARIS.today();
    let Filter {
        search,
        establishment,
        department,
        status,
    } = filter.clone();
    let query = ListQuery {
        // People signed in to the admin pages see the whole base.
        scope: Default::default(),
        conditions: filter.conditions(today),
        order: vec![
            (&users::LAST_NAME, Direction::Asc),
            (&users::FIRST_NAME, Direction::Asc),
        ],
        offset: u64::from(page_no - 1) * u64::from(PER_PAGE),
        limit: PER_PAGE,
        count: true,
        // The directory shows neither personal details nor custom fields.
        without: unread_employee_columns(shows_no_details),
    };
    let (found, names) = tokio::try_join!(
        state.store.query_employees(v.base.id, &query),
        Names::of(&state, v.base.id)
    )
    .or_page(&v)?;
    let total = found.count.unwrap_or(0);
    let pages = u32::try_from((total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE))
        .unwrap_or(1)
        .max(1);
    let link = |n: u32| format!("/people?{}&page={n}", filter.address());
    let body = html! {
        form.filters id="directory-filters" method="get" action="/people" role="search" {
            div.field {
                label for="q" { (lang.t("Nom, matricule ou e-mail")) }
                input id="q" name="q" type="search" value=(search);
            }
            div.field {
                label for="establishment" { (lang.t("Établissement")) }
                select id="establishment" name="establishment" {
                    option value="" { (lang.t("— tous —")) }
                    @for (id, name) in &names.establishments {
                        option value=(id) selected[establishment == Some(*id)] { (name) }
                    }
                }
            }
            div.field {
                label for="department" { (lang.t("Département")) }
                select id="department" name="department" {
                    option value="" { (lang.t("— tous —")) }
                    @for (id, name) in &names.departments {
                        option value=(id) selected[department == Some(*id)] { (name) }
                    }
                }
            }
            div.field {
                label for="status" { (lang.t("Statut")) }
                select id="status" name="status" {
                    @for s in Status::ALL {
                        option value=(s.code()) selected[s == status] { (s.label(lang)) }
                    }
                }
            }
            div.field { button id="search-people" type="submit" { (lang.t("Rechercher")) } }
        }
        p id="people-count" {
            (lang.count(total.max(0).unsigned_abs(), "%{n} collaborateur", "%{n} collaborateurs"))
            @if pages > 1 { " · " (lang.t("page")) " " (page_no) " / " (pages) }
            @if total > 0 { " · " a id="people-file" href={ "/people.csv?" (filter.address()) } { (lang.t("Télécharger en CSV")) } }
        }
        @if found.items.is_empty() {
            p.muted id="no-people" { (lang.t("Personne ne correspond à cette recherche.")) }
        } @else {
            div.scroll {
                table id="people" {
                    (column_heads(lang, &["Nom", "Matricule", "Fonction", "Établissement", "Département", "Contrat"]))
                    tbody {
                        @for e in &found.items {
                            tr data-employee=(e.id.0) {
                                td { a href={ "/people/" (e.id.0) } { (e.data.last_name) " " (e.data.first_name) } }
                                td { (e.data.employee_number) }
                                td { (e.data.job_title.as_deref().unwrap_or("—")) }
                                td { (names.establishment(e.data.establishment_id.0)) }
                                td { (names.department(e.data.department_id.map(|d| d.0))) }
                                td { (contract_text(e, lang)) @if status == Status::All { " · " (Status::of(e, today).one(lang)) } }
                            }
                        }
                    }
                }
            }
            p {
                @if page_no > 1 { a id="previous-people" href=(link(page_no - 1)) { (lang.t("← précédents")) } " " }
                @if page_no < pages { a id="next-people" href=(link(page_no + 1)) { (lang.t("suivants →")) } }
            }
        }
    };
    Ok(page(Some(&v), lang, lang.t("Collaborateurs"), body).into_response())
}

/// Whether the viewer reads employees' personal details (birth date,
/// personal contacts, address…): those who manage roles and keys, the HR
/// side; those who only administer apps see the work sections.
fn sees_personal(v: &Viewer) -> bool {
    v.person.can_manage_keys
}

/// A field's label, from the catalogue of the standard section (the change
/// log writes field names in lower case).
fn field_label(name: &str, lang: Lang) -> &str {
    relais_core::fields::STANDARD
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map_or(name, |f| f.label(lang.code()))
}

/// What a logged field refers to, when its value is an identifier.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refers {
    Establishment,
    Department,
    Employee,
    Nothing,
}

/// What the change log's field `name` refers to, and the field to label it by.
fn refers(name: &str) -> (Refers, &str) {
    match name.to_ascii_lowercase().as_str() {
        "legalentityid" | "legalentity" => (Refers::Establishment, "legalEntity"),
        "departmentid" | "department" => (Refers::Department, "department"),
        "managerid" | "manager" => (Refers::Employee, "manager"),
        _ => (Refers::Nothing, name),
    }
}

/// Whether a logged field is a personal detail.
fn personal_field(name: &str) -> bool {
    name.eq_ignore_ascii_case("birthDate")
        || relais_core::employee::PersonalDetails::FIELDS
            .iter()
            .any(|f| f.eq_ignore_ascii_case(name))
}

/// A value of the change log as text; identifiers of establishments,
/// departments and employees by their names.
fn logged_value(
    field: &str,
    value: &serde_json::Value,
    names: &Names,
    people: &HashMap<i64, String>,
) -> String {
    let id = value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()));
    let named = match (refers(field).0, id) {
        (Refers::Establishment, Some(id)) => names.establishments.get(&id),
        (Refers::Department, Some(id)) => names.departments.get(&id),
        (Refers::Employee, Some(id)) => people.get(&id),
        _ => None,
    };
    match (named, value) {
        (Some(name), _) => name.clone(),
        (None, serde_json::Value::Null) => "—".to_owned(),
        (None, serde_json::Value::String(s)) if s.is_empty() => "—".to_owned(),
        (None, serde_json::Value::String(s)) => s.clone(),
        (None, other) => other.to_string(),
    }
}

/// A leave status in words.
fn leave_status(s: LeaveStatus, lang: Lang) -> &'static str {
    match s {
        LeaveStatus::Pending => lang.t("En attente"),
        LeaveStatus::Approved => lang.t("Validée"),
        LeaveStatus::Denied => lang.t("Refusée"),
        LeaveStatus::Cancelled => lang.t("Annulée"),
    }
}

/// Half days as days, with the page's decimal mark: « 2,5 ».
fn days_text(half_days: u32, lang: Lang) -> String {
    lang.decimal(f64::from(half_days) / 2.0)
}

/// A half day in words.
fn half(h: HalfDay, lang: Lang) -> &'static str {
    match h {
        HalfDay::Am => lang.t("matin"),
        HalfDay::Pm => lang.t("après-midi"),
    }
}

/// `GET /people/{id}`: one employee.
pub async fn employee(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    PagePath(raw): PagePath<String>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let not_found = || {
        error_page(
            Some(&v),
            lang,
            StatusCode::NOT_FOUND,
            lang.t("Ce collaborateur n'existe pas dans cette base."),
        )
    };
    let Ok(id) = raw.parse::<i64>().map(EmployeeId) else {
        return Ok(not_found());
    };
    let base = v.base.id;
    let e = match state.store.get_employee(base, id).await {
        Ok(e) => e,
        Err(StoreError::NotFound { .. }) => return Ok(not_found()),
        Err(err) => return Err(PageError::internal(&v, err)),
    };
    let history = ListQuery {
        conditions: vec![Condition::is(&userlogs::OWNER_ID, id.0)],
        order: vec![(&userlogs::MODIFIED_AT, Direction::Desc)],
        limit: HISTORY,
        ..ListQuery::default()
    };
    let loaded = tokio::try_join!(
        Names::of(&state, base),
        state.store.query_employee_logs(base, &history),
        state.store.list_leave_periods(base, id),
        state.store.list_absence_accounts(base),
        state.store.employee_deliveries(base, id, HISTORY),
        state.store.list_installations(base),
    );
    let (names, logs, leaves, accounts, deliveries, installations) = loaded.or_page(&v)?;
    // The manager, and the employees the change log names by identifier.
    let mut referred: Vec<EmployeeId> = logs
        .items
        .iter()
        .filter(|l| refers(&l.field).0 == Refers::Employee)
        .filter_map(|l| l.value.as_i64().or_else(|| l.value.as_str()?.parse().ok()))
        .map(EmployeeId)
        .collect();
    referred.extend(e.data.manager_id);
    referred.sort_unstable_by_key(|i| i.0);
    referred.dedup();
    let people: HashMap<i64, String> = state
        .store
        .employees_by_ids(base, &referred)
        .await
        .or_page(&v)?
        .into_iter()
        .map(|p| (p.id.0, p.display_name()))
        .collect();
    let manager = e
        .data
        .manager_id
        .and_then(|m| people.get(&m.0).map(|name| (m.0, name)));
    let accounts: HashMap<i64, String> = accounts
        .into_iter()
        .map(|a| (a.id.0, a.name.to_string()))
        .collect();
    let apps: HashMap<relais_core::ids::InstallationId, String> = installations
        .iter()
        .map(|i| {
            let name = catalog
                .get(&i.app)
                .map_or_else(|| i.app.clone(), |a| a.name.clone());
            (i.id, name)
        })
        .collect();
    let today = TimeZone::PARIS.today();
    let d = &e.data;
    let p = &d.personal;
    let row =
        |label: &str, value: String| html! { tr { th scope="row" { (label) } td { (value) } } };
    let opt = |value: Option<String>| {
        value
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "—".to_owned())
    };
    let body = html! {
        p id="employee-status" {
            strong { (Status::of(&e, today).one(lang)) } " · " (contract_text(&e, lang))
            " · " a href={ "/calendar?department=" (d.department_id.map(|x| x.0.to_string()).unwrap_or_default()) } { (lang.t("Calendrier de son département")) }
        }
        div.cards.record {
            section.card id="section-work" {
                h2 { (lang.t("Poste")) }
                table { tbody {
                    (row(field_label("employeeNumber", lang), d.employee_number.to_string()))
                    (row(field_label("mail", lang), d.mail.to_string()))
                    (row(field_label("login", lang), d.login.clone()))
                    (row(field_label("jobTitle", lang), opt(d.job_title.clone())))
                    (row(lang.t("Métier"), opt(d.profession.clone())))
                    (row(lang.t("Catégorie (CSP)"), opt(d.csp.map(|c| c.label().to_owned()))))
                } }
            }
            section.card id="section-organisation" {
                h2 { (lang.t("Organisation")) }
                table { tbody {
                    (row(lang.t("Établissement"), names.establishment(d.establishment_id.0).to_owned()))
                    (row(lang.t("Département"), names.department(d.department_id.map(|x| x.0)).to_owned()))
                    tr { th scope="row" { (lang.t("Manager")) } td {
                        @match manager {
                            Some((id, name)) => a href={ "/people/" (id) } { (name) },
                            None => "—",
                        }
                    } }
                    (row(field_label("dtContractStart", lang), day(d.contract.start, lang)))
                    (row(field_label("dtContractEnd", lang), d.contract.end.map_or_else(|| "—".to_owned(), |x| day(x, lang))))
                } }
            }
            @if sees_personal(&v) {
                section.card id="section-personal" {
                    h2 { (lang.t("Informations personnelles")) }
                    table { tbody {
                        (row(field_label("birthDate", lang), d.birth_date.map_or_else(|| "—".to_owned(), |x| day(x, lang))))
                        (row(lang.t("E-mail personnel"), opt(p.personal_email.as_ref().map(ToString::to_string))))
                        (row(lang.t("Téléphone personnel"), opt(p.personal_phone.as_ref().map(ToString::to_string))))
                        (row(lang.t("Téléphone professionnel"), opt(p.professional_phone.as_ref().map(ToString::to_string))))
                        (row(lang.t("Adresse"), opt(p.address.as_ref().map(|a| a.label_in(lang.code())).filter(|a| !a.is_empty()))))
                        (row(lang.t("Genre"), opt(p.gender.map(|g| match g {
                            Gender::Female => lang.t("Femme").to_owned(),
                            Gender::Male => lang.t("Homme").to_owned(),
                            Gender::Other => lang.t("Autre").to_owned(),
                        }))))
                        (row(lang.t("Nationalité"), opt(p.nationality.as_ref().map(|n| n.label_in(lang.code()).to_owned()))))
                    } }
                }
            } @else {
                section.card id="section-personal-hidden" {
                    h2 { (lang.t("Informations personnelles")) }
                    p.muted { (lang.t("Réservées aux personnes qui gèrent les rôles et les clés API.")) }
                }
            }
        }
        h2 { (lang.t("Absences")) }
        @if leaves.is_empty() {
            p.muted id="no-absences" { (lang.t("Aucune absence.")) }
        } @else {
            div.scroll { table id="absences" {
                (column_heads(lang, &["Compte", "Du", "Au", "Jours", "Statut"]))
                tbody {
                    @for l in leaves.iter().rev() {
                        tr data-status=(l.status.as_str()) {
                            td { (accounts.get(&l.account_id.0).map_or("—", String::as_str)) }
                            td { (day(l.span.start.date, lang)) " " (half(l.span.start.half, lang)) }
                            td { (day(l.span.end.date, lang)) " " (half(l.span.end.half, lang)) }
                            td.n { (days_text(l.half_days, lang)) }
                            td { (leave_status(l.status, lang)) }
                        }
                    }
                }
            } }
        }
        h2 { (lang.t("Ce que les applications ont reçu")) }
        @if deliveries.is_empty() {
            p.muted id="no-deliveries" { (lang.t("Aucune application n'a encore reçu ce collaborateur.")) }
        } @else {
            div.scroll { table.stack id="deliveries" {
                (column_heads_paris(lang, &["Application", "Quand", "Quoi", "Résultat", "Rapport"], &["Quand"]))
                tbody {
                    @for dl in &deliveries {
                        tr data-app=(dl.app) data-outcome=(dl.line.outcome.code()) {
                            td { (apps.get(&dl.installation).map_or(dl.app.as_str(), String::as_str)) }
                            td { (paris_cell(dl.at, lang)) }
                            td { (dl.line.label_in(lang.code())) }
                            td { (super::runs::outcome_label(&dl.line.outcome, lang)) @if dl.dry_run { " " span.muted { (lang.t("(simulation)")) } } }
                            td { a href={ "/runs/" (dl.run) } { (lang.t("voir le rapport")) } }
                        }
                    }
                }
            } }
        }
        h2 { (lang.t("Historique des modifications")) }
        @if logs.items.is_empty() {
            p.muted id="no-history" { (lang.t("Aucune modification enregistrée.")) }
        } @else {
            div.scroll { table.stack id="history" {
                (column_heads_paris(lang, &["Quand", "Champ", "Nouvelle valeur", "Par"], &["Quand"]))
                tbody {
                    @for log in logs.items.iter().filter(|l| sees_personal(&v) || !personal_field(&l.field)) {
                        tr {
                            td { (paris_cell(log.at, lang)) }
                            td { (field_label(refers(&log.field).1, lang)) }
                            td { (logged_value(&log.field, &log.value, &names, &people)) }
                            td data-label=(stacked_label("Par", lang)) { (log.author) }
                        }
                    }
                }
            } }
        }
    };
    Ok(page(Some(&v), lang, &e.display_name(), body).into_response())
}

/// The calendar's query.
#[derive(Debug, Default, Deserialize)]
pub struct CalendarQuery {
    #[serde(default)]
    pub(crate) department: Option<String>,
    #[serde(default)]
    pub(crate) month: Option<String>,
    #[serde(default)]
    pub(crate) page: Option<String>,
}

/// Colours of absence accounts in the calendar, in turn.
const COLOURS: [&str; 8] = [
    "#3b6fd8", "#d8743b", "#2f9e6e", "#a34fc4", "#c43b5c", "#8a7a1f", "#1f8a8a", "#6b6b6b",
];

/// `GET /calendar`: a department's absences over a month, a row per
/// employee under contract that month and a column per day, each day in
/// two halves.
pub async fn calendar(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<CalendarQuery>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let base = v.base.id;
    let refuse = |message: String| error_page(Some(&v), lang, StatusCode::BAD_REQUEST, &message);
    let names = Names::of(&state, base).await.or_page(&v)?;
    let department = match id_filter(q.department.as_deref(), lang.t("Département"), lang) {
        Ok(Some(d)) if names.departments.contains_key(&d) => d,
        Ok(Some(_)) => {
            return Ok(refuse(
                lang.t("Ce département n'existe pas dans cette base.")
                    .to_owned(),
            ))
        }
        Ok(None) => match names.departments.keys().next() {
            Some(first) => *first,
            None => {
                return Ok(page(
                    Some(&v),
                    lang,
                    lang.t("Calendrier des absences"),
                    html! {
                        p.muted { (lang.t("Cette base n'a aucun département.")) }
                    },
                )
                .into_response())
            }
        },
        Err(m) => return Ok(refuse(m)),
    };
    let today = TimeZone::PARIS.today();
    let month =
        match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            None => Month::of(today),
            Some(raw) => match raw.parse::<Month>() {
                Ok(m) => m,
                Err(_) => return Ok(refuse(lang.tf(
                    "Le mois « %{raw} » ne se lit pas : écrivez-le AAAA-MM, par exemple 2027-03.",
                    &[("raw", &raw)],
                ))),
            },
        };
    let page_no = match page_number(q.page.as_deref(), lang) {
        Ok(n) => n,
        Err(m) => return Ok(refuse(m)),
    };
    let (first, last) = (month.first_day(), month.last_day());
    let staff = ListQuery {
        scope: Default::default(),
        conditions: vec![
            Condition::is(&users::DEPARTMENT_ID, department),
            Condition::new(&users::CONTRACT_START, Cond::Lte(SqlValue::Date(last))),
            Condition::new(&users::CONTRACT_END, Cond::NullOrGte(SqlValue::Date(first))),
        ],
        order: vec![
            (&users::LAST_NAME, Direction::Asc),
            (&users::FIRST_NAME, Direction::Asc),
        ],
        offset: u64::from(page_no - 1) * u64::from(CALENDAR_ROWS),
        limit: CALENDAR_ROWS,
        count: true,
        // The calendar shows names only.
        without: unread_employee_columns(shows_no_details),
    };
    let people = state
        .store
        .query_employees(base, &staff)
        .await
        .or_page(&v)?;
    let ids: Vec<EmployeeId> = people.items.iter().map(|e| e.id).collect();
    let mut leaves: Vec<LeavePeriod> = Vec::new();
    let mut calendars: HashMap<EmployeeId, WorkCalendar> = HashMap::new();
    if !ids.is_empty() {
        let periods = ListQuery {
            conditions: vec![
                Condition::new(
                    &leave_requests::OWNER_ID,
                    Cond::In(ids.iter().map(|i| SqlValue::Int(i.0)).collect()),
                ),
                Condition::new(&leave_requests::START_DATE, Cond::Lte(SqlValue::Date(last))),
                Condition::new(&leave_requests::END_DATE, Cond::Gte(SqlValue::Date(first))),
            ],
            limit: 10_000,
            ..ListQuery::default()
        };
        match tokio::try_join!(
            state.store.query_leave_periods(base, &periods),
            state.store.calendars_of(base, &ids)
        ) {
            Ok((found, cals)) => {
                leaves = found
                    .items
                    .into_iter()
                    .filter(|l| l.status.occupies_calendar())
                    .collect();
                calendars = cals.into_iter().collect();
            }
            Err(e) => return Err(PageError::internal(&v, e)),
        }
    }
    let accounts: BTreeMap<i64, String> = state
        .store
        .list_absence_accounts(base)
        .await
        .or_page(&v)?
        .into_iter()
        .map(|a| (a.id.0, a.name.to_string()))
        .collect();
    let colour = |account: i64| {
        let at = accounts.keys().position(|a| *a == account).unwrap_or(0);
        COLOURS[at % COLOURS.len()]
    };
    // Each employee's half days off: (day, half) → the period.
    let mut off: HashMap<(EmployeeId, NaiveDate, HalfDay), &LeavePeriod> = HashMap::new();
    for l in &leaves {
        let mut slot = l
            .span
            .start
            .max(relais_core::calendar::HalfDaySlot::new(first, HalfDay::Am));
        let end = l
            .span
            .end
            .min(relais_core::calendar::HalfDaySlot::new(last, HalfDay::Pm));
        while slot <= end {
            off.insert((l.employee_id, slot.date, slot.half), l);
            slot = slot.next();
        }
    }
    let used: Vec<i64> = {
        let mut u: Vec<i64> = leaves.iter().map(|l| l.account_id.0).collect();
        u.sort_unstable();
        u.dedup();
        u
    };
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    let total = people.count.unwrap_or(0);
    let pages = u32::try_from((total + i64::from(CALENDAR_ROWS) - 1) / i64::from(CALENDAR_ROWS))
        .unwrap_or(1)
        .max(1);
    let month_link = |m: Month| format!("/calendar?department={department}&month={m}");
    let previous = Month::of(first - chrono::Duration::days(1));
    let weekday = |d: NaiveDate| -> &'static str {
        let names = [
            "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
        ];
        let name = lang.t(names[d.weekday().num_days_from_monday() as usize]);
        &name[..name.chars().next().map_or(0, char::len_utf8)]
    };
    let cell = |who: EmployeeId, d: NaiveDate, h: HalfDay, cal: &WorkCalendar| -> Markup {
        match off.get(&(who, d, h)) {
            Some(l) if cal.is_working_day(d) => {
                let title = format!(
                    "{} · {}",
                    accounts.get(&l.account_id.0).map_or("—", String::as_str),
                    leave_status(l.status, lang)
                );
                let style = if l.status == LeaveStatus::Pending {
                    format!(
                        "background:repeating-linear-gradient(45deg,{0},{0} 3px,#fff 3px,#fff 6px)",
                        colour(l.account_id.0)
                    )
                } else {
                    format!("background:{}", colour(l.account_id.0))
                };
                html! { span.half.off role="img" title=(title) aria-label=(title) style=(style) {} }
            }
            _ => html! { span.half {} },
        }
    };
    let body = html! {
        style { (maud::PreEscaped("#calendar{font-size:.8rem}#calendar th,#calendar td{padding:.15rem .2rem;text-align:center}#calendar td.who,#calendar th.who{text-align:left;white-space:nowrap;position:sticky;left:0;background:#fff}#calendar td.closed{background:#eceef4}.half{display:block;height:.7rem;min-width:.9rem}.half+.half{margin-top:1px}.legend span.swatch{display:inline-block;width:.9rem;height:.9rem;border-radius:.2rem;vertical-align:middle;margin-right:.3rem}.legend{display:flex;flex-wrap:wrap;gap:.4rem 1rem}")) }
        form.filters id="calendar-filters" method="get" action="/calendar" {
            div.field {
                label for="department" { (lang.t("Département")) }
                select id="department" name="department" {
                    @for (id, name) in &names.departments {
                        option value=(id) selected[*id == department] { (name) }
                    }
                }
            }
            div.field {
                label for="month" { (lang.t("Mois")) }
                input id="month" name="month" type="month" value=(month.to_string());
            }
            div.field { button id="show-calendar" type="submit" { (lang.t("Afficher")) } }
        }
        p {
            a id="previous-month" href=(month_link(previous)) { "← " (previous.label_in(lang.code())) }
            " · " strong id="calendar-month" { (month.label_in(lang.code())) } " · "
            a id="next-month" href=(month_link(month.next())) { (month.next().label_in(lang.code())) " →" }
        }
        @if !used.is_empty() {
            p.legend id="calendar-legend" {
                @for a in &used {
                    span { span.swatch style={ "background:" (colour(*a)) } {} (accounts.get(a).map_or("—", String::as_str)) }
                }
                span.muted { (lang.t("rayé : en attente de validation")) }
            }
        }
        @if people.items.is_empty() {
            p.muted id="no-staff" { (lang.t("Personne n'est sous contrat dans ce département ce mois-ci.")) }
        } @else {
            div.scroll {
                table id="calendar" {
                    thead {
                        tr {
                            th.who { (lang.t("Collaborateur")) }
                            @for d in &days { th title=(day(*d, lang)) { (weekday(*d)) br; (d.day()) } }
                        }
                    }
                    tbody {
                        @for e in &people.items {
                            @let cal = calendars.get(&e.id).copied().unwrap_or_default();
                            tr data-employee=(e.id.0) {
                                td.who { a href={ "/people/" (e.id.0) } { (e.data.last_name) " " (e.data.first_name) } }
                                @for d in &days {
                                    @let closed = !cal.is_working_day(*d);
                                    td class=[closed.then_some("closed")] data-day=(d.to_string()) {
                                        (cell(e.id, *d, HalfDay::Am, &cal)) (cell(e.id, *d, HalfDay::Pm, &cal))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                p {
                    @if page_no > 1 { a href={ (month_link(month)) "&page=" (page_no - 1) } { (lang.t("← précédents")) } " " }
                    @if page_no < pages { a href={ (month_link(month)) "&page=" (page_no + 1) } { (lang.t("suivants →")) } }
                }
            }
        }
    };
    let title = format!(
        "{} · {}",
        lang.t("Absences"),
        names.department(Some(department))
    );
    Ok(page(Some(&v), lang, &title, body).into_response())
}
