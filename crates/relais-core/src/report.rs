//! Ready-made reports ("états standards"): what each one shows, the grant it
//! needs, its columns and filters — declared once, read by the API, the admin
//! pages, the CSV and XLSX downloads and the OpenAPI document.
//!
//! The figures themselves are computed by the store, where the data is.

use crate::access::Permission;
use crate::DomainError;
use chrono::{Datelike, Days, NaiveDate};
use std::fmt;
use std::str::FromStr;

/// A calendar month, written `2026-03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month holding `date`.
    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    /// Its year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Its number in the year, 1 for January.
    pub fn number(self) -> u32 {
        self.month
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a parsed month exists")
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day() - Days::new(1)
    }

    /// The month after it.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Every month from `self` to `last`, both included.
    pub fn through(self, last: Month) -> Vec<Month> {
        let mut out = Vec::new();
        let mut m = self;
        while m <= last {
            out.push(m);
            m = m.next();
        }
        out
    }

    /// Its name in French, e.g. « mars 2026 ».
    pub fn label(self) -> String {
        self.label_in("fr")
    }

    /// Its name in `lang` (`fr`, else English), e.g. « mars 2026 », « March 2026 ».
    pub fn label_in(self, lang: &str) -> String {
        const FR: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let names = if lang == "fr" { FR } else { EN };
        format!("{} {}", names[self.month as usize - 1], self.year)
    }
}

impl Month {
    /// Its short name in `lang` (`fr`, else English), without the year,
    /// for a chart's axis: « janv. », « Jan ».
    pub fn short_label_in(self, lang: &str) -> &'static str {
        const FR: [&str; 12] = [
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
            "nov.", "déc.",
        ];
        const EN: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let names = if lang == "fr" { FR } else { EN };
        names[self.month as usize - 1]
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        let bad = || {
            DomainError::said(
                "month",
                format!("'{s}' is not a month: write it YYYY-MM, e.g. 2026-03"),
                format!("« {s} » n'est pas un mois : écrivez-le AAAA-MM, par exemple 2026-03"),
            )
        };
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let (year, month) = (
            y.parse::<i32>().map_err(|_| bad())?,
            m.parse::<u32>().map_err(|_| bad())?,
        );
        if y.len() != 4 || !(1..=12).contains(&month) || !(1900..=2200).contains(&year) {
            return Err(bad());
        }
        Ok(Self { year, month })
    }
}

/// What a column holds, which says how it is shown and typed in a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Text.
    Text,
    /// A month (`2026-03`).
    Period,
    /// A date.
    Date,
    /// A whole number.
    Count,
    /// Days, to the half day.
    Days,
    /// An amount of money, in the row's currency.
    Money,
    /// A share, from 0 to 1.
    Percent,
}

impl ColumnKind {
    /// Its name in the API's description of a report.
    pub fn code(self) -> &'static str {
        match self {
            ColumnKind::Text => "text",
            ColumnKind::Period => "month",
            ColumnKind::Date => "date",
            ColumnKind::Count => "count",
            ColumnKind::Days => "days",
            ColumnKind::Money => "money",
            ColumnKind::Percent => "percent",
        }
    }
}

/// A column of a report.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name in the API's rows (camelCase).
    pub key: &'static str,
    /// Its heading in French.
    pub label: &'static str,
    /// Its heading in English.
    pub label_en: &'static str,
    /// What it holds.
    pub kind: ColumnKind,
}

