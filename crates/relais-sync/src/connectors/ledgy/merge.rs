//! The Merge leg: the base read the way Merge reads a Lucca base — users,
//! work contracts, legal entities (on each user) and the department tree —
//! with the installation's key, each employee built into Merge's Employee
//! common model with the raw Lucca record kept beside it ("remote data"),
//! so a mapping reaches any field the key may read.

use crate::engine::Setup;
use crate::error::SyncError;
use crate::lucca::{self, Link, User, WorkContract};
use crate::Side;
use chrono::NaiveDate;
use relais_core::fields::{users, Field};
use relais_core::mapping::{SourceField, SourcePath};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Merge's `employment_status` of someone whose contract is under way.
pub const ACTIVE: &str = "ACTIVE";
/// Merge's `employment_status` of someone whose contract starts later.
pub const PENDING: &str = "PENDING";
/// Merge's `employment_status` of someone whose contract has ended.
pub const INACTIVE: &str = "INACTIVE";

/// A field of Merge's Employee model: its name, labels, and the Lucca
/// fields it is made of (the key must read them all).
pub struct ModelField {
    /// Its name in Merge's model.
    pub name: &'static str,
    /// What it is, in French.
    pub label_fr: &'static str,
    /// What it is, in English.
    pub label_en: &'static str,
    /// The Lucca user fields it is made of.
    pub needs: &'static [Field],
}

const fn m(
    name: &'static str,
    label_fr: &'static str,
    label_en: &'static str,
    needs: &'static [Field],
) -> ModelField {
    ModelField {
        name,
        label_fr,
        label_en,
        needs,
    }
}

/// Merge's Employee model, as relais builds it from a Lucca base.
pub const MODEL: &[ModelField] = &[
    m(
        "remote_id",
        "Identifiant dans la base",
        "Identifier in the base",
        &[users::ID],
    ),
    m(
        "employee_number",
        "Matricule",
        "Employee number",
        &[users::EMPLOYEE_NUMBER],
    ),
    m("first_name", "Prénom", "First name", &[users::FIRST_NAME]),
    m("last_name", "Nom", "Last name", &[users::LAST_NAME]),
    m(
        "display_full_name",
        "Nom complet",
        "Full name",
        &[users::FIRST_NAME, users::LAST_NAME],
    ),
    m(
        "work_email",
        "E-mail professionnel",
        "Work e-mail",
        &[users::MAIL],
    ),
    m(
        "personal_email",
        "E-mail personnel",
        "Personal e-mail",
        &[users::PERSONAL_EMAIL],
    ),
    m(
        "mobile_phone_number",
        "Téléphone personnel",
        "Mobile phone",
        &[users::PERSONAL_PHONE],
    ),
    m(
        "date_of_birth",
        "Date de naissance",
        "Date of birth",
        &[users::BIRTH_DATE],
    ),
    m(
        "hire_date",
        "Date d'embauche (ancienneté)",
        "Hire date (seniority)",
        &[users::SENIORITY_DATE, users::CONTRACT_START],
    ),
    m(
        "start_date",
        "Début du contrat",
        "Start date",
        &[users::CONTRACT_START],
    ),
    m(
        "termination_date",
        "Fin du contrat",
        "Termination date",
        &[users::CONTRACT_END],
    ),
    m(
        "employment_status",
        "Statut (ACTIVE, PENDING, INACTIVE)",
        "Employment status (ACTIVE, PENDING, INACTIVE)",
        &[users::CONTRACT_START, users::CONTRACT_END],
    ),
    m(
        "employment_type",
        "Type de contrat (PERMANENT, FIXED_TERM)",
        "Employment type (PERMANENT, FIXED_TERM)",
        &[users::CONTRACT_START],
    ),
    m(
        "job_title",
        "Intitulé de poste",
        "Job title",
        &[users::JOB_TITLE],
    ),
    m(
        "company",
        "Société (établissement)",
        "Company (establishment)",
        &[users::ESTABLISHMENT],
    ),
    m(
        "work_location",
        "Lieu de travail",
        "Work location",
        &[users::ESTABLISHMENT],
    ),
    m(
        "team",
        "Équipe (service)",
        "Team (department)",
        &[users::DEPARTMENT],
    ),
    m(
        "groups",
        "Groupes (services parents)",
        "Groups (parent departments)",
        &[users::DEPARTMENT],
    ),
    m("manager", "Manager", "Manager", &[users::MANAGER]),
];

