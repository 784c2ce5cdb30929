//! Expenses: natures, analytics axes, claims and their items.

use crate::error::{DomainError, Result};
use crate::ids::{
    AxisId, AxisSectionId, BaseId, EmployeeId, ExpenseClaimId, ExpenseItemId, ExpenseNatureId,
};
use crate::org::Name;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency code, e.g. `EUR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The euro.
    pub const EUR: Currency = Currency(*b"EUR");

    /// Parses a three-letter upper-case code.
    pub fn parse(raw: &str) -> Result<Self> {
        let bytes = raw.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(DomainError::new(
                "currencyId",
                format!("'{raw}' is not an ISO 4217 currency code such as EUR"),
            ));
        }
        Ok(Self([bytes[0], bytes[1], bytes[2]]))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An amount in integer minor units (cents for EUR) and its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Money {
    /// Minor units.
    pub minor: i64,
    /// Currency.
    pub currency: Currency,
}

/// The status of an expense claim, with the numbers of the v3 API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ClaimStatus {
    /// 1: created, not yet approved.
    Created,
    /// 2: partially approved.
    PartiallyApproved,
    /// 3: approved.
    Approved,
    /// 4: controlled.
    Controlled,
    /// 5: approved and controlled.
    ApprovedAndControlled,
    /// 6: payment initiated.
    PaymentInitiated,
    /// 7: paid.
    Paid,
    /// 8: refused.
    Refused,
    /// 9: cancelled.
    Cancelled,
}

impl ClaimStatus {
    /// Every status, in the order of their numbers.
    pub const ALL: [ClaimStatus; 9] = [
        ClaimStatus::Created,
        ClaimStatus::PartiallyApproved,
        ClaimStatus::Approved,
        ClaimStatus::Controlled,
        ClaimStatus::ApprovedAndControlled,
        ClaimStatus::PaymentInitiated,
        ClaimStatus::Paid,
        ClaimStatus::Refused,
        ClaimStatus::Cancelled,
    ];

    /// The `statusId` of the v3 API (1 to 9).
    pub fn id(self) -> i32 {
        ClaimStatus::ALL
            .iter()
            .position(|s| *s == self)
            .expect("listed") as i32
            + 1
    }

    /// The status with `statusId` `id`.
    pub fn from_id(id: i32) -> Result<Self> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| ClaimStatus::ALL.get(i).copied())
            .ok_or_else(|| {
                DomainError::new(
                    "statusId",
                    format!("{id} is not an expense claim status (1 to 9)"),
                )
            })
    }
}

/// How an expense was paid: `paymentMethodId` 0 (by the employee, to be
/// reimbursed) or 1 (with a corporate card).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub enum PaymentMethod {
    /// Paid by the employee, to be reimbursed.
    #[default]
    Employee,
    /// Paid with a corporate card.
    CorporateCard,
}

impl PaymentMethod {
    /// The `paymentMethodId` of the API.
    pub fn id(self) -> i32 {
        match self {
            Self::Employee => 0,
            Self::CorporateCard => 1,
        }
    }

    /// The method with `paymentMethodId` `id`.
    pub fn from_id(id: i32) -> Result<Self> {
        match id {
            0 => Ok(Self::Employee),
            1 => Ok(Self::CorporateCard),
            other => Err(DomainError::new(
                "paymentMethodId",
                format!("{other} is not a payment method (0 employee, 1 corporate card)"),
            )),
        }
    }
}

/// Where a claim stands in its approval, apart from its workflow status:
/// `approvalStateId` 0 (not submitted), 1 (awaiting approval), 2 (approved),
/// 3 (refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub enum ApprovalState {
    /// Not submitted for approval (a draft, or cancelled).
    #[default]
    NotSubmitted,
    /// Waiting for a manager's approval.
    Pending,
    /// Approved.
    Approved,
    /// Refused.
    Refused,
}

impl ApprovalState {
    /// The `approvalStateId` of the API.
    pub fn id(self) -> i32 {
        match self {
            Self::NotSubmitted => 0,
            Self::Pending => 1,
            Self::Approved => 2,
            Self::Refused => 3,
        }
    }

    /// The state with `approvalStateId` `id`.
    pub fn from_id(id: i32) -> Result<Self> {
        match id {
            0 => Ok(Self::NotSubmitted),
            1 => Ok(Self::Pending),
            2 => Ok(Self::Approved),
            3 => Ok(Self::Refused),
            other => Err(DomainError::new(
                "approvalStateId",
                format!("{other} is not an approval state (0 to 3)"),
            )),
        }
    }

    /// The approval a claim in `status` has had.
    pub fn of(status: ClaimStatus) -> Self {
        match status {
            ClaimStatus::Created | ClaimStatus::PartiallyApproved => Self::Pending,
            ClaimStatus::Refused => Self::Refused,
            ClaimStatus::Cancelled => Self::NotSubmitted,
            _ => Self::Approved,
        }
    }
}

/// An expense nature (meal, train, hotel, mileage…), with an optional cap per item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpenseNature {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: ExpenseNatureId,
    /// Name.
    pub name: Name,
    /// The most one item may cost before it is flagged.
    pub cap: Option<Money>,
    /// Whether the nature is mileage, counted in kilometres.
    pub mileage: bool,
    /// Whether it can be chosen.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// An analytics axis (cost centre, project…).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: AxisId,
    /// Short code.
    pub code: String,
    /// Name.
    pub name: Name,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// A section of an analytics axis (one cost centre, one project…).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxisSection {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: AxisSectionId,
    /// The axis it belongs to.
    pub axis_id: AxisId,
    /// Short code.
    pub code: String,
    /// Name.
    pub name: Name,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// An expense claim: a set of items submitted together by one employee.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpenseClaim {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: ExpenseClaimId,
    /// Whose expenses.
    pub owner_id: EmployeeId,
    /// Who entered it (the owner, or someone on their behalf).
    pub author_id: EmployeeId,
    /// Title.
    pub name: Name,
    /// Workflow status.
    pub status: ClaimStatus,
    /// Where it stands in its approval.
    pub approval_state: ApprovalState,
    /// Currency of the claim.
    pub currency: Currency,
    /// When it was declared (submitted).
    pub declared_on: Option<NaiveDate>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// The amounts of an item, all in the same currency, in minor units:
/// gross (tax included) = net (tax excluded) + VAT, and the reimbursed
/// amount never exceeds the gross.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ItemAmounts {
    /// Currency.
    pub currency: Currency,
    /// Gross amount, tax included.
    pub gross: i64,
    /// Net amount, tax excluded.
    pub net: i64,
    /// VAT.
    pub vat: i64,
    /// Amount paid back to the employee.
    pub reimbursed: i64,
}

impl ItemAmounts {
    /// Checks the amounts' arithmetic.
    pub fn new(currency: Currency, gross: i64, vat: i64, reimbursed: i64) -> Result<Self> {
        if gross < 0 || vat < 0 || reimbursed < 0 {
            return Err(DomainError::new("amounts", "amounts must not be negative"));
        }
        if vat > gross {
            return Err(DomainError::new(
                "amounts",
                format!("VAT {vat} is more than the gross amount {gross}"),
            ));
        }
        if reimbursed > gross {
            return Err(DomainError::new(
                "amounts",
                format!("reimbursed {reimbursed} is more than the gross amount {gross}"),
            ));
        }
        Ok(Self {
            currency,
            gross,
            net: gross - vat,
            vat,
            reimbursed,
        })
    }
}

macro_rules! warnings {
    ($($(#[$doc:meta])* $variant:ident = $code:literal),* $(,)?) => {
        /// Something an approver should look at on an item.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum ExpenseWarning { $($(#[$doc])* #[serde(rename = $code)] $variant),* }

        impl ExpenseWarning {
            /// Its words for a reader of `lang` (`fr`, else English).
            pub fn label_in(self, lang: &str) -> &'static str {
                let (fr, en) = match self {
                    ExpenseWarning::OverCap => ("plafond dépassé", "over the cap"),
                    ExpenseWarning::MissingReceipt => ("justificatif manquant", "receipt missing"),
                    ExpenseWarning::PossibleDuplicate => ("doublon possible", "possible duplicate"),
                    ExpenseWarning::Weekend => ("achat le week-end", "bought on a weekend"),
                    ExpenseWarning::ForeignCurrency => ("devise étrangère", "foreign currency"),
                };
                if lang == "fr" { fr } else { en }
            }

            /// The stored code.
            pub fn as_str(self) -> &'static str {
                match self { $(ExpenseWarning::$variant => $code),* }
            }
        }

        impl FromStr for ExpenseWarning {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($code => Ok(ExpenseWarning::$variant),)*
                    other => Err(DomainError::new("warnings", format!("'{other}' is not an expense warning"))),
                }
            }
        }
    };
}

warnings! {
    /// The item costs more than its nature's cap.
    OverCap = "over-cap",
    /// No receipt was attached.
    MissingReceipt = "missing-receipt",
    /// Another item of the same owner has the same nature, date and amount.
    PossibleDuplicate = "possible-duplicate",
    /// Purchased on a weekend.
    Weekend = "weekend",
    /// Paid in another currency than the claim's.
    ForeignCurrency = "foreign-currency",
}

/// Joins warnings into their stored form: codes separated by commas.
pub fn warnings_to_string(warnings: &[ExpenseWarning]) -> String {
    warnings
        .iter()
        .map(|w| w.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses the stored form of warnings.
pub fn warnings_from_str(raw: &str) -> Result<Vec<ExpenseWarning>> {
    raw.split(',')
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// The warnings the rules raise on an item.
///
/// A nature's cap applies per unit: three hotel nights may cost three caps.
pub fn item_warnings(
    amounts: &ItemAmounts,
    nature: &ExpenseNature,
    quantity: i32,
    purchased_on: NaiveDate,
    has_receipt: bool,
    same_owner_nature_date_amount_exists: bool,
) -> Vec<ExpenseWarning> {
    use chrono::Datelike;
    let mut out = Vec::new();
    if let Some(cap) = nature.cap {
        let allowed = cap.minor.saturating_mul(i64::from(quantity.max(1)));
        if cap.currency == amounts.currency && amounts.gross > allowed {
            out.push(ExpenseWarning::OverCap);
        }
    }
    if !has_receipt {
        out.push(ExpenseWarning::MissingReceipt);
    }
    if same_owner_nature_date_amount_exists {
        out.push(ExpenseWarning::PossibleDuplicate);
    }
    if purchased_on.weekday().number_from_monday() >= 6 {
        out.push(ExpenseWarning::Weekend);
    }
    out
}

/// Who attended a meal or event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Attendees {
    /// Employees of the company.
    pub internal: Vec<EmployeeId>,
    /// Guests, by name.
    pub external: Vec<String>,
}

/// An item of an expense claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpenseItem {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: ExpenseItemId,
    /// The claim it belongs to.
    pub claim_id: ExpenseClaimId,
    /// Its number within its claim: 1, 2, …
    pub line_number: i32,
    /// How it was paid.
    pub payment_method: PaymentMethod,
    /// Whether the accounting team has checked it.
    pub controlled: bool,
    /// Whose expense (the claim's owner).
    pub owner_id: EmployeeId,
    /// Nature.
    pub nature_id: ExpenseNatureId,
    /// Purchase date.
    pub purchased_on: NaiveDate,
    /// Amounts.
    pub amounts: ItemAmounts,
    /// Quantity (nights, meals…).
    pub quantity: i32,
    /// Kilometres, for mileage.
    pub mileage_km: Option<i32>,
    /// Attendees.
    pub attendees: Attendees,
    /// Analytics: the axis sections it is charged to.
    pub axis_sections: Vec<AxisSectionId>,
    /// Warnings raised on it.
    pub warnings: Vec<ExpenseWarning>,
    /// Merchant.
    pub merchant: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nature(cap: Option<i64>) -> ExpenseNature {
        let now = crate::now();
        ExpenseNature {
            base_id: BaseId(1),
            id: ExpenseNatureId(1),
            name: Name::parse("name", "Repas").unwrap(),
            cap: cap.map(|minor| Money {
                minor,
                currency: Currency::EUR,
            }),
            mileage: false,
            enabled: true,
            created_at: now,
            modified_at: now,
        }
    }

    #[test]
    fn currencies() {
        assert_eq!(Currency::parse("EUR").unwrap(), Currency::EUR);
        for bad in ["eur", "EU", "EURO", "€"] {
            assert_eq!(Currency::parse(bad).unwrap_err().field, "currencyId");
        }
    }

    #[test]
    fn amounts_add_up() {
        let a = ItemAmounts::new(Currency::EUR, 12_000, 2_000, 12_000).unwrap();
        assert_eq!(a.net, 10_000);
        assert!(ItemAmounts::new(Currency::EUR, 100, 200, 0).is_err());
        assert!(ItemAmounts::new(Currency::EUR, 100, 0, 101).is_err());
        assert!(ItemAmounts::new(Currency::EUR, -1, 0, 0).is_err());
    }

    #[test]
    fn claim_status_numbers() {
        assert_eq!(ClaimStatus::Created.id(), 1);
        assert_eq!(ClaimStatus::Cancelled.id(), 9);
        for s in ClaimStatus::ALL {
            assert_eq!(ClaimStatus::from_id(s.id()).unwrap(), s);
        }
        assert!(ClaimStatus::from_id(10).is_err());
    }

    #[test]
    fn warnings_follow_the_rules() {
        let tuesday = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
        let saturday = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        let amounts = ItemAmounts::new(Currency::EUR, 3_000, 500, 3_000).unwrap();
        assert!(
            item_warnings(&amounts, &nature(Some(2_500)), 1, tuesday, true, false)
                == vec![ExpenseWarning::OverCap]
        );
        assert!(item_warnings(&amounts, &nature(Some(2_500)), 2, tuesday, true, false).is_empty());
        assert!(item_warnings(&amounts, &nature(Some(3_000)), 1, tuesday, true, false).is_empty());
        let all = item_warnings(&amounts, &nature(None), 1, saturday, false, true);
        assert_eq!(
            all,
            vec![
                ExpenseWarning::MissingReceipt,
                ExpenseWarning::PossibleDuplicate,
                ExpenseWarning::Weekend
            ]
        );
        let stored = warnings_to_string(&all);
        assert_eq!(warnings_from_str(&stored).unwrap(), all);
        assert!(warnings_from_str("").unwrap().is_empty());
        assert!(warnings_from_str("over-cap,bogus").is_err());
    }
}
