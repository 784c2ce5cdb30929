//! What an API key may see and do: its role, made of grants.
//!
//! Grants are written on the command line and stored as short codes:
//!
//! | code | permission as customers see it |
//! |---|---|
//! | `all` | everything (an administrator's own scripts) |
//! | `personnel-file` | « Consulter le dossier du personnel », all sections |
//! | `personnel-file:sections=standard+avantages` | … limited to those sections |
//! | `personnel-file:fields=firstName+lastName+mail` | … limited to those fields |
//! | `future-employees` | « Voir les futurs collaborateurs » |
//! | `former-employees` | « Voir les anciens collaborateurs » |
//! | `write-employees` | « Créer / modifier les utilisateurs » |
//! | `absences` | « Consulter les absences » |
//! | `absence-requests` / `absence-requests:accounts=4+7` | « Faire des demandes d'absence », optionally on chosen accounts |
//! | `expenses` | read expenses |
//! | `organisation` | read the organisation (establishments, departments) |
//! | `establishments=1+3` | limits everything to employees of those establishments |

use crate::absence::AbsenceCategory;
use crate::error::{DomainError, Result};
use crate::ids::{AbsenceAccountId, EstablishmentId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One permission of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "grant", rename_all = "kebab-case")]
pub enum Grant {
    /// Everything.
    All,
    /// Read employees' personnel files.
    PersonnelFile {
        /// Sections readable; `None` for all of them.
        sections: Option<Vec<String>>,
        /// Fields readable; `None` for every field of the readable sections.
        fields: Option<Vec<String>>,
    },
    /// See employees whose contract has not started.
    FutureEmployees,
    /// See employees whose contract has ended.
    FormerEmployees,
    /// Create and modify employees.
    WriteEmployees,
    /// Read absences.
    Absences,
    /// Create absence requests.
    AbsenceRequests {
        /// Accounts allowed; `None` for all (unless `categories` is set).
        accounts: Option<Vec<AbsenceAccountId>>,
        /// The categories of account allowed, as an app's manifest asks
        /// (`absence-requests:categories=telework`): a base's accounts of
        /// these categories once resolved ([`Role::resolved_for`]); until
        /// then, no account at all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        categories: Option<Vec<AbsenceCategory>>,
    },
    /// Read expenses.
    Expenses,
    /// Read the organisation.
    Organisation,
}

/// The kinds of permission a request may need, used to name what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// Read employees' personnel files.
    PersonnelFile,
    /// See future employees.
    FutureEmployees,
    /// See former employees.
    FormerEmployees,
    /// Create and modify employees.
    WriteEmployees,
    /// Read absences.
    Absences,
    /// Create absence requests.
    AbsenceRequests,
    /// Read expenses.
    Expenses,
    /// Read the organisation.
    Organisation,
}

impl Permission {
    /// The grant code that gives this permission.
    pub fn code(self) -> &'static str {
        match self {
            Permission::PersonnelFile => "personnel-file",
            Permission::FutureEmployees => "future-employees",
            Permission::FormerEmployees => "former-employees",
            Permission::WriteEmployees => "write-employees",
            Permission::Absences => "absences",
            Permission::AbsenceRequests => "absence-requests",
            Permission::Expenses => "expenses",
            Permission::Organisation => "organisation",
        }
    }

    /// How customers see it, in `lang` (`fr` or `en`; French otherwise).
    pub fn label(self, lang: &str) -> &'static str {
        let english = lang == "en";
        match self {
            Permission::PersonnelFile if english => "Read the personnel file",
            Permission::PersonnelFile => "Consulter le dossier du personnel",
            Permission::FutureEmployees if english => "See future employees",
            Permission::FutureEmployees => "Voir les futurs collaborateurs",
            Permission::FormerEmployees if english => "See former employees",
            Permission::FormerEmployees => "Voir les anciens collaborateurs",
            Permission::WriteEmployees if english => "Create / modify users",
            Permission::WriteEmployees => "Créer / modifier les utilisateurs",
            Permission::Absences if english => "Read absences",
            Permission::Absences => "Consulter les absences",
            Permission::AbsenceRequests if english => "Request absences",
            Permission::AbsenceRequests => "Faire des demandes d'absence",
            Permission::Expenses if english => "Read expense claims",
            Permission::Expenses => "Consulter les notes de frais",
            Permission::Organisation if english => "Read the organisation",
            Permission::Organisation => "Consulter l'organisation",
        }
    }
}

