//! The Lucca field catalogue: every field of the API's resources that a
//! key selects, filters or sorts on, declared once — its name in the API,
//! its resource, its type, who may read it, whether it filters and sorts,
//! the name the change log (`/api/v3/userlogs`) gives it, and its labels.
//!
//! The API selects, filters and sorts from it; `/api/v3/userlogs`, the
//! OpenAPI document, `/api/relais/fields`, the admin pages' labels and the
//! connectors' reading client read it. Only the store knows where a field
//! is kept (`relais_store::fields`).

/// An API resource whose fields the catalogue declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `/api/v3/users`: employees and their personnel file.
    Users,
    /// `/api/v3/userlogs`: changes of employee fields.
    UserLogs,
    /// `/api/v3/departments`.
    Departments,
    /// `/api/v3/legalentities` and the v4 establishments.
    Establishments,
    /// The v4 legal units.
    LegalUnits,
    /// The v4 work contracts.
    WorkContracts,
    /// `/api/v3/leaveAccounts`.
    LeaveAccounts,
    /// `/api/v3/leaves`: half-days of leave.
    Leaves,
    /// `/api/v3/leaveRequests`: leave periods.
    LeaveRequests,
    /// `/api/v3/expenseClaims`.
    ExpenseClaims,
    /// `/api/v3/expenseClaimItems`.
    ExpenseItems,
    /// `/api/v3/expenseNatures` and `/api/expenseNatures`.
    ExpenseNatures,
}

impl Resource {
    /// Every resource of the catalogue.
    pub const ALL: [Resource; 12] = [
        Resource::Users,
        Resource::UserLogs,
        Resource::Departments,
        Resource::Establishments,
        Resource::LegalUnits,
        Resource::WorkContracts,
        Resource::LeaveAccounts,
        Resource::Leaves,
        Resource::LeaveRequests,
        Resource::ExpenseClaims,
        Resource::ExpenseItems,
        Resource::ExpenseNatures,
    ];

    /// The resource's fields, in the API's order.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Resource::Users => users::FIELDS,
            Resource::UserLogs => userlogs::FIELDS,
            Resource::Departments => departments::FIELDS,
            Resource::Establishments => establishments::FIELDS,
            Resource::LegalUnits => legal_units::FIELDS,
            Resource::WorkContracts => work_contracts::FIELDS,
            Resource::LeaveAccounts => leave_accounts::FIELDS,
            Resource::Leaves => leaves::FIELDS,
            Resource::LeaveRequests => leave_requests::FIELDS,
            Resource::ExpenseClaims => expense_claims::FIELDS,
            Resource::ExpenseItems => expense_items::FIELDS,
            Resource::ExpenseNatures => expense_natures::FIELDS,
        }
    }

    /// The field `name`, whatever the case it is asked in (the API matches
    /// names so); it keeps Lucca's spelling.
    pub fn field(self, name: &str) -> Option<&'static Field> {
        // Most names come in Lucca's spelling: looked for as they are
        // first, they are found without folding every name's case.
        let fields = self.fields();
        fields
            .iter()
            .find(|f| f.name == name)
            .or_else(|| fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)))
    }

    /// The fields a list of this resource filters on.
    pub fn filters(self) -> impl Iterator<Item = &'static Field> {
        self.fields().iter().filter(|f| f.filter)
    }

    /// The fields a list of this resource sorts on.
    pub fn sort_keys(self) -> impl Iterator<Item = &'static Field> {
        self.fields().iter().filter(|f| f.sort)
    }
}

/// What a field holds, as the API writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A whole number (an identifier, a position).
    Int,
    /// A text.
    Text,
    /// A date `YYYY-MM-DD`.
    Date,
    /// A date-time; filtered without an offset, it is the base's local time.
    DateTime,
    /// `true` or `false`.
    Bool,
    /// A linked record: `{id, name, url}`.
    Link,
    /// An object of its own shape.
    Object,
    /// A list.
    List,
}