/// Declares the columns of `columns`, one a line: its doc comment, its
/// name, then its key, French and English headings and kind.
macro_rules! columns {
    ($($(#[$doc:meta])* $name:ident = $key:literal, $label:literal, $label_en:literal, $kind:ident;)*) => {
        /// Every column the reports show, each heading written once: a report
        /// lists the ones it shows.
        pub mod columns {
            use super::{Column, ColumnKind::*};

            $($(#[$doc])* pub const $name: Column = Column {
                key: $key,
                label: $label,
                label_en: $label_en,
                kind: $kind,
            };)*
        }
    };
}

columns! {
    /// The month a row counts.
    MONTH = "month", "Mois", "Month", Period;
    /// The employee's number (matricule).
    EMPLOYEE_NUMBER = "employeeNumber", "Matricule", "Employee number", Text;
    /// The employee's name.
    EMPLOYEE = "employee", "Salarié", "Employee", Text;
    /// The establishment.
    ESTABLISHMENT = "establishment", "Établissement", "Establishment", Text;
    /// The absence account.
    ACCOUNT = "account", "Compte", "Account", Text;
    /// Absence days, in working days.
    DAYS = "days", "Jours", "Days", Days;
    /// How many absences.
    PERIODS = "periods", "Absences", "Absences", Count;
    /// How many of them changed since this report's last export.
    CHANGED_SINCE_EXPORT = "changedSinceExport", "Modifiées depuis l'export", "Changed since export", Count;
    /// The absence account's category.
    CATEGORY = "category", "Catégorie", "Category", Text;
    /// Absence days.
    ABSENT_DAYS = "absentDays", "Jours d'absence", "Absent days", Days;
    /// Working days the calendars expected.
    WORKING_DAYS = "workingDays", "Jours ouvrés théoriques", "Theoretical working days", Count;
    /// Absence days over working days.
    ABSENTEEISM_RATE = "rate", "Taux d'absentéisme", "Absenteeism rate", Percent;
    /// The department.
    DEPARTMENT = "department", "Département", "Department", Text;
    /// The socio-professional category.
    CSP = "csp", "CSP", "Category", Text;
    /// Employees under contract on the last day of the month.
    HEADCOUNT = "headcount", "Effectif fin de mois", "Month-end headcount", Count;
    /// Contracts that started in the month.
    ENTRIES = "entries", "Entrées", "Entries", Count;
    /// Contracts that ended in the month.
    EXITS = "exits", "Sorties", "Exits", Count;
    /// The expense nature.
    NATURE = "nature", "Nature", "Nature", Text;
    /// The analytics section.
    ANALYTICS = "analytics", "Section analytique", "Analytics section", Text;
    /// The currency amounts are in.
    CURRENCY = "currency", "Devise", "Currency", Text;
    /// Amount with VAT.
    GROSS = "gross", "TTC", "Gross", Money;
    /// Amount without VAT.
    NET = "net", "HT", "Net", Money;
    /// VAT amount.
    VAT = "vat", "TVA", "VAT", Money;
    /// Amount reimbursed.
    REIMBURSED = "reimbursed", "Remboursé", "Reimbursed", Money;
    /// How many expense items.
    ITEMS = "items", "Lignes", "Items", Count;
    /// The VAT rate.
    VAT_RATE = "rate", "Taux", "Rate", Percent;
    /// Amount without VAT, the base the VAT is taken on.
    VAT_BASE = "net", "Base HT", "Net", Money;
    /// The expense item's date.
    DATE = "date", "Date", "Date", Date;
    /// What is to be checked on the item.
    WARNINGS = "warnings", "Alertes", "Warnings", Text;
}

/// A filter a report takes, besides its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// `establishmentId`: establishments.
    Establishment,
    /// `departmentId`: departments.
    Department,
    /// `accountId`: absence accounts.
    Account,
    /// `natureId`: expense natures.
    Nature,
}

impl FilterKind {
    /// Its query parameter.
    pub fn parameter(self) -> &'static str {
        match self {
            FilterKind::Establishment => "establishmentId",
            FilterKind::Department => "departmentId",
            FilterKind::Account => "accountId",
            FilterKind::Nature => "natureId",
        }
    }

    /// Its label in `lang` (`fr`, else English).
    pub fn label(self, lang: &str) -> &'static str {
        let fr = lang == "fr";
        match self {
            FilterKind::Establishment if fr => "Établissements",
            FilterKind::Establishment => "Establishments",
            FilterKind::Department if fr => "Départements",
            FilterKind::Department => "Departments",
            FilterKind::Account if fr => "Comptes d'absence",
            FilterKind::Account => "Absence accounts",
            FilterKind::Nature if fr => "Natures de dépense",
            FilterKind::Nature => "Expense natures",
        }
    }
}

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// Approved absences per month, employee and account.
    AbsencesPayroll,
    /// Absence days per category, establishment and month, with the rate.
    Absenteeism,
    /// Headcount at month end with entries and exits.
    Headcount,
    /// Expenses per nature, month and analytics section.
    ExpensesByNature,
    /// Recoverable VAT per rate and month.
    RecoverableVat,
    /// Expense items with warnings.
    ExpenseWarnings,
}

