//! The field mapping of an integration whose partner takes one (Ledgy's
//! stakeholder fields): the editor on the app's page, its check against
//! the base before anything is saved, export and import as a file, and the
//! preview of what the partner would receive.

use super::installed::installation_for_admin;
use super::layout::PageForm;
use super::layout::PagePath;
use super::layout::{column_heads, error_page, page, refuse_csrf, PageError};
use crate::session::{Lang, Viewer};
use axum::extract::{Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use relais_api::AppState;
use relais_core::activity::Action;
use relais_core::connector::{Declaration, MappingTool};
use relais_core::ids::InstallationId;
use relais_core::integration::MappingTools;
use relais_core::integration::{HealthReason, Integration, IntegrationUpdate};
use relais_core::mapping::{
    FieldMapping, MappedField, MappingProblem, PreviewQuery, PreviewStatus, SourceField,
    SourcePath, TargetSpec,
};
use serde::Deserialize;
use std::sync::Arc;

/// The mapping stored in an integration's options (its defaults when unset).
fn mapping_of(i: &Integration, targets: &[TargetSpec]) -> FieldMapping {
    i.options
        .get("mapping")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .unwrap_or_else(|| FieldMapping::defaults(targets))
}

/// The editor, shown on the app's page of an administrator.
pub(crate) async fn section(
    state: &AppState,
    v: &Viewer,
    i: &Integration,
    declaration: &Declaration,
) -> Markup {
    let Some(targets) = declaration.mapping else {
        return html! {};
    };
    let lang = v.lang;
    let sources = match &state.mapping_tools {
        Some(tools) => async { tools.tool(i, false).await?.sources(lang.code()).await }.await,
        None => Err(HealthReason::NoConnector {
            connector: i.connector.as_str().to_owned(),
        }),
    };
    match sources {
        Ok(sources) => editor(
            v,
            i,
            declaration,
            targets,
            &mapping_of(i, targets),
            &sources,
            &[],
        ),
        Err(why) => html! {
            h3 id="mapping" { (lang.t("Correspondance des champs")) }
            p.error id="mapping-unavailable" { (lang.t("Les champs de la base ne peuvent pas être lus : ")) (why.text(lang.code())) }
        },
    }
}

/// The problems of one target, beside its field.
fn problems_of<'a>(problems: &'a [MappingProblem], target: &str, lang: Lang) -> Vec<&'a str> {
    problems
        .iter()
        .filter(|p| p.target == target)
        .map(|p| p.message_in(lang.code()))
        .collect()
}

/// A `<select>` of the base's fields, grouped, the current one chosen.
fn source_select(
    name: &str,
    id: &str,
    chosen: Option<&SourcePath>,
    sources: &[SourceField],
    lang: Lang,
) -> Markup {
    let mut groups: Vec<&str> = Vec::new();
    for s in sources {
        if !groups.contains(&s.group.as_str()) {
            groups.push(&s.group);
        }
    }
    let known = chosen.is_none_or(|c| sources.iter().any(|s| &s.path == c));
    html! {
        select name=(name) id=(id) {
            option value="" selected[chosen.is_none()] { (lang.t("— non envoyé —")) }
            @if !known {
                @if let Some(c) = chosen { option value=(c.code()) selected { (c.code()) (lang.t(" (inconnu de la base)")) } }
            }
            @for g in &groups {
                optgroup label=(g) {
                    @for s in sources.iter().filter(|s| s.group == *g) {
                        option value=(s.path.code()) selected[chosen == Some(&s.path)] {
                            (s.label) @if !s.readable { (lang.t(" — illisible par la clé")) }
                        }
                    }
                }
            }
        }
    }
}

