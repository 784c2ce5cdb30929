//! The demo company: a French group with two legal units, five establishments,
//! a tree of seventeen departments, managers, personnel-file sections, the
//! usual absence accounts with twelve months of leave, and expense claims.
//!
//! Generation is deterministic: the same seed and reference day give the same
//! base, record for record. Employees are generated and written in chunks, so
//! memory stays flat whatever their number.

use crate::names::{CLIENTS, FIRST_NAMES, LAST_NAMES, MERCHANTS};
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use relais_core::absence::{
    AbsenceAccount, AbsenceCategory, AbsenceUnit, LeavePeriod, LeaveSource, LeaveSpan, LeaveStatus,
};
use relais_core::audit::EmployeeLog;
use relais_core::base::Base;
use relais_core::calendar::{HalfDay, HalfDaySlot, HolidayCalendar, WorkCalendar, WorkingWeek};
use relais_core::employee::{
    CivilTitle, Contract, CountryCode, Csp, Email, Employee, EmployeeData, EmployeeNumber,
    FieldCode, FieldKind, Gender, PersonalDetails, Phone, Section, SectionField,
};
use relais_core::expense::{
    item_warnings, ApprovalState, Attendees, Axis, AxisSection, ClaimStatus, Currency,
    ExpenseClaim, ExpenseItem, ExpenseNature, ItemAmounts, Money, PaymentMethod,
};
use relais_core::ids::*;
use relais_core::org::{
    luhn_check_digit, Address, Code, Department, Establishment, LegalUnit, Name, Siren, Siret,
    TimeZone,
};
use relais_core::DomainError;
use relais_store::{BaseCounts, Records, Store, StoreError};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The employee shares plans of the demo company (section "Actionnariat salarié").
const SHARES_PLANS: [&str; 3] = ["BSPCE 2023", "BSPCE 2024", "AGA 2025"];

/// Employees generated and written per chunk: each table's rows of a chunk
/// go in one transaction, so fewer, larger chunks write each index page to
/// SQLite's journal fewer times (1,000 a chunk took twice as long at
/// 100,000 employees); memory stays bounded by one chunk.
pub const CHUNK: u32 = 10_000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Number of employees (active, future and former together).
    pub employees: u32,
    /// Seed of the generator: the same seed gives the same company.
    pub seed: u64,
    /// The day the company is generated for: absences cover the twelve
    /// months before it and the months after it.
    pub today: NaiveDate,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The base already holds HR data.
    #[error(
        "base '{0}' already holds HR data; seed an empty base, or pass --replace to wipe it first"
    )]
    NotEmpty(String),
    /// The store refused a write.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A generated value broke a domain rule (a bug in the generator).
    #[error("generated data is invalid: {0}")]
    Domain(#[from] DomainError),
}

struct Dept {
    code: &'static str,
    name: &'static str,
    parent: Option<&'static str>,
    jobs: &'static [&'static str],
}

const DEPARTMENTS: &[Dept] = &[
    Dept {
        code: "DG",
        name: "Direction générale",
        parent: None,
        jobs: &["Directeur général", "Assistante de direction"],
    },
    Dept {
        code: "FIN",
        name: "Finance",
        parent: Some("DG"),
        jobs: &["Directeur financier", "Analyste financier"],
    },
    Dept {
        code: "FIN-CPT",
        name: "Comptabilité",
        parent: Some("FIN"),
        jobs: &["Comptable", "Aide-comptable", "Chef comptable"],
    },
    Dept {
        code: "FIN-CDG",
        name: "Contrôle de gestion",
        parent: Some("FIN"),
        jobs: &["Contrôleur de gestion"],
    },
    Dept {
        code: "RH",
        name: "Ressources humaines",
        parent: Some("DG"),
        jobs: &["DRH", "Chargée RH"],
    },
    Dept {
        code: "RH-PAIE",
        name: "Paie et administration",
        parent: Some("RH"),
        jobs: &["Gestionnaire de paie", "Assistante RH"],
    },
    Dept {
        code: "RH-REC",
        name: "Recrutement",
        parent: Some("RH"),
        jobs: &["Chargé de recrutement"],
    },
    Dept {
        code: "COM",
        name: "Commercial",
        parent: Some("DG"),
        jobs: &["Directeur commercial", "Responsable grands comptes"],
    },
    Dept {
        code: "COM-FR",
        name: "Ventes France",
        parent: Some("COM"),
        jobs: &[
            "Commercial terrain",
            "Technico-commercial",
            "Assistant commercial",
        ],
    },
    Dept {
        code: "COM-EXP",
        name: "Export",
        parent: Some("COM"),
        jobs: &["Responsable export", "Commercial export"],
    },
    Dept {
        code: "PROD",
        name: "Production",
        parent: Some("DG"),
        jobs: &["Directeur de production", "Responsable qualité"],
    },
    Dept {
        code: "PROD-ATL",
        name: "Atelier",
        parent: Some("PROD"),
        jobs: &[
            "Opérateur de production",
            "Technicien de maintenance",
            "Chef d'équipe",
        ],
    },
    Dept {
        code: "PROD-LOG",
        name: "Logistique",
        parent: Some("PROD"),
        jobs: &[
            "Préparateur de commandes",
            "Cariste",
            "Responsable logistique",
        ],
    },
    Dept {
        code: "IT",
        name: "Systèmes d'information",
        parent: Some("DG"),
        jobs: &["DSI", "Chef de projet"],
    },
    Dept {
        code: "IT-DEV",
        name: "Développement",
        parent: Some("IT"),
        jobs: &["Développeur", "Développeuse full-stack", "Product owner"],
    },
    Dept {
        code: "IT-INF",
        name: "Infrastructure",
        parent: Some("IT"),
        jobs: &["Administrateur systèmes", "Technicien support"],
    },
    Dept {
        code: "MKT",
        name: "Marketing",
        parent: Some("DG"),
        jobs: &["Responsable marketing", "Chargée de communication"],
    },
];