/// A ready-made report.
#[derive(Debug)]
pub struct ReportSpec {
    /// Which one.
    pub kind: ReportKind,
    /// Its address: `/api/relais/reports/<code>`, `/reports/<code>`.
    pub code: &'static str,
    /// Its title in French.
    pub title: &'static str,
    /// Its title in English.
    pub title_en: &'static str,
    /// What it shows and who takes it, in French.
    pub description: &'static str,
    /// The same in English.
    pub description_en: &'static str,
    /// The grant a key needs to read it.
    pub permission: Permission,
    /// Its columns, in order.
    pub columns: &'static [Column],
    /// Its filters besides the period.
    pub filters: &'static [FilterKind],
    /// The chart drawn beside the table: the values of this column (one of
    /// `columns`) summed per month.
    pub chart: Column,
}

impl ReportSpec {
    /// The index of column `key`.
    pub fn column(&self, key: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.key == key)
    }
}

use columns::*;
use FilterKind::*;

/// Every ready-made report, in the order the pages list them.
pub static REPORTS: &[ReportSpec] = &[
    ReportSpec {
        kind: ReportKind::AbsencesPayroll,
        code: "absences-payroll",
        title: "Absences par mois, salarié et compte",
        title_en: "Absences per month, employee and account",
        description: "Les absences validées, en jours ouvrés de l'établissement, prêtes pour la paie ; \
                      « modifiées depuis l'export » compte les saisies tardives et les corrections \
                      faites depuis votre export précédent de cet état.",
        description_en: "Approved absences, in the establishment's working days, ready for payroll; « changed since the export » counts late entries and corrections made since your previous export of this report.",
        permission: Permission::Absences,
        columns: &[MONTH, EMPLOYEE_NUMBER, EMPLOYEE, ESTABLISHMENT, ACCOUNT, DAYS, PERIODS, CHANGED_SINCE_EXPORT],
        filters: &[Establishment, Department, Account],
        chart: DAYS,
    },
    ReportSpec {
        kind: ReportKind::Absenteeism,
        code: "absenteeism",
        title: "Absentéisme par catégorie, établissement et mois",
        title_en: "Absenteeism per category, establishment and month",
        description: "Jours d'absence validés par catégorie de compte, rapportés aux jours ouvrés \
                      théoriques de l'établissement (son calendrier, pour les salariés sous contrat).",
        description_en: "Approved absence days per account category, against the establishment's theoretical working days (its calendar, for employees under contract).",
        permission: Permission::Absences,
        columns: &[MONTH, ESTABLISHMENT, CATEGORY, ABSENT_DAYS, WORKING_DAYS, ABSENTEEISM_RATE],
        filters: &[Establishment, Department, Account],
        chart: ABSENT_DAYS,
    },
    ReportSpec {
        kind: ReportKind::Headcount,
        code: "headcount",
        title: "Effectif fin de mois, entrées et sorties",
        title_en: "Month-end headcount, entries and exits",
        description: "Salariés sous contrat le dernier jour du mois, par établissement, département \
                      et catégorie socio-professionnelle, avec les entrées et sorties du mois.",
        description_en: "Employees under contract on the last day of the month, per establishment, department and socio-professional category, with the month's entries and exits.",
        permission: Permission::PersonnelFile,
        columns: &[MONTH, ESTABLISHMENT, DEPARTMENT, CSP, HEADCOUNT, ENTRIES, EXITS],
        filters: &[Establishment, Department],
        chart: HEADCOUNT,
    },
    ReportSpec {
        kind: ReportKind::ExpensesByNature,
        code: "expenses-by-nature",
        title: "Dépenses par nature, mois et section analytique",
        title_en: "Expenses per nature, month and analytics section",
        description: "Les lignes des notes de frais validées et contrôlées (puis en paiement ou \
                      payées) : une ligne de charge par nature, montants TTC, HT, TVA et remboursés.",
        description_en: "The items of approved and checked expense claims (then being paid or paid): one expense line per nature, amounts gross, net, VAT and reimbursed.",
        permission: Permission::Expenses,
        columns: &[MONTH, NATURE, ANALYTICS, CURRENCY, GROSS, NET, VAT, REIMBURSED, ITEMS],
        filters: &[Establishment, Department, Nature],
        chart: GROSS,
    },
    ReportSpec {
        kind: ReportKind::RecoverableVat,
        code: "recoverable-vat",
        title: "TVA récupérable par taux et par mois",
        title_en: "Recoverable VAT per rate and month",
        description: "Une ligne de TVA par taux et par mois, sur les notes de frais validées et \
                      contrôlées (puis en paiement ou payées).",
        description_en: "One VAT line per rate and per month, over approved and checked expense claims (then being paid or paid).",
        permission: Permission::Expenses,
        columns: &[MONTH, VAT_RATE, CURRENCY, VAT_BASE, VAT, GROSS, ITEMS],
        filters: &[Establishment, Department, Nature],
        chart: VAT,
    },
    ReportSpec {
        kind: ReportKind::ExpenseWarnings,
        code: "expense-warnings",
        title: "Dépenses avec alertes",
        title_en: "Expense items with warnings",
        description: "Les lignes de frais à vérifier : plafond dépassé, justificatif manquant, \
                      doublon possible, achat le week-end, devise étrangère.",
        description_en: "The expense items to check: cap exceeded, missing receipt, possible duplicate, weekend purchase, foreign currency.",
        permission: Permission::Expenses,
        columns: &[DATE, EMPLOYEE_NUMBER, EMPLOYEE, NATURE, CURRENCY, GROSS, WARNINGS],
        filters: &[Establishment, Department, Nature],
        chart: GROSS,
    },
];