/// The Lucca fields every read asks for: who the employee is (for names,
/// search and the report) and when it last changed.
const ALWAYS: &[Field] = &[
    users::ID,
    users::MODIFIED_AT,
    users::FIRST_NAME,
    users::LAST_NAME,
    users::MAIL,
];

/// What one read of the base asks for: the user fields, and whether the
/// department tree (for `groups`) and work contracts (for
/// `employment_type`) are needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadPlan {
    fields: Vec<String>,
    tree: bool,
    contracts: bool,
}

impl ReadPlan {
    /// The plan that reads what `sources` need, and who each employee is.
    pub fn of<'a>(sources: impl IntoIterator<Item = &'a relais_core::mapping::SourcePath>) -> Self {
        let mut plan = Self {
            fields: ALWAYS.iter().map(|f| f.name.to_owned()).collect(),
            ..Self::default()
        };
        let add = |plan: &mut Self, f: &str| {
            if !plan.fields.iter().any(|x| x == f) {
                plan.fields.push(f.to_owned());
            }
        };
        for source in sources {
            match source {
                SourcePath::Model(name) => {
                    if let Some(m) = MODEL.iter().find(|m| m.name == name) {
                        for n in m.needs {
                            add(&mut plan, n.name);
                        }
                    }
                    plan.tree |= name == "groups";
                    plan.contracts |= name == "employment_type";
                }
                SourcePath::Raw(path) => {
                    if let Some(top) = path.first() {
                        add(&mut plan, top);
                    }
                }
            }
        }
        plan
    }
}

/// Employees read per page.
const PAGE: u64 = 500;

/// One employee as Merge holds it: the model and the raw record.
#[derive(Debug, Clone)]
pub struct MergeEmployee {
    /// The base's identifier.
    pub id: i64,
    /// "First Last".
    pub name: String,
    /// Merge's Employee model.
    pub model: Value,
    /// The raw Lucca record.
    pub raw: Value,
    /// Its last modification (RFC 3339).
    pub modified_at: Option<String>,
}

/// Reads the base as Merge does, page after page.
pub struct MergeReader {
    setup: Setup,
    fields: String,
    /// Only these employees (a preview's page), when set.
    only: Option<Vec<i64>>,
    /// Department id → its parents' names, root first.
    parents: HashMap<i64, Vec<String>>,
    /// Employee id → `PERMANENT` / `FIXED_TERM`, from their work contract.
    contracts: HashMap<i64, &'static str>,
    offset: u64,
    done: bool,
}

