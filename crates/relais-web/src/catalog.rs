//! The catalog of apps: the manifests of `integrations/`, embedded in the
//! binary, or read from a folder given at start-up.

use relais_core::marketplace::{AppManifest, ManifestError};
use std::path::Path;

/// The manifests shipped with relais.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "happypal.toml",
        include_str!("../../../integrations/happypal.toml"),
    ),
    (
        "inside-online.toml",
        include_str!("../../../integrations/inside-online.toml"),
    ),
    (
        "ledgy.toml",
        include_str!("../../../integrations/ledgy.toml"),
    ),
    (
        "planningpme.toml",
        include_str!("../../../integrations/planningpme.toml"),
    ),
    (
        "semana.toml",
        include_str!("../../../integrations/semana.toml"),
    ),
];

/// Every app that can be installed.
#[derive(Debug, Clone)]
pub struct Catalog {
    apps: Vec<AppManifest>,
}

impl Catalog {
    /// Checks a set of manifests: each valid, codes unique.
    pub fn from_files(files: &[(String, String)]) -> Result<Self, ManifestError> {
        let mut apps: Vec<AppManifest> = Vec::new();
        for (file, text) in files {
            let app = AppManifest::parse(file, text)?;
            if apps.iter().any(|a| a.code == app.code) {
                return Err(ManifestError {
                    file: file.clone(),
                    message: format!("code '{}' is already used by another manifest", app.code),
                });
            }
            apps.push(app);
        }
        apps.sort_by_key(|a| a.name.to_lowercase());
        Ok(Self { apps })
    }

    /// The manifests shipped with relais.
    pub fn embedded() -> Self {
        let files: Vec<(String, String)> = EMBEDDED
            .iter()
            .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
            .collect();
        Self::from_files(&files).expect("the shipped manifests are valid")
    }

    /// Every `*.toml` file of `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, ManifestError> {
        let err = |message: String| ManifestError {
            file: dir.display().to_string(),
            message,
        };
        let mut files = Vec::new();
        let entries =
            std::fs::read_dir(dir).map_err(|e| err(format!("cannot read the folder: {e}")))?;
        for entry in entries {
            let path = entry.map_err(|e| err(e.to_string()))?.path();
            if path.extension().is_some_and(|x| x == "toml") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
                files.push((path.display().to_string(), text));
            }
        }
        if files.is_empty() {
            return Err(err("no *.toml manifest in this folder".into()));
        }
        Self::from_files(&files)
    }

    /// Every app, by name.
    pub fn apps(&self) -> &[AppManifest] {
        &self.apps
    }

    /// The app with this code.
    pub fn get(&self, code: &str) -> Option<&AppManifest> {
        self.apps.iter().find(|a| a.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::access::Permission;
    use relais_core::ids::AbsenceAccountId;

    #[test]
    fn the_five_apps_ship_with_least_privilege_keys() {
        let c = Catalog::embedded();
        assert_eq!(c.apps().len(), 5);
        let happypal = c.get("happypal").unwrap().role().unwrap();
        for f in [
            "firstName",
            "lastName",
            "mail",
            "birthDate",
            "dtContractStart",
            "dtContractEnd",
        ] {
            assert!(happypal.may_read_field("standard", f), "{f}");
        }
        assert!(!happypal.may_read_field("standard", "jobTitle"));
        assert!(!happypal.has(Permission::Absences) && !happypal.has(Permission::Expenses));
        let semana = c.get("semana").unwrap().role().unwrap();
        assert!(
            semana.may_request_on(AbsenceAccountId(4))
                && !semana.may_request_on(AbsenceAccountId(1))
        );
        assert!(c
            .get("planningpme")
            .unwrap()
            .role()
            .unwrap()
            .has(Permission::Absences));
        assert!(c
            .get("inside-online")
            .unwrap()
            .role()
            .unwrap()
            .has(Permission::Expenses));
        assert!(!c
            .get("ledgy")
            .unwrap()
            .role()
            .unwrap()
            .has(Permission::Absences));
    }

    #[test]
    fn duplicate_codes_and_bad_grants_are_refused_with_the_file() {
        let text = EMBEDDED[0].1.to_owned();
        let dup = Catalog::from_files(&[
            ("a.toml".into(), text.clone()),
            ("b.toml".into(), text.clone()),
        ])
        .unwrap_err();
        assert!(dup.to_string().contains("b.toml") && dup.message.contains("already used"));
        let bad = text.replace("personnel-file:fields=", "personnel-files:fields=");
        let e = Catalog::from_files(&[("x.toml".into(), bad)]).unwrap_err();
        assert!(
            e.to_string().contains("x.toml") && e.message.contains("not a grant"),
            "{e}"
        );
    }

    #[test]
    fn a_folder_without_manifests_is_an_error() {
        let dir = std::env::temp_dir().join(format!("relais-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(Catalog::load_dir(&dir)
            .unwrap_err()
            .message
            .contains("no *.toml"));
    }
}