impl FieldType {
    /// Whether values of this type compare, so that the field may filter
    /// and sort (a linked record or an object does not).
    pub fn compares(self) -> bool {
        matches!(
            self,
            FieldType::Int
                | FieldType::Text
                | FieldType::Date
                | FieldType::DateTime
                | FieldType::Bool
        )
    }

    /// The JSON Schema of a value of this type.
    pub fn json_schema(self) -> serde_json::Value {
        use serde_json::json;
        match self {
            FieldType::Int => json!({ "type": "integer" }),
            FieldType::Text => json!({ "type": "string" }),
            FieldType::Date => json!({ "type": "string", "format": "date" }),
            FieldType::DateTime => json!({ "type": "string", "format": "date-time" }),
            FieldType::Bool => json!({ "type": "boolean" }),
            FieldType::Link => json!({ "type": "object", "properties": {
                "id": { "type": "integer" },
                "name": { "type": "string", "nullable": true },
                "url": { "type": "string" },
            } }),
            FieldType::Object => json!({ "type": "object" }),
            FieldType::List => json!({ "type": "array" }),
        }
    }
}

/// Who may read a field, beyond the grant that reads its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBy {
    /// Whoever reads the resource: identifiers and record metadata, so
    /// that any integration can read incrementally.
    Record,
    /// Only a key whose personnel-file grant reaches this section of the
    /// personnel file and the field (`personnel-file:sections=…:fields=…`).
    Section(&'static str),
}

/// One field of the catalogue.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The resource it belongs to.
    pub resource: Resource,
    /// Its name in the API (`dtContractStart`, `leavePeriod.ownerId`).
    pub name: &'static str,
    /// What it holds.
    pub ty: FieldType,
    /// Who may read it.
    pub read_by: ReadBy,
    /// Whether a list filters on it (`?name=…`, `?name=since,…`).
    pub filter: bool,
    /// Whether a list sorts on it (`?orderBy=name,asc`).
    pub sort: bool,
    /// Its name in the change log (`/api/v3/userlogs`), for the fields
    /// whose changes are logged.
    pub logged: Option<&'static str>,
    /// What it is, in French.
    pub label_fr: &'static str,
    /// What it is, in English.
    pub label_en: &'static str,
}

impl std::fmt::Debug for Field {
    /// `Users.dtContractStart`: short, as lists' walks are remembered by
    /// their conditions' text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}.{}", self.resource, self.name)
    }
}

impl Field {
    /// The label in `lang` (`en`, else French).
    pub fn label(&self, lang: &str) -> &'static str {
        if lang == "en" {
            self.label_en
        } else {
            self.label_fr
        }
    }

    /// What a person calls the field: a reference (`departmentId`,
    /// « Identifiant du service ») by the record it names (`department`,
    /// « Service ») when its resource has that link; else the field itself.
    pub fn as_named(&self) -> Field {
        self.name
            .strip_suffix("Id")
            .and_then(|n| self.resource.field(n))
            .filter(|f| f.ty == FieldType::Link)
            .copied()
            .unwrap_or(*self)
    }

    /// The same field, filtering and sorting.
    const fn listed(self) -> Self {
        Self {
            filter: true,
            sort: true,
            ..self
        }
    }
}

/// The code of the personnel file's standard section ("Données Lucca").
pub const STANDARD_SECTION: &str = "standard";

/// A field of `resource`, neither filtering nor sorting; an employee's is
/// in the standard section, any other's is read with its resource.
const fn field(
    resource: Resource,
    name: &'static str,
    ty: FieldType,
    label_fr: &'static str,
    label_en: &'static str,
) -> Field {
    Field {
        resource,
        name,
        ty,
        read_by: match resource {
            Resource::Users => ReadBy::Section(STANDARD_SECTION),
            _ => ReadBy::Record,
        },
        filter: false,
        sort: false,
        logged: None,
        label_fr,
        label_en,
    }
}