/// A date of the base (`2024-01-31` or `2024-01-31T00:00:00`).
fn date(v: Option<&String>) -> Option<NaiveDate> {
    let text = v?;
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// A day as Merge gives it (`YYYY-MM-DD`), or null.
fn day(v: Option<&String>) -> Value {
    date(v).map_or(Value::Null, |d| json!(d.to_string()))
}

/// The name of a linked record (`{id, name, url}`), or null.
fn name(v: Option<&Link>) -> Value {
    json!(v.and_then(|l| l.name.as_ref()))
}

impl MergeReader {
    /// Opens a read of the base as `plan` says: the department tree and
    /// work contracts first when needed (as Merge reads Groups and
    /// Employments), then users on demand.
    pub async fn open(setup: &Setup, plan: &ReadPlan) -> Result<Self, SyncError> {
        let fields = plan.fields.join(",");
        let parents = if plan.tree {
            Self::tree(setup).await?
        } else {
            HashMap::new()
        };
        let contracts = if plan.contracts {
            Self::contracts(setup).await?
        } else {
            HashMap::new()
        };
        Ok(Self {
            setup: setup.clone(),
            fields,
            only: None,
            parents,
            contracts,
            offset: 0,
            done: false,
        })
    }

    /// The same read, of employees `ids` only.
    pub fn only(mut self, ids: Vec<i64>) -> Self {
        self.done = ids.is_empty();
        self.only = Some(ids);
        self
    }

    /// Each department's parents, by name, root first.
    async fn tree(setup: &Setup) -> Result<HashMap<i64, Vec<String>>, SyncError> {
        // The department tree: each department's parents, by name.
        let by_id: HashMap<i64, (String, Option<i64>)> = setup
            .source
            .departments()
            .await?
            .into_iter()
            .map(|d| (d.id, (d.name.unwrap_or_default(), d.parent_id)))
            .collect();
        let parents: HashMap<i64, Vec<String>> = by_id
            .keys()
            .map(|id| {
                let mut chain = Vec::new();
                let mut at = by_id.get(id).and_then(|(_, p)| *p);
                while let Some(p) = at {
                    let Some((n, next)) = by_id.get(&p) else {
                        break;
                    };
                    chain.push(n.clone());
                    at = *next;
                    if chain.len() > 64 {
                        break;
                    }
                }
                chain.reverse();
                (*id, chain)
            })
            .collect();
        Ok(parents)
    }

    /// Each employee's contract type, from their applicable work contract.
    async fn contracts(setup: &Setup) -> Result<HashMap<i64, &'static str>, SyncError> {
        let mut contracts = HashMap::new();
        let mut page = 1;
        loop {
            let mut answer = setup
                .source
                .get(&format!(
                    "/directory/api/4.0/work-contracts?isApplicable=true&page={page}&limit=1000"
                ))
                .await?;
            let Value::Array(items) = answer["items"].take() else {
                return Err(SyncError::Malformed {
                    what: Side::Source,
                    reason: "no items in the work contracts answer".into(),
                });
            };
            let read = items.len();
            for c in lucca::typed::<WorkContract>("work contract", items)? {
                if let Some(owner) = c.owner_id {
                    let kind = if c.type_id == Some(2) {
                        "FIXED_TERM"
                    } else {
                        "PERMANENT"
                    };
                    contracts.insert(owner, kind);
                }
            }
            if read < 1000 {
                break;
            }
            page += 1;
        }
        Ok(contracts)
    }

    /// The next page of employees (former and future ones included), or `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<MergeEmployee>>, SyncError> {
        if self.done {
            return Ok(None);
        }
        let answer = self
            .setup
            .source
            .get(&match &self.only {
                Some(ids) => {
                    self.done = true;
                    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                    format!(
                        "/api/v3/users?fields={}&formerEmployees=true&id={}&paging=0,{}&orderBy=id,asc",
                        self.fields,
                        ids.join(","),
                        ids.len()
                    )
                }
                None => format!(
                    "/api/v3/users?fields={}&formerEmployees=true&paging={},{PAGE}&orderBy=id,asc",
                    self.fields, self.offset
                ),
            })
            .await?;
        let users = answer["data"]["items"]
            .as_array()
            .ok_or_else(|| SyncError::Malformed {
                what: Side::Source,
                reason: "no data.items in the users answer".into(),
            })?;
        if users.len() < PAGE as usize {
            self.done = true;
        }
        self.offset += users.len() as u64;
        if users.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            users
                .iter()
                .map(|u| self.employee(u))
                .collect::<Result<_, _>>()?,
        ))
    }

    /// Reads every employee, handing each page to `take`.
    pub async fn each(
        &mut self,
        mut take: impl FnMut(Vec<MergeEmployee>),
    ) -> Result<(), SyncError> {
        while let Some(page) = self.next().await? {
            take(page);
        }
        Ok(())
    }

    /// One user as Merge's Employee model, with its raw record.
    fn employee(&self, raw: &Value) -> Result<MergeEmployee, SyncError> {
        let u = User::deserialize(raw).map_err(|e| SyncError::Malformed {
            what: Side::Source,
            reason: format!("a user Merge cannot read ({e}): {raw}"),
        })?;
        let today = self.setup.today;
        let start = date(u.dt_contract_start.as_ref());
        let end = date(u.dt_contract_end.as_ref());
        // No status when the answer holds no contract start at all: the
        // key does not read it.
        let status = match (start, end) {
            (None, _) if raw.get(users::CONTRACT_START.name).is_none() => Value::Null,
            (_, Some(e)) if e < today => json!(INACTIVE),
            (Some(s), _) if s > today => json!(PENDING),
            _ => json!(ACTIVE),
        };
        let first = u.first_name.as_deref().unwrap_or_default();
        let last = u.last_name.as_deref().unwrap_or_default();
        let full = format!("{first} {last}").trim().to_owned();
        let department = u.department.as_ref();
        let groups = department
            .and_then(|d| self.parents.get(&d.id?))
            .map(|chain| {
                let mut all = chain.clone();
                if let Some(n) = department.and_then(|d| d.name.clone()) {
                    all.push(n);
                }
                json!(all.join(" › "))
            })
            .unwrap_or(Value::Null);
        let hire = day(u.seniority_date.as_ref().or(u.dt_contract_start.as_ref()));
        let model = json!({
            "remote_id": u.id.to_string(),
            "employee_number": u.employee_number,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "display_full_name": if full.is_empty() { Value::Null } else { json!(full) },
            "work_email": u.mail,
            "personal_email": u.personal_email,
            "mobile_phone_number": u.personal_phone,
            "date_of_birth": day(u.birth_date.as_ref()),
            "hire_date": hire,
            "start_date": day(u.dt_contract_start.as_ref()),
            "termination_date": day(u.dt_contract_end.as_ref()),
            "employment_status": status,
            "employment_type": self.contracts.get(&u.id).map_or(Value::Null, |k| json!(k)),
            "job_title": u.job_title,
            "company": name(u.legal_entity.as_ref()),
            "work_location": name(u.legal_entity.as_ref()),
            "team": name(department),
            "groups": groups,
            "manager": name(u.manager.as_ref()),
        });
        Ok(MergeEmployee {
            id: u.id,
            name: full,
            model,
            raw: raw.clone(),
            modified_at: u.modified_at,
        })
    }
}