/// The mapping form: each partner field with its source, custom fields,
/// every problem beside its field.
fn editor(
    v: &Viewer,
    i: &Integration,
    declaration: &Declaration,
    targets: &[TargetSpec],
    mapping: &FieldMapping,
    sources: &[SourceField],
    problems: &[MappingProblem],
) -> Markup {
    let lang = v.lang;
    let id = i.installation_id;
    let customs: Vec<&MappedField> = mapping
        .fields
        .iter()
        .filter(|f| !targets.iter().any(|t| t.name == f.target))
        .collect();
    let general: Vec<&str> = problems_of(problems, "", lang);
    html! {
        h3 id="mapping" { (lang.t("Correspondance des champs")) }
        p.muted { (lang.t("Chaque champ de bénéficiaire de ")) (declaration.name) (lang.t(" prend sa valeur d'un champ de la base : du modèle Merge, ou du dossier du personnel tel que la clé le lit (champs personnalisés compris). Une correspondance modifiée renvoie tous les bénéficiaires à la prochaine synchronisation.")) }
        @if !problems.is_empty() {
            p.error id="mapping-refused" { (lang.t("Rien n'a été enregistré : ")) (lang.count(problems.len() as u64, "%{n} problème, indiqué à côté du champ.", "%{n} problèmes, indiqués à côté des champs.")) }
            @for g in &general { p.error { (g) } }
        }
        form method="post" action={ "/installed/" (id) "/mapping" } id="mapping-form" {
            input type="hidden" name="csrf" value=(v.csrf);
            table id="mapping-table" {
                (column_heads(lang, &["Champ de bénéficiaire", "Champ de la base"]))
                tbody {
                    @for t in targets {
                        @let mine = problems_of(problems, t.name, lang);
                        tr data-target=(t.name) {
                            td { label for={ "source-" (t.name) } { (t.label(lang.code())) } @if t.identifier { " *" } br; small.muted { code { (t.name) } } }
                            td {
                                (source_select(&format!("source_{}", t.name), &format!("source-{}", t.name), mapping.get(t.name).map(|f| &f.source), sources, lang))
                                @for p in &mine { p.error.field-error { (p) } }
                            }
                        }
                    }
                    @for (n, c) in customs.iter().enumerate() {
                        @let mine = problems_of(problems, &c.target, lang);
                        tr.custom data-target=(c.target) {
                            td {
                                input name="custom_target" id={ "custom-target-" (n) } type="text" value=(c.target) aria-label=(lang.t("Nom du champ personnalisé"));
                                input name="custom_label" type="text" value=(c.label.clone().unwrap_or_default()) aria-label=(lang.t("Libellé"));
                            }
                            td {
                                (source_select("custom_source", &format!("custom-source-{n}"), Some(&c.source), sources, lang))
                                @for p in &mine { p.error.field-error { (p) } }
                            }
                        }
                    }
                    tr.custom.new {
                        td {
                            input name="custom_target" id="custom-target-new" type="text" placeholder=(lang.t("nouveau champ (ex. sharesPlan)")) aria-label=(lang.t("Nom du champ personnalisé"));
                            input name="custom_label" id="custom-label-new" type="text" placeholder=(lang.t("libellé")) aria-label=(lang.t("Libellé"));
                        }
                        td { (source_select("custom_source", "custom-source-new", None, sources, lang)) }
                    }
                }
            }
            p {
                button id="save-mapping" type="submit" { (lang.t("Valider et enregistrer")) }
                " "
                a id="preview-link" href={ "/installed/" (id) "/preview" } { (lang.t("Prévisualiser les bénéficiaires")) }
                " · "
                a id="export-mapping" href={ "/installed/" (id) "/mapping.json" } { (lang.t("Exporter (fichier)")) }
            }
        }
        form method="post" action={ "/installed/" (id) "/mapping/import" } enctype="multipart/form-data" id="import-mapping" {
            input type="hidden" name="csrf" value=(v.csrf);
            label for="mapping-file" { (lang.t("Importer une correspondance (fichier exporté)")) }
            input id="mapping-file" name="file" type="file" accept="application/json,.json";
            button id="import-mapping-button" type="submit" { (lang.t("Importer")) }
        }
    }
}