struct Site {
    unit: usize,
    name: &'static str,
    code: &'static str,
    line: &'static str,
    postal_code: &'static str,
    city: &'static str,
    holidays: HolidayCalendar,
    weight: u32,
}

const SITES: &[Site] = &[
    Site {
        unit: 0,
        name: "Siège Paris",
        code: "PAR",
        line: "24 rue de la Roquette",
        postal_code: "75011",
        city: "Paris",
        holidays: HolidayCalendar::France,
        weight: 40,
    },
    Site {
        unit: 0,
        name: "Agence Lyon",
        code: "LYO",
        line: "12 quai Saint-Antoine",
        postal_code: "69002",
        city: "Lyon",
        holidays: HolidayCalendar::France,
        weight: 20,
    },
    Site {
        unit: 0,
        name: "Agence Bordeaux",
        code: "BDX",
        line: "5 cours de l'Intendance",
        postal_code: "33000",
        city: "Bordeaux",
        holidays: HolidayCalendar::France,
        weight: 10,
    },
    Site {
        unit: 1,
        name: "Usine Nantes",
        code: "NTE",
        line: "3 boulevard de la Prairie au Duc",
        postal_code: "44200",
        city: "Nantes",
        holidays: HolidayCalendar::France,
        weight: 15,
    },
    Site {
        unit: 1,
        name: "Usine Strasbourg",
        code: "STG",
        line: "8 rue du Dôme",
        postal_code: "67000",
        city: "Strasbourg",
        holidays: HolidayCalendar::FranceAlsaceMoselle,
        weight: 15,
    },
];

/// An expense nature of the demo company and the amounts it usually comes with.
struct NatureSpec {
    name: &'static str,
    /// Cap per unit, in cents.
    cap: Option<i64>,
    /// Counted in kilometres.
    mileage: bool,
    /// Usual gross amount per unit, in cents.
    usual: (i64, i64),
}

const NATURES: &[NatureSpec] = &[
    NatureSpec {
        name: "Repas",
        cap: Some(2_000),
        mileage: false,
        usual: (1_100, 2_600),
    },
    NatureSpec {
        name: "Repas d'affaires",
        cap: Some(6_000),
        mileage: false,
        usual: (3_500, 9_000),
    },
    NatureSpec {
        name: "Hôtel",
        cap: Some(15_000),
        mileage: false,
        usual: (8_000, 18_000),
    },
    NatureSpec {
        name: "Train",
        cap: None,
        mileage: false,
        usual: (2_500, 14_000),
    },
    NatureSpec {
        name: "Avion",
        cap: None,
        mileage: false,
        usual: (9_000, 45_000),
    },
    NatureSpec {
        name: "Taxi / VTC",
        cap: Some(8_000),
        mileage: false,
        usual: (1_500, 9_000),
    },
    NatureSpec {
        name: "Indemnités kilométriques",
        cap: None,
        mileage: true,
        usual: (0, 0),
    },
    NatureSpec {
        name: "Parking / péage",
        cap: Some(3_000),
        mileage: false,
        usual: (500, 4_000),
    },
    NatureSpec {
        name: "Fournitures",
        cap: Some(10_000),
        mileage: false,
        usual: (800, 12_000),
    },
];

const PROJECTS: &[(&str, &str)] = &[
    ("P-ERP", "Migration ERP"),
    ("P-LYO", "Ouverture agence Lyon Part-Dieu"),
    ("P-ISO", "Certification ISO 9001"),
    ("P-EXP", "Salon export Hanovre"),
    ("P-WEB", "Refonte du site"),
    ("P-RSE", "Plan RSE"),
];

struct Accounts {
    paid: AbsenceAccountId,
    rtt: AbsenceAccountId,
    sickness: AbsenceAccountId,
    telework: AbsenceAccountId,
    unpaid: AbsenceAccountId,
    family: AbsenceAccountId,
}

struct Company {
    base: BaseId,
    sites: Vec<(EstablishmentId, WorkCalendar)>,
    site_weights: Vec<u32>,
    departments: Vec<DepartmentId>,
    parent_index: Vec<Option<usize>>,
    accounts: Accounts,
    natures: Vec<ExpenseNature>,
    cost_centres: Vec<AxisSectionId>,
    projects: Vec<AxisSectionId>,
}

/// Fills an empty base with the demo company; `progress` is told how many
/// employees (with their absences and expenses) are written so far.
pub async fn seed(
    store: &dyn Store,
    base: &Base,
    options: &DemoOptions,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<BaseCounts, SeedError> {
    if !store.base_counts(base.id, options.today).await?.is_empty() {
        return Err(SeedError::NotEmpty(base.name.to_string()));
    }
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let company = create_organisation(store, base.id, options.today, &mut rng).await?;
    let mut generator = Generator {
        company: &company,
        today: options.today,
        rng,
        name_uses: HashMap::new(),
        heads: Vec::new(),
        history_seed: options.seed,
    };
    let mut written = 0u32;
    while written < options.employees {
        let n = CHUNK.min(options.employees - written);
        generator.write_chunk(store, written, n).await?;
        if written == 0 {
            for (i, head) in generator.heads.iter().enumerate() {
                store
                    .set_department_head(company.base, company.departments[i], Some(*head))
                    .await?;
            }
        }
        written += n;
        progress(u64::from(written));
    }
    Ok(store.base_counts(base.id, options.today).await?)
}

fn at(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    date.and_hms_opt(hour, 0, 0).expect("valid hour").and_utc()
}

/// The latest instant a generated record may carry: 21:00 UTC the day
/// before `today`, before `today` begins in Paris, so that nothing the
/// generator writes is in the future, whatever the hour it runs at (a
/// change made now must always be newer than the base's last one).
fn last_evening(today: NaiveDate) -> DateTime<Utc> {
    at(days_before(today, 1), 21)
}

fn days_before(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(n)).unwrap_or(date)
}