impl Grant {
    /// The permission this grant gives (`None` for `all`, which gives every one).
    pub fn permission(&self) -> Option<Permission> {
        Some(match self {
            Grant::All => return None,
            Grant::PersonnelFile { .. } => Permission::PersonnelFile,
            Grant::FutureEmployees => Permission::FutureEmployees,
            Grant::FormerEmployees => Permission::FormerEmployees,
            Grant::WriteEmployees => Permission::WriteEmployees,
            Grant::Absences => Permission::Absences,
            Grant::AbsenceRequests { .. } => Permission::AbsenceRequests,
            Grant::Expenses => Permission::Expenses,
            Grant::Organisation => Permission::Organisation,
        })
    }

    /// How customers see it, in `lang` (`fr` or `en`).
    pub fn label(&self, lang: &str) -> &'static str {
        match self.permission() {
            Some(p) => p.label(lang),
            None if lang == "en" => "Every permission",
            None => "Tous les droits",
        }
    }
}

/// One grant code as [`Role::parse`] reads it: a grant, or the
/// establishments a key is limited to (`establishments=ID+ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantCode {
    /// A grant.
    Grant(Grant),
    /// The establishments the key is limited to.
    Establishments(Vec<EstablishmentId>),
}

impl GrantCode {
    /// Reads one grant code (see the module documentation), saying what is
    /// wrong with it.
    pub fn parse(code: &str) -> Result<Self> {
        let code = code.trim();
        let (head, options) = code.split_once(':').unwrap_or((code, ""));
        let mut opts = options.split(':').filter(|o| !o.is_empty()).map(|o| {
            o.split_once('=').ok_or_else(|| {
                DomainError::new("grant", format!("'{o}' in '{code}' should read name=value"))
            })
        });
        let grant = match head {
            "all" => Grant::All,
            "personnel-file" => {
                let (mut sections, mut fields) = (None, None);
                for opt in opts.by_ref() {
                    match opt? {
                        ("sections", v) => sections = Some(list(v, "section", |s| Some(s.to_owned()))?),
                        ("fields", v) => fields = Some(list(v, "field", |s| Some(s.to_owned()))?),
                        (other, _) => return Err(DomainError::new("grant", format!("personnel-file takes sections= and fields=, not {other}="))),
                    }
                }
                Grant::PersonnelFile { sections, fields }
            }
            "future-employees" => Grant::FutureEmployees,
            "former-employees" => Grant::FormerEmployees,
            "write-employees" => Grant::WriteEmployees,
            "absences" => Grant::Absences,
            "absence-requests" => {
                let (mut accounts, mut categories) = (None, None);
                for opt in opts.by_ref() {
                    match opt? {
                        ("accounts", v) => accounts = Some(ids(v, "absence account")?.into_iter().map(AbsenceAccountId).collect()),
                        ("categories", v) => {
                            // Each category read by its own parser, which lists the valid ones.
                            let read = list(v, "absence category", |s| Some(s.to_owned()))?.into_iter().map(|c| {
                                c.parse::<AbsenceCategory>().map_err(|e| {
                                    DomainError::new("grant", format!("in '{code}': {}", e.message))
                                })
                            });
                            categories = Some(read.collect::<Result<Vec<_>>>()?);
                        }
                        (other, _) => return Err(DomainError::new("grant", format!("absence-requests takes accounts= or categories=, not {other}="))),
                    }
                }
                if accounts.is_some() && categories.is_some() {
                    return Err(DomainError::new("grant", "absence-requests takes accounts= or categories=, not both"));
                }
                Grant::AbsenceRequests { accounts, categories }
            }
            "expenses" => Grant::Expenses,
            "organisation" | "organization" => Grant::Organisation,
            _ if head.starts_with("establishments=") => {
                let v = &code["establishments=".len()..];
                return Ok(GrantCode::Establishments(ids(v, "establishment")?.into_iter().map(EstablishmentId).collect()));
            }
            other => {
                return Err(DomainError::new(
                    "grant",
                    format!("'{other}' is not a grant: use all, personnel-file, future-employees, former-employees, write-employees, absences, absence-requests, expenses, organisation or establishments=ID+ID"),
                ))
            }
        };
        if opts.next().is_some() {
            return Err(DomainError::new(
                "grant",
                format!("'{head}' takes no options"),
            ));
        }
        Ok(GrantCode::Grant(grant))
    }