/// Reads the editor's fields into a mapping (a blank source leaves the field unsent).
fn read_form(
    pairs: &[(String, String)],
    targets: &[TargetSpec],
) -> Result<FieldMapping, MappingProblem> {
    let mut fields = Vec::new();
    let parse = |target: &str, code: &str| {
        SourcePath::parse(code)
            .map_err(|e| MappingProblem::said(target, e.message.clone(), e.message_in("fr")))
    };
    for t in targets {
        let key = format!("source_{}", t.name);
        if let Some((_, code)) = pairs
            .iter()
            .find(|(k, v)| *k == key && !v.trim().is_empty())
        {
            fields.push(MappedField {
                target: t.name.to_owned(),
                label: None,
                source: parse(t.name, code)?,
            });
        }
    }
    let column = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (names, labels, codes) = (
        column("custom_target"),
        column("custom_label"),
        column("custom_source"),
    );
    for (n, name) in names.iter().enumerate() {
        let name = name.trim();
        let code = codes.get(n).map_or("", |c| c.trim());
        if name.is_empty() && code.is_empty() {
            continue;
        }
        let label = labels
            .get(n)
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty());
        if code.is_empty() {
            return Err(MappingProblem::said(
                name,
                "choose the field of the base it takes its value from",
                "choisissez le champ de la base dont il prend sa valeur",
            ));
        }
        fields.push(MappedField {
            target: name.to_owned(),
            label,
            source: parse(name, code)?,
        });
    }
    Ok(FieldMapping { fields })
}

/// What saving needs: the installation's integration, its declaration and the tools.
struct Editing {
    integration: Integration,
    declaration: &'static Declaration,
    targets: &'static [TargetSpec],
    tools: Arc<dyn MappingTools>,
    app: String,
}

impl Editing {
    /// The integration's connector set up for its mapping tools, reaching
    /// its partner or not (see [`MappingTools::tool`]).
    async fn tool(&self, reaching: bool) -> Result<Box<dyn MappingTool>, HealthReason> {
        self.tools.tool(&self.integration, reaching).await
    }
}

async fn editing(state: &AppState, v: &Viewer, id: InstallationId) -> Result<Editing, PageError> {
    let installation = installation_for_admin(state, v, id).await?;
    let lang = v.lang;
    let no_mapping = || {
        PageError::refused(
            v,
            StatusCode::NOT_FOUND,
            lang.t("Cette application n'a pas de correspondance de champs."),
        )
    };
    let integration = state
        .store
        .get_integration(id)
        .await
        .map_err(|_| no_mapping())?;
    let declaration = state
        .connectors
        .get(integration.connector.as_str())
        .map(|c| c.declaration())
        .ok_or_else(no_mapping)?;
    let targets = declaration.mapping.ok_or_else(no_mapping)?;
    let tools = state.mapping_tools.clone().ok_or_else(no_mapping)?;
    Ok(Editing {
        integration,
        declaration,
        targets,
        tools,
        app: installation.app,
    })
}

/// Checks `mapping` against the base, then saves it, or answers the form
/// again with every problem beside its field and nothing saved.
async fn check_and_save(
    state: &AppState,
    v: &Viewer,
    mut e: Editing,
    mapping: FieldMapping,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let problems = match async { e.tool(false).await?.check(&mapping).await }.await {
        Ok(p) => p,
        Err(why) => {
            return Err(PageError::refused(
                v,
                StatusCode::BAD_GATEWAY,
                format!(
                    "{} {}",
                    lang.t("La correspondance n'a pas pu être vérifiée, rien n'a été enregistré :"),
                    why.text(lang.code())
                ),
            ))
        }
    };
    if !problems.is_empty() {
        return Ok(refused(v, &e, &mapping, problems).await);
    }
    let update = IntegrationUpdate {
        options: vec![(
            "mapping".into(),
            serde_json::to_string(&mapping).unwrap_or_default(),
        )],
        ..IntegrationUpdate::default()
    };
    let Some(connector) = state.connectors.get(e.integration.connector.as_str()) else {
        return Err(PageError::internal(v, "no connector"));
    };
    if let Err(err) = e
        .integration
        .apply(connector, &update, &state.sealer, relais_core::now())
    {
        let problem = MappingProblem::said("", err.message.clone(), err.message_in("fr"));
        return Ok(refused(v, &e, &mapping, vec![problem]).await);
    }
    match state
        .store
        .change_integration(&e.integration, Action::MappingChanged, v.actor())
        .await
    {
        Ok(()) => Ok(
            Redirect::to(&format!("/integrations/{}?saved=mapping#mapping", e.app)).into_response(),
        ),
        Err(err) => Err(PageError::internal(v, err)),
    }
}