/// The report at `code`.
pub fn report(code: &str) -> Option<&'static ReportSpec> {
    REPORTS.iter().find(|r| r.code.eq_ignore_ascii_case(code))
}

/// The spec of `kind`.
pub fn spec(kind: ReportKind) -> &'static ReportSpec {
    REPORTS
        .iter()
        .find(|r| r.kind == kind)
        .expect("every kind is listed")
}

/// One value of a report's row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A month.
    Month(Month),
    /// A date.
    Date(NaiveDate),
    /// A whole number.
    Count(i64),
    /// Days, in half days (so that sums stay exact).
    HalfDays(i64),
    /// Money in minor units (cents).
    Money(i64),
    /// A share, from 0 to 1.
    Percent(f64),
    /// What an approver should look at on an expense item, in the reader's
    /// words.
    Warnings(Vec<crate::expense::ExpenseWarning>),
    /// No value.
    Empty,
}

impl Cell {
    /// The value as a number, when it is one (days in days, money in units).
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Count(n) => Some(*n as f64),
            Cell::HalfDays(h) => Some(*h as f64 / 2.0),
            Cell::Money(m) => Some(*m as f64 / 100.0),
            Cell::Percent(p) => Some(*p),
            _ => None,
        }
    }

    /// The value as people read it (French conventions).
    pub fn display(&self) -> String {
        self.display_in("fr")
    }

    /// The value as people of `lang` read it (`fr`: « mars 2026 », 10/06/2026,
    /// 2,5, 3,45 %; else English: « March 2026 », 10 Jun 2026, 2.5, 3.45%).
    pub fn display_in(&self, lang: &str) -> String {
        let fr = lang == "fr";
        match self {
            Cell::Month(m) => m.label_in(lang),
            Cell::Date(d) => crate::said::day(*d, lang),
            Cell::Percent(p) if fr => format!("{:.2} %", p * 100.0).replace('.', ","),
            Cell::Percent(p) => format!("{:.2}%", p * 100.0),
            Cell::Warnings(w) => w
                .iter()
                .map(|w| w.label_in(lang))
                .collect::<Vec<_>>()
                .join(", "),
            other if fr => other.text(','),
            other => other.text('.'),
        }
    }

    /// The value in a file downloaded by a reader of `lang`: as [`Cell::plain`]
    /// gives it, but words in their language.
    pub fn in_file(&self, lang: &str) -> String {
        match self {
            Cell::Warnings(_) => self.display_in(lang),
            other => other.plain(),
        }
    }

    /// The value in the API: plain numbers with a dot, ISO dates and
    /// months, words in English.
    pub fn plain(&self) -> String {
        match self {
            Cell::Month(m) => m.to_string(),
            Cell::Date(d) => d.to_string(),
            Cell::Percent(p) => format!("{:.4}", p),
            Cell::Warnings(_) => self.display_in("en"),
            other => other.text('.'),
        }
    }

    /// Text, counts, days and money with `point` as the decimal separator.
    fn text(&self, point: char) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::HalfDays(h) if h % 2 == 0 => (h / 2).to_string(),
            Cell::HalfDays(h) => format!("{}{point}5", h / 2),
            Cell::Money(m) => {
                let sign = if *m < 0 { "-" } else { "" };
                format!("{sign}{}{point}{:02}", m.abs() / 100, m.abs() % 100)
            }
            Cell::Month(m) => m.to_string(),
            Cell::Date(d) => d.to_string(),
            Cell::Percent(p) => p.to_string(),
            Cell::Warnings(_) => self.display_in("en"),
            Cell::Empty => String::new(),
        }
    }
}