/// A personnel-file field as `/api/relais/fields` answers one.
#[derive(Debug, Deserialize)]
struct FieldInfo {
    /// Its path in a user record (`extendedData.e_shoeSize`).
    path: String,
    /// Its label.
    #[serde(default)]
    label: Option<String>,
    /// Its section, by name.
    #[serde(default)]
    section: Option<Link>,
    /// Whether the key reads it.
    #[serde(default)]
    readable: bool,
    /// The grant that would let the key read it, when it does not.
    #[serde(default)]
    grant: Option<String>,
}

/// The base's fields a mapping may point at: Merge's model, then every
/// personnel-file field (`/api/relais/fields`), each with whether the key
/// reads it and, if not, the grant to add.
pub async fn sources(setup: &Setup, lang: &str) -> Result<Vec<SourceField>, SyncError> {
    let mut answer = setup.source.get_in("/api/relais/fields", lang).await?;
    let Value::Array(items) = answer["data"]["items"].take() else {
        return Err(SyncError::Malformed {
            what: Side::Source,
            reason: "no data.items in the fields answer".into(),
        });
    };
    // What the key reads, and the grant to add for what it does not.
    let mut readable: HashMap<String, (bool, Option<String>)> = HashMap::new();
    let mut out = Vec::new();
    let mut raw = Vec::new();
    for item in lucca::typed::<FieldInfo>("field", items)? {
        readable.insert(item.path.clone(), (item.readable, item.grant.clone()));
        raw.push(SourceField {
            path: SourcePath::Raw(item.path.split('.').map(str::to_owned).collect()),
            label: format!(
                "{} ({})",
                item.label.as_deref().unwrap_or(&item.path),
                item.path
            ),
            group: item.section.and_then(|s| s.name).unwrap_or_default(),
            readable: item.readable,
            grant: item.grant,
        });
    }
    let model_group = if lang == "en" {
        "Merge employee model"
    } else {
        "Modèle Merge (Employee)"
    };
    for f in MODEL {
        let missing = f
            .needs
            .iter()
            .find(|n| readable.get(n.name).is_none_or(|(ok, _)| !ok));
        out.push(SourceField {
            path: SourcePath::Model(f.name.to_owned()),
            label: format!(
                "{} ({})",
                if lang == "en" { f.label_en } else { f.label_fr },
                f.name
            ),
            group: model_group.to_owned(),
            readable: missing.is_none(),
            grant: missing.map(|n| {
                readable
                    .get(n.name)
                    .and_then(|(_, g)| g.clone())
                    .unwrap_or_else(|| format!("the grant that reads {}", n.name))
            }),
        });
    }
    out.extend(raw);
    Ok(out)
}
