//! The fields of the personnel file's standard section ("Données Lucca"),
//! as the API names them, with their labels: the API selects and answers
//! them, and field pickers (a partner's field mapping) show their labels.

/// A field of the standard section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardField {
    /// Its name in the API (`dtContractStart`).
    pub name: &'static str,
    /// What it is, in French.
    pub label_fr: &'static str,
    /// What it is, in English.
    pub label_en: &'static str,
}

impl StandardField {
    /// The label in `lang` (`en`, else French).
    pub fn label(&self, lang: &str) -> &'static str {
        if lang == "en" {
            self.label_en
        } else {
            self.label_fr
        }
    }
}

const fn f(name: &'static str, label_fr: &'static str, label_en: &'static str) -> StandardField {
    StandardField {
        name,
        label_fr,
        label_en,
    }
}

/// The code of the standard section.
pub const STANDARD_SECTION: &str = "standard";

/// Every field of the standard section, in the API's order.
pub const STANDARD: &[StandardField] = &[
    f("id", "Identifiant", "Identifier"),
    f("name", "Nom complet", "Full name"),
    f("url", "Adresse de la fiche", "Record URL"),
    f("displayName", "Nom affiché", "Display name"),
    f("modifiedAt", "Dernière modification", "Last modified"),
    f("lastName", "Nom", "Last name"),
    f("firstName", "Prénom", "First name"),
    f("login", "Identifiant de connexion", "Login"),
    f("mail", "E-mail professionnel", "Work e-mail"),
    f("dtContractStart", "Début du contrat", "Contract start"),
    f("dtContractEnd", "Fin du contrat", "Contract end"),
    f("birthDate", "Date de naissance", "Birth date"),
    f("employeeNumber", "Matricule", "Employee number"),
    f("jobTitle", "Intitulé de poste", "Job title"),
    f("civilTitle", "Civilité", "Civil title"),
    f("gender", "Genre", "Gender"),
    f("nationality", "Nationalité", "Nationality"),
    f("seniorityDate", "Date d'ancienneté", "Seniority date"),
    f("externalId", "Identifiant externe", "External identifier"),
    f(
        "csp",
        "Catégorie socio-professionnelle",
        "Socio-professional category",
    ),
    f("cspId", "Identifiant de la CSP", "Category identifier"),
    f("culture", "Langue", "Language"),
    f("picture", "Photo", "Picture"),
    f(
        "legalEntityId",
        "Identifiant de l'établissement",
        "Establishment identifier",
    ),
    f("legalEntity", "Établissement", "Establishment"),
    f(
        "departmentId",
        "Identifiant du service",
        "Department identifier",
    ),
    f("department", "Service", "Department"),
    f("managerId", "Identifiant du manager", "Manager identifier"),
    f("manager", "Manager", "Manager"),
    f("calendar", "Calendrier", "Calendar"),
    f("userWorkCycles", "Cycles de travail", "Work cycles"),
    f("userAxisValues", "Axes analytiques", "Analytics axes"),
    f(
        "applicationData",
        "Données des applications",
        "Application data",
    ),
    f("profession", "Métier", "Profession"),
    f("personalEmail", "E-mail personnel", "Personal e-mail"),
    f("personalPhone", "Téléphone personnel", "Personal phone"),
    f("professionalPhone", "Téléphone professionnel", "Work phone"),
    f("address", "Adresse", "Address"),
];

/// The standard field `name`.
pub fn standard(name: &str) -> Option<&'static StandardField> {
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
    fn every_standard_field_is_named_once_with_labels() {
        let mut names = standard_names();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(STANDARD
            .iter()
            .all(|f| !f.label_fr.is_empty() && !f.label_en.is_empty()));
        assert_eq!(standard("employeeNumber").unwrap().label("fr"), "Matricule");
    }
}