/// A computed report: its rows, in the order shown.
#[derive(Debug, Clone)]
pub struct ReportTable {
    /// Which report.
    pub spec: &'static ReportSpec,
    /// The rows; each has one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl ReportTable {
    /// Column `key`'s values summed per month (the chart beside the table),
    /// in month order. Rows without a month (a list of items) are put in the
    /// month of their date.
    pub fn per_month(&self, key: &str) -> Vec<(Month, f64)> {
        let Some(value) = self.spec.column(key) else {
            return Vec::new();
        };
        let mut sums: std::collections::BTreeMap<Month, f64> = Default::default();
        for row in &self.rows {
            let month = row.iter().find_map(|c| match c {
                Cell::Month(m) => Some(*m),
                Cell::Date(d) => Some(Month::of(*d)),
                _ => None,
            });
            if let (Some(m), Some(v)) = (month, row[value].number()) {
                *sums.entry(m).or_default() += v;
            }
        }
        sums.into_iter().collect()
    }
}

/// The period and filters a report is computed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFilter {
    /// First month.
    pub from: Month,
    /// Last month (included).
    pub to: Month,
    /// Only these establishments (already bounded by the reader's scope).
    pub establishments: Option<Vec<i64>>,
    /// Only these departments.
    pub departments: Option<Vec<i64>>,
    /// Only these absence accounts.
    pub accounts: Option<Vec<i64>>,
    /// Only these expense natures.
    pub natures: Option<Vec<i64>>,
}

/// The longest period a report covers.
pub const MAX_MONTHS: usize = 36;

impl ReportFilter {
    /// A filter over `from..=to`, checked: `to` not before `from`, at most
    /// [`MAX_MONTHS`] months.
    pub fn new(from: Month, to: Month) -> Result<Self, DomainError> {
        if to < from {
            return Err(DomainError::said(
                "to",
                format!("the period ends ({to}) before it starts ({from})"),
                format!(
                    "la période finit ({}) avant de commencer ({})",
                    to.label(),
                    from.label()
                ),
            ));
        }
        if from.through(to).len() > MAX_MONTHS {
            return Err(DomainError::said(
                "to",
                format!("a report covers at most {MAX_MONTHS} months ({from} to {to} is longer)"),
                format!(
                    "un rapport couvre au plus {MAX_MONTHS} mois (de {} à {}, c'est plus long)",
                    from.label(),
                    to.label()
                ),
            ));
        }
        Ok(Self {
            from,
            to,
            establishments: None,
            departments: None,
            accounts: None,
            natures: None,
        })
    }

    /// The first day of the period.
    pub fn first_day(&self) -> NaiveDate {
        self.from.first_day()
    }

    /// The last day of the period.
    pub fn last_day(&self) -> NaiveDate {
        self.to.last_day()
    }

    /// Narrows the establishments to those of a reader's scope (`None`: all).
    pub fn within(mut self, scope: Option<&[i64]>) -> Self {
        if let Some(scope) = scope {
            self.establishments = Some(match self.establishments {
                Some(asked) => asked.into_iter().filter(|e| scope.contains(e)).collect(),
                None => scope.to_vec(),
            });
        }
        self
    }
}

/// The standard French VAT rates, in tenths of a percent: a computed rate
/// within half a point of one is that one.
pub const VAT_RATES: [i64; 5] = [200, 100, 55, 21, 0];