/// The form again, as typed, with every problem: 422.
async fn refused(
    v: &Viewer,
    e: &Editing,
    mapping: &FieldMapping,
    problems: Vec<MappingProblem>,
) -> Response {
    let lang = v.lang;
    let sources = async { e.tool(false).await?.sources(lang.code()).await }
        .await
        .unwrap_or_default();
    let body = html! {
        p { a href={ "/integrations/" (e.app) } { "← " (e.declaration.name) } }
        (editor(v, &e.integration, e.declaration, e.targets, mapping, &sources, &problems))
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        page(Some(v), lang, lang.t("Correspondance des champs"), body),
    )
        .into_response()
}

/// `POST /installed/{id}/mapping`: checks the mapping typed, then saves it.
pub async fn save(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(id): PagePath<InstallationId>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    refuse_csrf(&v, csrf)?;
    let e = editing(&state, &v, id).await?;
    match read_form(&pairs, e.targets) {
        Ok(mapping) => check_and_save(&state, &v, e, mapping).await,
        Err(problem) => {
            let current = mapping_of(&e.integration, e.targets);
            Ok(refused(&v, &e, &current, vec![problem]).await)
        }
    }
}

/// `GET /installed/{id}/mapping.json`: the mapping as a file.
pub async fn export(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(id): PagePath<InstallationId>,
) -> Result<Response, PageError> {
    let e = editing(&state, &v, id).await?;
    let mapping = mapping_of(&e.integration, e.targets);
    let body = serde_json::to_string_pretty(&mapping).unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-mapping.json\"",
                    e.declaration.code
                ),
            ),
        ],
        body,
    )
        .into_response())
}

/// `POST /installed/{id}/mapping/import`: a mapping file, checked, then saved.
pub async fn import(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(id): PagePath<InstallationId>,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let mut csrf = String::new();
    let mut file: Option<String> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                match field.text().await {
                    Ok(text) if name == "csrf" => csrf = text,
                    Ok(text) if name == "file" => file = Some(text),
                    Ok(_) => {}
                    Err(err) => return Ok(bad_file(&v, &err.to_string())),
                }
            }
            Ok(None) => break,
            Err(err) => return Ok(bad_file(&v, &err.to_string())),
        }
    }
    refuse_csrf(&v, &csrf)?;
    let e = editing(&state, &v, id).await?;
    let Some(text) = file.filter(|t| !t.trim().is_empty()) else {
        return Ok(bad_file(&v, lang.t("aucun fichier choisi")));
    };
    match relais_core::mapping::parse(&text) {
        Ok(mapping) => check_and_save(&state, &v, e, mapping).await,
        Err(err) => Ok(bad_file(&v, err.message_in(v.lang.code()))),
    }
}

fn bad_file(v: &Viewer, why: &str) -> Response {
    let lang = v.lang;
    error_page(
        Some(v),
        lang,
        StatusCode::UNPROCESSABLE_ENTITY,
        &format!(
            "{} {why}",
            lang.t("Le fichier n'a pas été importé, rien n'a été enregistré :")
        ),
    )
}

/// The preview's query.
#[derive(Debug, Deserialize)]
pub struct PreviewParams {
    #[serde(default)]
    pub(crate) q: String,
    #[serde(default)]
    pub(crate) page: Option<u32>,
}

/// Rows per preview page.
const PER_PAGE: u32 = 50;