/// A field of `/api/v3/users`, every attribute written out, so that the
/// employees' table reads as one: whether lists filter and sort on it
/// ([`LISTED`] or [`UNLISTED`]), who reads it ([`RECORD`], whoever reads
/// employees, or [`SECTION`], a key reaching the standard section), and
/// its name in the change log (`""` when its changes are not logged).
#[allow(clippy::too_many_arguments)]
const fn employee(
    name: &'static str,
    ty: FieldType,
    listed: bool,
    read_by: ReadBy,
    logged: &'static str,
    label_fr: &'static str,
    label_en: &'static str,
) -> Field {
    Field {
        resource: Resource::Users,
        name,
        ty,
        read_by,
        filter: listed,
        sort: listed,
        logged: if logged.is_empty() {
            None
        } else {
            Some(logged)
        },
        label_fr,
        label_en,
    }
}

/// An employee field lists filter and sort on (see [`employee`]).
const LISTED: bool = true;
/// An employee field lists neither filter nor sort on.
const UNLISTED: bool = false;
/// An employee field whoever reads employees reads (identifiers and record
/// metadata).
const RECORD: ReadBy = ReadBy::Record;
/// An employee field of the standard section of the personnel file.
const SECTION: ReadBy = ReadBy::Section(STANDARD_SECTION);

/// A resource's `id`, filtering and sorting.
const fn id(resource: Resource) -> Field {
    field(resource, "id", FieldType::Int, "Identifiant", "Identifier").listed()
}

/// A resource's `name`, filtering and sorting.
const fn name(resource: Resource) -> Field {
    field(resource, "name", FieldType::Text, "Nom", "Name").listed()
}

/// A resource's `code`, filtering and sorting.
const fn code(resource: Resource) -> Field {
    field(resource, "code", FieldType::Text, "Code", "Code").listed()
}

/// Whether a record is in use (`isActive`), filtering and sorting.
const fn active(resource: Resource) -> Field {
    field(resource, "isActive", FieldType::Bool, "Actif", "Active").listed()
}

/// A resource's last modification instant, under the name it gives it.
const fn modified(resource: Resource, name: &'static str) -> Field {
    field(
        resource,
        name,
        FieldType::DateTime,
        "Dernière modification",
        "Last modified",
    )
    .listed()
}

/// A resource's creation instant, under the name it gives it.
const fn created(resource: Resource, name: &'static str) -> Field {
    field(resource, name, FieldType::DateTime, "Création", "Created").listed()
}

/// The employee a record belongs to, under the name the resource gives it.
const fn owner(resource: Resource, name: &'static str) -> Field {
    field(resource, name, FieldType::Int, "Collaborateur", "Employee").listed()
}

/// The department of the employee a record belongs to.
const fn owner_department(resource: Resource, name: &'static str) -> Field {
    field(
        resource,
        name,
        FieldType::Int,
        "Service du collaborateur",
        "Employee's department",
    )
    .listed()
}

/// The establishment of the employee a record belongs to.
const fn owner_establishment(resource: Resource, name: &'static str) -> Field {
    field(
        resource,
        name,
        FieldType::Int,
        "Établissement du collaborateur",
        "Employee's establishment",
    )
    .listed()
}

/// The absence account a leave counts on.
const fn leave_account(resource: Resource, name: &'static str) -> Field {
    field(
        resource,
        name,
        FieldType::Int,
        "Compte d'absence",
        "Absence account",
    )
    .listed()
}