/// The standard rate nearest to `permille` (VAT over net, in tenths of a
/// percent), or `permille` itself when none is within half a point.
pub fn snap_vat_rate(permille: i64) -> i64 {
    VAT_RATES
        .iter()
        .copied()
        .find(|r| (r - permille).abs() <= 5)
        .unwrap_or(permille)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_count() {
        let m: Month = "2026-02".parse().unwrap();
        assert_eq!(m.last_day(), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        assert_eq!(m.to_string(), "2026-02");
        assert_eq!(m.label(), "février 2026");
        assert_eq!((m.year(), m.number()), (2026, 2));
        assert_eq!(m.short_label_in("fr"), "févr.");
        assert_eq!(m.short_label_in("en"), "Feb");
        let december: Month = "2026-12".parse().unwrap();
        assert_eq!(december.short_label_in("fr"), "déc.");
        assert_eq!(
            "2026-12".parse::<Month>().unwrap().next().to_string(),
            "2027-01"
        );
        for bad in ["2026-13", "2026", "26-01", "2026-1x", ""] {
            let e = bad.parse::<Month>().unwrap_err();
            assert!(e.message.contains("YYYY-MM"), "{bad}: {e}");
        }
        let from: Month = "2025-11".parse().unwrap();
        assert_eq!(from.through("2026-02".parse().unwrap()).len(), 4);
    }

    #[test]
    fn filters_check_their_period_and_scope() {
        let m = |s: &str| s.parse::<Month>().unwrap();
        assert!(ReportFilter::new(m("2026-03"), m("2026-02")).is_err());
        assert!(ReportFilter::new(m("2020-01"), m("2026-02")).is_err());
        let f = ReportFilter::new(m("2026-01"), m("2026-12")).unwrap();
        assert_eq!(
            f.clone().within(Some(&[1, 2])).establishments,
            Some(vec![1, 2])
        );
        let mut asked = f;
        asked.establishments = Some(vec![2, 3]);
        assert_eq!(asked.within(Some(&[1, 2])).establishments, Some(vec![2]));
    }

    #[test]
    fn cells_read_as_people_and_files_expect() {
        assert_eq!(Cell::HalfDays(5).display(), "2,5");
        assert_eq!(Cell::HalfDays(5).plain(), "2.5");
        assert_eq!(Cell::Money(-1234).display(), "-12,34");
        assert_eq!(Cell::Money(1205).plain(), "12.05");
        assert_eq!(Cell::Percent(0.0345).display(), "3,45 %");
        // In English, English conventions.
        for (cell, fr, en) in [
            (Cell::HalfDays(5), "2,5", "2.5"),
            (Cell::Money(-1234), "-12,34", "-12.34"),
            (Cell::Percent(0.0345), "3,45 %", "3.45%"),
            (
                Cell::Month("2026-03".parse().unwrap()),
                "mars 2026",
                "March 2026",
            ),
            (
                Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 6, 10).unwrap()),
                "10/06/2026",
                "10 Jun 2026",
            ),
        ] {
            assert_eq!(
                (cell.display_in("fr"), cell.display_in("en")),
                (fr.into(), en.into())
            );
        }
        use crate::expense::ExpenseWarning;
        let warnings = Cell::Warnings(vec![ExpenseWarning::OverCap, ExpenseWarning::Weekend]);
        assert_eq!(
            warnings.display_in("fr"),
            "plafond dépassé, achat le week-end"
        );
        assert_eq!(
            warnings.display_in("en"),
            "over the cap, bought on a weekend"
        );
        assert_eq!(
            warnings.plain(),
            warnings.display_in("en"),
            "the API's words"
        );
        assert_eq!(warnings.in_file("fr"), warnings.display_in("fr"));
        assert_eq!(
            Cell::Money(1250).in_file("fr"),
            "12.50",
            "numbers stay plain"
        );
        assert_eq!(snap_vat_rate(198), 200);
        assert_eq!(snap_vat_rate(56), 55);
        assert_eq!(snap_vat_rate(150), 150);
    }

    #[test]
    fn every_report_charts_one_of_its_columns() {
        for r in REPORTS {
            assert!(r.column(r.chart.key).is_some(), "{}", r.code);
            assert_eq!(report(r.code).unwrap().kind, r.kind);
            assert_eq!(spec(r.kind).code, r.code);
        }
    }

    #[test]
    fn every_report_is_described_in_both_languages() {
        for r in REPORTS {
            for (fr, en) in [(r.title, r.title_en), (r.description, r.description_en)] {
                assert!(!fr.is_empty() && !en.is_empty(), "{}", r.code);
                assert_ne!(fr, en, "{}", r.code);
            }
        }
    }
}