fn days_after(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_add_days(Days::new(n)).unwrap_or(date)
}

fn siren(rng: &mut fastrand::Rng) -> Result<Siren, DomainError> {
    let body: String = (0..8)
        .map(|i| char::from(b'0' + if i == 0 { rng.u8(3..9) } else { rng.u8(0..10) }))
        .collect();
    Siren::parse(&format!("{body}{}", luhn_check_digit(&body)))
}

fn name(field: &'static str, raw: &str) -> Result<Name, DomainError> {
    Name::parse(field, raw)
}

async fn create_organisation(
    store: &dyn Store,
    base: BaseId,
    today: NaiveDate,
    rng: &mut fastrand::Rng,
) -> Result<Company, SeedError> {
    let t = at(days_before(today, 3 * 365), 8);
    let first = store.reserve_ids(base, Entity::LegalUnit, 2).await?;
    let first_site = store
        .reserve_ids(base, Entity::Establishment, SITES.len() as i64)
        .await?;
    // Each unit's head office: its first site.
    let head_office = |unit: usize| {
        SITES
            .iter()
            .position(|s| s.unit == unit)
            .map(|i| EstablishmentId(first_site + i as i64))
    };
    let units = vec![
        LegalUnit {
            base_id: base,
            id: LegalUnitId(first),
            name: name("name", "Relais Démo SAS")?,
            siren: siren(rng)?,
            country: "FR".into(),
            code: "RDEMO".into(),
            headquarters_id: head_office(0),
            archived: false,
            created_at: t,
            modified_at: t,
        },
        LegalUnit {
            base_id: base,
            id: LegalUnitId(first + 1),
            name: name("name", "Relais Industrie SARL")?,
            siren: siren(rng)?,
            country: "FR".into(),
            code: "RINDUS".into(),
            headquarters_id: head_office(1),
            archived: false,
            created_at: t,
            modified_at: t,
        },
    ];
    store.insert_records(Records::LegalUnits(&units)).await?;

    let first = first_site;
    let mut establishments = Vec::new();
    for (i, site) in SITES.iter().enumerate() {
        let unit = &units[site.unit];
        let nic = format!("{}{:04}", unit.siren.as_str(), 10 * (i + 1) + site.unit);
        establishments.push(Establishment {
            base_id: base,
            id: EstablishmentId(first + i as i64),
            legal_unit_id: unit.id,
            name: name("name", site.name)?,
            code: Code::parse("code", site.code)?,
            siret: Siret::parse(&format!("{nic}{}", luhn_check_digit(&nic)))?,
            time_zone: TimeZone::PARIS,
            address: Address {
                line: site.line.into(),
                postal_code: site.postal_code.into(),
                city: site.city.into(),
                country: "FR".into(),
            },
            calendar: WorkCalendar {
                week: WorkingWeek::MONDAY_TO_FRIDAY,
                holidays: site.holidays,
            },
            archived: false,
            created_at: t,
            modified_at: t,
        });
    }
    store
        .insert_records(Records::Establishments(&establishments))
        .await?;

    let first = store
        .reserve_ids(base, Entity::Department, DEPARTMENTS.len() as i64)
        .await?;
    let index_of = |code: &str| DEPARTMENTS.iter().position(|d| d.code == code);
    let mut departments = Vec::new();
    let mut parent_index = Vec::new();
    for (i, d) in DEPARTMENTS.iter().enumerate() {
        let parent = d.parent.and_then(index_of);
        parent_index.push(parent);
        departments.push(Department {
            base_id: base,
            id: DepartmentId(first + i as i64),
            parent_id: parent.map(|p| DepartmentId(first + p as i64)),
            code: Code::parse("code", d.code)?,
            name: name("name", d.name)?,
            head_id: None,
            position: i as i32,
            active: true,
            created_at: t,
            modified_at: t,
        });
    }
    store
        .insert_records(Records::Departments(&departments))
        .await?;

    let first = store.reserve_ids(base, Entity::Section, 4).await?;
    let sections = [
        ("standard", "Données Lucca", true),
        ("avantages", "Avantages salariés", false),
        ("medical", "Suivi médical", false),
        ("actionnariat", "Actionnariat salarié", false),
    ];
    let sections: Vec<Section> = sections
        .iter()
        .enumerate()
        .map(|(i, (code, label, standard))| {
            Ok(Section {
                base_id: base,
                id: SectionId(first + i as i64),
                code: (*code).into(),
                name: name("name", label)?,
                standard: *standard,
                created_at: t,
                modified_at: t,
            })
        })
        .collect::<Result<_, DomainError>>()?;
    store.insert_records(Records::Sections(&sections)).await?;
    let sizes = ["XS", "S", "M", "L", "XL", "XXL"]
        .map(String::from)
        .to_vec();
    let groups = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]
        .map(String::from)
        .to_vec();
    let fields = [
        (
            1,
            "e_tshirtSize",
            "Taille de t-shirt",
            FieldKind::Choice(sizes),
        ),
        (1, "e_mutuelle", "Adhésion mutuelle", FieldKind::Boolean),
        (
            1,
            "e_ticketsRestaurant",
            "Titres-restaurant",
            FieldKind::Boolean,
        ),
        (
            2,
            "e_bloodType",
            "Groupe sanguin",
            FieldKind::Choice(groups),
        ),
        (
            2,
            "e_lastMedicalVisit",
            "Dernière visite médicale",
            FieldKind::Date,
        ),
        (
            3,
            "e_sharesPlan",
            "Plan d'actionnariat",
            FieldKind::Choice(SHARES_PLANS.map(String::from).to_vec()),
        ),
    ];
    let first = store
        .reserve_ids(base, Entity::SectionField, fields.len() as i64)
        .await?;
    let fields: Vec<SectionField> = fields
        .into_iter()
        .enumerate()
        .map(|(i, (section, code, label, kind))| {
            Ok(SectionField {
                base_id: base,
                id: SectionFieldId(first + i as i64),
                section_id: sections[section].id,
                code: FieldCode::parse(code)?,
                name: name("name", label)?,
                kind,
                created_at: t,
                modified_at: t,
            })
        })
        .collect::<Result<_, DomainError>>()?;
    store
        .insert_records(Records::SectionFields(&fields))
        .await?;

    let accounts = [
        (
            "Congés payés",
            AbsenceCategory::PaidLeave,
            AbsenceUnit::Days,
        ),
        ("RTT", AbsenceCategory::Rtt, AbsenceUnit::Days),
        ("Maladie", AbsenceCategory::Sickness, AbsenceUnit::Days),
        ("Télétravail", AbsenceCategory::Telework, AbsenceUnit::Days),
        (
            "Congé sans solde",
            AbsenceCategory::Unpaid,
            AbsenceUnit::Days,
        ),
        (
            "Événement familial",
            AbsenceCategory::Other,
            AbsenceUnit::Days,
        ),
        ("Récupération", AbsenceCategory::Other, AbsenceUnit::Hours),
    ];
    let first = store
        .reserve_ids(base, Entity::AbsenceAccount, accounts.len() as i64)
        .await?;
    let rows: Vec<AbsenceAccount> = accounts
        .iter()
        .enumerate()
        .map(|(i, (label, category, unit))| {
            Ok(AbsenceAccount {
                base_id: base,
                id: AbsenceAccountId(first + i as i64),
                name: name("name", label)?,
                category: *category,
                unit: *unit,
                active: true,
                created_at: t,
                modified_at: t,
            })
        })
        .collect::<Result<_, DomainError>>()?;
    store
        .insert_records(Records::AbsenceAccounts(&rows))
        .await?;
    let acc = |i: i64| AbsenceAccountId(first + i);

    let first = store
        .reserve_ids(base, Entity::ExpenseNature, NATURES.len() as i64)
        .await?;
    let natures: Vec<ExpenseNature> = NATURES
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            Ok(ExpenseNature {
                base_id: base,
                id: ExpenseNatureId(first + i as i64),
                name: name("name", spec.name)?,
                cap: spec.cap.map(|minor| Money {
                    minor,
                    currency: Currency::EUR,
                }),
                mileage: spec.mileage,
                enabled: true,
                created_at: t,
                modified_at: t,
            })
        })
        .collect::<Result<_, DomainError>>()?;
    store
        .insert_records(Records::ExpenseNatures(&natures))
        .await?;

    let first_axis = store.reserve_ids(base, Entity::Axis, 2).await?;
    let axes = vec![
        Axis {
            base_id: base,
            id: AxisId(first_axis),
            code: "CC".into(),
            name: name("name", "Centre de coût")?,
            created_at: t,
            modified_at: t,
        },
        Axis {
            base_id: base,
            id: AxisId(first_axis + 1),
            code: "PRJ".into(),
            name: name("name", "Projet")?,
            created_at: t,
            modified_at: t,
        },
    ];
    store.insert_records(Records::Axes(&axes)).await?;
    let count = (DEPARTMENTS.len() + PROJECTS.len()) as i64;
    let first = store.reserve_ids(base, Entity::AxisSection, count).await?;
    let mut axis_sections = Vec::new();
    for (i, d) in DEPARTMENTS.iter().enumerate() {
        axis_sections.push(AxisSection {
            base_id: base,
            id: AxisSectionId(first + i as i64),
            axis_id: axes[0].id,
            code: d.code.into(),
            name: name("name", d.name)?,
            created_at: t,
            modified_at: t,
        });
    }
    for (i, (code, label)) in PROJECTS.iter().enumerate() {
        let id = AxisSectionId(first + (DEPARTMENTS.len() + i) as i64);
        axis_sections.push(AxisSection {
            base_id: base,
            id,
            axis_id: axes[1].id,
            code: (*code).into(),
            name: name("name", label)?,
            created_at: t,
            modified_at: t,
        });
    }
    store
        .insert_records(Records::AxisSections(&axis_sections))
        .await?;

    Ok(Company {
        base,
        sites: establishments.iter().map(|e| (e.id, e.calendar)).collect(),
        site_weights: SITES.iter().map(|s| s.weight).collect(),
        departments: departments.iter().map(|d| d.id).collect(),
        parent_index,
        accounts: Accounts {
            paid: acc(0),
            rtt: acc(1),
            sickness: acc(2),
            telework: acc(3),
            unpaid: acc(4),
            family: acc(5),
        },
        natures,
        cost_centres: axis_sections[..DEPARTMENTS.len()]
            .iter()
            .map(|s| s.id)
            .collect(),
        projects: axis_sections[DEPARTMENTS.len()..]
            .iter()
            .map(|s| s.id)
            .collect(),
    })
}