    /// How customers see it, in `lang` (`fr` or `en`).
    pub fn label(&self, lang: &str) -> &'static str {
        match self {
            GrantCode::Grant(g) => g.label(lang),
            GrantCode::Establishments(_) if lang == "en" => "Limited to establishments",
            GrantCode::Establishments(_) => "Limitée aux établissements",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.label("fr"))
    }
}

/// The role of a key: its grants, and optionally the establishments it is limited to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Role {
    /// What the key may do.
    pub grants: Vec<Grant>,
    /// When set, the key only sees employees (and their absences and
    /// expenses) of these establishments.
    pub establishments: Option<Vec<EstablishmentId>>,
}

fn list<T>(raw: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>> {
    let items: Vec<&str> = raw
        .split('+')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err(DomainError::new(
            "grant",
            format!("the list of {what} is empty"),
        ));
    }
    items
        .into_iter()
        .map(|s| {
            parse(s).ok_or_else(|| {
                DomainError::new("grant", format!("'{s}' is not a valid {what} entry"))
            })
        })
        .collect()
}

fn ids(raw: &str, what: &str) -> Result<Vec<i64>> {
    list(raw, what, |s| s.parse::<i64>().ok().filter(|n| *n > 0))
}

impl Role {
    /// Builds a role from grant codes (see the module documentation).
    pub fn parse<S: AsRef<str>>(codes: &[S]) -> Result<Self> {
        let mut role = Role::default();
        for code in codes {
            match GrantCode::parse(code.as_ref())? {
                GrantCode::Grant(grant) => role.grants.push(grant),
                GrantCode::Establishments(ids) => role.establishments = Some(ids),
            }
        }
        if role.grants.is_empty() {
            return Err(DomainError::new("grant", "a key needs at least one grant"));
        }
        Ok(role)
    }

    /// This role on a base with these absence accounts: a grant of
    /// absence-request categories (as a manifest asks) becomes the base's
    /// active accounts of those categories; refused when it has none.
    pub fn resolved_for(mut self, accounts: &[crate::absence::AbsenceAccount]) -> Result<Self> {
        for grant in &mut self.grants {
            if let Grant::AbsenceRequests {
                accounts: allowed,
                categories: categories @ Some(_),
            } = grant
            {
                let wanted = categories.take().unwrap_or_default();
                let ids: Vec<AbsenceAccountId> = accounts
                    .iter()
                    .filter(|a| a.active && wanted.contains(&a.category))
                    .map(|a| a.id)
                    .collect();
                if ids.is_empty() {
                    let names: Vec<&str> = wanted.iter().map(|c| c.as_str()).collect();
                    return Err(DomainError::new(
                        "grants",
                        format!(
                            "this base has no active absence account of category {}, which the app writes to",
                            names.join("+")
                        ),
                    ));
                }
                *allowed = Some(ids);
            }
        }
        Ok(self)
    }