/// `GET /installed/{id}/preview`: a page of the partner's records as the
/// next run would send them, against what the partner holds.
pub async fn preview(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(id): PagePath<InstallationId>,
    Query(params): Query<PreviewParams>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let e = editing(&state, &v, id).await?;
    let page_no = params.page.unwrap_or(1).max(1);
    let query = PreviewQuery {
        search: Some(params.q.clone()).filter(|q| !q.trim().is_empty()),
        page: page_no,
        per_page: PER_PAGE,
    };
    let preview = match async { e.tool(true).await?.preview(&query).await }.await {
        Ok(p) => p,
        Err(why) => {
            return Err(PageError::refused(
                &v,
                StatusCode::BAD_GATEWAY,
                format!(
                    "{} {}",
                    lang.t("L'aperçu n'a pas pu être calculé :"),
                    why.text(lang.code())
                ),
            ))
        }
    };
    let label = |target: &str| {
        e.targets
            .iter()
            .find(|t| t.name == target)
            .map_or_else(|| target.to_owned(), |t| t.label(lang.code()).to_owned())
    };
    let status = |s: PreviewStatus| match s {
        PreviewStatus::New => lang.t("nouveau"),
        PreviewStatus::Changed => lang.t("modifié"),
        PreviewStatus::Unchanged => lang.t("inchangé"),
    };
    // A value as people read it: a code by its words, a date as a date.
    let shown = |target: &str, v: &serde_json::Value| match v {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(s) => e
            .targets
            .iter()
            .find(|t| t.name == target)
            .and_then(|t| t.words(s, lang.code()))
            .map_or_else(|| super::runs::said_value(s, lang), str::to_owned),
        other => other.to_string(),
    };
    let link = |p: u32| {
        format!(
            "/installed/{id}/preview?q={}&page={p}",
            relais_core::integration::percent_encode(&params.q, b"")
        )
    };
    let body = html! {
        p { a href={ "/integrations/" (e.app) "#mapping" } { "← " (e.declaration.name) } }
        h1 { (lang.t("Aperçu des bénéficiaires")) }
        p.muted { (lang.t("Ce que la prochaine synchronisation enverrait, comparé à ce que ")) (e.declaration.name) (lang.t(" détient. Rien n'est écrit.")) }
        form method="get" action={ "/installed/" (id) "/preview" } id="preview-search" {
            label for="q" { (lang.t("Rechercher un collaborateur (nom, e-mail, identifiant)")) }
            input id="q" name="q" type="search" value=(params.q);
            button type="submit" { (lang.t("Rechercher")) }
        }
        @if preview.rows.is_empty() { p.muted id="preview-empty" { (lang.t("Aucun bénéficiaire à montrer.")) } }
        @else {
            div.scroll {
                table id="preview" {
                    (column_heads(lang, &["Collaborateur", "Identifiant", "Changement", "Champs (détenu → envoyé)"]))
                    tbody {
                        @for r in &preview.rows {
                            tr data-status=(serde_json::to_value(r.status).ok().and_then(|s| s.as_str().map(str::to_owned)).unwrap_or_default()) data-identifier=(r.identifier) {
                                td { (r.name) }
                                td { code { (r.identifier) } }
                                td { (status(r.status)) }
                                td {
                                    ul.fields {
                                        @for f in &r.fields {
                                            @if f.held != f.sent && r.status == PreviewStatus::Changed {
                                                li.changed data-target=(f.target) { strong { (label(&f.target)) } (lang.t(" : ")) (shown(&f.target, &f.held)) " → " (shown(&f.target, &f.sent)) }
                                            } @else {
                                                li data-target=(f.target) { (label(&f.target)) (lang.t(" : ")) (shown(&f.target, &f.sent)) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p {
                @if page_no > 1 { a id="preview-prev" href=(link(page_no - 1)) { (lang.t("← Page précédente")) } " " }
                (lang.t("Page ")) (page_no)
                @if preview.more { " " a id="preview-next" href=(link(page_no + 1)) { (lang.t("Page suivante →")) } }
            }
        }
        h2 { (lang.t("Collaborateurs non envoyés")) }
        @if preview.skipped.is_empty() { p.muted id="no-skipped" { (lang.t("Aucun : chacun a un identifiant unique.")) } }
        @else {
            ul id="skipped" { @for s in &preview.skipped { li { strong { (s.name) } " — " (s.reason_in(lang.code())) } } }
        }
    };
    Ok(page(Some(&v), lang, lang.t("Aperçu des bénéficiaires"), body).into_response())
}