/// Declares the field lists of the catalogue's resources: for each, a module named after it, holding the fields other code names
/// (`OWNER_ID = …;`) and `FIELDS`, every field in the API's order, where
/// `R` stands for the resource.
macro_rules! resource_fields {
    ($(
        $(#[$doc:meta])*
        $module:ident for $resource:ident {
            $($(#[$named_doc:meta])* $named:ident = $named_field:expr;)*
        } [$($field:expr),* $(,)?]
    )*) => {$(
        $(#[$doc])*
        pub mod $module {
            #[allow(unused_imports)]
            use super::{FieldType::*, Resource::$resource as R, *};

            $($(#[$named_doc])* pub const $named: Field = $named_field;)*

            /// Every such field, in the API's order.
            pub const FIELDS: &[Field] = &[$($field),*];
        }
    )*};
}

resource_fields! {
    /// The fields of `/api/v3/users`: the personnel file's standard section.
    users for Users {
        /// `id`.
        ID = employee("id", Int, LISTED, RECORD, "", "Identifiant", "Identifier");
        /// `name`: the full name (sorts and filters on the last name).
        NAME = employee("name", Text, LISTED, SECTION, "", "Nom complet", "Full name");
        /// `url`.
        URL = employee("url", Text, UNLISTED, RECORD, "", "Adresse de la fiche", "Record URL");
        /// `displayName`.
        DISPLAY_NAME = employee("displayName", Text, UNLISTED, SECTION, "", "Nom affiché", "Display name");
        /// `modifiedAt`.
        MODIFIED_AT = employee("modifiedAt", DateTime, LISTED, RECORD, "", "Dernière modification", "Last modified");
        /// `lastName`.
        LAST_NAME = employee("lastName", Text, LISTED, SECTION, "lastname", "Nom", "Last name");
        /// `firstName`.
        FIRST_NAME = employee("firstName", Text, LISTED, SECTION, "firstname", "Prénom", "First name");
        /// `login`.
        LOGIN = employee("login", Text, LISTED, SECTION, "login", "Identifiant de connexion", "Login");
        /// `mail`: the work e-mail.
        MAIL = employee("mail", Text, LISTED, SECTION, "mail", "E-mail professionnel", "Work e-mail");
        /// `dtContractStart`.
        CONTRACT_START = employee("dtContractStart", Date, LISTED, SECTION, "dtcontractstart", "Début du contrat", "Contract start");
        /// `dtContractEnd`.
        CONTRACT_END = employee("dtContractEnd", Date, LISTED, SECTION, "dtcontractend", "Fin du contrat", "Contract end");
        /// `birthDate`.
        BIRTH_DATE = employee("birthDate", Date, LISTED, SECTION, "birthdate", "Date de naissance", "Birth date");
        /// `employeeNumber`.
        EMPLOYEE_NUMBER = employee("employeeNumber", Text, LISTED, SECTION, "employeenumber", "Matricule", "Employee number");
        /// `jobTitle`.
        JOB_TITLE = employee("jobTitle", Text, LISTED, SECTION, "jobtitle", "Intitulé de poste", "Job title");
        /// `civilTitle`.
        CIVIL_TITLE = employee("civilTitle", Text, UNLISTED, SECTION, "", "Civilité", "Civil title");
        /// `gender`.
        GENDER = employee("gender", Text, UNLISTED, SECTION, "", "Genre", "Gender");
        /// `nationality`.
        NATIONALITY = employee("nationality", Text, UNLISTED, SECTION, "", "Nationalité", "Nationality");
        /// `seniorityDate`.
        SENIORITY_DATE = employee("seniorityDate", Date, UNLISTED, SECTION, "", "Date d'ancienneté", "Seniority date");
        /// `externalId`.
        EXTERNAL_ID = employee("externalId", Text, UNLISTED, SECTION, "", "Identifiant externe", "External identifier");
        /// `csp`: the socio-professional category.
        CSP = employee("csp", Object, UNLISTED, SECTION, "", "Catégorie socio-professionnelle", "Socio-professional category");
        /// `cspId`.
        CSP_ID = employee("cspId", Int, UNLISTED, SECTION, "cspid", "Identifiant de la CSP", "Category identifier");
        /// `culture`.
        CULTURE = employee("culture", Object, UNLISTED, SECTION, "", "Langue", "Language");
        /// `picture`.
        PICTURE = employee("picture", Object, UNLISTED, SECTION, "", "Photo", "Picture");
        /// `legalEntityId`: the establishment.
        ESTABLISHMENT_ID = employee("legalEntityId", Int, LISTED, SECTION, "legalentityid", "Identifiant de l'établissement", "Establishment identifier");
        /// `legalEntity`.
        ESTABLISHMENT = employee("legalEntity", Link, UNLISTED, SECTION, "", "Établissement", "Establishment");
        /// `departmentId`.
        DEPARTMENT_ID = employee("departmentId", Int, LISTED, SECTION, "departmentid", "Identifiant du service", "Department identifier");
        /// `department`.
        DEPARTMENT = employee("department", Link, UNLISTED, SECTION, "", "Service", "Department");
        /// `managerId`.
        MANAGER_ID = employee("managerId", Int, LISTED, SECTION, "manager", "Identifiant du manager", "Manager identifier");
        /// `manager`.
        MANAGER = employee("manager", Link, UNLISTED, SECTION, "", "Manager", "Manager");
        /// `calendar`.
        CALENDAR = employee("calendar", Object, UNLISTED, SECTION, "", "Calendrier", "Calendar");
        /// `userWorkCycles`.
        WORK_CYCLES = employee("userWorkCycles", List, UNLISTED, SECTION, "", "Cycles de travail", "Work cycles");
        /// `userAxisValues`.
        AXIS_VALUES = employee("userAxisValues", List, UNLISTED, SECTION, "", "Axes analytiques", "Analytics axes");
        /// `applicationData`.
        APPLICATION_DATA = employee("applicationData", Object, UNLISTED, SECTION, "", "Données des applications", "Application data");
        /// `profession`.
        PROFESSION = employee("profession", Text, UNLISTED, SECTION, "profession", "Métier", "Profession");
        /// `personalEmail`.
        PERSONAL_EMAIL = employee("personalEmail", Text, UNLISTED, SECTION, "", "E-mail personnel", "Personal e-mail");
        /// `personalPhone`.
        PERSONAL_PHONE = employee("personalPhone", Text, UNLISTED, SECTION, "", "Téléphone personnel", "Personal phone");
        /// `professionalPhone`.
        PROFESSIONAL_PHONE = employee("professionalPhone", Text, UNLISTED, SECTION, "", "Téléphone professionnel", "Work phone");
        /// `address`.
        ADDRESS = employee("address", Object, UNLISTED, SECTION, "", "Adresse", "Address");
    } [
        ID, NAME, URL, DISPLAY_NAME, MODIFIED_AT, LAST_NAME, FIRST_NAME, LOGIN, MAIL,
        CONTRACT_START, CONTRACT_END, BIRTH_DATE, EMPLOYEE_NUMBER, JOB_TITLE, CIVIL_TITLE, GENDER,
        NATIONALITY, SENIORITY_DATE, EXTERNAL_ID, CSP, CSP_ID, CULTURE, PICTURE, ESTABLISHMENT_ID,
        ESTABLISHMENT, DEPARTMENT_ID, DEPARTMENT, MANAGER_ID, MANAGER, CALENDAR, WORK_CYCLES,
        AXIS_VALUES, APPLICATION_DATA, PROFESSION, PERSONAL_EMAIL, PERSONAL_PHONE,
        PROFESSIONAL_PHONE, ADDRESS,
    ]

    /// The fields of `/api/v3/userlogs`.
    userlogs for UserLogs {
        /// `id`.
        ID = field(R, "id", Int, "Identifiant", "Identifier").listed();
        /// `ownerId`: the employee changed.
        OWNER_ID = owner(R, "ownerId");
        /// `owner`.
        OWNER = field(R, "owner", Link, "Collaborateur", "Employee");
        /// `author`: who made the change.
        AUTHOR = field(R, "author", Object, "Auteur", "Author");
        /// `modifiedAt`.
        MODIFIED_AT = field(R, "modifiedAt", DateTime, "Date", "Date").listed();
        /// `modificationSource`: through what.
        SOURCE = field(R, "modificationSource", Text, "Source", "Source").listed();
        /// `entryType`.
        ENTRY_TYPE = field(R, "entryType", Text, "Type d'entrée", "Entry type").listed();
        /// `name`: the field changed, as the log names it (chosen with the
        /// option `name=`, not filtered).
        NAME = field(R, "name", Text, "Champ", "Field");
        /// `value`: its new value.
        VALUE = field(R, "value", Text, "Valeur", "Value");
    } [
        ID, OWNER_ID, OWNER, AUTHOR, MODIFIED_AT, SOURCE, ENTRY_TYPE, NAME, VALUE,
    ]

    /// The fields `/api/v3/departments` filters and sorts on.
    departments for Departments {} [
        id(R),
        field(R, "parentId", Int, "Service parent", "Parent department").listed(),
        code(R),
        name(R),
        active(R),
        field(R, "headID", Int, "Responsable", "Head").listed(),
        field(R, "position", Int, "Position", "Position").listed(),
    ]

    /// The fields the establishment lists filter and sort on.
    establishments for Establishments {} [
        id(R), name(R),
        code(R),
        field(R, "legalUnitId", Int, "Entité juridique", "Legal unit").listed(),
        field(R, "isArchived", Bool, "Archivé", "Archived").listed(),
    ]

    /// The fields the legal-unit list filters and sorts on.
    legal_units for LegalUnits {} [id(R), name(R)]

    /// The fields the work-contract list filters and sorts on.
    work_contracts for WorkContracts {} [
        owner(R, "ownerId"),
        field(R, "establishmentId", Int, "Établissement", "Establishment").listed(),
        field(R, "startsOn", Date, "Début", "Start").listed(),
        field(R, "endsOn", Date, "Fin", "End").listed(),
    ]

    /// The fields the absence-account list filters and sorts on.
    leave_accounts for LeaveAccounts {} [
        id(R), name(R),
        active(R),
    ]

    /// The fields `/api/v3/leaves` filters and sorts on.
    leaves for Leaves {
        /// `leavePeriod.ownerId`.
        OWNER_ID = owner(R, "leavePeriod.ownerId");
    } [
        OWNER_ID,
        owner_department(R, "leavePeriod.owner.departmentId"),
        owner_establishment(R, "leavePeriod.owner.legalEntityId"),
        leave_account(R, "leaveAccountId"),
        field(R, "leavePeriodId", Int, "Demande d'absence", "Leave request").listed(),
        modified(R, "modifiedAt"),
    ]

    /// The fields `/api/v3/leaveRequests` filters and sorts on.
    leave_requests for LeaveRequests {
        /// `id`.
        ID = id(R);
        /// `ownerId`.
        OWNER_ID = owner(R, "ownerId");
        /// `startDate`.
        START_DATE = field(R, "startDate", Date, "Début", "Start").listed();
        /// `endDate`.
        END_DATE = field(R, "endDate", Date, "Fin", "End").listed();
        /// `status`, written as its code (0 pending, 2 approved, 3 denied,
        /// 4 cancelled): chosen with the option `status=`, not filtered.
        STATUS = field(R, "status", Int, "Statut", "Status");
    } [
        ID,
        OWNER_ID,
        owner_department(R, "owner.departmentId"),
        owner_establishment(R, "owner.legalEntityId"),
        leave_account(R, "leaveAccountId"),
        START_DATE,
        END_DATE,
        STATUS,
        created(R, "creationDate"),
        modified(R, "modifiedAt"),
    ]

    /// The fields `/api/v3/expenseClaims` filters and sorts on.
    expense_claims for ExpenseClaims {
        /// `ownerId`.
        OWNER_ID = owner(R, "ownerId");
    } [
        id(R),
        OWNER_ID,
        field(R, "statusId", Int, "Statut", "Status").listed(),
        field(R, "declaredOn", Date, "Déclarée le", "Declared on").listed(),
        created(R, "createdOn"),
        modified(R, "modifiedOn"),
        owner_establishment(R, "legalEntityId"),
        owner_department(R, "departmentId"),
    ]

    /// The fields `/api/v3/expenseClaimItems` filters and sorts on.
    expense_items for ExpenseItems {} [
        id(R),
        field(R, "expenseClaimId", Int, "Note de frais", "Expense claim").listed(),
        owner(R, "ownerId"),
        field(R, "expenseNatureId", Int, "Nature", "Nature").listed(),
        field(R, "purchasedOn", Date, "Date d'achat", "Purchased on").listed(),
        created(R, "createdOn"),
        modified(R, "modifiedOn"),
    ]

    /// The fields the expense-nature lists filter and sort on.
    expense_natures for ExpenseNatures {} [
        id(R), name(R),
        field(R, "isEnabled", Bool, "Active", "Enabled").listed(),
    ]
}

/// Every field of the standard section, in the API's order.
pub const STANDARD: &[Field] = users::FIELDS;

/// The standard field `name`, as Lucca spells it.
pub fn standard(name: &str) -> Option<&'static Field> {
    STANDARD.iter().find(|f| f.name == name)
}

/// The names of the standard fields, in the API's order.
pub fn standard_names() -> Vec<&'static str> {
    STANDARD.iter().map(|f| f.name).collect()
}

/// The grant that reads `section` (`« Consulter le dossier du personnel »,
/// section « Suivi médical » (personnel-file:sections=…+medical)`), in words
/// and as the code to give the key.
pub fn grant_for_section(section_code: &str, section_name: &str) -> String {
    format!(
        "« Consulter le dossier du personnel », section « {section_name} » (personnel-file:sections=…+{section_code})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_named_by_what_it_names() {
        assert_eq!(users::DEPARTMENT_ID.as_named(), users::DEPARTMENT);
        assert_eq!(users::MANAGER_ID.as_named(), users::MANAGER);
        assert_eq!(users::ESTABLISHMENT_ID.as_named(), users::ESTABLISHMENT);
        assert_eq!(users::DEPARTMENT_ID.as_named().label("fr"), "Service");
        // No link beside it: the field itself.
        assert_eq!(users::MAIL.as_named(), users::MAIL);
        assert_eq!(users::CSP_ID.as_named(), users::CSP_ID);
        assert_eq!(leaves::OWNER_ID.as_named(), leaves::OWNER_ID);
    }

    #[test]
    fn every_field_is_named_once_per_resource_with_labels() {
        for r in Resource::ALL {
            let mut names: Vec<_> = r.fields().iter().map(|f| f.name).collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "{r:?}");
            for f in r.fields() {
                assert_eq!(f.resource, r, "{} is declared under {r:?}", f.name);
                assert!(!f.label_fr.is_empty() && !f.label_en.is_empty());
                assert!(
                    !(f.filter || f.sort) || f.ty.compares(),
                    "{r:?}.{} filters but its values do not compare",
                    f.name
                );
            }
        }
        assert_eq!(standard("employeeNumber").unwrap().label("fr"), "Matricule");
        assert_eq!(
            Resource::Users.field("EMPLOYEENUMBER").unwrap().name,
            "employeeNumber"
        );
    }

    #[test]
    fn only_record_metadata_is_read_without_the_section() {
        let record: Vec<_> = STANDARD
            .iter()
            .filter(|f| f.read_by == ReadBy::Record)
            .map(|f| f.name)
            .collect();
        assert_eq!(record, ["id", "url", "modifiedAt"]);
        assert_eq!(users::MAIL.read_by, ReadBy::Section(STANDARD_SECTION));
    }

    #[test]
    fn logged_names_are_unique_and_found() {
        let mut logged: Vec<_> = STANDARD.iter().filter_map(|f| f.logged).collect();
        let n = logged.len();
        logged.sort();
        logged.dedup();
        assert_eq!(logged.len(), n);
        assert_eq!(users::MANAGER_ID.logged, Some("manager"));
    }
}