struct Generator<'a> {
    company: &'a Company,
    today: NaiveDate,
    rng: fastrand::Rng,
    /// How often each (first name, last name) pair was used, to keep e-mails unique.
    name_uses: HashMap<(usize, usize), u32>,
    /// Heads of departments, in department order.
    heads: Vec<EmployeeId>,
    /// Seed of the change histories (drawn apart, so that the rest of the
    /// company is the same with or without them).
    history_seed: u64,
}

fn pick<'t, T>(rng: &mut fastrand::Rng, items: &'t [T]) -> &'t T {
    &items[rng.usize(..items.len())]
}

fn weighted(rng: &mut fastrand::Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.u32(..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

fn ascii_slug(raw: &str) -> String {
    raw.chars()
        .filter_map(|c| {
            let c = match c {
                'à' | 'â' | 'ä' => 'a',
                'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
                'î' | 'ï' => 'i',
                'ô' | 'ö' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' => 'c',
                c => c,
            };
            c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

impl Generator<'_> {
    async fn write_chunk(
        &mut self,
        store: &dyn Store,
        offset: u32,
        n: u32,
    ) -> Result<(), SeedError> {
        let base = self.company.base;
        let first_id = store
            .reserve_ids(base, Entity::Employee, i64::from(n))
            .await?;
        let mut employees = Vec::with_capacity(n as usize);
        let mut leaves = Vec::new();
        let mut claims = Vec::new();
        let mut items = Vec::new();
        for i in 0..n {
            let id = EmployeeId(first_id + i64::from(i));
            let employee = self.employee(id, offset + i)?;
            self.leaves(&employee, &mut leaves)?;
            self.expenses(&employee, &mut claims, &mut items)?;
            employees.push(employee);
        }
        if !leaves.is_empty() {
            let first = store
                .reserve_ids(base, Entity::LeavePeriod, leaves.len() as i64)
                .await?;
            for (i, p) in leaves.iter_mut().enumerate() {
                p.id = LeavePeriodId(first + i as i64);
            }
        }
        if !claims.is_empty() {
            let first_claim = store
                .reserve_ids(base, Entity::ExpenseClaim, claims.len() as i64)
                .await?;
            for (i, c) in claims.iter_mut().enumerate() {
                c.id = ExpenseClaimId(first_claim + i as i64);
            }
            let first_item = store
                .reserve_ids(base, Entity::ExpenseItem, items.len() as i64)
                .await?;
            for (i, item) in items.iter_mut().enumerate() {
                item.id = ExpenseItemId(first_item + i as i64);
                item.claim_id = ExpenseClaimId(first_claim + item.claim_id.0);
            }
        }
        let history: Vec<EmployeeLog> = employees.iter().flat_map(|e| self.history(e)).collect();
        store.insert_records(Records::Employees(&employees)).await?;
        store.insert_employee_logs(&history).await?;
        store.insert_records(Records::LeavePeriods(&leaves)).await?;
        store
            .insert_records(Records::ExpenseClaims(&claims))
            .await?;
        store.insert_records(Records::ExpenseItems(&items)).await?;
        Ok(())
    }

    fn employee(&mut self, id: EmployeeId, index: u32) -> Result<Employee, SeedError> {
        let rng = &mut self.rng;
        let today = self.today;
        let c = self.company;
        let is_head = (index as usize) < c.departments.len();
        let dept_index = if is_head {
            index as usize
        } else {
            rng.usize(..c.departments.len())
        };
        let dept = &DEPARTMENTS[dept_index];
        let (first_i, last_i) = (
            rng.usize(..FIRST_NAMES.len()),
            rng.usize(..LAST_NAMES.len()),
        );
        let uses = self.name_uses.entry((first_i, last_i)).or_insert(0);
        *uses += 1;
        let (first, last) = (FIRST_NAMES[first_i], LAST_NAMES[last_i]);
        let local = match *uses {
            1 => format!("{}.{}", ascii_slug(first), ascii_slug(last)),
            k => format!("{}.{}{k}", ascii_slug(first), ascii_slug(last)),
        };
        let production = dept.code.starts_with("PROD");
        let csp = if is_head {
            Csp::Cadre
        } else if production {
            [
                Csp::Ouvrier,
                Csp::Ouvrier,
                Csp::Ouvrier,
                Csp::Technicien,
                Csp::AgentDeMaitrise,
                Csp::Apprenti,
            ][rng.usize(..6)]
        } else {
            Csp::ALL[weighted(rng, &[32, 14, 16, 30, 3, 5])]
        };
        let age = if csp == Csp::Apprenti {
            rng.u64(18..25)
        } else {
            rng.u64(22..64)
        };
        let birth = days_before(today, age * 365 + rng.u64(0..365));
        let roll = rng.u32(..100);
        let contract = if is_head {
            Contract::new(days_before(today, rng.u64(3 * 365..15 * 365)), None)?
        } else if roll < 4 {
            Contract::new(days_after(today, rng.u64(7..100)), None)?
        } else if roll < 12 {
            let end = days_before(today, rng.u64(1..700));
            Contract::new(days_before(end, rng.u64(120..3_000)), Some(end))?
        } else if roll < 18 || csp == Csp::Apprenti {
            let start = days_before(today, rng.u64(30..400));
            Contract::new(start, Some(days_after(today, rng.u64(30..400))))?
        } else {
            Contract::new(days_before(today, rng.u64(30..7_000)), None)?
        };
        let site = if production {
            [1usize, 3, 4][rng.usize(..3)]
        } else {
            weighted(rng, &c.site_weights)
        };
        let manager = if is_head {
            c.parent_index[dept_index].map(|p| self.heads[p])
        } else {
            self.heads.get(dept_index).copied()
        };
        let mut extended = Map::new();
        extended.insert(
            "e_tshirtSize".into(),
            Value::from(*pick(rng, &["XS", "S", "M", "L", "XL", "XXL"])),
        );
        extended.insert("e_mutuelle".into(), Value::from(rng.u8(..10) < 8));
        extended.insert("e_ticketsRestaurant".into(), Value::from(rng.bool()));
        if rng.bool() {
            extended.insert(
                "e_bloodType".into(),
                Value::from(*pick(rng, &["A+", "A-", "B+", "O+", "O-", "AB+"])),
            );
        }
        if contract.start < today {
            let visit = days_before(today, rng.u64(10..900));
            extended.insert(
                "e_lastMedicalVisit".into(),
                Value::from(visit.max(contract.start).to_string()),
            );
        }
        // About a third hold shares; derived from the identifier, so the
        // rest of the company stays what it was before plans existed.
        if id.0.wrapping_mul(2_654_435_761) % 10 < 3 {
            let plan = SHARES_PLANS[(id.0 as usize / 7) % SHARES_PLANS.len()];
            extended.insert("e_sharesPlan".into(), Value::from(plan));
        }
        let created = at(days_before(contract.start.min(today), rng.u64(5..40)), 9);
        // Spread over the working day, as real edits are: a checkpoint on the
        // newest modification then re-reads only the few sharing its instant.
        let modified = (at(days_before(today, rng.u64(1..200)), 10)
            + chrono::Duration::seconds(rng.i64(0..28_800)))
        .max(created);
        let personal = Self::personal(self.history_seed, id, &local, site)?;
        let data = EmployeeData {
            employee_number: EmployeeNumber::parse(&format!("M{:06}", index + 1))?,
            first_name: name("firstName", first)?,
            last_name: name("lastName", last)?,
            mail: Email::parse(&format!("{local}@relais-demo.fr"))?,
            login: local,
            birth_date: Some(birth),
            establishment_id: c.sites[site].0,
            department_id: Some(c.departments[dept_index]),
            manager_id: manager,
            job_title: Some((*pick(rng, dept.jobs)).to_owned()),
            csp: Some(csp),
            profession: Some(dept.name.to_owned()),
            contract,
            extended_data: extended,
            personal,
        };
        if is_head {
            self.heads.push(id);
        }
        Ok(Employee {
            base_id: c.base,
            id,
            data,
            created_at: created,
            modified_at: modified,
        })
    }

    /// Personal details drawn apart from the rest of the company (so that it
    /// is the same with or without them): a personal e-mail and phone for
    /// most, a work phone for many, a home address near the site, gender,
    /// civil title and nationality.
    fn personal(
        seed: u64,
        id: EmployeeId,
        local: &str,
        site: usize,
    ) -> Result<PersonalDetails, SeedError> {
        let mut rng = fastrand::Rng::with_seed(
            seed.rotate_left(17) ^ (id.0 as u64).wrapping_mul(0xA076_1D64_78BD_642F),
        );
        let phone = |rng: &mut fastrand::Rng, prefix: &str| {
            let digits: Vec<String> = (0..4).map(|_| format!("{:02}", rng.u8(..100))).collect();
            Phone::parse("phone", &format!("{prefix} {}", digits.join(" ")))
        };
        let gender = match rng.u8(..100) {
            0..=1 => Gender::Other,
            2..=50 => Gender::Female,
            _ => Gender::Male,
        };
        let s = &SITES[site];
        let streets = [
            "rue de la République",
            "avenue Jean Jaurès",
            "rue Victor Hugo",
            "boulevard Pasteur",
            "rue des Lilas",
            "place de la Mairie",
        ];
        Ok(PersonalDetails {
            personal_email: (rng.u8(..10) < 7)
                .then(|| {
                    Email::parse(&format!(
                        "{local}@{}",
                        pick(
                            &mut rng,
                            &["gmail.com", "orange.fr", "free.fr", "laposte.net"]
                        )
                    ))
                })
                .transpose()?,
            personal_phone: (rng.u8(..10) < 8)
                .then(|| {
                    let prefix = *pick(&mut rng, &["06", "07"]);
                    phone(&mut rng, prefix)
                })
                .transpose()?,
            professional_phone: (rng.u8(..10) < 6)
                .then(|| phone(&mut rng, "01"))
                .transpose()?,
            address: Some(Address {
                line: format!("{} {}", rng.u16(1..120), pick(&mut rng, &streets)),
                postal_code: s.postal_code.into(),
                city: s.city.into(),
                country: "FR".into(),
            }),
            gender: Some(gender),
            nationality: Some({
                const ABROAD: [&str; 5] = ["BE", "ES", "IT", "PT", "DE"];
                let code = if rng.u8(..10) < 9 {
                    "FR"
                } else {
                    ABROAD[rng.usize(..ABROAD.len())]
                };
                CountryCode::parse("nationality", code)?
            }),
            civil_title: match gender {
                Gender::Female => Some(CivilTitle::Madame),
                Gender::Male => Some(CivilTitle::Monsieur),
                Gender::Other => None,
            },
        })
    }

    /// The change log of `e` over the years: its creation with its first
    /// department, manager, job title and establishment, then moves between
    /// departments, managers and job titles (and, more rarely,
    /// establishments) made by HR, ending at its current values.
    fn history(&self, e: &Employee) -> Vec<EmployeeLog> {
        let c = self.company;
        let mut rng = fastrand::Rng::with_seed(
            self.history_seed ^ (e.id.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let d = &e.data;
        let start = d.contract.start;
        let end = d.contract.end.unwrap_or(self.today).min(self.today);
        if start >= end {
            return Vec::new();
        }
        let days = (end - start).num_days().max(0) as u64;
        let heads = &self.heads;
        let mut logs = Vec::new();
        let fields: [(&str, Value, usize); 4] = [
            (
                "departmentid",
                serde_json::json!(d.department_id.map(|x| x.0)),
                2,
            ),
            ("manager", serde_json::json!(d.manager_id.map(|x| x.0)), 2),
            ("jobtitle", serde_json::json!(d.job_title), 2),
            ("legalentityid", serde_json::json!(d.establishment_id.0), 1),
        ];
        for (field, current, most) in fields {
            let changes = if days < 240 {
                0
            } else if field == "legalentityid" {
                usize::from(rng.u8(..10) == 0)
            } else {
                rng.usize(..=most)
            };
            let other = |rng: &mut fastrand::Rng| -> Value {
                match field {
                    "departmentid" => serde_json::json!(pick(rng, &c.departments).0),
                    "manager" if !heads.is_empty() => serde_json::json!(pick(rng, heads).0),
                    "manager" => Value::Null,
                    "jobtitle" => {
                        let jobs = pick(rng, DEPARTMENTS).jobs;
                        serde_json::json!(*pick(rng, jobs))
                    }
                    _ => serde_json::json!(pick(rng, &c.sites).0 .0),
                }
            };
            // Earlier values, then the current one.
            let mut values: Vec<Value> = (0..changes).map(|_| other(&mut rng)).collect();
            values.push(current);
            let mut when: Vec<u64> = (0..changes).map(|_| rng.u64(60..days)).collect();
            when.sort_unstable();
            for (i, value) in values.into_iter().enumerate() {
                let (entry, at_day, author, source) = if i == 0 {
                    ("creation", start, "Reprise de données", "import")
                } else {
                    (
                        "modification",
                        start + Days::new(when[i - 1]),
                        *pick(
                            &mut rng,
                            &[
                                "Claire Dubois (RH)",
                                "Marc Lefèvre (RH)",
                                "Sophie Martin (Paie)",
                            ],
                        ),
                        "person",
                    )
                };
                if i == 0 && value.is_null() {
                    continue;
                }
                logs.push(EmployeeLog {
                    id: 0,
                    base_id: c.base,
                    employee_id: e.id,
                    field: field.to_owned(),
                    entry_type: entry.to_owned(),
                    value,
                    author: author.to_owned(),
                    source: source.to_owned(),
                    at: at(at_day, 9 + (i as u32 % 8)),
                });
            }
        }
        logs.sort_by_key(|l| l.at);
        logs
    }

    fn calendar_of(&self, e: &Employee) -> WorkCalendar {
        self.company
            .sites
            .iter()
            .find(|(id, _)| *id == e.data.establishment_id)
            .map(|(_, cal)| *cal)
            .unwrap_or_default()
    }

    fn leaves(&mut self, e: &Employee, out: &mut Vec<LeavePeriod>) -> Result<(), SeedError> {
        let today = self.today;
        let window_start = days_before(today, 365).max(e.data.contract.start);
        let window_end = e
            .data
            .contract
            .end
            .unwrap_or(NaiveDate::MAX)
            .min(days_after(today, 180));
        if window_end <= window_start {
            return Ok(());
        }
        let span_days = (window_end - window_start).num_days() as u64;
        let calendar = self.calendar_of(e);
        let accounts = &self.company.accounts;
        let mut wanted: Vec<(AbsenceAccountId, u64, bool)> = Vec::new(); // account, days, half-day allowed
        for _ in 0..3 {
            wanted.push((accounts.paid, self.rng.u64(1..11), false));
        }
        for _ in 0..3 {
            wanted.push((accounts.rtt, 1, true));
        }
        if matches!(
            e.data.csp,
            Some(Csp::Cadre | Csp::Technicien | Csp::AgentDeMaitrise)
        ) {
            for _ in 0..4 {
                wanted.push((accounts.telework, 1, false));
            }
        }
        if self.rng.u8(..100) < 15 {
            wanted.push((accounts.sickness, self.rng.u64(1..6), false));
        }
        if self.rng.u8(..100) < 3 {
            wanted.push((accounts.unpaid, self.rng.u64(2..15), false));
        }
        if self.rng.u8(..100) < 5 {
            wanted.push((accounts.family, self.rng.u64(1..4), false));
        }
        let mut taken: Vec<LeaveSpan> = Vec::new();
        for (account, days, half_allowed) in wanted {
            let start_date = days_after(window_start, self.rng.u64(..span_days));
            let end_date = days_after(start_date, (days - 1) * 7 / 5).min(window_end);
            let (start_half, end_half) = if half_allowed && self.rng.u8(..3) == 0 {
                let h = if self.rng.bool() {
                    HalfDay::Am
                } else {
                    HalfDay::Pm
                };
                (h, h)
            } else {
                (HalfDay::Am, HalfDay::Pm)
            };
            let span = LeaveSpan::new(
                HalfDaySlot::new(start_date, start_half),
                HalfDaySlot::new(end_date, end_half),
            )?;
            let half_days = span.working_half_days(&calendar);
            if half_days == 0 || taken.iter().any(|t| t.overlaps(&span)) {
                continue;
            }
            taken.push(span);
            let roll = self.rng.u8(..100);
            let status = if end_date < today {
                match roll {
                    0..=5 => LeaveStatus::Cancelled,
                    6..=8 => LeaveStatus::Denied,
                    _ => LeaveStatus::Approved,
                }
            } else if start_date > today {
                match roll {
                    0..=54 => LeaveStatus::Pending,
                    55..=94 => LeaveStatus::Approved,
                    _ => LeaveStatus::Cancelled,
                }
            } else {
                LeaveStatus::Approved
            };
            // Requests of coming absences were made before today, at spread instants.
            let latest = |hours_before: i64, rng: &mut fastrand::Rng| {
                last_evening(today)
                    - chrono::Duration::hours(hours_before)
                    - chrono::Duration::seconds(rng.i64(0..18_000))
            };
            let created =
                at(days_before(start_date, self.rng.u64(3..60)), 8).min(latest(1, &mut self.rng));
            let modified = if status == LeaveStatus::Pending {
                created
            } else {
                (created + chrono::Duration::hours(self.rng.i64(1..72)))
                    .min(latest(0, &mut self.rng))
                    .max(created)
            };
            let source = if account == accounts.sickness {
                LeaveSource::Import
            } else {
                LeaveSource::Person
            };
            let comment = match (account == accounts.paid, start_date.month()) {
                (true, 7 | 8) => Some("Vacances d'été".to_owned()),
                (true, 12) => Some("Fêtes de fin d'année".to_owned()),
                _ => None,
            };
            out.push(LeavePeriod {
                base_id: self.company.base,
                id: LeavePeriodId(0),
                employee_id: e.id,
                account_id: account,
                span,
                half_days,
                status,
                comment,
                source,
                created_at: created,
                modified_at: modified,
                cancelled_at: (status == LeaveStatus::Cancelled).then_some(modified),
            });
        }
        Ok(())
    }

    fn expenses(
        &mut self,
        e: &Employee,
        claims: &mut Vec<ExpenseClaim>,
        items: &mut Vec<ExpenseItem>,
    ) -> Result<(), SeedError> {
        let today = self.today;
        let dept_index = self
            .company
            .departments
            .iter()
            .position(|d| Some(*d) == e.data.department_id)
            .unwrap_or(0);
        let travels = matches!(
            DEPARTMENTS[dept_index].code,
            "DG" | "COM" | "COM-FR" | "COM-EXP"
        );
        let chance = if travels { 85 } else { 30 };
        if self.rng.u8(..100) >= chance || e.data.contract.start >= today {
            return Ok(());
        }
        let earliest = days_before(today, 365).max(e.data.contract.start);
        let latest = e.data.contract.end.unwrap_or(today).min(today);
        if latest <= earliest {
            return Ok(());
        }
        let span_days = (latest - earliest).num_days() as u64;
        for _ in 0..self.rng.u32(1..4) {
            let month_start = days_after(earliest, self.rng.u64(..span_days));
            let declared = days_after(month_start, 20).min(today);
            let age_days = (today - declared).num_days();
            let status = if age_days > 60 {
                [
                    ClaimStatus::Paid,
                    ClaimStatus::Paid,
                    ClaimStatus::Paid,
                    ClaimStatus::ApprovedAndControlled,
                    ClaimStatus::Refused,
                ][self.rng.usize(..5)]
            } else {
                [
                    ClaimStatus::Created,
                    ClaimStatus::PartiallyApproved,
                    ClaimStatus::Approved,
                    ClaimStatus::PaymentInitiated,
                ][self.rng.usize(..4)]
            };
            let claim_index = claims.len() as i64;
            let created = at(declared, 17).min(last_evening(today));
            let modified = (created + chrono::Duration::days(self.rng.i64(0..20)))
                .min(last_evening(today))
                .max(created);
            let month = relais_core::report::Month::of(month_start).label();
            claims.push(ExpenseClaim {
                base_id: self.company.base,
                id: ExpenseClaimId(0),
                owner_id: e.id,
                author_id: e.id,
                name: name("name", &format!("Notes de frais {month}"))?,
                status,
                approval_state: ApprovalState::of(status),
                currency: Currency::EUR,
                declared_on: Some(declared),
                created_at: created,
                modified_at: modified,
            });
            let mut previous: Option<(ExpenseNatureId, NaiveDate, i64)> = None;
            let controlled = (4..=7).contains(&status.id());
            for line in 0..self.rng.u32(1..6) {
                let nature_index = self.rng.usize(..NATURES.len());
                let nature = &self.company.natures[nature_index];
                let NatureSpec {
                    mileage,
                    usual: (lo, hi),
                    ..
                } = NATURES[nature_index];
                let duplicate = previous.filter(|_| self.rng.u8(..100) < 3);
                let (nature, purchased, gross, km, quantity) = match duplicate {
                    Some((nature_id, date, gross)) => {
                        let n = self
                            .company
                            .natures
                            .iter()
                            .find(|n| n.id == nature_id)
                            .expect("known nature");
                        (n, date, gross, None, 1)
                    }
                    None if mileage => {
                        let km = self.rng.i32(15..450);
                        // Barème kilométrique, 5 CV: 0.636 €/km.
                        (
                            nature,
                            days_after(month_start, self.rng.u64(..20)).min(today),
                            i64::from(km) * 636 / 10,
                            Some(km),
                            1,
                        )
                    }
                    None => {
                        let quantity = if nature.name.as_str() == "Hôtel" {
                            self.rng.i32(1..4)
                        } else {
                            1
                        };
                        let gross = self.rng.i64(lo..=hi) * i64::from(quantity);
                        (
                            nature,
                            days_after(month_start, self.rng.u64(..20)).min(today),
                            gross,
                            None,
                            quantity,
                        )
                    }
                };
                let vat = if km.is_some() {
                    0
                } else if nature.name.as_str().starts_with("Repas") {
                    gross * 10 / 110
                } else {
                    gross * 20 / 120
                };
                let reimbursed = nature
                    .cap
                    .map_or(gross, |cap| gross.min(cap.minor * i64::from(quantity)));
                let amounts = ItemAmounts::new(Currency::EUR, gross, vat, reimbursed)?;
                let has_receipt = km.is_some() || self.rng.u8(..100) < 92;
                let warnings = item_warnings(
                    &amounts,
                    nature,
                    quantity,
                    purchased,
                    has_receipt,
                    duplicate.is_some(),
                );
                let mut axis = vec![self.company.cost_centres[dept_index]];
                if self.rng.u8(..100) < 30 {
                    axis.push(*pick(&mut self.rng, &self.company.projects));
                }
                let business_meal = nature.name.as_str() == "Repas d'affaires";
                let attendees = if business_meal {
                    Attendees {
                        internal: vec![e.id],
                        external: vec![(*pick(&mut self.rng, CLIENTS)).to_owned()],
                    }
                } else {
                    Attendees::default()
                };
                items.push(ExpenseItem {
                    base_id: self.company.base,
                    id: ExpenseItemId(0),
                    claim_id: ExpenseClaimId(claim_index),
                    line_number: line as i32 + 1,
                    // Travel is often booked with the company's card.
                    payment_method: if matches!(nature.name.as_str(), "Train" | "Avion" | "Hôtel")
                        && gross % 3 == 0
                    {
                        PaymentMethod::CorporateCard
                    } else {
                        PaymentMethod::Employee
                    },
                    controlled,
                    owner_id: e.id,
                    nature_id: nature.id,
                    purchased_on: purchased,
                    amounts,
                    quantity,
                    mileage_km: km,
                    attendees,
                    axis_sections: axis,
                    warnings,
                    merchant: km
                        .is_none()
                        .then(|| (*pick(&mut self.rng, MERCHANTS)).to_owned()),
                    comment: km.map(|km| format!("Visite client, {km} km aller-retour")),
                    created_at: created,
                    modified_at: modified,
                });
                previous = Some((nature.id, purchased, gross));
            }
        }
        Ok(())
    }
}