    /// The grant codes of this role, as [`Role::parse`] reads them.
    pub fn codes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .grants
            .iter()
            .map(|g| match g {
                Grant::All => "all".to_owned(),
                Grant::PersonnelFile { sections, fields } => {
                    let mut s = "personnel-file".to_owned();
                    if let Some(v) = sections {
                        s += &format!(":sections={}", v.join("+"));
                    }
                    if let Some(v) = fields {
                        s += &format!(":fields={}", v.join("+"));
                    }
                    s
                }
                Grant::FutureEmployees => "future-employees".into(),
                Grant::FormerEmployees => "former-employees".into(),
                Grant::WriteEmployees => "write-employees".into(),
                Grant::Absences => "absences".into(),
                Grant::AbsenceRequests {
                    categories: Some(c),
                    ..
                } => format!(
                    "absence-requests:categories={}",
                    c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("+")
                ),
                Grant::AbsenceRequests { accounts: None, .. } => "absence-requests".into(),
                Grant::AbsenceRequests {
                    accounts: Some(a), ..
                } => format!(
                    "absence-requests:accounts={}",
                    a.iter()
                        .map(|id| id.to_string())
                        .collect::<Vec<_>>()
                        .join("+")
                ),
                Grant::Expenses => "expenses".into(),
                Grant::Organisation => "organisation".into(),
            })
            .collect();
        if let Some(e) = &self.establishments {
            out.push(format!(
                "establishments={}",
                e.iter()
                    .map(|id| id.to_string())
                    .collect::<Vec<_>>()
                    .join("+")
            ));
        }
        out
    }

    fn is_all(&self) -> bool {
        self.grants.contains(&Grant::All)
    }

    /// Whether the role holds `permission`, in any form.
    pub fn has(&self, permission: Permission) -> bool {
        self.is_all()
            || self.grants.iter().any(|g| {
                matches!(
                    (g, permission),
                    (Grant::PersonnelFile { .. }, Permission::PersonnelFile)
                        | (Grant::FutureEmployees, Permission::FutureEmployees)
                        | (Grant::FormerEmployees, Permission::FormerEmployees)
                        | (Grant::WriteEmployees, Permission::WriteEmployees)
                        | (Grant::Absences, Permission::Absences)
                        | (Grant::AbsenceRequests { .. }, Permission::AbsenceRequests)
                        | (Grant::Expenses, Permission::Expenses)
                        | (Grant::Organisation, Permission::Organisation)
                )
            })
    }

    /// Fails with the missing permission unless the role holds it.
    pub fn require(&self, permission: Permission) -> std::result::Result<(), Permission> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(permission)
        }
    }

    /// Whether a field of the catalogue may be read, as its declaration says
    /// ([`crate::fields::ReadBy`]): an employee's record metadata with any
    /// personnel-file grant, a section's field as the grant reaches it;
    /// another resource's fields with the resource.
    pub fn may_read(&self, field: &crate::fields::Field) -> bool {
        use crate::fields::{ReadBy, Resource};
        match (field.read_by, field.resource) {
            (ReadBy::Record, Resource::Users) => self.has(Permission::PersonnelFile),
            (ReadBy::Record, _) => true,
            (ReadBy::Section(section), _) => self.may_read_field(section, field.name),
        }
    }

    /// Whether an employee field, in personnel-file `section`, may be read
    /// (a custom field, or a standard one by name: see [`Role::may_read`]).
    pub fn may_read_field(&self, section: &str, field: &str) -> bool {
        if self.is_all() {
            return true;
        }
        if section == crate::fields::STANDARD_SECTION {
            if let Some(standard) = crate::fields::standard(field) {
                if standard.read_by == crate::fields::ReadBy::Record {
                    return self.has(Permission::PersonnelFile);
                }
            }
        }
        self.grants.iter().any(|g| match g {
            Grant::PersonnelFile { sections, fields } => {
                let section_ok = sections
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|x| x == section));
                let field_ok = fields.as_ref().is_none_or(|f| f.iter().any(|x| x == field));
                match (sections, fields) {
                    // Listing fields alone grants them wherever they live.
                    (None, Some(_)) => field_ok,
                    _ => section_ok && field_ok,
                }
            }
            _ => false,
        })
    }

    /// Whether leave may be requested on `account`.
    pub fn may_request_on(&self, account: AbsenceAccountId) -> bool {
        self.is_all()
            || self.grants.iter().any(|g| match g {
                // Categories not yet resolved to accounts allow none.
                Grant::AbsenceRequests {
                    categories: Some(_),
                    ..
                } => false,
                Grant::AbsenceRequests { accounts, .. } => {
                    accounts.as_ref().is_none_or(|a| a.contains(&account))
                }
                _ => false,
            })
    }

    /// Whether employees of `establishment` are within the key's reach.
    pub fn covers_establishment(&self, establishment: EstablishmentId) -> bool {
        self.establishments
            .as_ref()
            .is_none_or(|e| e.contains(&establishment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::absence::{AbsenceAccount, AbsenceUnit};

    fn account(id: i64, category: AbsenceCategory, active: bool) -> AbsenceAccount {
        AbsenceAccount {
            base_id: crate::ids::BaseId(1),
            id: AbsenceAccountId(id),
            name: crate::org::Name::parse("name", category.as_str()).unwrap(),
            category,
            unit: AbsenceUnit::Days,
            active,
            created_at: crate::now(),
            modified_at: crate::now(),
        }
    }

    #[test]
    fn absence_request_categories_are_read_then_resolved_to_a_base_accounts() {
        let telework = AbsenceCategory::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == "telework")
            .expect("a telework category");
        let other = AbsenceCategory::ALL
            .iter()
            .copied()
            .find(|c| *c != telework)
            .unwrap();
        let role = Role::parse(&["absence-requests:categories=telework", "absences"]).unwrap();
        assert_eq!(
            role.codes(),
            ["absence-requests:categories=telework", "absences"]
        );
        // Unresolved, the categories allow no account at all.
        assert!(role.has(Permission::AbsenceRequests));
        assert!(!role.may_request_on(AbsenceAccountId(1)));
        let accounts = [
            account(1, telework, true),
            account(2, telework, false),
            account(3, other, true),
            account(4, telework, true),
        ];
        let resolved = role.clone().resolved_for(&accounts).unwrap();
        assert_eq!(
            resolved.codes(),
            ["absence-requests:accounts=1+4", "absences"]
        );
        assert!(resolved.may_request_on(AbsenceAccountId(4)));
        assert!(!resolved.may_request_on(AbsenceAccountId(2)), "inactive");
        assert!(
            !resolved.may_request_on(AbsenceAccountId(3)),
            "another category"
        );
        let none = role.resolved_for(&[account(3, other, true)]).unwrap_err();
        assert!(
            none.message
                .contains("no active absence account of category telework"),
            "{}",
            none.message
        );
        let unknown = Role::parse(&["absence-requests:categories=holidays-on-mars"]).unwrap_err();
        assert!(
            unknown.message.contains("holidays-on-mars") && unknown.message.contains("telework"),
            "names the wrong one and the valid ones: {}",
            unknown.message
        );
        for bad in [
            "absence-requests:categories=holidays-on-mars",
            "absence-requests:categories=telework:accounts=1",
            "absence-requests:colours=red",
        ] {
            assert!(Role::parse(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn grants_say_their_label_in_both_languages() {
        let codes = [
            "all",
            "personnel-file:fields=firstName",
            "future-employees",
            "former-employees",
            "write-employees",
            "absences",
            "absence-requests:categories=telework",
            "expenses",
            "organisation",
            "establishments=2",
        ];
        let mut french = std::collections::BTreeSet::new();
        for code in codes {
            let g = GrantCode::parse(code).unwrap();
            let (fr, en) = (g.label("fr"), g.label("en"));
            assert_ne!(fr, en, "{code}");
            assert!(french.insert(fr), "{code}: a label of its own");
        }
        assert_eq!(
            GrantCode::parse("absences").unwrap().label("fr"),
            Permission::Absences.label("fr")
        );
        assert!(GrantCode::parse("colouring").is_err());
    }

    #[test]
    fn codes_round_trip() {
        let codes = [
            "personnel-file:sections=standard+avantages:fields=firstName+mail",
            "future-employees",
            "absence-requests:accounts=4+7",
            "organisation",
            "establishments=1+3",
        ];
        let role = Role::parse(&codes).unwrap();
        assert_eq!(role.codes(), codes);
        assert_eq!(Role::parse(&role.codes()).unwrap(), role);
    }

    #[test]
    fn bad_codes_are_named() {
        assert!(Role::parse(&["reed"])
            .unwrap_err()
            .message
            .contains("'reed' is not a grant"));
        assert!(Role::parse(&["absence-requests:accounts=x"])
            .unwrap_err()
            .message
            .contains("'x'"));
        assert!(Role::parse(&["personnel-file:colour=red"]).is_err());
        assert!(Role::parse(&["expenses:foo=1"]).is_err());
        assert!(Role::parse::<&str>(&[])
            .unwrap_err()
            .message
            .contains("at least one grant"));
    }

    #[test]
    fn field_rules() {
        let happypal = Role::parse(&[
            "personnel-file:fields=firstName+lastName+mail+birthDate+dtContractStart+dtContractEnd",
        ])
        .unwrap();
        assert!(happypal.may_read_field("standard", "firstName"));
        assert!(happypal.may_read_field("standard", "id"));
        assert!(!happypal.may_read_field("standard", "jobTitle"));
        assert!(!happypal.may_read_field("medical", "e_bloodType"));
        let sections = Role::parse(&["personnel-file:sections=standard"]).unwrap();
        assert!(sections.may_read_field("standard", "jobTitle"));
        assert!(!sections.may_read_field("medical", "e_bloodType"));
        let all = Role::parse(&["all"]).unwrap();
        assert!(all.may_read_field("medical", "e_bloodType") && all.has(Permission::Expenses));
        let none = Role::parse(&["expenses"]).unwrap();
        assert!(!none.may_read_field("standard", "id"));
        assert_eq!(
            none.require(Permission::Absences),
            Err(Permission::Absences)
        );
    }

    #[test]
    fn account_and_establishment_limits() {
        let semana = Role::parse(&["absence-requests:accounts=4", "establishments=2"]).unwrap();
        assert!(semana.may_request_on(AbsenceAccountId(4)));
        assert!(!semana.may_request_on(AbsenceAccountId(1)));
        assert!(semana.covers_establishment(EstablishmentId(2)));
        assert!(!semana.covers_establishment(EstablishmentId(1)));
        assert!(Role::parse(&["absences"])
            .unwrap()
            .covers_establishment(EstablishmentId(9)));
    }
}

/// Who uses a key: the company itself, or a third-party publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyUsage {
    /// The company's own scripts and tools.
    Internal,
    /// A partner's integration.
    ThirdParty,
}

impl KeyUsage {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyUsage::Internal => "internal",
            KeyUsage::ThirdParty => "third-party",
        }
    }
}

impl std::str::FromStr for KeyUsage {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "internal" => Ok(KeyUsage::Internal),
            "third-party" => Ok(KeyUsage::ThirdParty),
            other => Err(DomainError::new(
                "usage",
                format!("'{other}' is not a key usage: use internal or third-party"),
            )),
        }
    }
}

/// An API key as stored: its secret is kept only as a hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKey {
    /// Its identifier (global).
    pub id: crate::ids::KeyId,
    /// The base it opens.
    pub base_id: crate::ids::BaseId,
    /// The public part of the key, used to find it.
    pub prefix: String,
    /// SHA-256 of the secret part, hex.
    #[serde(skip)]
    pub secret_hash: String,
    /// What the key is for, e.g. the app it was installed for.
    pub name: crate::org::Name,
    /// The technical contact.
    pub contact: crate::employee::Email,
    /// Internal or third-party.
    pub usage: KeyUsage,
    /// What it may see and do.
    pub role: Role,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was last used.
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was revoked; a revoked key opens nothing.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// SHA-256 of the secret it had before its last rotation, hex.
    #[serde(skip)]
    pub previous_secret_hash: Option<String>,
    /// Until when that previous secret still opens the key.
    pub previous_valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// One authenticated API request, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// The base.
    pub base_id: crate::ids::BaseId,
    /// The key used.
    pub key_id: crate::ids::KeyId,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// HTTP status answered.
    pub status: u16,
    /// Employee records returned (personal data disclosed).
    pub employee_records: i64,
    /// Records of any resource returned (a list's items, 1 for one record).
    pub records: i64,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
}
